"""The scripted incident's sources, built one way for the app (`oncall --demo`) and the CLI (`--demo`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import httpx

from probes.base import Reading
from probes.prometheus import PrometheusSettings
from probes.redis.settings import RedisSettings
from tui.demo.kubernetes import DemoKubernetes
from tui.demo.postgres import DemoPostgres
from tui.demo.scenario import DEMO_REDIS_URL, DEMO_URL, DemoIncident

if TYPE_CHECKING:
    from probes.redis.snapshot import KeySample, RedisSnapshot
    from tui.demo.redis import DemoRedis

DEMO_REDIS = RedisSettings(url=DEMO_REDIS_URL, refresh=2.0)


@dataclass(frozen=True)
class DemoSources:
    """Prometheus (its settings and the transport answering for it), the cluster, the database, the cache."""

    prometheus: PrometheusSettings
    transport: httpx.AsyncBaseTransport
    kube: DemoKubernetes
    postgres: DemoPostgres
    anchor: datetime
    clock: Callable[[], datetime]

    @cached_property
    def redis(self) -> DemoRedis:
        """The demo's Redis, made when first asked for: the redis client library loads with it."""
        from tui.demo.redis import DemoRedis

        return DemoRedis(self.anchor, self.clock)

    def made_redis(self) -> DemoRedis | None:
        return self.__dict__.get("redis")


def demo_sources(
    prometheus: PrometheusSettings, anchor: datetime, clock: Callable[[], datetime]
) -> DemoSources:
    """The incident that started at `anchor`, as `clock` moves: nothing real is reached (no URL, no token)."""
    return DemoSources(
        prometheus=replace(prometheus, url=DEMO_URL, token=None, password=None),
        transport=DemoIncident(anchor, clock).transport(),
        kube=DemoKubernetes(anchor, clock),
        postgres=DemoPostgres(anchor, clock),
        anchor=anchor,
        clock=clock,
    )


class LaterRedis:
    """The app's demo Redis: its settings at once, the DemoRedis itself (and the redis client library) made
    off the event loop at its first read, so the demo's first screen doesn't wait for them."""

    def __init__(self, sources: DemoSources) -> None:
        self._sources = sources

    @property
    def settings(self) -> RedisSettings:
        made = self._sources.made_redis()
        return made.settings if made is not None else DEMO_REDIS

    @property
    def configured(self) -> bool:
        return True

    @property
    def last_snapshot(self) -> RedisSnapshot | None:
        made = self._sources.made_redis()
        return made.last_snapshot if made is not None else None

    async def probe(self) -> DemoRedis:
        made = self._sources.made_redis()
        if made is None:
            made = await asyncio.to_thread(lambda: self._sources.redis)
        return made

    async def poll(self) -> RedisSnapshot:
        return await (await self.probe()).poll()

    def next_delay(self) -> float:
        made = self._sources.made_redis()
        return made.next_delay() if made is not None else DEMO_REDIS.refresh

    async def aclose(self) -> None:
        made = self._sources.made_redis()
        if made is not None:
            await made.aclose()

    async def sample_keys(self, **options: Any) -> KeySample:
        return await (await self.probe()).sample_keys(**options)

    async def read(
        self, command: Sequence[str], *, limit: int | None = None, pattern: str | None = None
    ) -> Reading:
        return await (await self.probe()).read(command, limit=limit, pattern=pattern)
