"""Benchmark helpers: one line of timings (median, p95, max), and an event-loop stall monitor."""

from __future__ import annotations

import asyncio
import statistics
from array import array


def report(name: str, timings_ms: list[float], width: int = 42) -> None:
    ordered = sorted(timings_ms)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    print(
        f"{name:<{width}} n={len(ordered):<5} median {statistics.median(ordered):8.3f} ms   "
        f"p95 {p95:8.3f} ms   max {ordered[-1]:8.3f} ms"
    )


class StallMonitor:
    """How late the event loop wakes a 5 ms sleeper: the longest wait is the longest frozen screen.

    The lags are counted in a fixed histogram (0.1 ms buckets up to 2 s, the max kept exactly), not kept one
    by one: a soak samples ~100 times a second for hours, and a list of every lag grew the process it measures
    (~40,000 floats, 1.7 MiB over bench.soak_bench, a quarter of the RSS slope it reported as the app's)."""

    BUCKET = 0.0001  # seconds
    BUCKETS = 20_000  # up to 2 s; a longer lag counts in the last bucket (the max is exact)

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self.reset()

    def reset(self) -> None:
        self._counts = array("q", bytes(8 * self.BUCKETS))
        self.samples = 0
        self.longest = 0.0
        self.over_frame = 0  # lags over 16 ms

    def add(self, lag: float) -> None:
        self._counts[min(self.BUCKETS - 1, int(lag / self.BUCKET))] += 1
        self.samples += 1
        self.longest = max(self.longest, lag)
        self.over_frame += lag > 0.016

    def percentile(self, share: float) -> float:
        """The lag (to 0.1 ms) that this share of the samples stay at or under."""
        wanted = min(self.samples - 1, int(self.samples * share)) + 1
        seen = 0
        for bucket, count in enumerate(self._counts):
            seen += count
            if seen >= wanted:
                return min(self.longest, (bucket + 1) * self.BUCKET)
        return self.longest

    def summary(self) -> str:
        p99 = self.percentile(0.99) if self.samples else 0.0
        return (
            f"max {self.longest * 1000:6.1f} ms   p99 {p99 * 1000:5.1f} ms   "
            f"{self.over_frame} of {self.samples or 1} over 16 ms"
        )

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(0.005)
            self.add(max(0.0, loop.time() - start - 0.005))

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
