"""The dashboard against the lab's real Prometheus: its alerts, their sections, hostile text kept inert."""

from __future__ import annotations

import pytest

from tests.helpers import make_app, screen_text, wait_for
from tui.widgets.alerts import AlertsTable

pytestmark = pytest.mark.integration


async def test_dashboard_shows_the_real_servers_alerts_with_their_sections(tmp_path, prometheus_server):
    app = make_app(tmp_path, demo=False, prometheus_url=prometheus_server.url)
    async with app.run_test(size=(220, 48)) as pilot:  # the hostile summary fits its cell whole
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count >= 6, timeout=10, what="the lab's alerts")
        names = [a.name for a in table.alerts]
        assert names[0] == "HighApiErrorRate"  # the only critical firing alert
        assert [a.state for a in table.alerts][-2:] == ["pending", "pending"]
        await wait_for(lambda: "#high-api-error-rate" in screen_text(app), what="its runbook section")
        assert "Check API pod logs" in screen_text(app)

        table.move_cursor(row=names.index("MarkupInLabels"))
        await wait_for(lambda: "No runbook section for MarkupInLabels" in screen_text(app), what="unmapped")
        text = screen_text(app)
        assert "[/bold] [link=x]click[/link] ␛[31mred" in text
        assert "Nearest sections:" in text
        assert "\x1b" not in text
        await pilot.press("enter")  # an unmapped alert still opens, with its nearest sections
        await wait_for(lambda: "No runbook section for MarkupInLabels" in screen_text(app), what="checklist")
