"""Honest evidence: what a tick stores and the export prints is what was read, and what was not is said so."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from screens.checklist import ChecklistScreen, StepCard
from screens.modals import PickScreen, TextScreen
from screens.runbook_browser import RunbookBrowserScreen
from tests.helpers import make_app, mounted, prometheus_json, screen_text, wait_for
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


def _volume_prometheus() -> httpx.MockTransport:
    """A Prometheus whose kubelet measures two claims: one named like the deployment, and the pod's own."""
    volumes = {"inmidst-postgres-data": (9.0, 10.0), "data-inmidst-postgres-0": (41.2, 50.0)}

    def handle(request: httpx.Request) -> httpx.Response:
        query = request.url.params.get("query", "")
        result = []
        if "kubelet_volume_stats" in query:
            for claim, (used, capacity) in volumes.items():
                if claim in query or "persistentvolumeclaim" not in query:
                    labels = {"namespace": "production", "persistentvolumeclaim": claim}
                    for metric, gib in (("used_bytes", used), ("capacity_bytes", capacity)):
                        sample = {"__name__": f"kubelet_volume_stats_{metric}", **labels}
                        result.append({"metric": sample, "value": [0, str(gib * 2**30)]})
        body = {"status": "success", "data": {"resultType": "vector", "result": result}}
        if request.url.path == "/api/v1/alerts":
            body = {"status": "success", "data": {"alerts": []}}
        elif request.url.path.endswith("/rules"):
            body = {"status": "success", "data": {"groups": []}}
        return httpx.Response(200, content=json.dumps(body).encode())

    return httpx.MockTransport(handle)


@pytest.mark.integration
async def test_df_in_the_postgres_pod_reads_the_claim_its_spec_mounts_not_one_named_like_it(
    tmp_path, kube_sim
):
    pod = kube_sim.get("pods", "production", "inmidst-postgres-0")
    pod["spec"]["volumes"] = [
        {"name": "data", "persistentVolumeClaim": {"claimName": "data-inmidst-postgres-0"}},
        {"name": "kube-api-access", "projected": {"sources": []}},
    ]
    pod["metadata"].pop("resourceVersion", None)
    kube_sim.apply(pod)
    app = make_app(
        tmp_path,
        demo=False,
        kubeconfig=kube_sim.kubeconfig(namespace="production"),
        prometheus_url="http://prom.test",
        transport=_volume_prometheus(),
    )
    async with app.run_test(size=(160, 200)) as pilot:
        screen = await _practice(app, pilot, "postgresql-down")
        await wait_for(lambda: len(screen.evidence) == 3, timeout=20, what="the evidence")
        (df,) = screen.evidence[1]
        assert df.ok, df
        assert [row[0] for row in df.rows] == ["data-inmidst-postgres-0"]
        assert df.rows[0][2] == "50.0G"
        text = screen_text(app)
        assert "data-inmidst-postgres-0" in text and "inmidst-postgres-data" not in text


async def test_enter_shows_a_steps_evidence_in_full_and_c_copies_it_and_the_command_is_printed_once(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 60)) as pilot:
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count > 0, what="demo alerts")
        row = next(i for i, alert in enumerate(table.alerts) if alert.name == "SlowRedisOperations")
        table.move_cursor(row=row)
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
        screen = app.screen
        assert isinstance(screen, ChecklistScreen)
        await wait_for(lambda: len(screen.evidence) == 3, what="the evidence")
        card = str(screen.query(StepCard).first().render())
        assert card.count("SLOWLOG GET 10") == 1, card  # in the step's words only
        assert "▸ live · redis · read " in card
        await pilot.press("enter")
        await wait_for(lambda: mounted(app.screen, TextScreen), what="the evidence in full")
        view = app.screen
        assert isinstance(view, TextScreen)
        (reading,) = screen.evidence[0]
        assert view.title_text == "Step 1: its evidence in full"
        for row in reading.rows:  # every row, every cell whole
            for cell in row:
                assert cell.strip() in view.text
        assert "…" not in view.text.replace("  …\n", "")
        await pilot.press("c")
        assert app.clipboard.count("\n") >= len(reading.rows)  # line for line, not flattened
        assert "KEYS session:*" in app.clipboard
        await pilot.press("escape")
        await wait_for(lambda: app.screen is screen, what="back to the checklist")


async def _open_alert(app, pilot, name: str) -> ChecklistScreen:
    table = app.screen.query_one(AlertsTable)
    await wait_for(lambda: table.row_count > 0, what="demo alerts")
    table.move_cursor(row=next(i for i, alert in enumerate(table.alerts) if alert.name == name))
    await pilot.press("enter")
    await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
    screen = app.screen
    assert isinstance(screen, ChecklistScreen)
    return screen


async def test_opening_checklists_starts_no_session_until_the_first_change_and_resuming_lands_on_pending(
    tmp_path,
):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 60)) as pilot:
        for name in ("HighDatabaseConnections", "SlowRedisOperations"):
            screen = await _open_alert(app, pilot, name)
            await wait_for(lambda s=screen: bool(s.evidence), what="the evidence")
            assert "No session yet: the first tick, skip or note starts one." in screen_text(app)
            await pilot.press("escape")
        store = SessionStore.open(tmp_path / "sessions.db", read_only=True)
        try:
            assert store.sessions() == []  # looking is not an incident session
        finally:
            store.close()
        screen = await _open_alert(app, pilot, "HighDatabaseConnections")
        await pilot.press("space", "j", "s")
        await wait_for(
            lambda: screen.session is not None and screen.session.step_state(1) == "skipped",
            what="the changes",
        )
        assert "Session #1 opened" in screen_text(app)
    # a restart: the checklist resumes on the first step still pending (step 3)
    again = make_app(tmp_path)
    async with again.run_test(size=(160, 60)) as pilot:
        screen = await _open_alert(again, pilot, "HighDatabaseConnections")
        assert screen.session is not None and screen.session.id == 1
        assert screen.selected == 2
        cards = list(screen.query(StepCard))
        assert cards[2].has_class("-selected") and not cards[0].has_class("-selected")


RUNBOOK = """# Runbook

## first-section

**Alert**: something.

**Triage**:
1. Look at it by hand

**Common causes**:
- Something broke, see [#third](#third)

**Resolution**: Restart it; if that fails see [the second section](#second-section).

## second-section

**Triage**:
1. Look again

**Resolution**: Fix it.

## third

**Triage**:
1. Third look
"""


async def test_o_follows_the_resolutions_links_as_well_as_the_causes(tmp_path):
    runbook = tmp_path / "RUNBOOK.md"
    runbook.write_text(RUNBOOK)
    app = make_app(tmp_path, demo=False, runbook=runbook)
    async with app.run_test(size=(120, 40)) as pilot:
        await _practice(app, pilot, "first-section")
        await pilot.press("o")
        await wait_for(lambda: isinstance(app.screen, PickScreen), what="the links to pick from")
        assert app.screen.items == ["#third", "#second-section"]
        await pilot.press("j", "enter")
        await wait_for(lambda: isinstance(app.screen, RunbookBrowserScreen), what="the linked section")
        await pilot.pause()
        assert "Fix it." in screen_text(app)  # the second section is the one shown


async def test_slash_searches_the_checklists_steps(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 60)) as pilot:
        screen = await _open_alert(app, pilot, "SlowRedisOperations")
        assert screen.selected == 0
        await pilot.press("slash", *"bigkeys", "enter")
        await wait_for(lambda: screen.selected == 1, what="the step with --bigkeys")
        await pilot.press("slash", *"PIPELINE", "enter")  # case does not matter
        await wait_for(lambda: screen.selected == 2, what="the pipeline step")
        await pilot.press("slash", *"nothing like this", "enter")
        await wait_for(lambda: app.screen is screen, what="back on the checklist")
        await pilot.pause()
        assert screen.selected == 2
        assert any("No step matches" in str(n.message) for n in app._notifications)
