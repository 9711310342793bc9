"""The Redis probe's one guarded connection: every command checked and recorded, one round trip at a time."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
import redis.exceptions as rexc
from redis.asyncio.connection import Connection, ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from probes.base import Backoff, PolledSource, SentLog
from probes.redis.guard import CommandRefused, GuardedConnection, GuardedSSLConnection, check_command
from probes.redis.parsing import endpoint_of, text
from probes.redis.snapshot import KeySample, RedisSnapshot

if TYPE_CHECKING:
    from probes.redis.settings import RedisSettings

SOURCE = "redis"
NOT_CONFIGURED = "set REDIS_URL, [redis] url or --redis"


@dataclass
class Pending:
    """Commands of one round trip, each with the reading it feeds."""

    commands: list[tuple[str, tuple[object, ...]]] = field(default_factory=list)

    def add(self, reading: str, *args: object) -> None:
        check_command(*args)
        self.commands.append((reading, args))


class RedisClient(PolledSource[RedisSnapshot]):
    """One Redis server over one guarded connection; a refresh, a sampler run and a read take turns."""

    SOURCE = SOURCE
    NAME = "Redis"
    NOT_CONFIGURED = NOT_CONFIGURED
    _PROPAGATE = (CommandRefused,)  # a bug in the probe itself: tests must see it
    endpoint: str  # host:port/db, always known from the URL

    def __init__(
        self, settings: RedisSettings, *, clock: Callable[[], datetime], backoff: Backoff | None
    ) -> None:
        # one connection: a refresh and a sampler run take turns on the lock
        super().__init__(
            backoff=backoff or Backoff.for_source(settings.refresh, settings.backoff_max),
            clock=clock,
            endpoint=endpoint_of(settings.url),
        )
        self.settings = settings
        self._client: aioredis.Redis | None = None
        self._sample: KeySample | None = None  # the key sampler's last run, shown with every snapshot
        self.sent: SentLog[tuple[str, ...]] = SentLog()  # the commands sent, in order: tests prove only reads
        self.round_trips = 0  # of the last refresh or sampler run

    @property
    def configured(self) -> bool:
        return self.settings.configured

    async def aclose(self) -> None:
        await self._drop_client()

    async def _reset(self) -> None:
        await self._drop_client()

    async def _round_trip(self, pending: Pending) -> list[object]:
        """Check and record the commands, then send them in one round trip."""
        for _, args in pending.commands:
            check_command(*args)
            self.sent.append(tuple(text(a) for a in args))
        self.round_trips = 1
        return await self.exchange([args for _, args in pending.commands])

    async def exchange(self, commands: Sequence[tuple[object, ...]]) -> list[object]:
        """Send the commands in one write and read every reply; a refused command's reply is its error.

        The one place bytes go to the server (the demo answers here instead, from its own model).
        """
        client = self._connection()
        if len(commands) == 1:
            try:
                return [await client.execute_command(*commands[0])]
            except rexc.ResponseError as exc:
                return [exc]
        pipe = client.pipeline(transaction=False)
        for args in commands:
            pipe.execute_command(*args)
        return list(await pipe.execute(raise_on_error=False))

    def _connection(self) -> aioredis.Redis:
        if self._client is None:
            self._client = guarded_client(self.settings)
        return self._client

    async def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()


def connection_options(settings: RedisSettings) -> dict[str, Any]:
    """The guarded connection class and its options: no client name, no library info, RESP2, no retries."""
    assert settings.url is not None
    parts = urlsplit(settings.url)
    options: dict[str, Any] = {
        "host": parts.hostname or "localhost",
        "port": parts.port or 6379,
        "db": int(parts.path.strip("/") or 0),
        "username": settings.username,
        "password": settings.password.reveal() if settings.password is not None else None,
        "socket_connect_timeout": settings.connect_timeout,
        "socket_timeout": settings.timeout,
        # one try: a retry hides a dead server for seconds; the next poll (with backoff) is the retry
        "retry": Retry(NoBackoff(), 0),
        "connection_class": GuardedConnection,
    }
    base = getattr(aioredis.connection, "AbstractConnection", Connection)
    accepted = inspect.signature(base.__init__).parameters
    # CLIENT SETINFO would be one more command, and refused by a least-privilege ACL user
    if "driver_info" in accepted:
        options["driver_info"] = None
    else:
        options.update(lib_name=None, lib_version=None)
    if "protocol" in accepted:
        # RESP2, what every server speaks: no HELLO, and no CLIENT MAINT_NOTIFICATIONS (RESP3 only)
        options["protocol"] = 2
    if parts.scheme == "rediss":
        options["connection_class"] = GuardedSSLConnection
        options["ssl_ca_certs"] = str(settings.ca_file) if settings.ca_file else None
        options["ssl_cert_reqs"] = "required" if settings.verify else "none"
        options["ssl_check_hostname"] = settings.verify
    return options


def guarded_client(settings: RedisSettings) -> aioredis.Redis:
    """A redis-py client on one guarded connection, handing back raw replies."""
    pool = ConnectionPool(max_connections=1, **connection_options(settings))
    client = aioredis.Redis(connection_pool=pool)
    # the probe parses every reply itself (the demo goes through the same parsers), so no callbacks
    client.response_callbacks.clear()
    return client
