"""Benchmark helpers: one line of timings (median, p95, max), and an event-loop stall monitor."""

from __future__ import annotations

import asyncio
import statistics


def report(name: str, timings_ms: list[float], width: int = 42) -> None:
    ordered = sorted(timings_ms)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    print(
        f"{name:<{width}} n={len(ordered):<5} median {statistics.median(ordered):8.3f} ms   "
        f"p95 {p95:8.3f} ms   max {ordered[-1]:8.3f} ms"
    )


class StallMonitor:
    """How late the event loop wakes a 5 ms sleeper: the longest wait is the longest frozen screen."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def reset(self) -> None:
        self.lags = []

    def summary(self) -> str:
        lags = sorted(self.lags) or [0.0]
        over = sum(1 for lag in lags if lag > 0.016)
        p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
        return f"max {lags[-1] * 1000:6.1f} ms   p99 {p99 * 1000:5.1f} ms   {over} of {len(lags)} over 16 ms"

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(0.005)
            self.lags.append(max(0.0, loop.time() - start - 0.005))

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
