"""The command palette takes keys as fast as they are typed."""

from __future__ import annotations

import pytest
from textual.command import CommandList, CommandPalette

from screens.palette import Palette
from tests.helpers import make_app, wait_for
from tests.ui.test_key_sweep import press
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
