"""Honest evidence: what a tick stores and the export prints is what was read, and what was not is said so."""

from __future__ import annotations

from pathlib import Path

from screens.checklist import ChecklistScreen
from tests.helpers import make_app, prometheus_json, screen_text, wait_for
from tui.sessions.export import export_markdown
from tui.sessions.store import SessionStore
from tui.widgets.alerts import AlertsTable

DB_ALERT = {
    "labels": {"alertname": "HighDatabaseConnections", "severity": "warning"},
    "annotations": {"summary": "connections at 87% of max_connections"},
    "state": "firing",
    "activeAt": "2026-11-27T02:50:00Z",
    "value": "87",
}


def _stored(tmp_path: Path):
    store = SessionStore.open(tmp_path / "sessions.db", read_only=True)
    try:
        (session,) = store.sessions()
        return session, store.timeline(session.id)
    finally:
        store.close()


async def test_a_tick_on_a_step_whose_read_failed_stores_what_was_missing_not_the_error(tmp_path):
    # PostgreSQL is not configured: the SQL steps read nothing
    app = make_app(
        tmp_path, demo=False, prometheus_url="http://prom.test", transport=prometheus_json([DB_ALERT])
    )
    async with app.run_test(size=(160, 60)) as pilot:
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count == 1, what="the alert")
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
        screen = app.screen
        assert isinstance(screen, ChecklistScreen)
        await wait_for(lambda: bool(screen.evidence), what="the evidence")
        assert "postgresql is not configured" in screen_text(app)
        await pilot.press("space")
        await wait_for(
            lambda: screen.session is not None and screen.session.step_state(0) == "done", what="tick"
        )
    session, timeline = _stored(tmp_path)
    record = session.steps[0]
    assert record.missing and "postgresql is not configured" in record.missing[0]
    assert "  ! postgresql is not configured" not in record.evidence  # not stored as if it were evidence
    exported = export_markdown(session, timeline, app.section(session.section_slug))
    assert "- evidence: not read — postgresql: " in exported
    assert "postgresql is not configured" in exported
    assert "```\npostgresql:" not in exported  # no fenced block of an error
