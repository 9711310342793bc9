"""Time what an SRE waits for: runbook parse, demo start to first alerts, a tick reaching an observer."""

from __future__ import annotations

import asyncio
import resource
import tempfile
import time
from pathlib import Path

from bench.timing import report
from tests.helpers import make_app, wait_for
from tui.config.paths import example_runbook
from tui.triage.runbook import parse_runbook
from tui.widgets.alerts import AlertsTable


def bench_parse(rounds: int = 200) -> None:
    text = example_runbook().read_text(encoding="utf-8")
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        parse_runbook(text)
        timings.append((time.perf_counter() - start) * 1000)
    report("runbook parse (seed, 12 sections)", timings)


async def _first_alerts(workdir: Path) -> float:
    start = time.perf_counter()
    app = make_app(workdir)
    async with app.run_test(size=(160, 48)):
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count == 4, timeout=10, what="alerts")
        return (time.perf_counter() - start) * 1000


async def _observer_latency(workdir: Path, rounds: int) -> list[float]:
    driver = make_app(workdir)
    observer = make_app(workdir, observe="latest", user="bob@laptop")
    latencies = []
    async with driver.run_test(size=(160, 48)) as dpilot:
        table = driver.screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count == 4, timeout=10)
        await dpilot.press("enter")
        await wait_for(lambda: hasattr(driver.screen, "session"), timeout=10, what="the checklist")
        await dpilot.press("space")  # the first change starts the session the observer follows
        await wait_for(lambda: getattr(driver.screen, "session", None) is not None, timeout=10)
        async with observer.run_test(size=(160, 48)):
            await wait_for(lambda: getattr(observer.screen, "session", None) is not None, timeout=10)
            oscreen = observer.screen
            for _ in range(rounds):
                before = oscreen.session.step_state(0)
                start = time.perf_counter()
                await dpilot.press("space")
                await wait_for(lambda b=before: oscreen.session.step_state(0) != b, timeout=5)
                latencies.append((time.perf_counter() - start) * 1000)
    return latencies


def main() -> None:
    bench_parse()
    with tempfile.TemporaryDirectory() as tmp:
        starts = [asyncio.run(_first_alerts(Path(tmp) / f"start{i}")) for i in range(5)]
        report("demo: app start to first alerts drawn", starts)
        report(
            "observer: driver key to observer's screen", asyncio.run(_observer_latency(Path(tmp) / "obs", 20))
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak RSS of this benchmark process':<42} {peak:.0f} MiB")


if __name__ == "__main__":
    main()
