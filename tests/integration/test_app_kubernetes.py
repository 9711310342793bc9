"""The dashboard's Kubernetes tabs against the simulator, through the real client: what an SRE sees."""

from __future__ import annotations

import asyncio
import time

import pytest

from screens.logs import LogsScreen
from screens.pod_detail import PodDetailScreen
from tests.helpers import make_app, screen_text, wait_for
from tui.widgets.alerts import AlertsTable
from tui.widgets.pods import PodsPanel

pytestmark = pytest.mark.integration

WORKER = "inmidst-worker-5b8c9d7f4-zp8kd"


def _pods_text(app) -> str:
    table = app.screen.query_one(PodsPanel).table
    return "\n".join(table.render_line(y).text for y in range(len(table.view) + 1))


async def _dashboard(app, pilot):
    await wait_for(lambda: len(app.pods) == 7, timeout=15, what="the lab's seven pods")
    await pilot.press("p")  # the Pods tab, focused
    await pilot.pause()


async def test_pods_show_as_kubectl_shows_them_and_a_crash_appears_within_a_second(tmp_path, kube_sim):
    app = make_app(tmp_path, demo=True, kubeconfig=kube_sim.kubeconfig(namespace="production"))
    async with app.run_test(size=(160, 60)) as pilot:
        await _dashboard(app, pilot)
        text = _pods_text(app)
        assert "inmidst-api-7d9f8b6c5-4xkzp" in text and "Running" in text
        assert "OOMKilled" in text  # the worker's last restart
        assert "7 pods · 1 OOMKilled" in screen_text(app)

        pod = "inmidst-api-7d9f8b6c5-4xkzp"
        await asyncio.to_thread(kube_sim.crash, "production", pod, reason="OOMKilled", exit_code=137)
        started = time.monotonic()
        panel = app.screen.query_one(PodsPanel)
        await wait_for(
            lambda: any(p.name == pod and p.status == "CrashLoopBackOff" for p in panel.table.view),
            timeout=1.0,
            what="the crash within one second",
        )
        assert time.monotonic() - started < 1.0
        row = next(line for line in _pods_text(app).splitlines() if pod in line)
        assert "CrashLoopBackOff" in row and "OOMKilled" in row and "1 (" in row


async def test_the_selected_alerts_component_comes_first(tmp_path, kube_sim):
    app = make_app(tmp_path, demo=True, kubeconfig=kube_sim.kubeconfig(namespace="production"))
    async with app.run_test(size=(160, 60)) as pilot:
        await wait_for(lambda: len(app.pods) == 7, timeout=15, what="pods")
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count == 4, what="demo alerts")
        # HighApiLatency's section has `kubectl top pods -l app=inmidst-api`
        table.move_cursor(row=[a.name for a in table.alerts].index("HighApiLatency"))
        panel = app.screen.query_one(PodsPanel)
        await wait_for(
            lambda: panel.table.view and panel.table.view[0].label("app") == "inmidst-api",
            what="the API's pods first",
        )
        assert [p.label("app") for p in panel.table.view[:3]] == ["inmidst-api"] * 3
        await pilot.pause()


async def test_pod_detail_and_logs(tmp_path, kube_sim):
    app = make_app(tmp_path, demo=True, kubeconfig=kube_sim.kubeconfig(namespace="production"))
    async with app.run_test(size=(160, 60)) as pilot:
        await _dashboard(app, pilot)
        panel = app.screen.query_one(PodsPanel)
        panel.table.cursor = [p.name for p in panel.table.view].index(WORKER)
        await pilot.press("d")
        await wait_for(lambda: isinstance(app.screen, PodDetailScreen), what="pod detail")
        await wait_for(lambda: "Back-off restarting failed container" in screen_text(app), what="its events")
        text = screen_text(app)
        assert "last state terminated: OOMKilled (exit code 137)" in text
        assert "limits cpu 500m memory 256Mi" in text
        await pilot.press("l")
        await wait_for(lambda: isinstance(app.screen, LogsScreen), what="logs")
        log = app.screen.query_one("#logs")
        await wait_for(lambda: log.line_count > 0, what="log lines")
        assert "processed job" in "\n".join(log.lines)
        await pilot.press("p")
        await wait_for(
            lambda: "fatal: out of memory" in "\n".join(log.lines), what="the previous container's log"
        )


async def test_forbidden_events_leave_pods_working(tmp_path, kube_sim):
    kube_sim.deny("events")
    app = make_app(tmp_path, demo=True, kubeconfig=kube_sim.kubeconfig(namespace="production"))
    async with app.run_test(size=(160, 60)) as pilot:
        await _dashboard(app, pilot)
        await wait_for(lambda: "events" in app.kube_reads, timeout=10, what="the events read")
        assert app.kube_reads["events"].health.state == "forbidden"
        await pilot.pause()
        text = screen_text(app)
        assert "events forbidden" in text and 'cannot list resource "events"' in text
        await asyncio.to_thread(kube_sim.crash, "production", "inmidst-redis-0", reason="Error", exit_code=1)
        panel = app.screen.query_one(PodsPanel)
        await wait_for(
            lambda: any(p.name == "inmidst-redis-0" and p.restarts == 1 for p in panel.table.view),
            timeout=2,
            what="pods still updating",
        )


async def test_following_logs_shows_new_lines_and_the_app_only_ever_reads(tmp_path, kube_sim):
    app = make_app(tmp_path, demo=True, kubeconfig=kube_sim.kubeconfig(namespace="production"))
    async with app.run_test(size=(160, 60)) as pilot:
        await _dashboard(app, pilot)
        panel = app.screen.query_one(PodsPanel)
        panel.table.cursor = [p.name for p in panel.table.view].index("inmidst-redis-0")
        await pilot.press("l")
        await wait_for(lambda: isinstance(app.screen, LogsScreen), what="logs")
        log = app.screen.query_one("#logs")
        await wait_for(lambda: log.line_count > 0, what="the tail")
        await pilot.press("f")
        await asyncio.to_thread(
            kube_sim.append_logs,
            "production",
            "inmidst-redis-0",
            "redis",
            ["# WARNING: 14ms latency spike [/bold]"],
        )
        await wait_for(
            lambda: any("latency spike [/bold]" in line for line in log.lines),
            timeout=5,
            what="the followed line",
        )
        assert sum("latency spike" in line for line in log.lines) == 1  # overlapping tails are not repeated
    methods = {r["method"] for r in kube_sim.requests()}
    paths = [r["path"] for r in kube_sim.requests()]
    assert methods == {"GET"}
    assert not [p for p in paths if p.rsplit("/", 1)[-1] in ("exec", "attach", "portforward", "proxy")]


async def test_a_long_pod_list_shows_its_first_page_at_once_and_says_it_is_still_loading(
    tmp_path, kube_sim_factory
):
    sim = kube_sim_factory(pods=600, lab=False)  # three pages of 250, each answered 0.8 s after it is asked
    sim.set_latency(0.8)
    app = make_app(tmp_path, demo=False, kubeconfig=sim.kubeconfig(namespace="production"))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("p")
        panel = app.screen.query_one(PodsPanel)
        await wait_for(lambda: len(panel.table.view) > 0, timeout=15, what="the first page on screen")
        await pilot.pause()
        assert len(panel.table.view) == 250
        assert "loading… 250 of ~600 pods" in screen_text(app)
        assert panel.table.virtual_size.height == 601  # as tall as the list will be: the scrollbar is honest
        first = panel.table.view[0].name
        assert first in _pods_text(app).splitlines()[1]  # the rows themselves are drawn, not only counted
        await wait_for(lambda: len(panel.table.view) == 600, timeout=15, what="the whole list")
        await wait_for(lambda: "600 pods" in screen_text(app), what="the total once complete")
        text = screen_text(app)
        assert "loading" not in text and "of ~" not in text
        assert panel.table.view[0].name == first  # the pages came in order: the top rows did not move
