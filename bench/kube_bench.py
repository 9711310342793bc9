"""10,000 pods in the simulator: time to the first rows and to the full view, event-loop stalls, memory, and
bytes per minute watching against re-listing every 5 s, at 1, 10 and 100 pod changes a second.

Run: .venv/bin/python -m bench.kube_bench [--pods 10000] [--churn-seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import ssl
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from bench.timing import StallMonitor
from tui.app import OncallApp
from tui.config.settings import KubernetesSettings, Settings, StoreSettings
from tui.lab.kube_sim import KubeSimulator
from tui.widgets.pods import PodsPanel

START_DELAY = 2.0  # seconds the simulator holds its answers while the app starts
RELIST_EVERY = 5.0  # seconds: the default refresh, as a `kubectl get pods -o json` loop would poll
CHURN_RATES = (1.0, 10.0, 100.0)  # pod changes a second; stalls are reported at the last


def make_app(workdir: Path, kubeconfig: Path) -> OncallApp:
    """The app as `oncall` starts it with a kubeconfig, Kubernetes its only source. Not tests.helpers: its
    imports (pytest, the PostgreSQL and Redis probes) are no part of the app, whose RSS is measured."""
    settings = Settings(
        profile="bench",
        kubernetes=KubernetesSettings(kubeconfig=kubeconfig),
        store=StoreSettings(path=workdir / "sessions.db"),
    )
    return OncallApp(settings, demo=False)


async def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


def _relist_bytes(sim: KubeSimulator) -> int:
    """What one `kubectl get pods -o json`-style full list costs on the wire."""
    context = ssl.create_default_context(cadata=sim.ca_pem)
    request = urllib.request.Request(
        f"{sim.url}/api/v1/namespaces/production/pods", headers={"Authorization": "Bearer sim-token"}
    )
    with urllib.request.urlopen(request, context=context, timeout=60) as response:
        return len(response.read())


async def run(pods: int, churn_seconds: float, workdir: Path) -> None:
    sim = KubeSimulator(workdir / "sim", pods=pods).start()
    try:
        kubeconfig = sim.kubeconfig(namespace="production")
        list_bytes = await asyncio.to_thread(_relist_bytes, sim)
        monitor = StallMonitor()
        # The list is held back a moment so that the app's own start and the key press showing the Pods
        # tab (a layout and a footer redraw, whatever the data) are over before the pods start arriving:
        # the stalls measured are those of loading 10,000 pods.
        sim.set_latency(START_DELAY)
        started = time.perf_counter()
        app = make_app(workdir, kubeconfig)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.press("p")
            await asyncio.sleep(START_DELAY / 2)
            sim.set_latency(0)
            monitor.start()
            panel = app.screen.query_one(PodsPanel)
            await wait_for(lambda: len(panel.table.view) > 0, timeout=120, what="the first pods on screen")
            first_rows_at = time.monotonic()
            await wait_for(
                lambda: len(panel.table.view) >= pods and getattr(app.pods, "complete", True),
                timeout=120,
                what=f"{pods} pods on screen",
            )
            complete_at = time.monotonic()
            first_view = time.perf_counter() - started
            # the informer's first page (a limit, no continue token) left the simulator when its hold ended
            first_page = next(
                r
                for r in sim.requests()
                if r["path"] == "/api/v1/namespaces/production/pods"
                and "limit" in r["query"]
                and "continue" not in r["query"]
                and "watch" not in r["query"]
            )
            answered = first_page["at"] + first_page["held"]
            await asyncio.sleep(0.5)  # the last rows drawn
            initial_stall = monitor.summary()
            monitor.reset()
            for key in ("2", "1", "z", "z"):  # tab switches and zoom: layout passes over 10,000 rows
                await pilot.press(key)
                await asyncio.sleep(0.3)
            keys_stall = monitor.summary()
            await asyncio.sleep(1)
            churned: list[tuple[float, int, int]] = []  # rate, all bytes, watch bytes
            before = app.pods
            for rate in CHURN_RATES:
                sim.clear_requests()
                monitor.reset()
                await asyncio.to_thread(sim.churn, rate, churn_seconds)
                await asyncio.sleep(churn_seconds + 1)
                stats = sim.stats()
                churned.append((rate, int(stats["bytes_sent"]), int(stats["watch_bytes_sent"])))
            churn_stall = monitor.summary()
            changed = sum(1 for a, b in zip(before, app.pods, strict=False) if a is not b)
        relist_per_minute = list_bytes * 60 / RELIST_EVERY
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"pods in the simulator                    {pods}")
        print(
            f"time to the first rows on screen         {first_rows_at - answered:8.2f} s  "
            "(from the API server's first answer)"
        )
        print(
            f"time to the first complete view          {complete_at - answered:8.2f} s  "
            f"(from the API server's first answer; {first_view - START_DELAY:.2f} s from the app's start, "
            "the 2 s hold taken off)"
        )
        print(f"event-loop stalls, initial load          {initial_stall}")
        print(f"event-loop stalls, 100 pod changes/s     {churn_stall}   ({changed} rows changed)")
        print(f"event-loop stalls, tab switches and zoom {keys_stall}")
        print(f"peak RSS of the app process              {rss:8.0f} MiB")
        print(
            f"bytes per minute re-listing every {RELIST_EVERY:.0f} s    "
            f"{relist_per_minute / 1024:8.0f} KiB  (one list: {list_bytes / 2**20:.1f} MiB)"
        )
        for rate, received, watched in churned:
            per_minute = watched / (churn_seconds + 1) * 60
            everything = received / (churn_seconds + 1) * 60
            label = f"bytes per minute watching, {rate:g} changes/s"
            print(
                f"{label:<41}{per_minute / 1024:8.0f} KiB  (re-listing / watching: "
                f"x{relist_per_minute / max(per_minute, 1):.0f}; {everything / 1024:.0f} KiB with the "
                "dashboard's other reads)"
            )
    finally:
        sim.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--churn-seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args.pods, args.churn_seconds, Path(tmp)))


if __name__ == "__main__":
    main()
