"""The dashboard as a user sees it: alerts, the selected alert's runbook section, bad servers, bad text."""

from __future__ import annotations

import asyncio
import json

import httpx

from tests.helpers import FixedClock, make_app, prometheus_json, screen_text, wait_for
from tui.widgets.alerts import AlertsTable
from tui.widgets.pods import PodsPanel
from tui.widgets.postgres_panel import PostgresPanel


async def test_demo_dashboard_lists_firing_alerts_before_pending_and_shows_the_selected_section(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count == 4, what="the demo's four alerts")
        names = [a.name for a in table.alerts]
        states = [a.state for a in table.alerts]
        assert names[0] == "HighDatabaseConnections"  # firing, critical
        assert states == ["firing", "firing", "firing", "pending"]
        assert names[-1] == "TargetDown"
        await wait_for(lambda: "Check current connections" in screen_text(app), what="runbook pane")
        text = screen_text(app)
        assert "#high-database-connections" in text
        assert "DEMO" in text
        await pilot.press("j")
        await wait_for(lambda: "#high-api-latency" in screen_text(app), what="the second alert's section")
        assert "Check Redis connection pool" in screen_text(app)


async def test_sources_without_configuration_say_so(tmp_path):
    app = make_app(tmp_path, demo=False)
    async with app.run_test(size=(160, 48)):
        for source in (
            "Kubernetes is not configured",
            "PostgreSQL is not configured",
            "Redis is not configured",  # its tab is built once the first alerts show (none here: soon after)
        ):
            await wait_for(lambda: source in screen_text(app), what=source)  # noqa: B023
        assert "kubernetes not configured" in screen_text(app)  # the header chip


async def test_the_demo_cluster_shows_its_pods_and_the_oomkilled_crash(tmp_path):
    clock = FixedClock()
    app = make_app(tmp_path, clock=clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: len(app.pods) == 7, what="the demo's pods")
        await pilot.press("p")
        await wait_for(lambda: "7 pods · 1 OOMKilled" in screen_text(app), what="the pod summary")
        clock.advance(40)  # the demo's API pod is OOMKilled 30 s into the incident
        await wait_for(
            lambda: "7 pods · 1 failing · 2 OOMKilled" in screen_text(app), timeout=6, what="the crash"
        )
        crashed = next(p for p in app.pods if p.status == "CrashLoopBackOff")
        assert crashed.label("app") == "inmidst-api" and crashed.last_termination_reason == "OOMKilled"

        panel = app.screen.query_one(PodsPanel)
        await pilot.press("slash", *"worker")
        assert [p.name.split("-")[1] for p in panel.table.view] == ["worker", "worker"]
        await pilot.press("escape")
        assert len(panel.table.view) == 7
        await pilot.press("s")  # sorted by status: the failing pod first
        assert panel.table.view[0].status == "CrashLoopBackOff"


async def test_markup_and_escapes_in_alert_labels_are_shown_as_text(tmp_path):
    nasty = {
        "labels": {"alertname": "HighApiErrorRate", "severity": "critical", "pod": "api-[/bold]-[link=x]"},
        "annotations": {"summary": "boom [/bold] [link=x]click[/link] \x1b[31mred\x1b[0m"},
        "state": "firing",
        "activeAt": "2026-11-27T02:50:00Z",
        "value": "[/]1",
    }
    app = make_app(
        tmp_path, demo=False, prometheus_url="http://prom.test", transport=prometheus_json([nasty])
    )
    # wide enough for the whole summary in its cell (a cut one ends in "…")
    async with app.run_test(size=(220, 48)) as pilot:
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count == 1, what="the alert")
        await pilot.pause()
        text = screen_text(app)
        assert "boom [/bold] [link=x]click[/link] ␛[31mred␛[0m" in text
        assert "[/]1" in text
        assert "\x1b" not in text
        # The screen still draws after the table re-renders (markup would raise here).
        app.refresh()
        await pilot.pause()
        assert app.is_running


def _failing(kind: str) -> httpx.MockTransport:
    async def handle(request: httpx.Request) -> httpx.Response:
        if kind == "500":
            return httpx.Response(500, text="oops")
        if kind == "json":
            return httpx.Response(200, content=b"{not json")
        if kind == "hang":
            await asyncio.sleep(30)
        return httpx.Response(200, content=json.dumps({"status": "success", "data": {"alerts": []}}).encode())

    return httpx.MockTransport(handle)


async def _status_after(tmp_path, transport, url="http://prom.test", timeout=2.0) -> str:
    app = make_app(tmp_path, demo=False, prometheus_url=url, transport=transport, timeout=timeout)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: app.snapshot is not None, timeout=10, what="the first poll")
        await pilot.pause()
        assert app.is_running
        return screen_text(app)


async def test_prometheus_returning_500_is_reported_and_the_app_keeps_running(tmp_path):
    text = await _status_after(tmp_path, _failing("500"))
    assert "Prometheus down" in text
    assert "500" in text


async def test_prometheus_returning_invalid_json_is_reported(tmp_path):
    text = await _status_after(tmp_path, _failing("json"))
    assert "Prometheus down" in text
    assert "invalid JSON" in text


async def test_prometheus_hanging_past_the_timeout_is_reported(tmp_path):
    text = await _status_after(tmp_path, _failing("hang"), timeout=0.3)
    assert "Prometheus down" in text
    assert "timed out" in text


async def test_prometheus_unreachable_is_reported(tmp_path):
    text = await _status_after(tmp_path, None, url="http://127.0.0.1:9")
    assert "Prometheus down" in text
    assert "connection refused" in text


async def test_missing_runbook_is_reported_and_alerts_still_show(tmp_path):
    app = make_app(tmp_path, runbook=tmp_path / "nope.md")
    async with app.run_test(size=(160, 48)):
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count == 4, what="alerts without a runbook")
        # the runbook is read after the first alerts: its error shows once that read failed
        await wait_for(lambda: "Runbook not loaded" in screen_text(app), what="the runbook's error")
        assert "nope.md" in screen_text(app)


async def test_unparseable_runbook_is_reported(tmp_path):
    broken = tmp_path / "broken.md"
    broken.write_bytes(b"\xff\xfe not utf-8 \x00")
    app = make_app(tmp_path, runbook=broken)
    async with app.run_test(size=(160, 48)):
        await wait_for(lambda: app.snapshot is not None, what="first poll")
        await wait_for(lambda: "Runbook not loaded" in screen_text(app), what="the runbook's error")
        assert app.is_running


async def test_the_demo_database_shows_the_connection_leak_behind_the_alert(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: app.pg_snapshot is not None, what="the demo database")
        app.screen.query_one("#sources").active = "tab-postgresql"
        await pilot.press("z")
        await pilot.pause()
        text = screen_text(app)
        assert "87/97 (90%)" in text and "max_connections 100" in text
        assert "inmidst-api 69" in text  # by application: the leaking pool
        assert "Idle in transaction over 5 minutes: 6" in text
        first = app.screen.query_one(PostgresPanel).sessions.view[0]
        assert (first.pid, first.blocked_by) == (3401, (3200,))  # the blocked update, with its blocker
