"""Pause (P) and the refresh interval (+ and -) as a user presses them: while paused nothing is polled
(counted at the Prometheus transport, not guessed from ages on screen), r reads once, the header says so."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import redis.exceptions

from screens.checklist import ChecklistScreen
from tests.helpers import T0, FixedClock, make_app, screen_text, wait_for
from tui.app import OncallApp
from tui.demo.redis import DemoRedis
from tui.widgets.alerts import AlertsTable
from tui.widgets.header import StatusHeader

ALERT = {
    "labels": {"alertname": "HighApiLatency", "severity": "warning"},
    "annotations": {"summary": "p99 latency high"},
    "state": "firing",
    "activeAt": "2026-11-27T02:50:00Z",
    "value": "2.1",
}


class CountingPrometheus:
    """A Prometheus answering one firing alert, counting the alert reads it gets."""

    def __init__(self) -> None:
        self.alert_reads = 0

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/alerts":
            self.alert_reads += 1
            body = {"status": "success", "data": {"alerts": [ALERT]}}
        else:
            body = {"status": "success", "data": {"groups": []}}
        return httpx.Response(200, content=json.dumps(body).encode())


def _header(app: OncallApp) -> str:
    header = app.screen.query_one(StatusHeader)
    header.redraw()
    return str(header.render())


def _counted_app(tmp_path) -> tuple[OncallApp, CountingPrometheus]:
    prometheus = CountingPrometheus()
    app = make_app(
        tmp_path, demo=False, prometheus_url="http://prom.test", transport=prometheus.transport()
    )  # Prometheus polled every 0.2 s
    return app, prometheus


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
async def test_p_pauses_every_poll_r_reads_once_and_p_resumes(tmp_path, size):
    app, prometheus = _counted_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await wait_for(lambda: prometheus.alert_reads >= 3, what="a few polls")
        await pilot.press("P")
        assert "⏸ paused" in _header(app)
        await asyncio.sleep(0.3)  # a poll already out when P was pressed lands
        paused_at = prometheus.alert_reads
        await asyncio.sleep(1.5)  # seven refreshes' worth
        assert prometheus.alert_reads == paused_at, "polled while paused"
        await pilot.press("r")  # one read, on demand
        await wait_for(lambda: prometheus.alert_reads == paused_at + 1, what="one read on r")
        await asyncio.sleep(1.0)
        assert prometheus.alert_reads == paused_at + 1, "r read more than once"
        await pilot.press("P")
        assert "⏸ paused" not in _header(app)
        await wait_for(lambda: prometheus.alert_reads >= paused_at + 4, what="polls again after P")


async def test_plus_and_minus_step_the_interval_every_poller_waits_and_the_header_shows_it(tmp_path):
    app, prometheus = _counted_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: prometheus.alert_reads >= 2, what="the first polls")
        assert "every 0.2s" in _header(app)
        await pilot.press("plus")  # from 0.2 s to the first step, 1 s
        assert "every 1s" in _header(app)
        await pilot.press("plus")
        assert "every 2s" in _header(app) and app.pace.interval == 2.0
        await asyncio.sleep(0.5)  # the poll out when + was pressed lands
        before = prometheus.alert_reads
        await asyncio.sleep(1.5)
        assert prometheus.alert_reads - before <= 1, "polled faster than every 2 s"
        await pilot.press("minus")
        assert "every 1s" in _header(app)
        await pilot.press("minus")  # 1 s is the fastest step, and Prometheus's floor
        assert "every 1s" in _header(app)


async def test_the_demo_steps_from_its_own_two_seconds(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: app.snapshot is not None, what="the demo's alerts")
        assert "every 2s" in _header(app)
        await pilot.press("plus")
        assert "every 5s" in _header(app)
        await pilot.press("minus", "minus", "minus")
        assert "every 1s" in _header(app)
        # Kubernetes' round of reads (events, metrics, Helm) is never read more often than every 2 s
        assert app.pace.delay("kubernetes", 2.0, 2.0) == 2.0
        assert app.pace.delay("prometheus", 2.0, 2.0) == 1.0


async def test_pause_works_on_the_checklist_and_stops_every_source(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count == 4, what="the demo's alerts")
        sources = {"prometheus", "kubernetes", "postgresql", "redis"}  # "evidence" may join: the likely cause
        await wait_for(lambda: sources <= set(app.pace.polls), what="every source polled")
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
        await pilot.press("P")
        assert app.paused and "⏸ paused" in _header(app)
        await asyncio.sleep(0.3)
        polls = dict(app.pace.polls)
        await asyncio.sleep(2.5)  # past every demo source's 2 s refresh
        assert app.pace.polls == polls
        await pilot.press("P")
        await wait_for(lambda: app.pace.polls != polls, what="polls again")


async def test_paused_the_checklists_evidence_is_not_read_again_until_r(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count == 4, what="the demo's alerts")
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
        await wait_for(lambda: "count" in screen_text(app), what="the first round of evidence")
        await pilot.press("P")
        rounds = app.pace.polls.get("evidence", 0)
        await asyncio.sleep(5.5)  # past the evidence's 5 s
        assert app.pace.polls.get("evidence", 0) == rounds
        await pilot.press("r")  # r reads once, paused or not
        await wait_for(lambda: app.pace.polls.get("evidence", 0) == rounds + 1, what="one round on r")
        await asyncio.sleep(0.5)
        assert app.pace.polls.get("evidence", 0) == rounds + 1


# -- the health chips: the age of the last good read, every source's at 80 columns -------------------


class HangingPrometheus(CountingPrometheus):
    """Answers until told to hang: then every request waits past the probe's deadline."""

    def __init__(self) -> None:
        super().__init__()
        self.hang = False

    def transport(self) -> httpx.MockTransport:
        async def handle(request: httpx.Request) -> httpx.Response:
            if self.hang:
                await asyncio.sleep(3600)
            return self._handle(request)

        return httpx.MockTransport(handle)


async def test_a_hung_sources_chip_ages_from_its_last_good_read_as_its_panel_does(tmp_path):
    clock = FixedClock()
    prometheus = HangingPrometheus()
    app = make_app(
        tmp_path,
        demo=False,
        prometheus_url="http://prom.test",
        transport=prometheus.transport(),
        clock=clock,
        timeout=0.5,
    )
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: prometheus.alert_reads >= 2, what="good reads")
        await pilot.pause()
        assert "● prometheus ok 0s" in _header(app)
        prometheus.hang = True
        clock.advance(40)
        await wait_for(lambda: app.healths["prometheus"].state == "down", what="the hang found out")
        await pilot.pause()
        assert "prometheus down stale 40s" in _header(app)
        assert "showing alerts from 40s ago" in screen_text(app)  # the alerts' own line: the same age
        clock.advance(60)
        app.now = clock()  # the app's one-second tick
        await pilot.pause()
        assert "prometheus down stale 1m" in _header(app)
        assert "showing alerts from 1m ago" in screen_text(app)


@pytest.mark.parametrize("observe", [None, "latest"])
async def test_every_sources_health_fits_the_header_at_80_columns(tmp_path, observe):
    app = make_app(tmp_path, observe=observe)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(lambda: app.redis_snapshot is not None and app.pg_snapshot is not None, what="sources")
        await pilot.pause()
        header = _header(app)
        for chip in ("● prom 0s", "● k8s 0s", "● pg 0s", "● redis 0s"):
            assert chip in header
        assert "DEMO" in header
        assert ("OBSERVER" in header) == (observe is not None)
        assert len(header) <= 78  # inside the header's padding: nothing cut


class HangingRedis(DemoRedis):
    """The demo's Redis until it hangs: then each poll ends as the probe's read timeout ends it."""

    hang = False

    async def exchange(self, commands):
        if self.hang:
            raise redis.exceptions.TimeoutError("Timeout reading from socket")
        return await super().exchange(commands)


async def test_a_failing_sources_panel_ages_each_second_with_its_chip(tmp_path):
    clock = FixedClock()
    cache = HangingRedis(T0, clock)
    app = make_app(tmp_path, clock=clock, redis=cache)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: app.redis_snapshot is not None, what="the demo cache")
        await pilot.press("3")  # the Redis tab
        cache.hang = True
        clock.advance(40)
        await wait_for(lambda: app.healths["redis"].state == "down", timeout=10, what="the cache down")
        app._tick()  # the app's one-second tick
        await pilot.pause()
        assert "redis down stale 40s" in _header(app)
        assert "showing what was read 40s ago" in screen_text(app)
        clock.advance(60)
        app._tick()
        await pilot.pause()
        assert "redis down stale 1m" in _header(app)
        assert "showing what was read 1m ago" in screen_text(app)  # not frozen at its last poll
