"""The alerts table in an alert storm (hundreds of alerts from a Prometheus over httpx, polled every 0.2 s):
a poll that brings nothing new leaves every row as it was; alerts coming and going amid many keep the
selection on its alert."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.helpers import make_app, screen_text, wait_for
from tui.widgets.alerts import AlertsTable

SIZE = (160, 48)


def storm_alert(n: int, severity: str = "warning", name: str = "QueueBacklog") -> dict[str, Any]:
    return {
        "labels": {"alertname": name, "severity": severity, "queue": f"queue-{n:04d}"},
        "annotations": {"summary": f"queue-{n:04d} has {n} jobs waiting"},
        "state": "firing",
        # one second apart: the table's order (oldest first) is the queues' order
        "activeAt": f"2026-11-27T02:{n // 60 % 60:02d}:{n % 60:02d}Z",
        "value": str(n),
    }


class StormPrometheus:
    """A Prometheus whose alerts the test changes between polls; counts the alert reads."""

    def __init__(self, alerts: list[dict[str, Any]]) -> None:
        self.alerts = alerts
        self.alert_reads = 0

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/alerts":
            self.alert_reads += 1
            body: dict[str, Any] = {"status": "success", "data": {"alerts": self.alerts}}
        else:
            rules = [{"type": "alerting", "name": "QueueBacklog", "query": "backlog > 0", "alerts": []}]
            body = {"status": "success", "data": {"groups": [{"name": "storm", "rules": rules}]}}
        return httpx.Response(200, content=json.dumps(body).encode())

    async def polls(self, count: int) -> None:
        """Until `count` more polls have been answered (and their alerts shown)."""
        wanted = self.alert_reads + count + 1  # the one under way may have been answered before the change
        await wait_for(lambda: self.alert_reads >= wanted, timeout=10, what=f"{count} more polls")


def row(table: AlertsTable, index: int) -> dict[str, str]:
    labels = [str(c.label) for c in table.ordered_columns]
    return {k: c.plain for k, c in zip(labels, table.get_row_at(index), strict=True)}


async def test_a_poll_that_brings_nothing_new_leaves_every_row_and_the_selection_alone(tmp_path):
    prometheus = StormPrometheus([storm_alert(n) for n in range(400)])
    app = make_app(tmp_path, demo=False, prometheus_url="http://prom.test", transport=prometheus.transport())
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count == 400, what="400 alerts")
        table.move_cursor(row=200, animate=False)
        await pilot.pause()
        chosen = table.selected
        assert chosen is not None and chosen.label("queue") == "queue-0200"
        alerts, cells = list(table.alerts), [table.get_row_at(row) for row in range(400)]
        changes = table._update_count  # Textual's count of changes to the table's rows and cells
        await prometheus.polls(3)
        await pilot.pause()
        # the same alert objects in the same rows, the same cells, nothing changed for Textual to redraw
        assert all(a is b for a, b in zip(table.alerts, alerts, strict=True))
        assert all(
            all(x is y for x, y in zip(table.get_row_at(row), before, strict=True))
            for row, before in enumerate(cells)
        )
        assert table._update_count == changes
        assert table.cursor_row == 200 and table.selected is chosen
        assert row(table, 200)["Alert"] == "QueueBacklog" and row(table, 200)["Since"] == "56m"


async def test_alerts_coming_and_going_amid_many_keep_the_selection_on_its_alert(tmp_path):
    prometheus = StormPrometheus([storm_alert(n) for n in range(400)])
    app = make_app(tmp_path, demo=False, prometheus_url="http://prom.test", transport=prometheus.transport())
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count == 400, what="400 alerts")
        table.move_cursor(row=250, animate=False)
        await pilot.pause()
        chosen = table.selected
        assert chosen is not None and chosen.label("queue") == "queue-0250"

        # one alert above the selected one resolves, and a critical one (listed first) starts
        prometheus.alerts = [
            *(storm_alert(n) for n in range(400) if n != 10),
            storm_alert(900, severity="critical", name="QueueStalled"),
        ]
        await prometheus.polls(2)
        await pilot.pause()
        assert table.row_count == 400
        assert table.selected is not None and table.selected.fingerprint == chosen.fingerprint
        assert table.cursor_row == 250  # one row fewer above it, one more: it stayed where the eye was
        assert (row(table, 0)["Severity"], row(table, 0)["Alert"]) == ("critical", "QueueStalled")
        shown = screen_text(app)
        assert "queue-0010 has" not in shown and "queue-0011 has 11 jobs" in shown

        # then many resolve at once, the selected one among those left
        prometheus.alerts = [storm_alert(n) for n in range(200, 300)]
        await prometheus.polls(2)
        await pilot.pause()
        assert table.row_count == 100
        assert table.selected is not None and table.selected.fingerprint == chosen.fingerprint
        assert table.cursor_row == 50

        # and the selected one resolves too: the cursor stays on the row it was on, another alert
        prometheus.alerts = [storm_alert(n) for n in range(200, 300) if n != 250]
        await prometheus.polls(2)
        await pilot.pause()
        assert table.row_count == 99 and table.cursor_row == 50
        assert table.selected is not None and table.selected.label("queue") == "queue-0251"


async def test_a_value_changing_amid_many_is_redrawn_in_its_row(tmp_path):
    prometheus = StormPrometheus([storm_alert(n) for n in range(300)])
    app = make_app(tmp_path, demo=False, prometheus_url="http://prom.test", transport=prometheus.transport())
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count == 300, what="300 alerts")
        changed = storm_alert(3)
        changed["value"] = "9.95e+01"
        prometheus.alerts = [changed if n == 3 else storm_alert(n) for n in range(300)]
        await prometheus.polls(2)
        await pilot.pause()
        assert row(table, 3)["Value"] == "99.5" and row(table, 4)["Value"] == "4"
        lines = [table.render_line(y).text for y in range(1, 8)]  # what the screen shows, header first
        assert "  99.5  " in lines[3] and "queue-0003 has" in lines[3], lines
