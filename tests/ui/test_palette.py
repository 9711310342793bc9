"""The command palette: takes keys as fast as they are typed, lists each action once, jumps by name."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from textual.command import CommandList, CommandPalette

from screens.checklist import ChecklistScreen, DriverChecklistScreen
from screens.palette import Palette
from screens.pod_detail import PodDetailScreen
from screens.runbook_browser import RunbookBrowserScreen
from tests.helpers import make_app, screen_text, wait_for
from tests.ui.test_key_sweep import press
from tui.sessions.store import SessionStore
from tui.widgets.alerts import AlertsTable

TRIES = 12  # the key has to land between the matches arriving and their drawing: a race, so try often


@pytest.mark.parametrize("key", ["pagedown", "pageup"])
async def test_paging_the_palette_while_it_searches_keeps_the_app_running(tmp_path, key):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count > 0, what="the demo's alerts")
        for letter in "abcdefghijkl"[:TRIES]:
            for typed in ("ctrl+p", letter, key):  # typed at once, as a user who knows the palette does
                await press(pilot, typed)
            assert app._exception is None, f"ctrl+p {letter} {key}: {app._exception!r}"
            assert isinstance(app.screen, CommandPalette)
            await press(pilot, "escape")


async def test_the_theme_search_is_the_palette_that_pages_safely(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p", *"theme")
        found = app.screen.query_one(CommandList)
        await wait_for(lambda: found.option_count > 0, what="the Theme command")
        await pilot.press("enter")  # the "Theme" command opens a second palette, of themes
        await wait_for(lambda: isinstance(app.screen, CommandPalette) and "themes" in app.screen._placeholder)
        assert isinstance(app.screen, Palette)
        await press(pilot, "pagedown")
        assert app._exception is None and app.is_running


# -- what the palette lists, and jumping by name ------------------------------------------------------------


async def _palette(app, pilot, typed: str = "") -> CommandList:
    await pilot.press("ctrl+p", *typed)
    found = app.screen.query_one(CommandList)
    await wait_for(lambda: found.option_count > 0, what=f"the palette's matches for {typed!r}")
    await asyncio.sleep(0.3)  # every provider has answered: the list is whole
    await pilot.pause()
    return found


def _titles(found: CommandList) -> list[str]:
    return [str(found.get_option_at_index(i).prompt).split("\n")[0] for i in range(found.option_count)]


async def _demo(app) -> None:
    table = app.screen.query_one(AlertsTable)
    await wait_for(lambda: table.row_count > 0 and bool(app.pods), what="the demo's alerts and pods")


async def test_the_palette_lists_each_action_once(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _demo(app)
        titles = _titles(await _palette(app, pilot))
        assert len(titles) == len(set(titles)), titles
        assert "Quit" in titles and "Help" in titles and "Keys" not in titles  # ours, not Textual's too
        await press(pilot, "escape")
        for letter in "qhk":  # typed: Textual's Quit and Keys would match these too
            titles = _titles(await _palette(app, pilot, letter))
            assert len(titles) == len(set(titles)), titles
            await press(pilot, "escape")


async def test_typing_a_pod_name_offers_the_pod_and_enter_opens_its_detail(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _demo(app)
        found = await _palette(app, pilot, "inmidst-api")
        titles = _titles(found)
        pods = [t for t in titles if t.startswith("Pod: inmidst-api")]
        assert pods, titles
        found.highlighted = titles.index(pods[0])
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, PodDetailScreen), what="the pod's detail")
        assert app.screen.pod.name == pods[0].removeprefix("Pod: ")
        assert app.screen.pod.name in screen_text(app)


async def test_typing_a_section_title_opens_the_browser_at_it(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _demo(app)
        found = await _palette(app, pilot, "slow-redis-operations")
        titles = _titles(found)
        assert titles[0].startswith("Runbook: slow-redis-operations"), titles
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, RunbookBrowserScreen), what="the runbook browser")
        await pilot.pause()
        assert "#slow-redis-operations" in screen_text(app)
        await pilot.press("enter")  # the browser's enter: that section's practice checklist
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the practice checklist")
        assert app.screen.section is not None and app.screen.section.slug == "slow-redis-operations"


def _store_session(tmp_path, summary: str) -> None:
    store = SessionStore.open(tmp_path / "sessions.db")
    try:
        store.open_session(
            fingerprint="palette",
            alertname="SlowRedisOperations",
            active_at=datetime(2026, 11, 27, 2, 0, tzinfo=UTC),
            section_slug="slow-redis-operations",
            summary=summary,
            labels=(("alertname", "SlowRedisOperations"),),
            who="bob@bastion",
        )
    finally:
        store.close()


@pytest.mark.parametrize("observe", [None, "latest"])
async def test_a_session_by_name_opens_its_checklist_read_only_for_an_observer(tmp_path, observe):
    summary = "[bold red]markup[/] in a summary"  # untrusted: shown as written
    _store_session(tmp_path, summary)
    app = make_app(tmp_path, observe=observe)
    async with app.run_test(size=(160, 48)) as pilot:
        if observe:  # the observer lands on the followed checklist: back to the dashboard first
            await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the followed checklist")
            await pilot.press("escape")
        await _demo(app)
        found = await _palette(app, pilot, "session slowredis")
        titles = _titles(found)
        assert titles[0] == "Session #1: SlowRedisOperations", titles
        assert summary in str(found.get_option_at_index(0).prompt)
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the session's checklist")
        screen = app.screen
        assert screen.session is not None and screen.session.id == 1
        assert isinstance(screen, DriverChecklistScreen) is (observe is None)
        assert "Session #1 opened" in screen_text(app) and "bob@bastion" in screen_text(app)


async def test_a_search_that_ends_after_the_palette_closed_leaves_the_app_running(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("ctrl+p")
        await wait_for(lambda: isinstance(app.screen, Palette), what="the palette")
        palette = app.screen
        await palette.query_one(CommandList).remove()  # closing: its list is gone, its search not yet
        palette._list_visible = not palette._list_visible  # what the search sets as it ends
        palette._show_busy = not palette._show_busy
        await pilot.pause()
        assert app.is_running
        await pilot.press("escape")
