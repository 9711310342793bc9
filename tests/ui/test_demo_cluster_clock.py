"""The demo cluster moves with its scripted clock: the crashing pod keeps restarting on the kubelet's back-off
with next to no CPU, and a followed container gets new log lines."""

from __future__ import annotations

import asyncio

from tests.helpers import FixedClock, make_app, wait_for
from tui.demo.kubernetes import CRASHING_POD, DemoKubernetes


def _restarts(app) -> int:
    return next(p.restarts for p in app.pods if p.name == CRASHING_POD)


async def test_the_crashing_pod_counts_restarts_up_and_burns_no_cpu(tmp_path):
    clock = FixedClock()
    app = make_app(tmp_path, clock=clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: len(app.pods) == 7, what="the demo's pods")
        await pilot.press("p")
        clock.advance(40)  # OOMKilled 30 s into the incident
        await wait_for(lambda: _restarts(app) == 1, timeout=6, what="the first crash")
        clock.advance(160)  # crashes at 30, 60, 100 and 160 s: the back-off doubles from 10 s
        await wait_for(lambda: _restarts(app) == 4, timeout=6, what="the crash loop")
        assert next(p.status for p in app.pods if p.name == CRASHING_POD) == "CrashLoopBackOff"
        assert isinstance(app.kube, DemoKubernetes)
        top = await app.kube.top_reading("app=inmidst-api")
    cpu = {row[0]: row[1] for row in top.rows}
    assert cpu[CRASHING_POD] == "2m"


async def test_a_followed_demo_container_gets_new_lines_as_the_clock_runs(tmp_path):
    clock = FixedClock()
    app = make_app(tmp_path, clock=clock)
    async with app.run_test(size=(160, 48)):
        await wait_for(lambda: len(app.pods) == 7, what="the demo's pods")
        assert isinstance(app.kube, DemoKubernetes)
        pod = next(p.name for p in app.pods if p.name.startswith("inmidst-worker"))
        first = await app.kube.logs("production", pod, "worker", tail=50)
        clock.advance(15)
        later = await app.kube.logs("production", pod, "worker", tail=50)
    new = [line for line in later.lines if line not in first.lines]
    assert len(new) == 3 and all("GET /healthz 200" in line for line in new)


async def test_a_followed_log_holds_still_while_refresh_is_paused(tmp_path):
    from screens.logs import LogsScreen

    clock = FixedClock()
    app = make_app(tmp_path, clock=clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: len(app.pods) == 7, what="the demo's pods")
        pod = next(p for p in app.pods if p.name.startswith("inmidst-worker"))
        app.push_screen(LogsScreen(pod))
        await wait_for(lambda: isinstance(app.screen, LogsScreen), what="the logs")
        logs = app.screen
        await wait_for(lambda: len(logs.lines) > 0, what="the log tail")
        await pilot.press("f")  # follow
        shown = len(logs.lines)
        clock.advance(15)
        await wait_for(lambda: len(logs.lines) > shown, timeout=4, what="new lines, followed")
        await pilot.press("P")  # paused: following polls nothing
        shown = len(logs.lines)
        clock.advance(15)
        await asyncio.sleep(2.5)  # past the follow's 2 s
        assert len(logs.lines) == shown
        await pilot.press("P")
        await wait_for(lambda: len(logs.lines) > shown, timeout=4, what="the lines written while paused")
