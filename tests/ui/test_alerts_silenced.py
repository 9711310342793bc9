"""The alerts table with Alertmanager's view (a scripted Alertmanager and Prometheus over httpx): silenced and
inhibited alerts dimmed and counted apart, grouped, `m` for the amtool command; without it, as before."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import httpx
import pytest

from probes.alertmanager import AlertmanagerProbe, AlertmanagerSettings
from screens.modals import PickScreen, TextScreen
from screens.palette import palette_commands
from tests.helpers import T0, FixedClock, make_app, mounted, prometheus_json, screen_text, wait_for
from tui.app import OncallApp
from tui.demo.alertmanager import DEMO_ALERTMANAGER_URL, SILENCE_ID
from tui.widgets.alerts import AlertsTable
from tui.widgets.dialogs import PickList

AM_URL = "http://am.test:9093"
SIZE = (200, 44)


def prom(name: str, severity: str, state: str = "firing", **extra: str) -> dict[str, Any]:
    return {
        "labels": {"alertname": name, "severity": severity, **extra},
        "annotations": {"summary": f"{name} summary"},
        "state": state,
        "activeAt": "2026-11-27T02:50:00Z",
        "value": "1",
    }


PROMETHEUS = [
    prom("ApiDown", "critical", job="api"),
    prom("HighLatency", "warning", job="api"),
    prom("DiskFull", "warning", host="db 1"),
    prom("DiskFull", "warning", host="db-2"),
    prom("SlowQueries", "warning", "pending"),
]


def am(name: str, fp: str, silenced=(), inhibited=(), **extra: str) -> dict[str, Any]:
    muted = bool(silenced or inhibited)
    return {
        "labels": {"alertname": name, **extra},
        "fingerprint": fp,
        "status": {
            "state": "suppressed" if muted else "active",
            "silencedBy": list(silenced),
            "inhibitedBy": list(inhibited),
        },
    }


AM_ALERTS = [
    am("ApiDown", "f1", severity="critical", job="api"),
    am("HighLatency", "f2", inhibited=["f1"], severity="warning", job="api"),
    am("DiskFull", "f3", silenced=["sil-9"], severity="warning", host="db 1"),
    am("DiskFull", "f4", severity="warning", host="db-2"),
]
SILENCES = [
    {
        "id": "sil-9",
        "createdBy": "dave",
        "comment": "replacing the disk",
        "startsAt": "2026-11-27T02:00:00Z",
        "endsAt": "2026-11-27T05:15:00Z",
        "matchers": [{"name": "host", "value": "db 1", "isRegex": False, "isEqual": True}],
        "status": {"state": "active"},
    }
]
GROUPS = [
    {"labels": {"alertname": "ApiDown"}, "receiver": {"name": "t"}, "alerts": [AM_ALERTS[0]]},
    {"labels": {"alertname": "HighLatency"}, "receiver": {"name": "t"}, "alerts": [AM_ALERTS[1]]},
    {"labels": {"alertname": "DiskFull"}, "receiver": {"name": "t"}, "alerts": AM_ALERTS[2:]},
]


def alertmanager(up: dict[str, bool]) -> httpx.MockTransport:
    bodies = {"/api/v2/alerts": AM_ALERTS, "/api/v2/silences": SILENCES, "/api/v2/alerts/groups": GROUPS}

    def handle(request: httpx.Request) -> httpx.Response:
        if not up["up"]:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, content=json.dumps(bodies[request.url.path]).encode())

    return httpx.MockTransport(handle)


def app_with_alertmanager(tmp_path, up: dict[str, bool]) -> OncallApp:
    clock = FixedClock(T0)
    app = make_app(
        tmp_path,
        demo=False,
        prometheus_url="http://prom.test:9090",
        transport=prometheus_json(PROMETHEUS),
        clock=clock,
    )
    settings = AlertmanagerSettings(url=AM_URL, refresh=0.2, backoff_max=0.2)
    app.settings = replace(app.settings, alertmanager=settings)
    app.alertmanager = AlertmanagerProbe(settings, transport=alertmanager(up), clock=clock)
    return app


def row(table: AlertsTable, row: int) -> dict[str, str]:
    labels = [str(c.label) for c in table.ordered_columns]
    return {k: v.plain for k, v in zip(labels, table.get_row_at(row), strict=True)}


async def test_silenced_and_inhibited_alerts_are_dimmed_counted_apart_and_grouped(tmp_path):
    up = {"up": True}
    app = app_with_alertmanager(tmp_path, up)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: len(table.am_status) == 5, what="both views")
        await wait_for(
            lambda: "2 firing · 1 silenced · 1 inhibited, 1 pending" in screen_text(app), what="counts"
        )
        rows = [row(table, r) for r in range(table.row_count)]
        # every alert still shown, in Alertmanager's groups, the usual order within them
        assert [(r["Group"], r["Alert"], r["Alertmanager"]) for r in rows] == [
            ("ApiDown", "ApiDown", "active"),
            ("DiskFull", "DiskFull", "silenced by dave until 05:15Z"),
            ("", "DiskFull", "active"),
            ("HighLatency", "HighLatency", "inhibited by ApiDown"),
            ("", "SlowQueries", "not in Alertmanager"),
        ]
        dim = [all("dim" in str(c.style) for c in table.get_row_at(r)) for r in range(table.row_count)]
        assert dim == [False, True, False, True, False]
        assert f"Alertmanager {AM_URL}: 3 groups by alertname" in screen_text(app)

        # the command palette offers it too (it lists the screen's keys)
        assert "Silence (amtool)" in [c.title for c in palette_commands(app, app.screen, [])]

        # m on the silenced alert: its silence's expire command first, then a new silence
        table.move_cursor(row=1)
        await pilot.press("m")
        await wait_for(lambda: isinstance(app.screen, PickScreen), what="the commands")
        assert app.screen.query_one(PickList).items == [
            f"amtool silence expire --alertmanager.url={AM_URL} sil-9",
            f"amtool silence add --alertmanager.url={AM_URL} --comment='DiskFull: silenced by alice@bastion' "
            "--duration=1h alertname=DiskFull host='db 1' severity=warning",
        ]
        await pilot.press("1")  # copied, nothing sent
        assert app.clipboard == f"amtool silence expire --alertmanager.url={AM_URL} sil-9"
        await wait_for(lambda: not isinstance(app.screen, PickScreen), what="the list closed")

        # Alertmanager goes away: said, the last states kept as old, Prometheus's alerts all there
        up["up"] = False
        await wait_for(lambda: "Alertmanager down: " in screen_text(app), what="the outage")
        assert f"connection refused at {AM_URL}" in screen_text(app) or "cannot connect" in screen_text(app)
        assert table.row_count == 5
        assert table.selected is not None and table.selected.label("host") == "db 1"  # the selection kept

        table.move_cursor(row=0)
        await pilot.press("m")
        await wait_for(lambda: mounted(app.screen, TextScreen), what="the add command")
        assert app.screen.text.endswith("--duration=1h alertname=ApiDown job=api severity=critical")


async def test_without_alertmanager_the_table_is_as_before(tmp_path):
    app = make_app(
        tmp_path, demo=False, prometheus_url="http://prom.test:9090", transport=prometheus_json(PROMETHEUS)
    )
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count == 5, what="the alerts")
        assert [str(c.label) for c in table.ordered_columns] == [
            "State",
            "Severity",
            "Alert",
            "Since",
            "Value",
            "Summary",
        ]
        assert "4 firing, 1 pending" in screen_text(app)
        assert "Alertmanager" not in screen_text(app)
        assert "m" not in app.screen.active_bindings or not app.screen.active_bindings["m"].enabled
        assert "Silence (amtool)" not in [c.title for c in palette_commands(app, app.screen, [])]
        await pilot.press("m")
        assert not isinstance(app.screen, TextScreen | PickScreen)


async def test_the_demo_alertmanager_shows_a_teammates_silence(tmp_path):
    app = make_app(tmp_path)
    app._init_alertmanager(None, True)  # as `oncall --demo` builds it with demo_alertmanager=True
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: len(table.am_status) == 4, what="the demo's two views")
        await wait_for(
            lambda: "2 firing · 1 silenced · 0 inhibited, 1 pending" in screen_text(app), what="counts"
        )
        latency = next(r for r in range(table.row_count) if row(table, r)["Alert"] == "HighApiLatency")
        assert row(table, latency)["Alertmanager"].startswith("silenced by bob@inmidst until ")
        assert row(table, latency)["Group"] == "HighApiLatency"
        table.move_cursor(row=latency)
        await pilot.press("m")
        await wait_for(lambda: isinstance(app.screen, PickScreen), what="the commands")
        assert app.screen.query_one(PickList).items[0] == (
            f"amtool silence expire --alertmanager.url={DEMO_ALERTMANAGER_URL} {SILENCE_ID}"
        )


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (160, 44), (220, 50)])
async def test_alertmanagers_column_fits_and_nothing_scrolls_sideways(tmp_path, size):
    app = make_app(tmp_path)
    app._init_alertmanager(None, True)
    async with app.run_test(size=size) as pilot:
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: len(table.am_status) == 4, what="the demo's two views")
        await pilot.pause()
        labels = [str(c.label) for c in table.ordered_columns]
        assert {"State", "Severity", "Alert", "Alertmanager"} <= set(labels)
        assert ("Group" in labels) is (size[0] >= 220)  # the rows keep the groups' order either way
        latency = next(r for r in range(table.row_count) if row(table, r)["Alert"].startswith("HighApiLat"))
        assert row(table, latency)["Alertmanager"].startswith("silenced by")
        assert table.virtual_size.width <= table.scrollable_content_region.width


async def test_grouped_by_more_than_the_name_the_group_column_shows_at_a_usual_width(tmp_path, monkeypatch):
    by_severity = [
        {"labels": {"severity": "critical"}, "receiver": {"name": "t"}, "alerts": [AM_ALERTS[0]]},
        {"labels": {"severity": "warning"}, "receiver": {"name": "t"}, "alerts": AM_ALERTS[1:]},
    ]
    monkeypatch.setattr(f"{__name__}.GROUPS", by_severity)
    app = app_with_alertmanager(tmp_path, {"up": True})
    async with app.run_test(size=(160, 44)):
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: len(table.am_status) == 5, what="both views")
        await wait_for(lambda: "2 groups by severity" in screen_text(app), what="the grouping said")
        rows = [row(table, r) for r in range(table.row_count)]
        # the pending alert, not in Alertmanager, sits in the group its labels would put it in
        assert [(r["Group"], r["Alert"]) for r in rows] == [
            ("critical", "ApiDown"),
            ("warning", "DiskFull"),
            ("", "DiskFull"),
            ("", "HighLatency"),
            ("", "SlowQueries"),
        ]
        assert table.virtual_size.width <= table.scrollable_content_region.width
