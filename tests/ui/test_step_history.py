"""`h` on a checklist shows the selected step's every change, oldest first: who, when, to what state, both
drivers' changes kept and the later one marked as the one shown; the observer can read it too, practice has
no history to show."""

from __future__ import annotations

from screens.checklist import ChecklistScreen
from screens.modals import TextScreen
from tests.helpers import FixedClock, make_app, mounted, screen_text, wait_for
from tests.ui.test_two_drivers import _open_first_checklist
from tui.widgets.dialogs import TextView
from tui.widgets.footer import KeyFooter


def _history(app) -> str:
    """The history dialog as the user reads it: its title and its text."""
    assert isinstance(app.screen, TextScreen)
    view = app.screen.query_one(TextView)
    return f"{view.title_text}\n{view.text}"


async def _press_h(app, pilot) -> str:
    await pilot.press("h")
    await wait_for(lambda: mounted(app.screen, TextScreen), what="the step's history")
    return _history(app)


async def test_both_drivers_changes_to_a_step_are_in_its_history_the_later_one_shown(tmp_path):
    alice_clock, bob_clock = FixedClock(), FixedClock()
    alice = make_app(tmp_path, user="alice@bastion", clock=alice_clock)
    bob = make_app(tmp_path, user="bob@laptop", clock=bob_clock)
    async with alice.run_test(size=(160, 48)) as apilot, bob.run_test(size=(160, 48)) as bpilot:
        alices = await _open_first_checklist(alice, apilot)
        bobs = await _open_first_checklist(bob, bpilot)
        footer = str(alices.query_one(KeyFooter).render())
        assert "h History" in footer, footer  # offered, greyed until the session exists

        await apilot.press("space")  # alice: step 1 done at 03:00:00
        await wait_for(
            lambda: bobs.session is not None and bobs.session.step_state(0) == "done",
            what="bob's checklist to show alice's tick",
        )
        bob_clock.advance(42)
        await bpilot.press("s")  # bob: step 1 skipped at 03:00:42
        await wait_for(
            lambda: bobs.session is not None and bobs.session.step_state(0) == "skipped", what="bob's skip"
        )
        await wait_for(
            lambda: alices.session is not None and alices.session.step_state(0) == "skipped",
            timeout=10,  # two apps in one loop on a busy machine: the push itself is tested in integration
            what="alice's checklist to show bob's skip",
        )

        shown = await _press_h(alice, apilot)
        assert shown.startswith("Step 1: every change"), shown
        assert "2 changes, oldest first" in shown, shown
        lines = [line for line in shown.splitlines() if " by " in line]
        assert len(lines) == 2, shown
        assert lines[0].startswith("03:00:00Z  ✓ done") and "by alice@bastion" in lines[0], shown
        assert "← shown" not in lines[0]
        assert (
            lines[1].startswith("03:00:42Z  – skipped")
            and "by bob@laptop" in lines[1]
            and lines[1].endswith("← shown")
        )
        await apilot.press("escape")
        await wait_for(lambda: isinstance(alice.screen, ChecklistScreen), what="back on the checklist")

        # bob's own view has the same two changes
        assert "by alice@bastion" in await _press_h(bob, bpilot)


async def test_the_observer_reads_a_steps_history_and_a_step_never_changed_says_so(tmp_path):
    alice = make_app(tmp_path, user="alice@bastion")
    async with alice.run_test(size=(160, 48)) as apilot:
        alices = await _open_first_checklist(alice, apilot)
        await apilot.press("space")
        await wait_for(lambda: alices.session is not None, what="alice's session")
        observer = make_app(tmp_path, observe="latest", user="carol@desk")
        async with observer.run_test(size=(160, 48)) as opilot:
            await wait_for(
                lambda: isinstance(observer.screen, ChecklistScreen), what="the followed checklist"
            )
            followed = observer.screen
            await wait_for(lambda: followed.session is not None, what="alice's session followed")
            # the footer follows the focus, which settles a frame after the followed checklist shows
            await wait_for(
                lambda: "h History" in str(followed.query_one(KeyFooter).render()), what="h in the footer"
            )
            assert followed.selected == 1  # it lands on the first pending step: nobody changed it
            assert "No change to this step yet: it is pending." in await _press_h(observer, opilot)
            await opilot.press("escape", "k")
            await wait_for(lambda: followed.selected == 0, what="step 1 selected")
            shown = await _press_h(observer, opilot)
            assert "1 change, oldest first" in shown and "✓ done" in shown and "by alice@bastion" in shown


async def test_practice_offers_no_history(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _open_first_checklist(app, pilot)
        await pilot.press("escape", "b")
        await wait_for(lambda: type(app.screen).__name__ == "RunbookBrowserScreen", what="the browser")
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the practice checklist")
        await pilot.pause()
        assert "History" not in str(app.screen.query_one(KeyFooter).render())
        await pilot.press("h")
        await pilot.pause()
        assert isinstance(app.screen, ChecklistScreen) and "every change" not in screen_text(app)
