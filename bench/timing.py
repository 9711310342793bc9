"""One line of benchmark output: median, p95 and max of a list of timings in milliseconds."""

from __future__ import annotations

import statistics


def report(name: str, timings_ms: list[float], width: int = 42) -> None:
    ordered = sorted(timings_ms)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    print(
        f"{name:<{width}} n={len(ordered):<5} median {statistics.median(ordered):8.3f} ms   "
        f"p95 {p95:8.3f} ms   max {ordered[-1]:8.3f} ms"
    )
