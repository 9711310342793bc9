"""10,000 pods in the simulator: time to the first full view, event-loop stalls, memory, and bytes per minute.

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
from pathlib import Path

from bench.timing import StallMonitor
from tests.helpers import make_app, wait_for
from tui.lab.kube_sim import KubeSimulator
from tui.widgets.pods import PodsPanel

START_DELAY = 2.0  # seconds the simulator holds its answers while the app starts
RELIST_EVERY = 5.0  # seconds: the default refresh, as a `kubectl get pods -o json` loop would poll


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
        app = make_app(workdir, demo=False, kubeconfig=kubeconfig)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.press("p")
            await asyncio.sleep(START_DELAY / 2)
            sim.set_latency(0)
            monitor.start()
            panel = app.screen.query_one(PodsPanel)
            await wait_for(lambda: len(panel.table.view) >= pods, timeout=120, what=f"{pods} pods on screen")
            first_view = time.perf_counter() - started
            await asyncio.sleep(0.5)  # the last rows drawn
            initial_stall = monitor.summary()
            monitor.reset()
            for key in ("2", "1", "z", "z"):  # tab switches and zoom: layout passes over 10,000 rows
                await pilot.press(key)
                await asyncio.sleep(0.3)
            keys_stall = monitor.summary()
            await asyncio.sleep(1)
            sim.clear_requests()
            monitor.reset()
            before = app.pods
            await asyncio.to_thread(sim.churn, 100.0, churn_seconds)
            await asyncio.sleep(churn_seconds + 1)
            churn_stall = monitor.summary()
            received = sim.bytes_sent()
            changed = sum(1 for a, b in zip(before, app.pods, strict=False) if a is not b)
        per_minute = received / (churn_seconds + 1) * 60
        relist_per_minute = list_bytes * 60 / RELIST_EVERY
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"pods in the simulator                    {pods}")
        shown = first_view - START_DELAY
        print(f"time to the first complete view          {shown:8.2f} s  (the 2 s hold taken off)")
        print(f"event-loop stalls, initial load          {initial_stall}")
        print(f"event-loop stalls, 100 pod changes/s     {churn_stall}   ({changed} rows changed)")
        print(f"event-loop stalls, tab switches and zoom {keys_stall}")
        print(f"peak RSS of the app process              {rss:8.0f} MiB")
        print(f"bytes received per minute, watching      {per_minute / 1024:8.0f} KiB")
        print(
            f"bytes per minute re-listing every {RELIST_EVERY:.0f} s    "
            f"{relist_per_minute / 1024:8.0f} KiB  (one list: {list_bytes / 2**20:.1f} MiB)"
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
