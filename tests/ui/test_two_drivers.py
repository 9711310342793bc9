"""Two drivers on one session store: each sees the other's changes on its checklist within a second, and its
header warns "also driven by" the other while the other's last change is recent (ten minutes)."""

from __future__ import annotations

from screens.checklist import ChecklistScreen
from tests.helpers import FixedClock, make_app, screen_text, wait_for
from tui import store_watch
from tui.app import OncallApp
from tui.widgets.alerts import AlertsTable
from tui.widgets.header import StatusHeader


async def _open_first_checklist(app: OncallApp, pilot) -> ChecklistScreen:
    table = app.screen.query_one(AlertsTable)
    await wait_for(lambda: table.row_count == 4, what="the demo's alerts")
    await pilot.press("enter")
    await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
    assert isinstance(app.screen, ChecklistScreen)
    return app.screen


def _header(app: OncallApp) -> str:
    """The header as its app last drew it (two apps run here: each draws its own, in its own context)."""
    return str(app.screen.query_one(StatusHeader).render())


async def test_a_tick_by_one_driver_shows_on_the_others_checklist_with_a_warning(tmp_path):
    alice = make_app(tmp_path, user="alice@bastion")
    bob_clock = FixedClock()
    bob = make_app(tmp_path, user="bob@laptop", clock=bob_clock)
    async with alice.run_test(size=(160, 48)) as apilot, bob.run_test(size=(160, 48)) as bpilot:
        alices = await _open_first_checklist(alice, apilot)
        bobs = await _open_first_checklist(bob, bpilot)
        assert bobs.session is None  # nobody has changed anything: no session yet
        assert "also driven by" not in _header(bob)

        await apilot.press("space")  # alice ticks step 1: the session starts
        await wait_for(lambda: alices.session is not None, what="alice's session")
        await wait_for(
            lambda: bobs.session is not None and bobs.session.step_state(0) == "done",
            timeout=2.0,
            what="bob's checklist to show alice's tick",
        )
        assert "done by alice@bastion" in screen_text(bob)
        await wait_for(lambda: "also driven by alice@bastion" in _header(bob), what="bob's warning")
        await bpilot.pause(0.5)
        assert "also driven by" not in _header(alice)  # alice alone has changed it so far

        await bpilot.press("j", "space")  # bob ticks step 2 of the same session
        await wait_for(
            lambda: alices.session is not None and alices.session.step_state(1) == "done",
            timeout=2.0,
            what="alice's checklist to show bob's tick",
        )
        assert "done by bob@laptop" in screen_text(alice)
        await wait_for(lambda: "also driven by bob@laptop" in _header(alice), what="alice's warning")

        bob_clock.advance(11 * 60)  # alice's last change is now eleven minutes old for bob
        await wait_for(lambda: "also driven by" not in _header(bob), what="bob's warning to expire")


async def test_a_tick_made_while_the_other_opens_the_checklist_is_not_missed(tmp_path, monkeypatch):
    """Bob opens the checklist and alice ticks before bob's watch first looks at the store: the tick is in
    the version that first look reads, so without a reload there it never showed (until the next change)."""
    # the watch looks this often while no checklist is open: long enough here that alice's tick comes first
    monkeypatch.setattr(store_watch, "FILE_WAIT", 1.0)
    alice = make_app(tmp_path, user="alice@bastion")
    bob = make_app(tmp_path, user="bob@laptop")
    async with alice.run_test(size=(160, 48)) as apilot, bob.run_test(size=(160, 48)) as bpilot:
        alices = await _open_first_checklist(alice, apilot)
        await apilot.press("space")  # alice starts the session
        await wait_for(lambda: alices.session is not None, what="alice's session")
        for step in (1, 2):
            bobs = await _open_first_checklist(bob, bpilot)
            await wait_for(lambda: bobs.session is not None, what="bob's checklist on alice's session")  # noqa: B023
            alices.selected = step
            await apilot.press("space")  # at once, before bob's watch first looks
            await wait_for(
                lambda: bobs.session is not None and bobs.session.step_state(step) == "done",  # noqa: B023
                timeout=4.0,
                what=f"bob's checklist to show alice's tick of step {step + 1}",
            )
            assert "done by alice@bastion" in screen_text(bob).split(f"{step + 1}.", 1)[1]
            await bpilot.press("escape")
            await wait_for(lambda: not isinstance(bob.screen, ChecklistScreen), what="bob's dashboard")


async def test_a_driver_alone_sees_no_warning_and_leaving_the_checklist_clears_it(tmp_path):
    alice = make_app(tmp_path, user="alice@bastion")
    bob = make_app(tmp_path, user="bob@laptop")
    async with alice.run_test(size=(160, 48)) as apilot, bob.run_test(size=(160, 48)) as bpilot:
        await _open_first_checklist(alice, apilot)
        await apilot.press("space")
        bobs = await _open_first_checklist(bob, bpilot)  # opened on alice's session
        await wait_for(lambda: bobs.session is not None, what="bob on alice's session")
        await wait_for(lambda: "also driven by alice@bastion" in _header(bob), what="bob's warning")
        await bpilot.press("escape")  # back on the dashboard: no session open, no warning
        await wait_for(lambda: "also driven by" not in _header(bob), what="the warning gone")


async def test_the_same_name_on_another_machine_is_another_driver_and_the_warning_says_where(tmp_path):
    from tui.sessions.backend import open_store

    alice = make_app(tmp_path, user="alice@bastion")
    async with alice.run_test(size=(160, 48)) as apilot:
        alices = await _open_first_checklist(alice, apilot)
        await apilot.press("space")
        await wait_for(lambda: alices.session is not None, what="alice's session")
        await apilot.pause(0.5)
        assert "also driven by" not in _header(alice)  # her own change, from her own machine
        session = alices.session
        # her name, typed into an oncall on a second laptop (a config copied from the first one)
        with open_store(tmp_path / "sessions.db", host="laptop-7") as laptop:
            laptop.set_step(session.id, 1, "done", "alice@bastion")
        await wait_for(
            lambda: "also driven by alice@bastion (on laptop-7)" in _header(alice), what="the warning"
        )
