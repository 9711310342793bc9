"""An alert storm: a real Prometheus with 5,000 firing alerts (one rule over a gauge with 5,000 label sets),
the dashboard polling it. Event-loop stalls over several polls, whether the selected alert stays selected,
peak memory of the app's process (Prometheus and its exporter run as processes of their own).

Run: .venv/bin/python -m bench.alerts_bench [--alerts 5000] [--polls 6] [--refresh 5]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from pathlib import Path

from bench.timing import StallMonitor
from probes.prometheus import AlertsSnapshot
from tests.helpers import FixedClock, wait_for
from tests.labs.prometheus import STORM_ALERT, PrometheusLab, prometheus_binary
from tui.app import OncallApp
from tui.config.settings import KubernetesSettings, PrometheusSettings, Settings, StoreSettings
from tui.widgets.alerts import AlertsTable

WIDTH = 42


def line(label: str, value: str) -> None:
    print(f"{label:<{WIDTH}} {value}")


def make_app(workdir: Path, url: str, refresh: float) -> OncallApp:
    """The real app on the lab's Prometheus, polled every `refresh` seconds (tests.helpers.make_app's
    settings, but its 0.2 s refresh would measure back-to-back polls, not a dashboard)."""
    settings = Settings(
        profile="bench",
        prometheus=PrometheusSettings(url=url, timeout=10.0, refresh=refresh),
        kubernetes=KubernetesSettings(kubeconfig=workdir / "no-kubeconfig", refresh=5.0),
        store=StoreSettings(path=workdir / "sessions.db"),
        user="bench@bastion",
    )
    return OncallApp(settings, demo=False, clock=FixedClock(), tick=False)


async def run(alerts: int, polls: int, refresh: float, workdir: Path) -> None:
    if prometheus_binary() is None:
        raise SystemExit("prometheus is not installed (apt-get install prometheus)")
    lab = PrometheusLab(workdir / "prometheus", storm=alerts)
    started = time.perf_counter()
    await asyncio.to_thread(lab.start)
    try:
        firing = await asyncio.to_thread(lab.wait_for_storm)
        line(
            "storm alerts firing in Prometheus", f"{firing}  (ready in {time.perf_counter() - started:.1f} s)"
        )
        app = make_app(workdir, lab.url, refresh)
        monitor = StallMonitor()
        async with app.run_test(size=(160, 48)) as pilot:
            monitor.start()  # the app's start is over: from here, its first read of the storm
            table = app.screen.query_one(AlertsTable)
            await wait_for(
                lambda: sum(1 for a in table.alerts if a.name == STORM_ALERT) >= alerts,
                timeout=120,
                what=f"{alerts} alerts on screen",
            )
            await pilot.pause(0.5)
            monitor.stop()
            initial = monitor.summary()
            monitor.reset()
            middle = len(table.alerts) // 2
            table.move_cursor(row=middle, animate=False)
            await pilot.pause(0.2)
            chosen = table.selected
            assert chosen is not None
            seen: list[AlertsSnapshot] = []

            def count() -> bool:
                snapshot = app.snapshot
                if snapshot is not None and (not seen or snapshot is not seen[-1]):
                    seen.append(snapshot)
                return len(seen) > polls

            first = app.snapshot
            seen.append(first) if first is not None else None
            monitor.start()
            await wait_for(count, timeout=polls * refresh * 3 + 60, what=f"{polls} polls")
            await pilot.pause(0.5)  # the last poll's redraw
            monitor.stop()
            kept = table.selected is not None and table.selected.fingerprint == chosen.fingerprint
            row = table.cursor_row
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        line("alerts on screen", f"{alerts} (+ the lab's own), polled every {refresh:g} s")
        line("event-loop stalls, the first read", initial)
        line(f"event-loop stalls over {polls} polls", monitor.summary())
        line("selected alert kept across polls", f"{'yes' if kept else 'NO'}  (row {row} of {middle} chosen)")
        line("peak RSS of the app process", f"{rss:8.0f} MiB")
    finally:
        await asyncio.to_thread(lab.stop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=5000)
    parser.add_argument("--polls", type=int, default=6)
    parser.add_argument(
        "--refresh", type=float, default=5.0, help="seconds between polls (the default refresh)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args.alerts, args.polls, args.refresh, Path(tmp)))


if __name__ == "__main__":
    main()
