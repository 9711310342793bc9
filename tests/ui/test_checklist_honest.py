"""Honest evidence: what a tick stores and the export prints is what was read, and what was not is said so."""

from __future__ import annotations

from pathlib import Path

import pytest

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


async def _practice(app, pilot, slug: str) -> ChecklistScreen:
    """The runbook browser's section `slug`, opened with enter as a user does (practice: live evidence)."""
    await pilot.press("b")
    index = [s.slug for s in app.runbook.sections].index(slug)
    for _ in range(index):
        await pilot.press("j")
    await pilot.press("enter")
    await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what=f"the checklist of #{slug}")
    screen = app.screen
    assert isinstance(screen, ChecklistScreen) and screen.section is not None
    assert screen.section.slug == slug
    return screen


@pytest.mark.integration
async def test_an_empty_grep_says_no_line_matches_and_the_nodes_cause_lists_the_ready_nodes(
    tmp_path, kube_sim
):
    app = make_app(tmp_path, demo=False, kubeconfig=kube_sim.kubeconfig(namespace="production"))
    async with app.run_test(size=(160, 200)) as pilot:
        screen = await _practice(app, pilot, "postgresql-down")
        await wait_for(lambda: len(screen.evidence) == 3 and bool(screen.cause_evidence), timeout=20)
        text = screen_text(app)
        # the postgres pod never restarted: grep printed nothing, and the step says so instead of a blank
        assert 'no line matches "Last State"' in text
        # "Node failure or eviction": the simulator's three Ready nodes, not an empty table
        nodes = next(r for r in screen.cause_evidence.values() if r.what.startswith("kubernetes nodes"))
        assert len(nodes.rows) == 3 and all(row[1] == "True" for row in nodes.rows), nodes
        for row in nodes.rows:
            assert row[0] in text
