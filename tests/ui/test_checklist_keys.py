"""The checklist and the runbook browser offer only the keys that work there (driver, observer, practice), the
browser's enter is in its footer and `/` filters it, and the checklist says what it did not show or run."""

from __future__ import annotations

from pathlib import Path

import pytest

from screens.checklist import ChecklistScreen, DriverChecklistScreen
from screens.help import HelpScreen
from screens.runbook_browser import RunbookBrowserScreen
from tests.helpers import make_app, screen_text, wait_for
from tests.ui.test_help_keys import help_rows, keys_of
from tui.widgets.alerts import AlertsTable
from tui.widgets.footer import KeyFooter

WRITES = ("Done", "Skip", "Note")


def _footer(app) -> str:
    return str(app.screen.query_one(KeyFooter).render())


async def _dashboard(app) -> None:
    table = app.screen.query_one(AlertsTable)
    await wait_for(lambda: table.row_count > 0, what="the demo's alerts")


async def _checklist(app, pilot) -> ChecklistScreen:
    """The selected alert's checklist, opened with enter on the dashboard."""
    await _dashboard(app)
    await pilot.press("enter")
    await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
    await pilot.pause()
    return app.screen  # type: ignore[return-value]


async def _browser(app, pilot) -> RunbookBrowserScreen:
    await _dashboard(app)
    await pilot.press("b")
    await wait_for(lambda: isinstance(app.screen, RunbookBrowserScreen), what="the runbook browser")
    await pilot.pause()
    return app.screen  # type: ignore[return-value]


async def _help_keys(app, pilot) -> dict[str, str]:
    await pilot.press("question_mark")
    await wait_for(lambda: isinstance(app.screen, HelpScreen), what="the help")
    keys = keys_of(help_rows(app))
    await pilot.press("escape")
    await wait_for(lambda: not isinstance(app.screen, HelpScreen), what="the help closed")
    return keys


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
async def test_the_browser_footer_shows_enter_and_enter_opens_the_practice_checklist(tmp_path, size):
    app = make_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await _browser(app, pilot)
        assert "⏎ Live" in _footer(app), _footer(app)  # "Live checklist", or "Live" where it is narrow
        sections = app.screen.query_one("#sections")
        await pilot.press("j")
        await pilot.pause()
        highlighted = sections.get_option_at_index(sections.highlighted).id
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the practice checklist")
        screen = app.screen
        assert screen.practice and screen.section is not None and screen.section.slug == highlighted
        assert "practice: no alert, nothing is saved" in screen_text(app)


async def test_slash_filters_the_browsers_sections_enter_applies_esc_clears(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _browser(app, pilot)
        sections = screen.query_one("#sections")
        await pilot.press("slash", *"redis")
        await wait_for(lambda: "3 of 12 sections" in str(sections.border_title), what="the filtered list")
        assert [sections.get_option_at_index(i).id for i in range(sections.option_count)] == [
            "high-redis-memory",
            "redis-down",
            "slow-redis-operations",
        ]
        assert "#high-redis-memory" in screen_text(app)  # the first match is shown
        await pilot.press("enter")  # applies: back in the list, still filtered
        await wait_for(lambda: app.focused is sections, what="the focus back in the list")
        assert "3 of 12 sections" in str(sections.border_title)
        await pilot.press("j", "enter")
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the practice checklist")
        assert app.screen.section.slug == "redis-down"
        await pilot.press("escape")
        await wait_for(lambda: app.screen is screen, what="back in the browser")
        await pilot.press("escape")  # clears the filter first
        await wait_for(lambda: "Runbook · 12 sections" in str(sections.border_title), what="the whole list")
        assert app.screen is screen and sections.get_option_at_index(sections.highlighted).id == "redis-down"
        await pilot.press("slash", *"Database", "escape")  # esc in the box clears it too
        await wait_for(lambda: "Runbook · 12 sections" in str(sections.border_title), what="cleared")
        await pilot.press("escape")
        await wait_for(lambda: not isinstance(app.screen, RunbookBrowserScreen), what="out of the browser")


async def test_the_practice_checklist_offers_no_write_and_no_export(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _browser(app, pilot)
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the practice checklist")
        await pilot.pause()
        footer = _footer(app)
        assert "Copy" in footer and "Re-read" in footer
        assert not any(word in footer for word in (*WRITES, "Export")), footer
        keys = await _help_keys(app, pilot)
        assert not {"space", "n", "e", "h"} & set(keys) and keys.get("s") != "Skip", keys  # no history
        for key in ("space", "s", "n", "e"):  # pressed anyway: nothing happens, nothing is stored
            await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, ChecklistScreen) and app.screen.session is None
    assert not list(Path(tmp_path).glob("oncall-session-*.md"))


async def test_the_observer_checklist_offers_no_done_skip_or_note(tmp_path):
    driver = make_app(tmp_path)
    async with driver.run_test(size=(160, 48)) as pilot:
        await _dashboard(driver)
        await pilot.press("enter")
        await wait_for(lambda: isinstance(driver.screen, DriverChecklistScreen), what="the checklist")
        await pilot.pause()
        assert all(word in _footer(driver) for word in WRITES)
        await pilot.press("n", *"paged", "enter")
        await wait_for(lambda: driver.screen.session is not None, what="the session started")
    observer = make_app(tmp_path, observe="latest", user="bob@bastion")
    async with observer.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: isinstance(observer.screen, ChecklistScreen), what="the followed checklist")
        await wait_for(lambda: observer.screen.session is not None, what="the driver's session")
        await pilot.pause()
        footer = _footer(observer)
        assert "Copy" in footer and "Export" in footer  # an observer may export what it follows
        assert not any(word in footer for word in WRITES), footer
        keys = await _help_keys(observer, pilot)
        assert not any(description in WRITES for description in keys.values()), keys
        assert keys["c"] == "Copy"
        assert keys["h"] == "History"  # the step's every change: reading, so the observer has it too
        commands = {c.title for c in observer.get_system_commands(observer.screen)}
        assert commands.isdisjoint(WRITES) and "Copy" in commands


async def test_export_is_greyed_until_the_first_change_starts_a_session(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _checklist(app, pilot)
        export = next(a for a in screen.active_bindings.values() if a.binding.action == "export")
        assert "Export" in _footer(app) and not export.enabled  # shown dim: it works after a tick
        history = next(a for a in screen.active_bindings.values() if a.binding.action == "history")
        assert not history.enabled
        await pilot.press("space")
        await wait_for(lambda: screen.session is not None, what="the session")
        await pilot.pause()
        export = next(a for a in screen.active_bindings.values() if a.binding.action == "export")
        assert export.enabled
        history = next(a for a in screen.active_bindings.values() if a.binding.action == "history")
        assert history.enabled and "h History" in _footer(app)  # greyed like export until then


# -- what the checklist says under its steps --------------------------------------------------------------

REFUSING = """# Runbook

## refused-sql

**Alert**: a statement the guard refuses, beside one it allows.

**Triage**:
1. Read a file: `SELECT pg_read_file('/etc/passwd');`
2. Count sessions: `SELECT count(*) FROM pg_stat_activity;`

**Common causes**:
- none

**Resolution**: none
"""


async def _practice(app, pilot, slug: str) -> ChecklistScreen:
    await _dashboard(app)
    app.push_screen(RunbookBrowserScreen(slug))
    await wait_for(lambda: isinstance(app.screen, RunbookBrowserScreen), what="the browser")
    await pilot.pause()
    await pilot.press("enter")
    await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the practice checklist")
    screen = app.screen
    await wait_for(lambda: len(screen.evidence) == len(screen.plans), what="the evidence")
    return screen  # type: ignore[return-value]


async def test_a_statement_the_guard_refuses_says_it_was_not_run_and_why(tmp_path):
    runbook = tmp_path / "RUNBOOK.md"
    runbook.write_text(REFUSING)
    app = make_app(tmp_path, runbook=runbook)
    async with app.run_test(size=(160, 48)) as pilot:
        await _practice(app, pilot, "refused-sql")
        text = screen_text(app)
        step1 = text.split("1. Read a file", 1)[1].split("2. Count sessions", 1)[0]
        assert "! not run: pg_read_file() reads the server's files" in step1, step1
        assert "87" in text.split("2. Count sessions", 1)[1]  # the allowed one beside it still reads


async def test_a_section_with_steps_never_says_it_has_none(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _checklist(app, pilot)
        await wait_for(lambda: len(screen.evidence) == 3, what="the evidence")
        assert "Check current connections" in screen_text(app)
        assert "no triage steps" not in screen_text(app)


async def test_folded_evidence_says_how_many_rows_it_hides(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _checklist(app, pilot)
        await wait_for(lambda: len(screen.evidence) == 3, what="the evidence")
        idle = screen.evidence[2][0]  # step 3: the six sessions idle in a transaction, 3 shown unselected
        assert len(idle.rows) == 6
        step3 = screen_text(app).split("☐ 3.", 1)[1].split("Common causes", 1)[0]
        assert "… 3 more rows (enter: full evidence)" in step3, step3
        await pilot.press("j", "j")  # selected: up to 12 rows, all six shown, nothing folded
        await pilot.pause()
        step3 = screen_text(app).split("☐ 3.", 1)[1].split("Common causes", 1)[0]
        assert "more rows" not in step3, step3
        assert step3.count("UPDATE carts SET touched_at") == 6, step3


NEAR_MISS = """# Runbook

## slow-redis-ops

**Alert**: Redis commands are slow.

**Triage**:
1. Check the slow log: `redis-cli SLOWLOG GET 10`

**Common causes**:
- big keys

**Resolution**: none
"""


async def test_a_checklist_that_says_press_b_binds_b(tmp_path):
    runbook = tmp_path / "RUNBOOK.md"
    runbook.write_text(NEAR_MISS)
    app = make_app(tmp_path, runbook=runbook)
    async with app.run_test(size=(160, 48)) as pilot:
        await _dashboard(app)
        table = app.screen.query_one(AlertsTable)
        table.focus()
        table.move_cursor(row=next(i for i, a in enumerate(table.alerts) if a.name == "SlowRedisOperations"))
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
        await pilot.pause()
        assert "No runbook section for SlowRedisOperations" in screen_text(app)
        assert "Press b to browse the runbook." in screen_text(app)
        assert "b Runbook" in _footer(app)
        await pilot.press("b")
        await wait_for(lambda: isinstance(app.screen, RunbookBrowserScreen), what="the runbook browser")
        await pilot.pause()
        assert "#slow-redis-ops" in screen_text(app)  # at the nearest section


async def test_down_and_up_move_the_step_as_the_footer_says(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _checklist(app, pilot)
        assert "j/↓ Next" in _footer(app)
        await pilot.press("down", "down")
        await wait_for(lambda: screen.selected == 2, what="↓ moves to the next step")
        await pilot.press("up")
        await wait_for(lambda: screen.selected == 1, what="↑ moves back")


async def test_the_browser_without_a_runbook_says_why_and_its_filter_keeps_working(tmp_path):
    app = make_app(tmp_path, runbook=tmp_path / "missing" / "RUNBOOK.md")
    async with app.run_test(size=(160, 48)) as pilot:
        await _dashboard(app)
        app.push_screen(RunbookBrowserScreen())  # the dashboard's b is not offered without a runbook
        await wait_for(lambda: isinstance(app.screen, RunbookBrowserScreen), what="the runbook browser")
        await pilot.pause()
        assert "No runbook" in screen_text(app) and "No section matches" not in screen_text(app)
        await pilot.press("slash", *"redis", "enter", "enter", "escape")
        await pilot.pause()
        assert isinstance(app.screen, RunbookBrowserScreen) and app._exception is None
