"""Walking a checklist: ticks are committed, survive a restart, and an observer follows them read-only."""

from __future__ import annotations

import asyncio
import sqlite3

from screens.checklist import ChecklistScreen, DriverChecklistScreen
from screens.dashboard import DashboardScreen
from tests.helpers import FixedClock, make_app, screen_text, wait_for
from tui.sessions.store import SessionStore
from tui.widgets.alerts import AlertsTable

WRITE_KEYS = {"space", "s", "n"}


async def _open_first_checklist(app, pilot) -> ChecklistScreen:
    table = app.screen.query_one(AlertsTable)
    await wait_for(
        lambda: table.row_count > 0 and table.alerts[0].name == "HighDatabaseConnections", what="demo alerts"
    )
    await pilot.press("enter")
    await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
    return app.screen  # type: ignore[return-value]


async def _start_session(app, pilot) -> None:
    """The first change starts the session: a note on the incident's first step, as a driver writes it."""
    await pilot.press("n", *"paged, looking", "enter")
    await wait_for(lambda: getattr(app.screen, "session", None) is not None, what="the session started")


def _stored_steps(tmp_path):
    store = SessionStore.open(tmp_path / "sessions.db", read_only=True)
    try:
        (session,) = store.sessions()
        return session
    finally:
        store.close()


def _ticked_first(tmp_path) -> bool:
    store = SessionStore.open(tmp_path / "sessions.db", read_only=True)
    try:
        return any(session.step_state(0) == "done" for session in store.sessions())
    finally:
        store.close()


async def test_ticking_a_step_is_committed_with_who_and_when(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _open_first_checklist(app, pilot)
        assert "Check current connections" in screen_text(app)
        await pilot.press("space")
        await wait_for(
            lambda: screen.session is not None and screen.session.step_state(0) == "done", what="step 1 done"
        )
        assert "done by alice@bastion" in screen_text(app)
        await pilot.press("j", "s")
        await wait_for(
            lambda: screen.session is not None and screen.session.step_state(1) == "skipped",
            what="step 2 skipped",
        )
    session = _stored_steps(tmp_path)
    assert session.alertname == "HighDatabaseConnections"
    assert session.steps[0].state == "done" and session.steps[0].who == "alice@bastion"
    assert session.steps[1].state == "skipped"
    assert session.step_state(2) == "pending"


async def test_space_again_unticks_the_step(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _open_first_checklist(app, pilot)
        await pilot.press("space")
        await wait_for(lambda: screen.session is not None and screen.session.step_state(0) == "done")
        await pilot.press("space")
        await wait_for(lambda: screen.session is not None and screen.session.step_state(0) == "pending")
    assert _stored_steps(tmp_path).step_state(0) == "pending"


async def test_keys_typed_while_the_checklist_opens_apply_in_order_once_it_is_ready(tmp_path):
    """`enter ↓ space` typed at once, while the checklist still loads its session (a store whose answer comes
    late): the keys wait for it (the screen handles them after its mount; ↓ is the app's, a priority key), and
    the second step is ticked, not the first, and not undone by the late answer."""
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count > 0, what="demo alerts")
        find_session = app.find_session

        async def slow_find_session(alert):  # a shared store whose answer arrives late
            found = await find_session(alert)
            await asyncio.sleep(0.5)
            return found

        app.find_session = slow_find_session
        await pilot.press("enter", "down", "space")  # ↓: a priority key, handled by the app at once
        screen = app.screen
        assert isinstance(screen, ChecklistScreen) and screen.session is None  # still loading
        await wait_for(
            lambda: screen.session is not None and screen.session.step_state(1) == "done",
            what="step 2 ticked",
        )
        assert screen.session.step_state(0) == "pending" and screen.selected == 1
        await pilot.press("k", "space")  # ready now: as ever
        await wait_for(lambda: screen.session.step_state(0) == "done", what="step 1 ticked")


async def test_ticks_survive_a_restart(tmp_path):
    clock = FixedClock()
    first = make_app(tmp_path, clock=clock)
    async with first.run_test(size=(160, 48)) as pilot:
        screen = await _open_first_checklist(first, pilot)
        await pilot.press("j", "space")
        await wait_for(lambda: screen.session is not None and screen.session.step_state(1) == "done")
    clock.advance(120)  # two minutes later, same incident
    second = make_app(tmp_path, clock=clock)
    async with second.run_test(size=(160, 48)) as pilot:
        screen = await _open_first_checklist(second, pilot)
        assert screen.session.step_state(1) == "done"
        assert screen.session.step_state(0) == "pending"
        assert "done by alice@bastion" in screen_text(second)


async def test_a_note_is_saved_on_the_selected_step(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _open_first_checklist(app, pilot)
        await pilot.press("j", "n")
        await pilot.press(*"412 of 500 connections [/bold]")
        await pilot.press("enter")
        await wait_for(lambda: screen.session is not None and len(screen.session.notes) == 1, what="the note")
        assert "412 of 500 connections [/bold]" in screen_text(app)
    note = _stored_steps(tmp_path).notes[0]
    assert (note.step_index, note.text, note.who) == (1, "412 of 500 connections [/bold]", "alice@bastion")


async def test_export_writes_the_timeline_as_markdown(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _open_first_checklist(app, pilot)
        await pilot.press("space")
        await wait_for(lambda: screen.session is not None and screen.session.step_state(0) == "done")
        await pilot.press("e")
        await wait_for(lambda: list(tmp_path.glob("oncall-session-*.md")), what="the export file")
    (exported,) = tmp_path.glob("oncall-session-*.md")
    text = exported.read_text()
    assert "HighDatabaseConnections" in text
    assert "alice@bastion" in text


async def test_observer_sees_the_drivers_tick_within_a_second_and_cannot_change_it(tmp_path):
    clock = FixedClock()
    driver = make_app(tmp_path, clock=clock)
    async with driver.run_test(size=(160, 48)) as dpilot:
        dscreen = await _open_first_checklist(driver, dpilot)
        await _start_session(driver, dpilot)
        observer = make_app(tmp_path, clock=clock, observe="latest", user="bob@laptop")
        async with observer.run_test(size=(160, 48)) as opilot:
            await wait_for(
                lambda: isinstance(observer.screen, ChecklistScreen) and observer.screen.session is not None,
                what="observer follows the session",
            )
            oscreen = observer.screen
            assert not isinstance(oscreen, DriverChecklistScreen)
            assert "OBSERVER" in screen_text(observer)
            assert "driven by alice@bastion" in screen_text(observer)

            await dpilot.press("space")
            await wait_for(
                lambda: dscreen.session is not None and dscreen.session.step_state(0) == "done",
                what="driver's tick",
            )
            await wait_for(
                lambda: oscreen.session is not None and oscreen.session.step_state(0) == "done",
                timeout=1.0,
                what="the observer to see the tick within 1 s",
            )
            assert "done by alice@bastion" in screen_text(observer)

            # No binding that changes anything, and pressing the driver's keys changes nothing.
            assert not WRITE_KEYS & set(oscreen.active_bindings)
            await opilot.press("j", "space", "s", "n")
            await opilot.pause()
            assert oscreen.session.step_state(1) == "pending"
            commands = [c.title for c in observer.get_system_commands(oscreen)]
            assert "Copy" in commands and "Done" not in commands and "Note" not in commands
    session = _stored_steps(tmp_path)
    assert session.step_state(0) == "done" and session.step_state(1) == "pending"


async def test_help_and_palette_list_the_footers_bindings(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _open_first_checklist(app, pilot)
        shown = [b for b in screen.active_bindings.values() if b.binding.show and b.binding.description]
        footer_actions = {b.binding.description for b in shown}
        palette = {c.title for c in app.get_system_commands(screen)}
        # a greyed key (Export before a session exists) is shown in the footer, but the palette can't run it
        assert {b.binding.description for b in shown if b.enabled} <= palette
        assert "Export" not in palette and "Export" in footer_actions
        await pilot.press("question_mark")
        await pilot.pause()
        help_text = screen_text(app)
        for description in footer_actions:
            assert description in help_text
        assert {"Done", "Skip", "Note", "Copy", "Export", "Re-read"} <= footer_actions


async def test_runbook_browser_lists_every_section_without_prometheus(tmp_path):
    app = make_app(tmp_path, demo=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("b")
        await pilot.pause()
        assert "Runbook · 12 sections" in app.screen.query_one("#sections").border_title
        await pilot.press("j", "j")
        await pilot.pause()
        assert "#api-down" in screen_text(app)
        assert "Check pod status" in screen_text(app)


async def test_a_resolved_demo_alert_closes_its_session(tmp_path):
    clock = FixedClock()
    app = make_app(tmp_path, clock=clock)
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count == 4, what="demo alerts")
        row = next(i for i, a in enumerate(table.alerts) if a.name == "SlowRedisOperations")
        table.move_cursor(row=row)
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="its checklist")
        await _start_session(app, pilot)
        screen = app.screen
        clock.advance(100)  # the demo script clears SlowRedisOperations 90 s into the incident
        app.refresh_now()
        await wait_for(lambda: screen.session.resolved_at is not None, what="the session to be resolved")
        assert "resolved 03:01:40Z" in screen_text(app)
    store = SessionStore.open(tmp_path / "sessions.db", read_only=True)
    try:
        (session,) = store.sessions()
        kinds = [entry.kind for entry in store.timeline(session.id)]
    finally:
        store.close()
    assert session.alertname == "SlowRedisOperations"
    assert kinds[-1] == "resolved" and "fired" in kinds


async def test_observer_without_a_session_waits_and_then_follows_the_driver_to_another_alert(tmp_path):
    clock = FixedClock()
    driver = make_app(tmp_path, clock=clock)
    async with driver.run_test(size=(160, 48)) as dpilot:
        table = driver.screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count == 4, what="demo alerts")
        observer = make_app(tmp_path, clock=clock, observe="latest", user="bob@laptop")
        async with observer.run_test(size=(160, 48)):
            await wait_for(lambda: "waiting for a driver" in screen_text(observer), what="the waiting badge")
            await dpilot.press("enter")
            await wait_for(lambda: isinstance(driver.screen, ChecklistScreen), what="the driver's checklist")
            await _start_session(driver, dpilot)
            await wait_for(
                lambda: isinstance(observer.screen, ChecklistScreen) and observer.screen.session is not None,
                what="observer follows the first session",
            )
            assert observer.screen.session.alertname == "HighDatabaseConnections"
            await dpilot.press("escape", "j", "enter")
            await wait_for(lambda: isinstance(driver.screen, ChecklistScreen), what="the next checklist")
            await _start_session(driver, dpilot)
            await wait_for(
                lambda: observer.screen.session.alertname == "HighApiLatency",
                timeout=1.0,
                what="observer to follow the driver to the next alert",
            )
            # its steps are drawn a moment after the session is adopted
            await wait_for(lambda: "Check Redis connection pool" in screen_text(observer), what="its steps")


async def test_observer_of_a_named_session_follows_that_one(tmp_path):
    driver = make_app(tmp_path)
    async with driver.run_test(size=(160, 48)) as dpilot:
        await _open_first_checklist(driver, dpilot)
        await _start_session(driver, dpilot)  # session 1
        await dpilot.press("escape", "j", "enter")
        await wait_for(lambda: isinstance(driver.screen, ChecklistScreen), what="the next checklist")
        await _start_session(driver, dpilot)  # session 2 is now the latest
        await wait_for(
            lambda: getattr(driver.screen, "session", None) is not None and driver.screen.session.id == 2,
            what="a second session",
        )
        observer = make_app(tmp_path, observe="1", user="bob@laptop")
        async with observer.run_test(size=(160, 48)):
            await wait_for(
                lambda: isinstance(observer.screen, ChecklistScreen) and observer.screen.session is not None,
                what="observer on session 1",
            )
            assert observer.screen.session.alertname == "HighDatabaseConnections"
            # and it stays the screen: the dashboard, pushed as the app starts, is under it, not on top
            await asyncio.sleep(0.5)
            assert isinstance(observer.screen, ChecklistScreen)
            assert [type(s).__name__ for s in observer.screen_stack[1:]] == [
                "DashboardScreen",
                "ChecklistScreen",
            ]


async def test_observer_of_a_missing_session_says_so(tmp_path):
    driver = make_app(tmp_path)
    async with driver.run_test(size=(160, 48)) as dpilot:
        await _open_first_checklist(driver, dpilot)
        observer = make_app(tmp_path, observe="42", user="bob@laptop")
        async with observer.run_test(size=(160, 48)):
            await wait_for(
                lambda: any("42" in str(n.message) for n in observer._notifications),
                what="a notification naming session 42",
            )
            assert "waiting for a driver" in screen_text(observer)


async def test_a_tick_that_commits_after_the_checklist_closed_is_kept_and_not_drawn(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _open_first_checklist(app, pilot)
        # another writer on the shared store holds it: the tick waits for it
        other = sqlite3.connect(tmp_path / "sessions.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        await pilot.press("space")
        await pilot.press("escape")  # the user leaves before the write is done
        await wait_for(lambda: not screen.is_attached, what="the checklist closed")
        other.execute("ROLLBACK")
        other.close()
        # the tick starts the session and ticks the step, both written though the screen is gone
        await wait_for(lambda: _ticked_first(tmp_path), what="the tick committed")
        # the committed session reaching the closed screen (its worker and the signal race the close)
        screen._redraw()
        await screen._rebuild()
        await pilot.pause()
        assert app._exception is None and isinstance(app.screen, DashboardScreen)
