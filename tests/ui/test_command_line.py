"""The `:` command line, as a k9s user types it on the demo: tabs by name from any screen, the Kubernetes
namespace, a runbook section, quit; completion with tab; a wrong command or name said, never a crash."""

from __future__ import annotations

import pytest
from textual.widgets import Input, TabbedContent

from screens.checklist import ChecklistScreen
from screens.command_line import CommandLineScreen
from screens.dashboard import DashboardScreen
from screens.runbook_browser import RunbookBrowserScreen
from tests.helpers import make_app, wait_for
from tui.app import OncallApp
from tui.widgets.alerts import AlertsTable
from tui.widgets.header import StatusHeader
from tui.widgets.pods import PodsPanel

SIZES = [(160, 48), (80, 24)]


async def _demo(app: OncallApp) -> None:
    table = app.screen.query_one(AlertsTable)
    await wait_for(lambda: table.row_count == 4, what="the demo's four alerts")
    await wait_for(lambda: len(app.pods) == 7, what="the demo's seven pods")


async def _command(app: OncallApp, pilot, line: str) -> None:
    await pilot.press("colon")
    await wait_for(lambda: isinstance(app.screen, CommandLineScreen), what="the command line")
    await pilot.press(*line)
    await pilot.press("enter")
    await wait_for(lambda: not isinstance(app.screen, CommandLineScreen), what="the command line to close")
    await pilot.pause()


def _toasts(app: OncallApp) -> str:
    return "\n".join(f"{n.title}: {n.message}" for n in app._notifications)


def _header(app: OncallApp) -> str:
    header = app.screen.query_one(StatusHeader)
    header.redraw()
    return str(header.render())


def _active(app: OncallApp) -> str:
    return app.screen.query_one(TabbedContent).active


@pytest.mark.parametrize("size", SIZES)
async def test_colon_opens_a_line_at_the_bottom_and_a_tab_name_shows_that_tab(tmp_path, size):
    app = make_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await _demo(app)
        await pilot.press("colon")
        await wait_for(lambda: isinstance(app.screen, CommandLineScreen), what="the command line")
        line = app.screen.query_one(Input)
        assert app.focused is line
        assert line.region.bottom == size[1]  # at the bottom, as in k9s
        await pilot.press(*"pg", "enter")
        await wait_for(lambda: isinstance(app.screen, DashboardScreen), what="the dashboard")
        assert _active(app) == "tab-postgresql"
        for command, tab in [("redis", "tab-redis"), ("slowlog", "tab-slowlog"), ("events", "tab-events")]:
            await _command(app, pilot, command)
            assert _active(app) == tab
        for command, tab in [
            ("logs", "tab-logs"),
            ("deploys", "tab-deploys"),
            ("postgres", "tab-postgresql"),
        ]:
            await _command(app, pilot, command)
            assert _active(app) == tab
        await _command(app, pilot, ":pods")  # the colon typed again is forgiven
        assert _active(app) == "tab-pods"


async def test_a_tab_command_on_the_checklist_goes_back_to_the_dashboard(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _demo(app)
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
        await _command(app, pilot, "events")
        await wait_for(lambda: isinstance(app.screen, DashboardScreen), what="the dashboard")
        assert _active(app) == "tab-events"


async def test_tab_completes_the_command_and_esc_closes_without_running_it(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _demo(app)
        await pilot.press("colon", *"sl")
        line = app.screen.query_one(Input)
        await wait_for(lambda: line._suggestion == "slowlog", what="the completion")
        await pilot.press("tab")
        assert line.value == "slowlog"
        await pilot.press("escape")
        await wait_for(lambda: isinstance(app.screen, DashboardScreen), what="the dashboard")
        assert _active(app) == "tab-pods"  # esc ran nothing
        await pilot.press("colon", *"ns pro")
        line = app.screen.query_one(Input)
        await wait_for(lambda: line._suggestion == "ns production", what="the namespace completed")
        await pilot.press("escape")
        await pilot.press("colon", *"runbook high-api-l")
        line = app.screen.query_one(Input)
        await wait_for(lambda: line._suggestion == "runbook high-api-latency", what="the section completed")
        await pilot.press("tab", "enter")
        await wait_for(lambda: isinstance(app.screen, RunbookBrowserScreen), what="the runbook browser")
        assert app.screen.initial == "high-api-latency"


async def test_unknown_commands_and_names_are_said_plainly_and_nothing_breaks(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await _demo(app)
        await _command(app, pilot, "podz")
        await wait_for(lambda: "unknown command :podz" in _toasts(app), what="the unknown command said")
        await _command(app, pilot, "runbook no-such-section")
        await wait_for(lambda: "no section #no-such-section" in _toasts(app), what="the missing section")
        await _command(app, pilot, "ctx [b]prod[/b]")
        await wait_for(lambda: "no context [b]prod[/b] in the kubeconfig" in _toasts(app), what="the context")
        assert "(contexts: demo)" in _toasts(app)
        await _command(app, pilot, "ns Not_A_Name")
        await wait_for(lambda: "not a namespace name: Not_A_Name" in _toasts(app), what="the bad name")
        await _command(app, pilot, "ns")
        await wait_for(lambda: ":ns takes a namespace" in _toasts(app), what="the missing name")
        assert app.is_running and isinstance(app.screen, DashboardScreen)
        assert app.kube.namespace == "production"


@pytest.mark.parametrize("size", SIZES)
async def test_ns_switches_the_demo_namespace_and_the_header_says_which(tmp_path, size):
    app = make_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await _demo(app)
        assert "ns production" in _header(app)
        panel = app.screen.query_one(PodsPanel)
        await _command(app, pilot, "ns staging")
        await wait_for(lambda: app.kube.namespace == "staging", what="the new namespace")
        await pilot.pause(0.3)
        assert app.pods == () and len(panel.table.view) == 0  # the demo's pods all live in production
        assert "ns staging" in _header(app)
        await _command(app, pilot, "ns -A")
        await wait_for(lambda: len(panel.table.view) == 7, what="every namespace's pods")
        assert {p.namespace for p in panel.table.view} == {"production"}
        assert "ns all" in _header(app)
        await _command(app, pilot, "ns production")
        await wait_for(lambda: len(panel.table.view) == 7, what="production's pods again")
        assert "ns production" in _header(app)


async def test_q_quits(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _demo(app)
        await _command(app, pilot, "q")
        await wait_for(lambda: not app.is_running, what="the app to quit")


async def test_the_keys_of_the_command_line_are_text_inside_an_input(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _demo(app)
        await pilot.press("p", "slash")  # the pods' filter box
        box = app.focused
        assert isinstance(box, Input)
        await pilot.press("colon", "P", "plus", "minus")
        assert box.value == ":P+-"
        assert isinstance(app.screen, DashboardScreen) and not app.paused and app.pace.interval is None
