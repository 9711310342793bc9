"""The common causes judged from their evidence, as a user sees them: in the checklist (driver, observer,
practice), and the likely cause beside the selected alert on the dashboard, on the demo's incident."""

from __future__ import annotations

import asyncio

from screens.checklist import ChecklistScreen
from screens.runbook_browser import RunbookBrowserScreen
from tests.helpers import FixedClock, make_app, screen_text, wait_for
from tui.triage.causes import CauseFinding
from tui.triage.runbook import CommonCause
from tui.widgets.alerts import AlertsTable
from tui.widgets.cause_list import CauseList
from tui.widgets.runbook_pane import RunbookPane

LEAK = "6 sessions idle in transaction for more than 5 min, 6 from inmidst-api"


async def _alerts(app) -> AlertsTable:
    table = app.screen.query_one(AlertsTable)
    await wait_for(lambda: table.row_count == 4, what="the demo's alerts")
    return table


async def _judged_checklist(app, pilot) -> ChecklistScreen:
    await _alerts(app)
    await pilot.press("enter")
    await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
    screen = app.screen
    assert isinstance(screen, ChecklistScreen)
    await wait_for(lambda: bool(screen.findings), timeout=20, what="the causes judged")
    return screen


def _causes(app) -> str:
    return screen_text(app).split("Common causes", 1)[1].split("Resolution", 1)[0]


async def test_the_demos_connection_leak_is_supported_and_ranked_first_in_the_checklist(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _judged_checklist(app, pilot)
        causes = _causes(app)
        lines = [line for line in causes.splitlines() if line and line[0] in "✓✗?"]
        assert lines[0] == "✓ Connection leak: application not returning connections to pool"
        assert f"supported: {LEAK}" in causes
        assert "✗ Long-running transactions holding connections" in causes
        assert "not supported: no active transaction older than 5 min" in causes
        # best-supported first: every ✓ above every ?, every ? above every ✗
        marks = [line[0] for line in lines]
        assert marks == sorted(marks, key="✓?✗".index), marks
        # the reading that decided it is shown under the verdict
        assert "sessions idle in a transaction, by application" in causes


async def test_the_causes_fit_at_80_columns_with_their_verdicts(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _judged_checklist(app, pilot)
        causes = screen.query_one(CauseList)
        causes.scroll_visible(animate=False)
        await pilot.pause()
        assert f"supported: {LEAK}" in _causes(app)
        assert causes.region.width <= 80


async def test_the_verdict_marks_take_the_themes_colours_not_style_strings(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _judged_checklist(app, pilot)
        causes = screen.query_one(CauseList)
        supported = causes.verdict_style("supported")
        ruled_out = causes.verdict_style("not supported")
        assert supported.color is not None and supported.color != ruled_out.color
        finding = screen.findings[0]
        text = causes.verdict_text(finding)
        assert text.plain.startswith("✓ supported: ")
        assert text.spans[0].style == supported  # the mark and the verdict in the component class's colour
        assert {"cause-list--supported", "cause-list--unknown"} <= CauseList.COMPONENT_CLASSES


async def test_a_server_string_in_a_reason_is_drawn_as_text_never_markup(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _judged_checklist(app, pilot)
        cause = CommonCause("Connection leak", ())
        finding = CauseFinding(cause, "supported", "3 from [bold]app[/] [/red]", 2.0)
        text = screen.query_one(CauseList).verdict_text(finding)
        assert text.plain == "✓ supported: 3 from [bold]app[/] [/red]"


async def test_the_causes_are_judged_again_when_the_evidence_is_read_again(tmp_path):
    clock = FixedClock()
    app = make_app(tmp_path, clock=clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await _alerts(app)
        await pilot.press("b")  # practice: the runbook browser's section, no alert
        await wait_for(lambda: isinstance(app.screen, RunbookBrowserScreen), what="the runbook browser")
        await pilot.press(*"kkk")  # from the selected alert's section (the 4th) up to the first
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the practice checklist")
        screen = app.screen
        assert isinstance(screen, ChecklistScreen) and screen.practice
        assert screen.section is not None and screen.section.slug == "high-api-error-rate"
        await wait_for(lambda: "Redis answers (up 41d)" in _causes(app), timeout=20, what="Redis judged")
        assert "not supported: PostgreSQL answers queries" in _causes(app)
        assert "? Upstream dependency timeout" in _causes(app)
        clock.advance(3600)
        await pilot.press("r")
        await wait_for(
            lambda: "Redis answers (up 41d1h)" in _causes(app), timeout=20, what="Redis judged again"
        )


async def test_an_observer_sees_the_same_verdicts(tmp_path):
    clock = FixedClock()
    driver = make_app(tmp_path, clock=clock)
    async with driver.run_test(size=(160, 48)) as dpilot:
        await _judged_checklist(driver, dpilot)
        await dpilot.press("n", *"paged", "enter")
        await wait_for(lambda: getattr(driver.screen, "session", None) is not None, what="the session")
        observer = make_app(tmp_path, clock=clock, observe="latest", user="bob@laptop")
        async with observer.run_test(size=(160, 48)):
            await wait_for(
                lambda: isinstance(observer.screen, ChecklistScreen) and bool(observer.screen.findings),
                timeout=20,
                what="the observer's causes judged",
            )
            assert f"supported: {LEAK}" in _causes(observer)


async def test_the_dashboard_names_the_likely_cause_beside_the_selected_alert(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _alerts(app)
        pane = app.screen.query_one(RunbookPane)
        await wait_for(
            lambda: "likely cause: Connection leak" in screen_text(app), timeout=20, what="the cause"
        )
        assert f"likely cause: Connection leak — {LEAK}" in screen_text(app)
        # the alert below: TargetDown's scrape is refused, and only its own cause is named
        for _ in range(3):
            await pilot.press("j")
        await wait_for(
            lambda: (
                "likely cause: Pod crashed but service still registered — target inmidst-worker"
                in screen_text(app)
            ),
            timeout=20,
            what="TargetDown's cause",
        )
        assert "Connection leak" not in str(pane.query_one("#runbook-body").render())


async def test_the_dashboards_cause_reads_pause_with_p(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _alerts(app)
        await wait_for(
            lambda: "likely cause: Connection leak" in screen_text(app), timeout=20, what="the cause"
        )
        await pilot.press("P")
        await pilot.press("j")  # another alert, while paused: its causes are not read
        await asyncio.sleep(5.5)  # past the evidence's 5 s
        assert "likely cause: not judged yet (refresh paused: P reads it)" in screen_text(app)
        await pilot.press("P")
        await wait_for(
            lambda: "not judged yet" not in screen_text(app), timeout=20, what="judged once resumed"
        )
        assert "likely cause:" in screen_text(app) or "no cause supported by the evidence yet" in screen_text(
            app
        )


async def test_at_80_columns_the_runbook_pane_gives_way_and_reads_nothing(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await _alerts(app)
        await pilot.pause(1.0)
        pane = app.screen.query_one(RunbookPane)
        assert not pane.display
        assert pane._causes == {}  # no reads for a pane nobody sees
        await pilot.press("enter")  # the checklist has the causes in full
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
        await wait_for(lambda: bool(app.screen.findings), timeout=20, what="the causes judged")


async def test_practice_without_servers_leaves_every_cause_unknown_saying_why(tmp_path):
    app = make_app(tmp_path, demo=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("b")
        await wait_for(lambda: isinstance(app.screen, RunbookBrowserScreen), what="the runbook browser")
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the practice checklist")
        screen = app.screen
        assert isinstance(screen, ChecklistScreen) and screen.practice
        await wait_for(lambda: bool(screen.findings), timeout=20, what="the causes judged")
        assert {f.verdict for f in screen.findings} == {"unknown"}
        causes = _causes(app)
        assert "? Bad deployment" in causes
        assert "unknown: the read failed: kubernetes is not configured" in causes
        assert "unknown: PostgreSQL is not configured here" in causes
        assert "unknown: nothing oncall reads bears on it: check by hand" in causes


async def test_a_long_incident_keeps_a_bounded_number_of_judged_alerts_and_the_shown_one_stays(tmp_path):
    """Alerts come and go for hours: the pane keeps the causes of the last KEPT_CAUSES alerts judged (one
    judged long ago is judged again when selected), never the shown alert's, which stays on screen."""
    from dataclasses import replace

    from tui.widgets.runbook_pane import KEPT_CAUSES

    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)):
        pane = app.screen.query_one(RunbookPane)
        await wait_for(
            lambda: "likely cause: Connection leak" in screen_text(app), timeout=20, what="the cause"
        )
        shown = pane._shown[0] if pane._shown is not None else None
        assert shown is not None
        findings = pane._causes[shown.fingerprint]
        gone = [replace(shown, fingerprint=f"gone-{n}") for n in range(3 * KEPT_CAUSES)]
        for alert in gone:
            pane.show_causes(alert, findings)
        assert len(pane._causes) <= KEPT_CAUSES
        assert str(pane.cause_line(gone[0])).startswith("likely cause: not judged yet")
        assert str(pane.cause_line(gone[-1])).startswith("likely cause: Connection leak")
        assert str(pane.cause_line(shown)).startswith("likely cause: Connection leak")
        assert f"likely cause: Connection leak — {LEAK}" in screen_text(app)
