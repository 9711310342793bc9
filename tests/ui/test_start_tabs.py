"""The first screen is the alerts: the source tabs hidden behind the Pods tab are built once the first alerts
are drawn (or a second after start without them), and each then shows what was read before it was built;
a tab key pressed before that still lands in its tab's list."""

from __future__ import annotations

import asyncio
import gc

import httpx
from textual.widgets import TabbedContent

from screens.dashboard import LATER_TABS, DashboardScreen
from tests.helpers import make_app, screen_text, wait_for
from tui.widgets.alerts import AlertsTable
from tui.widgets.postgres_panel import PostgresPanel
from tui.widgets.redis_panel import RedisPanel
from tui.widgets.virtual_table import VirtualTable


def _later_tabs_built(screen: DashboardScreen) -> bool:
    return all(screen.query_one(f"#{pane_id}").children for _, pane_id in LATER_TABS)


async def test_the_hidden_tabs_are_built_after_the_alerts_and_show_what_was_read(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        table = screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count == 4, what="the demo's four alerts")
        await wait_for(lambda: _later_tabs_built(screen), what="the tabs behind Pods")
        await wait_for(lambda: app.pg_snapshot is not None and app.redis_snapshot is not None, what="reads")
        screen.query_one(TabbedContent).active = "tab-postgresql"
        await pilot.pause()
        assert "PostgreSQL 16.3 (demo)" in screen_text(app)
        screen.query_one(TabbedContent).active = "tab-redis"
        await pilot.pause()
        assert screen.query(RedisPanel) and "1.4 GiB / 2.0 GiB (71%)" in screen_text(app)


async def test_a_tab_key_pressed_at_start_lands_in_its_list(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("2")  # before the first alerts, or just after: the same
        screen = app.screen
        assert screen.query_one(TabbedContent).active == "tab-postgresql"
        panel = screen.query_one(PostgresPanel)
        assert screen.focused is not None and panel in screen.focused.ancestors
        assert isinstance(screen.focused, VirtualTable)


async def test_without_alerts_the_tabs_are_built_a_second_after_start(tmp_path):
    async def never(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(60)  # a Prometheus that doesn't answer (yet)
        return httpx.Response(504)

    app = make_app(tmp_path, transport=httpx.MockTransport(never))
    async with app.run_test(size=(160, 48)):
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await wait_for(lambda: _later_tabs_built(screen), timeout=3.0, what="the tabs behind Pods")
        assert app.snapshot is None


async def test_the_collector_off_during_start_up_is_on_again_once_the_app_has_drawn(tmp_path):
    gc.disable()  # as `oncall` starts (tui/main.py)
    try:
        app = make_app(tmp_path)
        async with app.run_test(size=(160, 48)):
            table = app.screen.query_one(AlertsTable)
            await wait_for(lambda: table.row_count == 4, what="the demo's four alerts")
            await wait_for(gc.isenabled, what="the collector on again")
    finally:
        gc.enable()
