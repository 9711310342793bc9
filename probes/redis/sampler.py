"""The opt-in key sampler: SCAN the keyspace, bounded by a key cap and a time cap, and size each key found."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

import redis.exceptions as rexc

from probes.redis.client import Pending, RedisClient
from probes.redis.parsing import blocked_reason, describe_error, text
from probes.redis.snapshot import KeyPattern, KeySample, SampledKey


class KeySampler(RedisClient):
    """The sampler runs on the probe's own connection, between two refreshes."""

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
                    pending = Pending()
                    pending.add("SCAN", "SCAN", cursor, "COUNT", count)
                    t0 = time.perf_counter()
                    (reply,) = await self._round_trip(pending)
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
                        replies = await self._round_trip(batch)
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
