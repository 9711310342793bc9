"""The runbook is read after the first alerts are drawn: until then the runbook pane says so, and a key
pressed meanwhile (enter, 1-7, b, :, the others) waits for it or does what it did before, never fails.

The runbook here is a named pipe: it is read when the test writes it, as a slow disk would give it."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import TabbedContent

from screens.checklist import ChecklistScreen
from screens.runbook_browser import RunbookBrowserScreen, SectionList
from tests.helpers import make_app, screen_text, wait_for
from tui.config.paths import example_runbook
from tui.triage.runbook import load_runbook
from tui.widgets.alerts import AlertsTable
from tui.widgets.postgres_panel import PostgresPanel
from tui.widgets.runbook_pane import RunbookPane
from tui.widgets.virtual_table import VirtualTable

READING = "reading the runbook…"


def _pane(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one(RunbookPane).query_one("#runbook-body").render())


@contextlib.contextmanager
def slow_runbook(tmp_path: Path) -> Iterator[tuple[Path, threading.Event]]:
    """A runbook that is read only once the returned event is set (then it is the example runbook)."""
    pipe = tmp_path / "RUNBOOK.md"
    os.mkfifo(pipe)
    release = threading.Event()

    def writer() -> None:
        release.wait()
        with open(pipe, "wb") as out:  # opens once the app's reader has the pipe open
            out.write(example_runbook().read_bytes())

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        yield pipe, release
    finally:
        release.set()  # nothing left waiting on the pipe, whatever the test did
        thread.join(timeout=5)


async def _alerts(app) -> None:  # type: ignore[no-untyped-def]
    table = app.screen.query_one(AlertsTable)
    await wait_for(lambda: table.row_count == 4, what="the demo's four alerts")


async def test_the_pane_says_it_is_reading_the_runbook_then_shows_the_section(tmp_path):
    with slow_runbook(tmp_path) as (runbook, release):
        app = make_app(tmp_path, runbook=runbook)
        async with app.run_test(size=(160, 48)) as pilot:
            await _alerts(app)
            await wait_for(lambda: READING in _pane(app), what="the pane saying it is reading")
            assert "HighDatabaseConnections" in _pane(app)
            await pilot.pause(0.3)
            assert READING in _pane(app) and not app.runbook_ready  # still: nothing was read
            release.set()
            await wait_for(lambda: "#high-database-connections" in _pane(app), what="the section")
            assert "matched by runbook_url" in _pane(app)
            assert READING not in screen_text(app)
            assert "Runbook not loaded" not in screen_text(app)


async def test_keys_pressed_before_the_runbook_is_read_land_where_they_would(tmp_path):
    with slow_runbook(tmp_path) as (runbook, release):
        app = make_app(tmp_path, runbook=runbook)
        async with app.run_test(size=(160, 48)) as pilot:
            await _alerts(app)
            await wait_for(lambda: READING in _pane(app), what="the pane saying it is reading")
            screen = app.screen
            # the tabs, the alerts, zoom, refresh, pause, the filter: none needs the runbook
            await pilot.press("2")
            assert screen.query_one(TabbedContent).active == "tab-postgresql"
            assert isinstance(screen.focused, VirtualTable)
            assert screen.query_one(PostgresPanel) in screen.focused.ancestors
            await pilot.press("7", "z", "z", "a", "j", "k", "r", "P", "P", "slash", "escape", "question_mark")
            await wait_for(lambda: app.screen is not screen, what="the help")
            await pilot.press("escape")
            await wait_for(lambda: app.screen is screen, what="the dashboard again")
            assert screen.query_one(TabbedContent).active == "tab-deploys"
            assert READING in _pane(app) and app.is_running
            # enter on the first alert: its checklist, with its section, once the runbook is read
            threading.Timer(0.3, release.set).start()
            await pilot.press("enter")
            await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
            checklist = app.screen
            assert isinstance(checklist, ChecklistScreen)
            await wait_for(lambda: checklist.section is not None, what="the checklist's section")
            assert checklist.alert is not None and checklist.alert.name == "HighDatabaseConnections"
            assert checklist.section is not None and checklist.section.slug == "high-database-connections"
            await pilot.press("escape")
            await wait_for(lambda: app.screen is screen, what="the dashboard again")
            await wait_for(lambda: "#high-database-connections" in _pane(app), what="the section in the pane")


@pytest.mark.parametrize(
    "keys",
    [("b",), ("colon", *"runbook slow-redis-operations", "enter")],
    ids=["b", "command line"],
)
async def test_the_runbook_browser_opened_at_start_has_every_section(tmp_path, keys):
    sections = load_runbook(example_runbook()).sections
    with slow_runbook(tmp_path) as (runbook, release):
        app = make_app(tmp_path, runbook=runbook)
        async with app.run_test(size=(160, 48)) as pilot:
            await _alerts(app)
            await wait_for(lambda: READING in _pane(app), what="the pane saying it is reading")
            threading.Timer(0.3, release.set).start()
            await pilot.press(*keys)
            await wait_for(lambda: isinstance(app.screen, RunbookBrowserScreen), what="the runbook browser")
            await pilot.pause()
            browser = app.screen
            assert browser.query_one("#sections").border_title == f"Runbook · {len(sections)} sections"
            # b: at the selected alert's section; :runbook: at the one named
            wanted = "high-database-connections" if keys == ("b",) else "slow-redis-operations"
            assert wanted in screen_text(app)
            assert browser.query_one(SectionList).highlighted_option.id == wanted  # type: ignore[union-attr]


async def test_a_runbook_that_cannot_be_read_still_says_so_once_tried(tmp_path):
    app = make_app(tmp_path, runbook=tmp_path / "missing.md")
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await _alerts(app)
        await wait_for(lambda: "Runbook not loaded" in screen_text(app), what="the runbook's error")
        # the pane redraws once the dashboard hears the read is over (the next turn of the loop)
        await wait_for(lambda: READING not in _pane(app), what="the pane no longer reading")
        await pilot.press("enter")  # the checklist of an alert without a runbook, as before
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
        assert app.is_running
