"""Redis probe: INFO, memory and hit ratio, slow log, latency, persistence and config, read-only by allowlist.

Every command goes through `check_command` before a byte is sent, twice: in the probe, and again in the
connection class that packs the bytes, so nothing outside ALLOWED can reach the server even by mistake.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import math
import re
import ssl
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
import redis.exceptions as rexc
from redis.asyncio.connection import Connection, ConnectionPool, SSLConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from probes.base import Backoff, HealthState, PolledSource, Reading, SourceHealth
from probes.redact import redact_command

if TYPE_CHECKING:
    from probes.redis.settings import RedisSettings

SOURCE = "redis"
NOT_CONFIGURED = "set REDIS_URL, [redis] url or --redis"
SLOWLOG_ENTRIES = 128  # SLOWLOG GET N per refresh: the default slowlog-max-len
CONFIG_EVERY = 6  # refreshes between CONFIG GET reads: the settings rarely change during an incident
HISTORY = 30  # hit-ratio intervals kept for the sparkline
MEMORY_WARN = 0.8  # the runbook's HighRedisMemory threshold: 80% of maxmemory
FRAGMENTATION_WARN = 1.5
HIT_RATIO_WARN = 0.5
# CONFIG GET names read, one per command (several names in one CONFIG GET needs Redis 7). Never `*`:
# that would read requirepass and masterauth.
CONFIG_NAMES = (
    "maxmemory",
    "maxmemory-policy",
    "maxclients",
    "save",
    "appendonly",
    "slowlog-log-slower-than",
    "slowlog-max-len",
)
SECRET_CONFIG = frozenset({"requirepass", "masterauth", "masteruser"})
# Live triage reads (RedisProbe.read): `redis-cli --scan --pattern P | head -N` and `redis-cli --bigkeys`
SCAN_LIMIT = 100  # keys a SCAN read keeps when the runbook says no `head -N`
SCAN_COUNT = 200  # SCAN's COUNT hint per round trip, as the sampler's
SCAN_SECONDS = 1.0  # wall time of one SCAN read: it stops with what it found by then
BIGKEYS_TOP = 10  # the largest keys a BIGKEYS read lists

# --- the allowlist --------------------------------------------------------------------------------------

# (command, subcommand): the only commands the probe sends. None means the command has no subcommand.
ALLOWED: frozenset[tuple[str, str | None]] = frozenset(
    {
        ("PING", None),
        ("INFO", None),
        ("SLOWLOG", "GET"),
        ("SLOWLOG", "LEN"),
        ("CONFIG", "GET"),
        ("LATENCY", "LATEST"),
        ("MEMORY", "STATS"),
        ("DBSIZE", None),
        # the opt-in key sampler
        ("SCAN", None),
        ("TYPE", None),
        ("TTL", None),
        ("MEMORY", "USAGE"),
    }
)
_WITH_SUBCOMMAND = frozenset(name for name, sub in ALLOWED if sub is not None)
# What redis-py sends by itself while connecting: authentication, the protocol and the database.
_HANDSHAKE = frozenset({"AUTH", "HELLO", "SELECT"})


class CommandRefused(Exception):
    """A command outside the allowlist: raised before anything is sent."""


def _word(arg: object) -> str:
    if isinstance(arg, bytes | bytearray | memoryview):
        return bytes(arg).decode("ascii", "replace").upper()
    return str(arg).upper()


def check_command(*args: object) -> tuple[str, str | None]:
    """(command, subcommand) when the command is on the allowlist; raises CommandRefused otherwise.

    `CONFIG GET requirepass`/`masterauth` are refused too: those are secrets, not readings.
    """
    if not args:
        raise CommandRefused("an empty command")
    words = _word(args[0]).split()  # "CONFIG GET" as one argument is split by redis-py the same way
    rest = [*words[1:], *(_word(a) for a in args[1:])]
    name = words[0] if words else ""
    sub = rest[0] if name in _WITH_SUBCOMMAND and rest else None
    if (name, sub) not in ALLOWED:
        shown = f"{name} {sub}" if sub else name
        raise CommandRefused(f"{shown} is not on oncall's read-only allowlist for Redis")
    if (name, sub) == ("CONFIG", "GET"):
        asked = {w.lower() for w in rest[1:]}
        if not asked or any(_secret_pattern(p) for p in asked):
            raise CommandRefused(
                "CONFIG GET of a secret or a pattern (requirepass, masterauth, *) is refused"
            )
    return name, sub


def _secret_pattern(name: str) -> bool:
    return any(ch in name for ch in "*?[") or name in SECRET_CONFIG


class _Guarded:
    """Mixin for redis-py's connection classes: every packed command passes the allowlist first."""

    def pack_command(self, *args: Any) -> list[bytes]:
        if not args or _word(args[0]).split()[0] not in _HANDSHAKE:
            check_command(*args)
        return super().pack_command(*args)  # type: ignore[misc]


class GuardedConnection(_Guarded, Connection):
    pass


class GuardedSSLConnection(_Guarded, SSLConnection):
    pass


# --- snapshots -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DbKeys:
    db: int
    keys: int
    expires: int  # keys with a TTL
    avg_ttl_ms: int


@dataclass(frozen=True)
class Persistence:
    rdb_bgsave_in_progress: bool
    rdb_last_bgsave_status: str  # "ok", "err"
    rdb_last_save_time: datetime | None
    rdb_changes_since_last_save: int
    aof_enabled: bool
    aof_rewrite_in_progress: bool
    aof_last_write_status: str
    latest_fork_usec: int  # how long the last fork (BGSAVE, AOF rewrite) blocked the server
    loading: bool  # still loading the dataset after a restart


@dataclass(frozen=True)
class Replication:
    role: str  # "master", "slave"
    master_host: str | None
    master_port: int | None
    master_link_status: str | None  # "up", "down"; None on a primary
    master_last_io_seconds: int | None
    link_down_seconds: int | None
    connected_replicas: int


@dataclass(frozen=True)
class RedisInfo:
    """One INFO reply, typed."""

    version: str
    mode: str  # "standalone", "cluster", "sentinel"
    run_id: str  # new at every start of the server
    uptime_seconds: int
    connected_clients: int
    blocked_clients: int
    maxclients: int | None  # INFO clients has it from 7.0; else CONFIG GET maxclients, if allowed
    rejected_connections: int
    used_memory: int
    used_memory_rss: int
    used_memory_peak: int
    maxmemory: int  # 0: no limit
    maxmemory_policy: str
    fragmentation_ratio: float | None
    keyspace_hits: int
    keyspace_misses: int
    evicted_keys: int
    expired_keys: int
    total_commands: int
    ops_per_sec: int  # the server's instantaneous_ops_per_sec
    databases: tuple[DbKeys, ...]
    persistence: Persistence
    replication: Replication

    @property
    def memory_share(self) -> float | None:
        """used_memory / maxmemory, or None without a limit."""
        return self.used_memory / self.maxmemory if self.maxmemory > 0 else None

    @property
    def hit_ratio(self) -> float | None:
        """Since the server started (or the last CONFIG RESETSTAT)."""
        lookups = self.keyspace_hits + self.keyspace_misses
        return self.keyspace_hits / lookups if lookups else None

    @property
    def keys(self) -> int:
        return sum(d.keys for d in self.databases)

    @property
    def keys_with_ttl(self) -> int:
        return sum(d.expires for d in self.databases)


@dataclass(frozen=True)
class Interval:
    """What changed between two successful reads."""

    seconds: float
    hits: int
    misses: int
    commands: int
    evicted: int
    expired: int
    rejected: int

    @property
    def hit_ratio(self) -> float | None:
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else None

    @property
    def ops_per_sec(self) -> float:
        return self.commands / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class SlowEntry:
    id: int
    started_at: datetime
    duration_us: int
    args: tuple[str, ...]  # the command and its arguments as the server logged them; untrusted text
    client: str  # "10.0.0.5:51234"; "" before Redis 4
    client_name: str

    @property
    def duration_ms(self) -> float:
        return self.duration_us / 1000.0

    @property
    def command(self) -> str:
        return self.args[0].upper() if self.args else ""


@dataclass(frozen=True)
class LatencyEvent:
    name: str  # "command", "fast-command", "fork", "aof-fsync-always", ...
    latest_at: datetime
    latest_ms: int
    max_ms: int


@dataclass(frozen=True)
class RedisConfig:
    values: tuple[tuple[str, str], ...]  # (name, value) as CONFIG GET answered; secrets never asked
    read_at: datetime

    def get(self, name: str) -> str | None:
        return dict(self.values).get(name)


@dataclass(frozen=True)
class SampledKey:
    key: str  # untrusted text, decoded with backslash escapes for bytes that are not UTF-8
    type: str
    bytes: int | None  # MEMORY USAGE; None when it answered nil (the key expired meanwhile)
    ttl: int  # seconds; -1 without TTL


@dataclass(frozen=True)
class KeyPattern:
    prefix: str  # the key up to its first ":" ("session:"), or the whole key when it has none
    keys: int
    bytes: int
    without_ttl: int


@dataclass(frozen=True)
class KeySample:
    taken_at: datetime
    scanned: int  # keys SCAN returned
    largest: tuple[SampledKey, ...]  # by MEMORY USAGE, largest first
    without_ttl: int
    patterns: tuple[KeyPattern, ...]  # by bytes, largest first
    elapsed: float  # seconds of wall time
    complete: bool  # SCAN went all the way round
    stopped_by: str | None  # "the key cap (10000)", "the time cap (1s)", or an error
    round_trips: int
    slowest_round_trip: float  # seconds, as seen by the client: a ceiling on the server's blocking

    @property
    def without_ttl_share(self) -> float | None:
        return self.without_ttl / self.scanned if self.scanned else None


@dataclass(frozen=True)
class RedisSnapshot:
    info: RedisInfo | None  # None until the first successful read (or when INFO itself is blocked)
    interval: Interval | None  # None on the first read, and after a restart or a stats reset
    hit_ratio_history: tuple[float | None, ...]  # per interval, oldest first, at most HISTORY
    slowlog: tuple[SlowEntry, ...] | None  # newest first; None: see blocked
    latency: tuple[LatencyEvent, ...] | None  # None: see blocked
    config: RedisConfig | None  # the last CONFIG GET read; None when blocked or not read yet
    blocked: tuple[tuple[str, str], ...]  # (reading, why): "CONFIG GET" -> "blocked by the provider ..."
    restarted: bool  # uptime went down since the last read: the cache was emptied
    sample: KeySample | None
    health: SourceHealth
    fetched_at: datetime | None  # when the data was read; older than health.checked_at when stale
    commands_sent: int = 0  # in the last refresh, all in one round trip

    @property
    def maxmemory_policy(self) -> str | None:
        if self.info is not None and self.info.maxmemory_policy:
            return self.info.maxmemory_policy
        return self.config.get("maxmemory-policy") if self.config else None

    @property
    def maxclients(self) -> int | None:
        if self.info is not None and self.info.maxclients is not None:
            return self.info.maxclients
        value = self.config.get("maxclients") if self.config else None
        return int(value) if value and value.isdigit() else None

    def blocked_reason(self, reading: str) -> str | None:
        return dict(self.blocked).get(reading)


def utc_now() -> datetime:
    return datetime.now(UTC)


# --- parsing what the server answered (also used by the demo) --------------------------------------------


def text(value: object) -> str:
    """A reply as text: bytes decoded as UTF-8, anything else kept visible as backslash escapes."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "backslashreplace")
    return "" if value is None else str(value)


def parse_info(raw: object) -> dict[str, str]:
    """INFO's text ("# Section" headers, "field:value" lines) as a flat dict of strings."""
    fields: dict[str, str] = {}
    for line in text(raw).splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        name, _, value = line.partition(":")
        fields[name] = value
    return fields


def _int(fields: Mapping[str, str], name: str, default: int = 0) -> int:
    try:
        return int(fields.get(name, default))
    except ValueError:
        try:
            return int(float(fields[name]))
        except (ValueError, OverflowError):
            return default


def _opt_int(fields: Mapping[str, str], name: str) -> int | None:
    return _int(fields, name) if name in fields else None


def _float(fields: Mapping[str, str], name: str) -> float | None:
    try:
        value = float(fields[name])
    except (KeyError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _keyspace(fields: Mapping[str, str]) -> tuple[DbKeys, ...]:
    databases = []
    for name, value in fields.items():
        if not (name.startswith("db") and name[2:].isdigit()):
            continue
        parts = dict(p.partition("=")[::2] for p in value.split(","))
        databases.append(
            DbKeys(
                db=int(name[2:]),
                keys=_int(parts, "keys"),
                expires=_int(parts, "expires"),
                avg_ttl_ms=_int(parts, "avg_ttl"),
            )
        )
    return tuple(sorted(databases, key=lambda d: d.db))


def info_from(fields: Mapping[str, str]) -> RedisInfo:
    """Typed INFO. Missing fields (old servers, managed Redis hiding some) read as zero or None."""
    save_time = _int(fields, "rdb_last_save_time")
    master_port = _opt_int(fields, "master_port")
    return RedisInfo(
        version=fields.get("redis_version", ""),
        mode=fields.get("redis_mode", "standalone"),
        run_id=fields.get("run_id", ""),
        uptime_seconds=_int(fields, "uptime_in_seconds"),
        connected_clients=_int(fields, "connected_clients"),
        blocked_clients=_int(fields, "blocked_clients"),
        maxclients=_opt_int(fields, "maxclients"),
        rejected_connections=_int(fields, "rejected_connections"),
        used_memory=_int(fields, "used_memory"),
        used_memory_rss=_int(fields, "used_memory_rss"),
        used_memory_peak=_int(fields, "used_memory_peak"),
        maxmemory=_int(fields, "maxmemory"),
        maxmemory_policy=fields.get("maxmemory_policy", ""),
        fragmentation_ratio=_float(fields, "mem_fragmentation_ratio"),
        keyspace_hits=_int(fields, "keyspace_hits"),
        keyspace_misses=_int(fields, "keyspace_misses"),
        evicted_keys=_int(fields, "evicted_keys"),
        expired_keys=_int(fields, "expired_keys"),
        total_commands=_int(fields, "total_commands_processed"),
        ops_per_sec=_int(fields, "instantaneous_ops_per_sec"),
        databases=_keyspace(fields),
        persistence=Persistence(
            rdb_bgsave_in_progress=fields.get("rdb_bgsave_in_progress") == "1",
            rdb_last_bgsave_status=fields.get("rdb_last_bgsave_status", ""),
            rdb_last_save_time=datetime.fromtimestamp(save_time, UTC) if save_time > 0 else None,
            rdb_changes_since_last_save=_int(fields, "rdb_changes_since_last_save"),
            aof_enabled=fields.get("aof_enabled") == "1",
            aof_rewrite_in_progress=fields.get("aof_rewrite_in_progress") == "1",
            aof_last_write_status=fields.get("aof_last_write_status", ""),
            latest_fork_usec=_int(fields, "latest_fork_usec"),
            loading=fields.get("loading") == "1",
        ),
        replication=Replication(
            role=fields.get("role", ""),
            master_host=fields.get("master_host"),
            master_port=master_port,
            master_link_status=fields.get("master_link_status"),
            master_last_io_seconds=_opt_int(fields, "master_last_io_seconds_ago"),
            link_down_seconds=_opt_int(fields, "master_link_down_since_seconds"),
            connected_replicas=_int(fields, "connected_slaves"),
        ),
    )


def interval_between(before: RedisInfo, after: RedisInfo, seconds: float) -> Interval | None:
    """The deltas between two reads; None when a counter went backwards (restart, CONFIG RESETSTAT)."""
    deltas = (
        after.keyspace_hits - before.keyspace_hits,
        after.keyspace_misses - before.keyspace_misses,
        after.total_commands - before.total_commands,
        after.evicted_keys - before.evicted_keys,
        after.expired_keys - before.expired_keys,
        after.rejected_connections - before.rejected_connections,
    )
    if restarted_between(before, after) or any(d < 0 for d in deltas):
        return None
    return Interval(seconds, *deltas)


def restarted_between(before: RedisInfo, after: RedisInfo) -> bool:
    """The server restarted (its run_id changed, or its uptime went backwards): the cache was emptied."""
    if before.run_id and after.run_id:
        return before.run_id != after.run_id
    return after.uptime_seconds < before.uptime_seconds


def slowlog_from(raw: object) -> tuple[SlowEntry, ...]:
    """SLOWLOG GET's reply: [id, unix time, microseconds, [args...], client addr, client name] per entry."""
    entries = []
    for item in raw if isinstance(raw, list | tuple) else ():
        if not isinstance(item, list | tuple) or len(item) < 4:
            continue
        try:
            entry_id, started, duration = int(item[0]), int(item[1]), int(item[2])
        except (TypeError, ValueError):
            continue
        args = item[3] if isinstance(item[3], list | tuple) else ()
        entries.append(
            SlowEntry(
                id=entry_id,
                started_at=datetime.fromtimestamp(started, UTC),
                duration_us=duration,
                args=redact_command([text(a) for a in args]),  # AUTH, CONFIG SET requirepass…: never shown
                client=text(item[4]) if len(item) > 4 else "",
                client_name=text(item[5]) if len(item) > 5 else "",
            )
        )
    entries.sort(key=lambda e: -e.id)
    return tuple(entries)


def latency_from(raw: object) -> tuple[LatencyEvent, ...]:
    """LATENCY LATEST's reply: [event, unix time, latest ms, max ms] per event."""
    events = []
    for item in raw if isinstance(raw, list | tuple) else ():
        if not isinstance(item, list | tuple) or len(item) < 4:
            continue
        try:
            events.append(
                LatencyEvent(
                    name=text(item[0]),
                    latest_at=datetime.fromtimestamp(int(item[1]), UTC),
                    latest_ms=int(item[2]),
                    max_ms=int(item[3]),
                )
            )
        except (TypeError, ValueError):
            continue
    events.sort(key=lambda e: -e.latest_ms)
    return tuple(events)


def config_pairs(raw: object) -> list[tuple[str, str]]:
    """CONFIG GET's flat [name, value, ...] reply (or a RESP3 map) as pairs, secrets dropped."""
    if isinstance(raw, dict):
        items = [(text(k), text(v)) for k, v in raw.items()]
    elif isinstance(raw, list | tuple):
        flat = [text(x) for x in raw]
        items = list(zip(flat[0::2], flat[1::2], strict=False))
    else:
        items = []
    return [(k, v) for k, v in items if k.lower() not in SECRET_CONFIG]


def blocked_reason(exc: BaseException) -> str | None:
    """Why a reading was refused, when the refusal is the provider's or the ACL's; None for other errors."""
    message = text(exc.args[0] if exc.args else exc).strip()
    lowered = message.lower()
    if isinstance(exc, rexc.NoPermissionError) or lowered.startswith("noperm"):
        return f"blocked by ACL: {_one_line(message)}"
    if "unknown command" in lowered or "unknown subcommand" in lowered:
        return f"blocked by the provider: {_one_line(message)}"
    return None


def _one_line(message: str, limit: int = 160) -> str:
    flat = " ".join(message.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe_error(exc: BaseException, endpoint: str, timeout: float) -> str:
    """A redis-py error in plain words: what happened and where, never a password."""
    message = _one_line(text(exc.args[0] if exc.args else "") or type(exc).__name__, 200)
    lowered = message.lower()
    if "authentication required" in lowered or "noauth" in lowered:
        return f"{endpoint} wants a password: set REDISCLI_AUTH or [redis] password_file"
    if isinstance(exc, rexc.AuthenticationError) or "wrongpass" in lowered or "invalid password" in lowered:
        return f"authentication failed at {endpoint}: wrong user or password"
    if isinstance(exc, rexc.TimeoutError | TimeoutError):
        return f"no answer from {endpoint} within {timeout:g}s"
    if isinstance(exc, rexc.InvalidResponse) or "protocol error" in lowered:
        # a proxy, a TLS port or another server on Redis's port: say so, with the first bytes it sent
        said = re.sub(r"^protocol error:\s*", "", message, flags=re.I)
        return f"{endpoint} does not speak Redis's protocol (it answered {said})"
    if isinstance(exc, rexc.BusyLoadingError):
        return f"{endpoint} is loading its dataset (just restarted)"
    if "connection refused" in lowered or "connect call failed" in lowered or "error 111 " in lowered:
        return f"connection refused at {endpoint}"
    if "name or service not known" in lowered or "nodename nor servname" in lowered:
        return f"cannot resolve the host of {endpoint}"
    if isinstance(exc, ssl.SSLError) or "ssl" in lowered or "certificate" in lowered:
        # "Error 1 connecting to h:p. [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: ..."
        reason = re.sub(r"^.*?\[SSL[^\]]*\]\s*", "", message)
        reason = re.sub(r"\s*\(_ssl\.c:\d+\)\.?$", "", reason)
        hint = "; set [redis] ca_file to the server's CA" if "verify failed" in reason else ""
        return f"TLS failed with {endpoint}: {reason}{hint}"
    if isinstance(exc, rexc.ConnectionError | ConnectionError | OSError):
        if "closed" in lowered or "reset" in lowered or "eof" in lowered:
            return f"{endpoint} closed the connection"
        return f"cannot reach {endpoint}: {message}"
    return message


def endpoint_of(url: str | None) -> str:
    """host:port/db of a Redis URL, without credentials."""
    if not url:
        return "Redis"
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    db = parts.path.strip("/") or "0"
    scheme = "rediss://" if parts.scheme == "rediss" else ""
    return f"{scheme}{host}:{parts.port or 6379}/{db}"


# --- the probe ----------------------------------------------------------------------------------------------


@dataclass
class _Pending:
    """Commands of one round trip, each with the reading it feeds."""

    commands: list[tuple[str, tuple[object, ...]]] = field(default_factory=list)

    def add(self, reading: str, *args: object) -> None:
        check_command(*args)
        self.commands.append((reading, args))


class RedisProbe(PolledSource[RedisSnapshot]):
    """Reads one Redis server over one connection, one pipelined round trip a refresh.

    poll() never raises: failures become the snapshot's health, with the last good data kept.
    """

    SOURCE = SOURCE
    NAME = "Redis"
    NOT_CONFIGURED = NOT_CONFIGURED
    _PROPAGATE = (CommandRefused,)  # a bug in the probe itself: tests must see it
    endpoint: str  # host:port/db, always known from the URL

    def __init__(
        self,
        settings: RedisSettings,
        *,
        clock: Callable[[], datetime] = utc_now,
        backoff: Backoff | None = None,
        config_every: int = CONFIG_EVERY,
    ) -> None:
        # one connection: a refresh and a sampler run take turns on the lock
        super().__init__(
            backoff=backoff or Backoff.for_source(settings.refresh, settings.backoff_max),
            clock=clock,
            endpoint=endpoint_of(settings.url),
        )
        self.settings = settings
        self.config_every = config_every
        self._client: aioredis.Redis | None = None
        self._previous_info: tuple[RedisInfo, datetime] | None = None  # and when it was read
        self._history: list[float | None] = []
        self._refreshes = 0
        self._config: RedisConfig | None = None
        self._blocked: dict[str, str] = {}
        self._sample: KeySample | None = None
        self.sent: list[tuple[str, ...]] = []  # every command sent, in order: tests prove it is only reads
        self.round_trips = 0  # of the last refresh or sampler run

    @property
    def configured(self) -> bool:
        return self.settings.configured

    async def aclose(self) -> None:
        await self._drop_client()

    async def _reset(self) -> None:
        await self._drop_client()

    # --- one refresh ----------------------------------------------------------------------------------

    async def check(self) -> SourceHealth:
        """One refresh with the CONFIG reads, described for `oncall check`: version, role, what is blocked."""
        self._refreshes = 0  # so this poll reads CONFIG too
        snapshot = await self.poll()
        health = snapshot.health
        if not health.answering or snapshot.info is None:
            return health
        info = snapshot.info
        blocked = ", ".join(reading for reading, _ in snapshot.blocked) or "none"
        detail = (
            f"Redis {info.version} ({info.mode}), role {info.replication.role}, "
            f"{info.keys} keys; blocked readings: {blocked}"
        )
        return replace(health, detail=detail)

    async def _poll_guarded(self) -> RedisSnapshot:
        s = self.settings
        deadline = s.connect_timeout + s.timeout + 1.0
        try:
            async with asyncio.timeout(deadline):
                return await self._poll_once()
        except TimeoutError:
            await self._drop_client()  # replies may still be on their way: never reuse the connection
            return self._failed(f"no answer from {self.endpoint} within {s.timeout:g}s")
        except (rexc.RedisError, OSError) as exc:
            await self._drop_client()
            return self._failed(describe_error(exc, self.endpoint, s.timeout))

    async def _poll_once(self) -> RedisSnapshot:
        pending = _Pending()
        pending.add("INFO", "INFO", "all")
        pending.add("SLOWLOG GET", "SLOWLOG", "GET", SLOWLOG_ENTRIES)
        pending.add("LATENCY LATEST", "LATENCY", "LATEST")
        # a refused CONFIG GET is asked again at every refresh: an ACL fixed shows at the next one
        read_config = self._refreshes % self.config_every == 0 or "CONFIG GET" in self._blocked
        if read_config:
            for name in CONFIG_NAMES:
                pending.add("CONFIG GET", "CONFIG", "GET", name)
        started = time.perf_counter()
        replies = await self._round_trip(pending)
        latency = time.perf_counter() - started
        self._refreshes += 1
        now = self._clock()

        by_reading: dict[str, list[object]] = {}
        for (reading, _), reply in zip(pending.commands, replies, strict=True):
            by_reading.setdefault(reading, []).append(reply)
        blocked = {k: v for k, v in self._blocked.items() if k == "CONFIG GET" and not read_config}
        errors: list[str] = []

        def reply_of(reading: str) -> object | None:
            for reply in by_reading.get(reading, []):
                if isinstance(reply, BaseException):
                    reason = blocked_reason(reply)
                    if reason is not None:
                        blocked[reading] = reason
                    elif reading == "INFO":
                        raise reply  # the reading everything else hangs on: the whole refresh failed
                    else:
                        why = describe_error(reply, self.endpoint, self.settings.timeout)
                        errors.append(f"{reading}: {why}")
                    return None
            replies_ = by_reading.get(reading, [])
            return replies_[0] if replies_ else None

        info_raw = reply_of("INFO")
        slow_raw = reply_of("SLOWLOG GET")
        latency_raw = reply_of("LATENCY LATEST")
        if read_config:
            config_replies = by_reading.get("CONFIG GET", [])
            refused = [r for r in config_replies if isinstance(r, BaseException)]
            if refused:
                reply_of("CONFIG GET")
                self._config = None
            else:
                pairs = [p for r in config_replies for p in config_pairs(r)]
                self._config = RedisConfig(values=tuple(pairs), read_at=now)
        self._blocked = blocked

        info = info_from(parse_info(info_raw)) if info_raw is not None else None
        interval = None
        restarted = False
        if info is not None:
            if self._previous_info is not None:
                before, at = self._previous_info
                restarted = restarted_between(before, info)
                seconds = (now - at).total_seconds()
                interval = interval_between(before, info, seconds) if seconds > 0 else None
                if interval is not None:
                    self._history = [*self._history, interval.hit_ratio][-HISTORY:]
            self._previous_info = (info, now)
        else:
            # INFO refused: the readings everything hangs on are gone; keep what was read and back off
            return self._failed(f"INFO {blocked.get('INFO', 'unreadable')}", state="forbidden")
        self.backoff.success()

        notes = [f"{reading} {why}" for reading, why in blocked.items()] + errors
        state: HealthState = "forbidden" if info is None else "degraded" if notes else "ok"
        health = SourceHealth(
            source=SOURCE,
            state=state,
            checked_at=now,
            last_success=now,
            latency=latency,
            last_error="; ".join(notes) or None,
            detail=_detail(info),
            endpoint=self.endpoint,
        )
        return RedisSnapshot(
            info=info,
            interval=interval,
            hit_ratio_history=tuple(self._history),
            slowlog=slowlog_from(slow_raw) if "SLOWLOG GET" not in blocked and slow_raw is not None else None,
            latency=latency_from(latency_raw)
            if "LATENCY LATEST" not in blocked and latency_raw is not None
            else None,
            config=self._config,
            blocked=tuple(sorted(blocked.items())),
            restarted=restarted,
            sample=self._sample,
            health=health,
            fetched_at=now,
            commands_sent=len(pending.commands),
        )

    # --- the key sampler (opt-in) ---------------------------------------------------------------------

    async def sample_keys(
        self,
        *,
        max_keys: int | None = None,
        max_seconds: float | None = None,
        count: int = 200,
        samples: int = 5,
        top: int = 10,
    ) -> KeySample:
        """Walk the keyspace with SCAN, bounded by a key cap and a time cap; size each key found.

        Each round trip is one SCAN (COUNT `count`) or one batch of TYPE/TTL/MEMORY USAGE ... SAMPLES
        `samples` for the keys it returned: each command is short on the server, and the connection
        is given back between round trips so other clients are served in between.
        """
        max_keys = max_keys or self.settings.sample_max_keys
        max_seconds = max_seconds or self.settings.sample_max_seconds
        started = time.perf_counter()
        found: list[SampledKey] = []
        round_trips = 0
        slowest = 0.0
        cursor: object = 0
        complete = False
        stopped_by: str | None = None
        async with self._lock:
            try:
                while True:
                    pending = _Pending()
                    pending.add("SCAN", "SCAN", cursor, "COUNT", count)
                    t0 = time.perf_counter()
                    (reply,) = await self._round_trip(pending)
                    slowest = max(slowest, time.perf_counter() - t0)
                    round_trips += 1
                    if isinstance(reply, BaseException):
                        raise reply
                    cursor, keys = _scan_reply(reply)
                    keys = keys[: max(0, max_keys - len(found))]
                    if keys:
                        batch = _Pending()
                        for key in keys:
                            batch.add("TYPE", "TYPE", key)
                            batch.add("TTL", "TTL", key)
                            batch.add("MEMORY USAGE", "MEMORY", "USAGE", key, "SAMPLES", samples)
                        t0 = time.perf_counter()
                        replies = await self._round_trip(batch)
                        slowest = max(slowest, time.perf_counter() - t0)
                        round_trips += 1
                        found.extend(_sampled(keys, replies))
                    if _cursor_done(cursor):
                        complete = True
                        break
                    if len(found) >= max_keys:
                        stopped_by = f"the key cap ({max_keys})"
                        break
                    if time.perf_counter() - started >= max_seconds:
                        stopped_by = f"the time cap ({max_seconds:g}s)"
                        break
            except (rexc.RedisError, OSError, TimeoutError) as exc:
                reason = blocked_reason(exc)
                stopped_by = reason or describe_error(exc, self.endpoint, self.settings.timeout)
                if reason is None:
                    await self._drop_client()
            self.round_trips = round_trips
        sample = summarize_sample(
            found,
            taken_at=self._clock(),
            elapsed=time.perf_counter() - started,
            complete=complete,
            stopped_by=stopped_by,
            round_trips=round_trips,
            slowest_round_trip=slowest,
            top=top,
        )
        self._sample = sample
        if self._last is not None:
            self._last = replace(self._last, sample=sample)
        return sample

    # --- live triage reads ------------------------------------------------------------------------------

    async def read(
        self, command: Sequence[str], *, limit: int | None = None, pattern: str | None = None
    ) -> Reading:
        """One runbook command read live, as a table: never raises, a failure is the Reading's problem.

        `command` is `("INFO",)`, `("INFO", section)`, `("CONFIG", "GET", name)`, `("SLOWLOG", "GET")`,
        `("SLOWLOG", "GET", n)`, `("LATENCY", "LATEST")`, `("SCAN",)` with `pattern` (`redis-cli --scan
        --pattern P | head -N`, at most `limit` keys, default SCAN_LIMIT) or `("BIGKEYS",)` (`redis-cli
        --bigkeys`: the key sampler, its `limit` largest keys). Each goes through the allowlist like every
        other command; values are kept as the server sent them (untrusted text, for the UI to clean).
        """
        words = [text(word) for word in command]
        name = words[0].upper() if words else ""
        what = _read_what(words, limit=limit, pattern=pattern)
        if not self.configured:
            return Reading.failed(SOURCE, what, NOT_CONFIGURED)
        if name == "BIGKEYS":
            return await self._read_bigkeys(words, what, limit)
        async with self._lock:
            try:
                if name == "SCAN" and len(words) == 1:
                    return await self._read_scan(what, limit, pattern)
                return await self._read_command(words, what, limit)
            except CommandRefused as refused:
                return Reading.failed(SOURCE, what, str(refused))
            except _CannotRead as cannot:
                return Reading.failed(SOURCE, what, str(cannot))
            except TimeoutError:
                await self._drop_client()  # replies may still be on their way: never reuse the connection
                return Reading.failed(
                    SOURCE, what, f"no answer from {self.endpoint} within {self.settings.timeout:g}s"
                )
            except (rexc.RedisError, OSError) as exc:
                if not isinstance(exc, rexc.ResponseError):
                    await self._drop_client()  # the connection itself failed; a refusal leaves it usable
                reason = blocked_reason(exc)
                return Reading.failed(
                    SOURCE, what, reason or describe_error(exc, self.endpoint, self.settings.timeout)
                )
            except Exception as exc:  # a bug here must not take the console down at 3 a.m.
                await self._drop_client()
                why = f"internal error while reading Redis: {type(exc).__name__}"
                return Reading.failed(SOURCE, what, why)

    async def _read_command(self, words: list[str], what: str, limit: int | None) -> Reading:
        name, sub = check_command(*words)  # a refusal, before anything is sent
        args = words[2 if sub else 1 :]
        if name == "INFO" and len(args) <= 1:
            fields = parse_info(await self._read_reply("INFO", *args))
            reading = self._read_table(what, ("field", "value"), list(fields.items()), limit)
            if not fields:
                section = args[0] if args else "default"
                reading = replace(reading, problem=f"INFO answered no fields for the section {section!r}")
            return reading
        if (name, sub) == ("CONFIG", "GET") and len(args) == 1:
            pairs = config_pairs(await self._read_reply("CONFIG", "GET", args[0]))
            reading = self._read_table(what, ("name", "value"), pairs, limit)
            if not pairs:
                reading = replace(reading, problem=f"the server has no setting named {args[0]!r}")
            return reading
        if (name, sub) == ("SLOWLOG", "GET") and len(args) <= 1:
            if args and not re.fullmatch(r"-?\d{1,9}", args[0].strip()):
                raise _CannotRead(f"SLOWLOG GET takes a number of entries, not {args[0]!r}")
            count = [int(args[0])] if args else []
            entries = slowlog_from(await self._read_reply("SLOWLOG", "GET", *count))
            rows = [
                (
                    e.id,
                    e.started_at.isoformat(),
                    f"{e.duration_us / 1000:.3f}",
                    " ".join(e.args),
                    e.client,
                    e.client_name,
                )
                for e in entries
            ]
            columns = ("id", "time", "duration ms", "command", "client", "name")
            return self._read_table(what, columns, rows, limit)
        if (name, sub) == ("LATENCY", "LATEST") and not args:
            events = latency_from(await self._read_reply("LATENCY", "LATEST"))
            latency_rows = [(e.name, e.latest_at.isoformat(), e.latest_ms, e.max_ms) for e in events]
            return self._read_table(what, ("event", "latest at", "latest ms", "max ms"), latency_rows, limit)
        shown = f"{name} {sub}" if sub else name
        raise _CannotRead(
            f"{shown} is on the Redis allowlist, but oncall has no live view of it in that form"
        )

    async def _read_reply(self, *args: object) -> object:
        """One command, one round trip (checked, recorded in `sent`), bounded by the read timeout."""
        pending = _Pending()
        pending.add("read", *args)
        async with asyncio.timeout(self._read_deadline()):
            (reply,) = await self._round_trip(pending)
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def _read_deadline(self) -> float:
        return self.settings.connect_timeout + self.settings.timeout + 1.0

    def _read_table(
        self, what: str, columns: Sequence[str], rows: Sequence[Sequence[object]], limit: int | None
    ) -> Reading:
        return Reading.table(SOURCE, what, columns, rows, read_at=self._clock(), limit=limit)

    async def _read_scan(self, what: str, limit: int | None, pattern: str | None) -> Reading:
        """SCAN cursor [MATCH pattern] COUNT 200 until `limit` keys, the keyspace's end or SCAN_SECONDS."""
        wanted = max(1, limit if limit is not None else SCAN_LIMIT)
        match: tuple[str, ...] = ("MATCH", pattern) if pattern is not None else ()
        found: dict[str, None] = {}  # SCAN may return a key twice: kept once, in the order first seen
        cursor: object = 0
        started = time.perf_counter()
        round_trips = 0
        complete = False
        while True:
            reply = await self._read_reply("SCAN", cursor, *match, "COUNT", SCAN_COUNT)
            round_trips += 1
            cursor, keys = _scan_reply(reply)
            found.update(dict.fromkeys(text(key) for key in keys))
            if _cursor_done(cursor):
                complete = True
                break
            if len(found) >= wanted or time.perf_counter() - started >= SCAN_SECONDS:
                break
        self.round_trips = round_trips
        reading = self._read_table(what, ("key",), [(key,) for key in found], wanted)
        if not complete:
            reading = replace(reading, truncated=True)  # the keyspace goes on past what was read
            if len(found) < wanted:
                reading = replace(
                    reading,
                    problem=f"stopped by the time cap ({SCAN_SECONDS:g}s) after {len(found)} keys",
                )
        return reading

    async def _read_bigkeys(self, words: list[str], what: str, limit: int | None) -> Reading:
        """`redis-cli --bigkeys` as the key sampler's largest keys: BIGKEYS itself is never sent."""
        if len(words) > 1:
            return Reading.failed(SOURCE, what, "BIGKEYS takes no arguments here")
        try:
            sample = await self.sample_keys(top=max(1, limit or BIGKEYS_TOP))
        except Exception as exc:  # the sampler keeps Redis errors to itself; anything else is a bug
            if isinstance(exc, CommandRefused):
                return Reading.failed(SOURCE, what, str(exc))
            return Reading.failed(SOURCE, what, f"internal error while reading Redis: {type(exc).__name__}")
        stopped_by = sample.stopped_by
        capped = stopped_by is None or re.fullmatch(r"the (key|time) cap \(.*\)", stopped_by) is not None
        if not sample.largest and not capped:
            return Reading.failed(SOURCE, what, stopped_by or "")  # blocked, or the server is down
        rows = [(k.key, k.type, k.bytes, k.ttl) for k in sample.largest]
        reading = Reading.table(SOURCE, what, ("key", "type", "size", "ttl"), rows, read_at=sample.taken_at)
        if not sample.complete:
            # a sample: larger keys may be in the part of the keyspace it didn't reach
            how = f"by {stopped_by}" if capped else f"on an error: {stopped_by}"
            reading = replace(reading, truncated=True, problem=f"stopped after {sample.scanned} keys {how}")
        return reading

    # --- the connection -----------------------------------------------------------------------------

    async def _round_trip(self, pending: _Pending) -> list[object]:
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
            self._client = _client(self.settings)
        return self._client

    async def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()

    # --- results ------------------------------------------------------------------------------------

    def _empty(self, health: SourceHealth) -> RedisSnapshot:
        return RedisSnapshot(
            info=None,
            interval=None,
            hit_ratio_history=(),
            slowlog=None,
            latency=None,
            config=None,
            blocked=(),
            restarted=False,
            sample=self._sample,
            health=health,
            fetched_at=None,
        )

    def _stale(self, previous: RedisSnapshot, health: SourceHealth) -> RedisSnapshot:
        # no interval, no restart: this poll read nothing to compare
        return replace(previous, health=health, interval=None, restarted=False, commands_sent=0)


def _detail(info: RedisInfo | None) -> str | None:
    if info is None:
        return None
    share = info.memory_share
    memory = f"memory {share:.0%} of maxmemory" if share is not None else f"memory {_size(info.used_memory)}"
    ratio = info.hit_ratio
    hits = f", hit ratio {ratio:.0%}" if ratio is not None else ""
    return f"{memory}{hits}, {info.connected_clients} clients"


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1024
    return f"{n}B"


class _CannotRead(Exception):
    """A live read oncall can't make in that form (an allowlisted command it has no table for)."""


def _read_what(words: Sequence[str], *, limit: int | None, pattern: str | None) -> str:
    """The read as the user would type it: "INFO memory", "SCAN MATCH session:* (at most 100)"."""
    name = words[0].upper() if words else ""
    if name == "SCAN" and len(words) == 1:
        at_most = f"(at most {max(1, limit if limit is not None else SCAN_LIMIT)})"
        return f"SCAN MATCH {pattern} {at_most}" if pattern is not None else f"SCAN {at_most}"
    if name == "BIGKEYS" and len(words) == 1:
        return f"redis-cli --bigkeys (largest {max(1, limit or BIGKEYS_TOP)})"
    rest = list(words[1:])
    if name in _WITH_SUBCOMMAND and rest:
        rest[0] = rest[0].upper()
    return " ".join([name, *rest]) if words else "(an empty command)"


def _scan_reply(reply: object) -> tuple[object, list[bytes]]:
    if isinstance(reply, list | tuple) and len(reply) == 2 and isinstance(reply[1], list | tuple):
        return reply[0], list(reply[1])
    raise rexc.ResponseError("SCAN answered something that is not [cursor, keys]")


def _cursor_done(cursor: object) -> bool:
    return text(cursor) in ("0", "")


def _sampled(keys: Sequence[bytes], replies: Sequence[object]) -> Iterable[SampledKey]:
    for i, key in enumerate(keys):
        kind, ttl, usage = replies[3 * i : 3 * i + 3]
        if isinstance(kind, BaseException) and (reason := blocked_reason(kind)):
            raise rexc.NoPermissionError(reason)
        if text(kind) == "none":
            continue  # expired or deleted between SCAN and TYPE
        yield SampledKey(
            key=text(key),
            type=text(kind) if not isinstance(kind, BaseException) else "?",
            bytes=int(usage) if isinstance(usage, int) else None,
            ttl=int(ttl) if isinstance(ttl, int) else -1,
        )


def summarize_sample(
    keys: Sequence[SampledKey],
    *,
    taken_at: datetime,
    elapsed: float,
    complete: bool,
    stopped_by: str | None,
    round_trips: int,
    slowest_round_trip: float,
    top: int = 10,
) -> KeySample:
    """The largest keys, the share without TTL and the key patterns of one sampler run."""
    patterns: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    no_ttl: Counter[str] = Counter()
    for key in keys:
        prefix = key.key.split(":", 1)[0] + ":" if ":" in key.key else key.key
        patterns[prefix] += 1
        sizes[prefix] += key.bytes or 0
        no_ttl[prefix] += key.ttl == -1
    largest = sorted(keys, key=lambda k: (-(k.bytes or 0), k.key))[:top]
    by_bytes = sorted(patterns, key=lambda p: (-sizes[p], -patterns[p], p))[:top]
    return KeySample(
        taken_at=taken_at,
        scanned=len(keys),
        largest=tuple(largest),
        without_ttl=sum(1 for k in keys if k.ttl == -1),
        patterns=tuple(KeyPattern(p, patterns[p], sizes[p], no_ttl[p]) for p in by_bytes),
        elapsed=elapsed,
        complete=complete,
        stopped_by=stopped_by,
        round_trips=round_trips,
        slowest_round_trip=slowest_round_trip,
    )


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


def _client(settings: RedisSettings) -> aioredis.Redis:
    """A redis-py client on one guarded connection, handing back raw replies."""
    pool = ConnectionPool(max_connections=1, **connection_options(settings))
    client = aioredis.Redis(connection_pool=pool)
    # the probe parses every reply itself (the demo goes through the same parsers), so no callbacks
    client.response_callbacks.clear()
    return client


__all__ = [
    "ALLOWED",
    "CONFIG_NAMES",
    "SOURCE",
    "CommandRefused",
    "DbKeys",
    "GuardedConnection",
    "Interval",
    "KeyPattern",
    "KeySample",
    "LatencyEvent",
    "Persistence",
    "RedisConfig",
    "RedisInfo",
    "RedisProbe",
    "RedisSnapshot",
    "Replication",
    "SampledKey",
    "SlowEntry",
    "check_command",
    "config_pairs",
    "connection_options",
    "info_from",
    "interval_between",
    "latency_from",
    "parse_info",
    "slowlog_from",
    "summarize_sample",
]
