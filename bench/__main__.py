"""`python -m bench [NAME ...]`: run every benchmark (or those named) and print the numbers, then one table of
the figures that have a goal: measured, goal, met or not.

Each benchmark runs in its own process, so a peak RSS it prints is its own and not the sum of those before it.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

BENCHES: tuple[tuple[str, str], ...] = (
    ("start_bench", "start-up: oncall --demo against a bare Textual app, both in tmux"),
    ("store_bench", "session store"),
    ("app_bench", "app: runbook parse, demo start, a driver's tick to an observer's screen"),
    ("alerts_bench", "Prometheus: an alert storm of 5,000 firing alerts"),
    ("kube_bench", "Kubernetes: 10,000 pods in the simulator"),
    ("pg_bench", "PostgreSQL: 2,000 sessions, oncall's refresh beside pg_activity's"),
    ("evidence_bench", "evidence: every section of the seed runbook against the real servers"),
    ("redis_bench", "Redis: one round trip a refresh, 128 slow log entries, the sampler over 1,000,000 keys"),
    ("soak_bench", "long incident: 8 simulated hours of a live dashboard"),
)

NUMBER = r"([0-9][0-9,]*(?:\.[0-9]+)?)"


@dataclass(frozen=True)
class Goal:
    bench: str
    figure: str
    pattern: str  # its first group is the number the goal is about
    goal: str
    met: Callable[[float], bool]

    def read(self, output: str) -> float | None:
        match = re.search(self.pattern, output, re.MULTILINE)
        return float(match.group(1).replace(",", "")) if match else None


GOALS: tuple[Goal, ...] = (
    Goal(
        "start_bench",
        "start to first alerts, oncall / bare Textual",
        rf"^ratio oncall / bare Textual\s+{NUMBER}",
        "≤ ×2.0",
        lambda v: v <= 2.0,
    ),
    Goal(
        "store_bench",
        "SQLite observer lag p95, two processes",
        rf"^SQLite observer lag p50 [0-9.]+ ms, p95 {NUMBER} ms",
        "< 100 ms",
        lambda v: v < 100,
    ),
    Goal(
        "app_bench",
        "driver's tick to the observer's screen, p95",
        rf"^observer lag p50 / p95 \(file watch\)\s+[0-9.]+ / +{NUMBER} ms",
        "< 100 ms",
        lambda v: v < 100,
    ),
    Goal(
        "alerts_bench",
        "5,000 alerts: longest stall over the polls",
        rf"^event-loop stalls over \d+ polls\s+max +{NUMBER} ms",
        "≤ 16 ms",
        lambda v: v <= 16,
    ),
    Goal(
        "alerts_bench",
        "5,000 alerts: peak RSS",
        rf"^peak RSS of the app process\s+{NUMBER} MiB",
        "< 150 MiB",
        lambda v: v < 150,
    ),
    Goal(
        "kube_bench",
        "10,000 pods: peak RSS",
        rf"^peak RSS of the app process\s+{NUMBER} MiB",
        "< 120 MiB",
        lambda v: v < 120,
    ),
    Goal(
        "kube_bench",
        "10,000 pods: first rows on screen",
        rf"^time to the first rows on screen\s+{NUMBER} s",
        "< 0.3 s",
        lambda v: v < 0.3,
    ),
    Goal(
        "kube_bench",
        "10,000 pods: complete view",
        rf"^time to the first complete view\s+{NUMBER} s",
        "< 1.5 s",
        lambda v: v < 1.5,
    ),
    Goal(
        "kube_bench",
        "bytes a minute, re-listing / watching, 1 change/s",
        rf"^bytes per minute watching, 1 changes/s .*re-listing / watching: x{NUMBER}",
        "≥ ×100",
        lambda v: v >= 100,
    ),
    Goal(
        "pg_bench",
        "PostgreSQL server time, oncall / pg_activity's whole refresh",
        rf"^ratio oncall / pg_activity\s+{NUMBER}",
        "≤ ×1.0",
        lambda v: v <= 1.0,
    ),
    Goal(
        "evidence_bench",
        "evidence p95, worst section",
        rf"^evidence p95, worst section\s+{NUMBER} ms",
        "< 100 ms",
        lambda v: v < 100,
    ),
    Goal(
        "soak_bench",
        "soak: RSS slope after warm-up",
        r"^RSS slope after warm-up\s+([-+]?[0-9.]+) MiB",
        "flat (≤ 1 MiB/h)",
        lambda v: v <= 1.0,
    ),
    Goal(
        "soak_bench",
        "soak: RSS slope over the second half",
        r"^RSS slope, second half\s+([-+]?[0-9.]+) MiB",
        "flat (≤ 1 MiB/h)",
        lambda v: v <= 1.0,
    ),
    Goal(
        "soak_bench",
        "soak: RSS slope over the last third",  # once the bounded caches have filled
        r"^RSS slope, last third\s+([-+]?[0-9.]+) MiB",
        "flat (≤ 1 MiB/h)",
        lambda v: v <= 1.0,
    ),
)


def run(name: str) -> str:
    """One benchmark in its own process; its lines go to our stdout as they come, and are kept."""
    lines: list[str] = []
    with subprocess.Popen(
        [sys.executable, "-m", f"bench.{name}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            lines.append(line)
    if process.returncode:
        print(f"bench.{name} failed (exit {process.returncode})")
    return "".join(lines)


def main() -> None:
    names = [name for name, _ in BENCHES]
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help="only these: " + ", ".join(names))
    chosen = parser.parse_args().names or names
    if unknown := sorted(set(chosen) - set(names)):
        parser.error(f"no such benchmark: {', '.join(unknown)}")
    outputs: dict[str, str] = {}
    for name, title in BENCHES:
        if name in chosen:
            print(f"== {title} (bench.{name})", flush=True)
            outputs[name] = run(name)
    print("== goals")
    for goal in GOALS:
        if goal.bench not in outputs:
            continue
        value = goal.read(outputs[goal.bench])
        verdict = "not measured" if value is None else ("met" if goal.met(value) else "MISSED")
        shown = "-" if value is None else f"{value:g}"
        print(f"{goal.figure:<62} {shown:>8}   goal {goal.goal:<18} {verdict}")


if __name__ == "__main__":
    main()
