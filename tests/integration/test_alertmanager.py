"""The alerts table against Debian's real Alertmanager, fed by a real Prometheus (the lab's rules): a silence
the test makes through Alertmanager's API, an inhibited alert, the grouping, the amtool command, and
Alertmanager stopped mid-run."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from rich.text import Text

from probes.alertmanager import ALLOWED_REQUESTS, AlertmanagerProbe, AlertmanagerSettings
from probes.base import utc_now
from screens.modals import PickScreen, TextScreen
from tests.helpers import make_app, mounted, screen_text, wait_for
from tests.labs.alertmanager_plugin import AlertingLab
from tui.app import OncallApp
from tui.widgets.alerts import AlertsTable
from tui.widgets.dialogs import PickList

pytestmark = pytest.mark.integration

SIZE = (220, 50)


class Recording(httpx.AsyncBaseTransport):
    """The real network, every request oncall sends written down."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.sent: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def am_app(tmp_path: Path, lab: AlertingLab, transport: httpx.AsyncBaseTransport | None = None) -> OncallApp:
    app = make_app(tmp_path, demo=False, prometheus_url=lab.prometheus.url, clock=utc_now)
    settings = AlertmanagerSettings(url=lab.alertmanager.url, refresh=0.2, timeout=1.0, backoff_max=0.5)
    app.settings = replace(app.settings, alertmanager=settings)
    app.alertmanager = AlertmanagerProbe(settings, transport=transport, clock=utc_now)
    return app


def dimmed(cell: Text) -> bool:
    return "dim" in str(cell.style) or any("dim" in str(span.style) for span in cell.spans)


def row_of(table: AlertsTable, name: str, state: str = "firing") -> int:
    return next(i for i, a in enumerate(table.alerts) if a.name == name and a.state == state)


def cells(table: AlertsTable, row: int) -> dict[str, str]:
    labels = [str(c.label) for c in table.ordered_columns]
    return {
        label: getattr(cell, "plain", str(cell))
        for label, cell in zip(labels, table.get_row_at(row), strict=True)
    }


async def test_the_table_shows_silences_inhibitions_groups_and_the_amtool_command(tmp_path, alertmanager_lab):
    lab = alertmanager_lab
    silence_id = lab.alertmanager.silence({"alertname": "MarkupInLabels"}, "carol@ops", "noisy test alert")
    recording = Recording()
    app = am_app(tmp_path, lab, recording)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(AlertsTable)
        await wait_for(
            lambda: table.row_count >= 6 and len(table.am_status) >= 6, timeout=15, what="both views"
        )
        await wait_for(
            lambda: "1 firing · 1 silenced · 2 inhibited, 4 pending" in screen_text(app),
            timeout=10,
            what="the counts apart",
        )
        markup = cells(table, row_of(table, "MarkupInLabels"))
        assert markup["Alertmanager"].startswith("silenced by carol@ops until ")
        assert markup["Alertmanager"].endswith("Z")
        for name in ("HighRedisMemory", "HighApiLatency"):
            assert cells(table, row_of(table, name))["Alertmanager"] == "inhibited by HighApiErrorRate"
        assert cells(table, row_of(table, "HighApiErrorRate"))["Alertmanager"] == "active"
        # the pending ones never reached Alertmanager: said so, and still shown
        assert cells(table, row_of(table, "SlowDatabaseQueries", "pending"))["Alertmanager"] == (
            "not in Alertmanager"
        )

        # dimmed, never hidden: every cell of a silenced or inhibited row is dim, an active one is not
        for name, dim in (("MarkupInLabels", True), ("HighRedisMemory", True), ("HighApiErrorRate", False)):
            row = table.get_row_at(row_of(table, name))
            assert (
                all(
                    "dim" in str(cell.style) or any("dim" in str(s.style) for s in cell.spans) for cell in row
                )
                is dim
            )

        # grouped by Alertmanager's group_by [alertname]: the group is named on its first row, its alerts
        # follow it; the critical alert's group comes first, as the alert did
        groups = [cells(table, r)["Group"] for r in range(table.row_count)]
        assert groups[0] == "HighApiErrorRate"
        assert {"HighApiErrorRate", "HighRedisMemory", "HighApiLatency", "MarkupInLabels"} <= set(groups)
        names = [a.name for a in table.alerts]
        assert names.index("MarkupInLabels") == groups.index("MarkupInLabels")
        assert "Alertmanager " + lab.alertmanager.url in screen_text(app)

        # the selected alert stays selected while both are polled again
        table.move_cursor(row=row_of(table, "MarkupInLabels"))
        polls = app.pace.polls.get("alertmanager", 0)
        await wait_for(lambda: app.pace.polls.get("alertmanager", 0) >= polls + 3, what="more polls")
        await wait_for(lambda: table.selected is not None, what="a selection")
        assert table.selected is not None and table.selected.name == "MarkupInLabels"

        # m on a silenced alert: the expire command (its silence's id) and a new silence, to copy
        await pilot.press("m")
        await wait_for(lambda: isinstance(app.screen, PickScreen), what="the command list")
        items = app.screen.query_one(PickList).items
        assert items[0] == f"amtool silence expire --alertmanager.url={lab.alertmanager.url} {silence_id}"
        assert items[1].startswith(f"amtool silence add --alertmanager.url={lab.alertmanager.url} ")
        await pilot.press("escape")

        # m on an alert no silence covers: the one command, shell-quoted; run as copied, it silences it
        table.move_cursor(row=row_of(table, "HighRedisMemory"))
        await pilot.press("m")
        await wait_for(lambda: mounted(app.screen, TextScreen), what="the command")
        command = app.screen.text
        assert command.startswith(f"amtool silence add --alertmanager.url={lab.alertmanager.url} ")
        assert "--duration=1h" in command
        assert "alertname=HighRedisMemory service=redis severity=warning" in command
        assert "--comment='HighRedisMemory: silenced by alice@bastion'" in command
        assert command in screen_text(app)
        await pilot.press("escape")
        assert shutil.which("amtool"), "amtool ships with prometheus-alertmanager"
        done = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=20)
        assert done.returncode == 0, done.stderr
        made = [x for x in lab.alertmanager.get("/api/v2/silences") if x["id"] != silence_id]
        assert [m["name"] + "=" + m["value"] for m in made[0]["matchers"]] == [
            "alertname=HighRedisMemory",
            "service=redis",
            "severity=warning",
        ]
        await wait_for(
            lambda: cells(table, row_of(table, "HighRedisMemory"))["Alertmanager"].startswith(
                f"silenced by {made[0]['createdBy']} until "
            ),
            timeout=10,
            what="the silence amtool made",
        )
    # oncall itself only ever read
    assert recording.sent
    assert set(recording.sent) <= ALLOWED_REQUESTS


async def test_alertmanager_stopped_says_so_and_keeps_prometheus_alerts(tmp_path, alertmanager_lab):
    lab = alertmanager_lab
    app = am_app(tmp_path, lab)
    async with app.run_test(size=SIZE):
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: len(table.am_status) >= 6, timeout=15, what="Alertmanager's view")
        lab.alertmanager.stop()
        await wait_for(
            lambda: f"Alertmanager down: connection refused at {lab.alertmanager.url}" in screen_text(app),
            timeout=10,
            what="the outage said",
        )
        text = screen_text(app)
        assert "states from" in text  # the last states read, said to be old
        # Prometheus's alerts, all still there (waited for: a pending one may have just fired in between)
        await wait_for(
            lambda: table.row_count == len(lab.prometheus.alerts()), timeout=10, what="every Prometheus alert"
        )
        assert cells(table, row_of(table, "MarkupInLabels"))["Alert"] == "MarkupInLabels"
