"""The opt-in key sampler: SCAN the keyspace, bounded by a key cap and a time cap, and size each key found.

One run serves the whole app: the Redis tab's `x`, the [redis] sample_keys schedule, and every checklist's
`redis-cli --bigkeys` share the probe's last sample and its one run under way. A call while a run is under
way joins it; a read (`--bigkeys`) is answered from the last sample while it is younger than SAMPLE_MAX_AGE
(no command sent); the checklist's `r` asks a new run only when the last is older than SAMPLE_MIN_AGE. So a
section opened by many people, many times, costs the server one bounded run (sample_max_keys keys,
sample_max_seconds) per SAMPLE_MAX_AGE at most, and every place that shows a sample says how old it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

import redis.exceptions as rexc

from probes.base import Backoff
from probes.redis.client import Pending, RedisClient
from probes.redis.parsing import blocked_reason, describe_error, text
from probes.redis.snapshot import KeyPattern, KeySample, SampledKey

if TYPE_CHECKING:
    from probes.redis.settings import RedisSettings

SAMPLE_MAX_AGE = 300.0  # seconds a sample answers a read without a new run (the schedule's interval)
SAMPLE_MIN_AGE = 30.0  # seconds: the checklist's `r` asks a new run only when the last is older than this
SAMPLE_RETRY = 30.0  # seconds a run stopped by an error is kept: then a down server is asked again
SAMPLE_TOP = 10  # largest keys and key patterns a sample shows (the Redis tab)
LARGEST_KEPT = 100  # largest keys kept from a run, for a read asking more than SAMPLE_TOP (`| head -N`)


class KeySampler(RedisClient):
    """The sampler runs on the probe's own connection, between two refreshes; one run at a time."""

    def __init__(
        self, settings: RedisSettings, *, clock: Callable[[], datetime], backoff: Backoff | None
    ) -> None:
        super().__init__(settings, clock=clock, backoff=backoff)
        self._running: asyncio.Task[KeySample] | None = None  # the run under way, that every caller joins
        self._sampled_at: float | None = None  # time.monotonic() when the last run ended
        self._sample_failed = False  # the last run stopped on an error: kept SAMPLE_RETRY at most
        self._largest: tuple[SampledKey, ...] = ()  # the last run's largest keys, up to LARGEST_KEPT
        self.sampler_runs = 0  # runs started since the probe was made: tests and the benchmark count them

    @property
    def sampling(self) -> asyncio.Task[KeySample] | None:
        """The run under way, or None."""
        running = self._running
        return running if running is not None and not running.done() else None

    def sample_age(self) -> float | None:
        """Seconds since the last run ended; None before the first."""
        return None if self._sampled_at is None else time.monotonic() - self._sampled_at

    def sample_fresh(self, max_age: float = SAMPLE_MAX_AGE) -> bool:
        """A sample younger than `max_age` seconds is kept: a read gets it without a command sent (one
        stopped by an error, SAMPLE_RETRY at most)."""
        age = self.sample_age()
        if self._sample_failed:
            max_age = min(max_age, SAMPLE_RETRY)
        return self._sample is not None and age is not None and age <= max_age

    def sample_soon(self, *, fresh: bool = False) -> asyncio.Task[KeySample] | None:
        """For a screen that must not wait: None when the last sample is young enough (SAMPLE_MAX_AGE, or
        SAMPLE_MIN_AGE when `fresh`: the checklist's `r`); else the run under way, or one started now."""
        if self.sample_fresh(SAMPLE_MIN_AGE if fresh else SAMPLE_MAX_AGE):
            return None
        return self._start_run(None, None, 200, 5)

    async def aclose(self) -> None:
        running, self._running = self._running, None
        if running is not None and not running.done():
            running.cancel()
            with contextlib.suppress(BaseException):
                await running
        await super().aclose()

    def _start_run(
        self, max_keys: int | None, max_seconds: float | None, count: int, samples: int
    ) -> asyncio.Task[KeySample]:
        if self._running is None or self._running.done():
            self.sampler_runs += 1
            self._running = asyncio.ensure_future(self._run(max_keys, max_seconds, count, samples))
        return self._running

    def _top(self, sample: KeySample, top: int) -> KeySample:
        if top == SAMPLE_TOP or sample is not self._sample:
            return sample
        return replace(sample, largest=self._largest[: max(0, top)])

    async def sample_keys(
        self,
        *,
        max_keys: int | None = None,
        max_seconds: float | None = None,
        count: int = 200,
        samples: int = 5,
        top: int = SAMPLE_TOP,
        max_age: float = 0.0,
    ) -> KeySample:
        """The keyspace sampled: the last sample when younger than `max_age` seconds (nothing sent), else
        the run under way (joined, whatever caps it was started with), else a new run.

        A run walks the keyspace with SCAN, bounded by a key cap and a time cap (the settings' unless
        given), and sizes each key found. Each round trip is one SCAN (COUNT `count`) or one batch of
        TYPE/TTL/MEMORY USAGE ... SAMPLES `samples` for the keys it returned: each command is short on the
        server, and the connection is given back between round trips so other clients are served in
        between. A caller cancelled while it waits leaves the run to finish for the others.
        """
        if not (max_age > 0 and self.sample_fresh(max_age)):
            running = self._start_run(max_keys, max_seconds, count, samples)
            await asyncio.shield(running)
        assert self._sample is not None
        return self._top(self._sample, top)

    async def _run(
        self, max_keys: int | None, max_seconds: float | None, count: int, samples: int
    ) -> KeySample:
        max_keys = max_keys or self.settings.sample_max_keys
        max_seconds = max_seconds or self.settings.sample_max_seconds
        started = time.perf_counter()
        found: list[SampledKey] = []
        round_trips = 0
        slowest = 0.0
        cursor: object = 0
        complete = False
        stopped_by: str | None = None
        failed = False
        try:
            while True:
                pending = Pending()
                pending.add("SCAN", "SCAN", cursor, "COUNT", count)
                t0 = time.perf_counter()
                (reply,) = await self._sampler_trip(pending)
                slowest = max(slowest, time.perf_counter() - t0)
                round_trips += 1
                if isinstance(reply, BaseException):
                    raise reply
                cursor, keys = scan_reply(reply)
                keys = keys[: max(0, max_keys - len(found))]
                if keys:
                    batch = Pending()
                    for key in keys:
                        batch.add("TYPE", "TYPE", key)
                        batch.add("TTL", "TTL", key)
                        batch.add("MEMORY USAGE", "MEMORY", "USAGE", key, "SAMPLES", samples)
                    t0 = time.perf_counter()
                    replies = await self._sampler_trip(batch)
                    slowest = max(slowest, time.perf_counter() - t0)
                    round_trips += 1
                    found.extend(_sampled(keys, replies))
                if cursor_done(cursor):
                    complete = True
                    break
                if len(found) >= max_keys:
                    stopped_by = f"the key cap ({max_keys})"
                    break
                if time.perf_counter() - started >= max_seconds:
                    stopped_by = f"the time cap ({max_seconds:g}s)"
                    break
        except (rexc.RedisError, OSError, TimeoutError) as exc:
            failed = True  # kept SAMPLE_RETRY at most: then the next read tries again
            reason = blocked_reason(exc)
            stopped_by = reason or describe_error(exc, self.endpoint, self.settings.timeout)
            if reason is None:
                async with self._lock:
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
            top=SAMPLE_TOP,
        )
        self._largest = tuple(sorted(found, key=_largest_first)[:LARGEST_KEPT])
        self._sample = sample
        self._sampled_at = time.monotonic()
        self._sample_failed = failed
        if self._last is not None:
            self._last = replace(self._last, sample=sample)
        return sample

    async def _sampler_trip(self, pending: Pending) -> list[object]:
        """One round trip of a run, the connection taken for it only: a refresh or a checklist's read
        waits for one SCAN or one batch at most, never for the whole run."""
        async with self._lock:
            return await self._round_trip(pending)


def _largest_first(key: SampledKey) -> tuple[int, str]:
    return -(key.bytes or 0), key.key


def scan_reply(reply: object) -> tuple[object, list[bytes]]:
    if isinstance(reply, list | tuple) and len(reply) == 2 and isinstance(reply[1], list | tuple):
        return reply[0], list(reply[1])
    raise rexc.ResponseError("SCAN answered something that is not [cursor, keys]")


def cursor_done(cursor: object) -> bool:
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
    largest = sorted(keys, key=_largest_first)[:top]
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
