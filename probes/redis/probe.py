"""Redis probe: INFO, memory and hit ratio, slow log, latency, persistence and config, read-only by allowlist.

Every command goes through `check_command` before a byte is sent, twice: in the probe, and again in the
connection class that packs the bytes, so nothing outside ALLOWED can reach the server even by mistake.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

import redis.exceptions as rexc

from probes.base import Backoff, HealthState, SourceHealth, utc_now
from probes.format import format_bytes
from probes.redis.client import SOURCE, Pending
from probes.redis.parsing import (
    blocked_reason,
    config_pairs,
    describe_error,
    info_from,
    interval_between,
    latency_from,
    parse_info,
    restarted_between,
    slowlog_from,
)
from probes.redis.reads import TriageReads
from probes.redis.snapshot import RedisConfig, RedisInfo, RedisSnapshot

if TYPE_CHECKING:
    from probes.redis.settings import RedisSettings

SLOWLOG_ENTRIES = 128  # SLOWLOG GET N per refresh: the default slowlog-max-len

CONFIG_EVERY = 6  # refreshes between CONFIG GET reads: the settings rarely change during an incident

HISTORY = 30  # hit-ratio intervals kept for the sparkline

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


class RedisProbe(TriageReads):
    """Reads one Redis server over one connection, one pipelined round trip a refresh.

    poll() never raises: failures become the snapshot's health, with the last good data kept.
    """

    def __init__(
        self,
        settings: RedisSettings,
        *,
        clock: Callable[[], datetime] = utc_now,
        backoff: Backoff | None = None,
        config_every: int = CONFIG_EVERY,
    ) -> None:
        super().__init__(settings, clock=clock, backoff=backoff)
        self.config_every = config_every
        self._previous_info: tuple[RedisInfo, datetime] | None = None  # and when it was read
        self._history: list[float | None] = []
        self._refreshes = 0
        self._config: RedisConfig | None = None
        self._blocked: dict[str, str] = {}

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
        pending = Pending()
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
    memory = (
        f"memory {share:.0%} of maxmemory"
        if share is not None
        else f"memory {format_bytes(info.used_memory)}"
    )
    ratio = info.hit_ratio
    hits = f", hit ratio {ratio:.0%}" if ratio is not None else ""
    return f"{memory}{hits}, {info.connected_clients} clients"
