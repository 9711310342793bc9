"""The dashboard's keys as a user presses them on the demo: 1-7 and p put the focus in the tab's list, a goes
back to the alerts, enter is the focused list's, / filters the alerts by label; and its layout: the alerts
pane takes the height its alerts need, a cut cell ends in "…", the footer's hints are never cut."""

from __future__ import annotations

import pytest
from textual.widgets import Input, TabbedContent

from screens.checklist import ChecklistScreen
from screens.dashboard import DashboardScreen
from screens.modals import TextScreen
from screens.runbook_browser import RunbookBrowserScreen
from tests.helpers import burst, make_app, mounted, prometheus_json, screen_text, wait_for
from tui.app import OncallApp
from tui.widgets.alerts import AlertsTable
from tui.widgets.footer import KeyFooter
from tui.widgets.postgres_panel import PostgresPanel
from tui.widgets.slowlog_panel import SlowlogPanel
from tui.widgets.virtual_table import VirtualTable

SIZES = [(160, 48), (80, 24)]
TABS = ["tab-pods", "tab-postgresql", "tab-redis", "tab-slowlog", "tab-events", "tab-logs", "tab-deploys"]


async def _demo(app: OncallApp) -> AlertsTable:
    table = app.screen.query_one(AlertsTable)
    await wait_for(lambda: table.row_count == 4, what="the demo's four alerts")
    await wait_for(lambda: app.pg_snapshot is not None, what="the demo database")
    await wait_for(lambda: app.redis_snapshot is not None, what="the demo cache")
    return table


def _active(app: OncallApp) -> str:
    return app.screen.query_one(TabbedContent).active


@pytest.mark.parametrize("size", SIZES)
async def test_2_puts_the_focus_in_the_sessions_and_j_moves_their_cursor_not_the_alerts(tmp_path, size):
    app = make_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        alerts = await _demo(app)
        sessions = app.screen.query_one(PostgresPanel).sessions
        await wait_for(lambda: len(sessions.view) > 2, what="the demo's sessions")
        await pilot.press("2")
        assert _active(app) == "tab-postgresql"
        assert app.focused is sessions
        await pilot.press("j", "j")
        assert sessions.cursor == 2
        assert alerts.cursor_row == 0
        await pilot.press("enter")  # the session's full query, not the alert's checklist
        await wait_for(lambda: mounted(app.screen, TextScreen), what="the full query")


async def test_every_tab_number_moves_the_focus_into_that_tab_and_a_brings_it_back(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        alerts = await _demo(app)
        await pilot.press("4")
        assert _active(app) == "tab-slowlog"
        assert app.focused is app.screen.query_one(SlowlogPanel).table
        await pilot.press("p")
        assert _active(app) == "tab-pods" and app.focused is app.screen.query_one("#pods-table")
        for number, tab in enumerate(TABS, start=1):
            await pilot.press(str(number))
            assert _active(app) == tab
            focused = app.focused
            assert focused is not None and focused.display  # never a widget of a hidden tab
            assert focused is not alerts
        await pilot.press("a")
        assert app.focused is alerts
        assert "a Alerts" in _footer(app)
        await pilot.press("tab")  # tab and shift+tab still walk the panes
        assert app.focused is app.screen.query_one("#runbook")
        await pilot.press("shift+tab")
        assert app.focused is alerts


async def test_inside_the_sessions_table_the_tab_numbers_switch_tabs(tmp_path):
    # they were dead: the focused sessions table was hidden with its tab, the focus fell on the next table
    # of the PostgreSQL tab, and the tabs switched back to it
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _demo(app)
        for key, tab in (("1", "tab-pods"), ("3", "tab-redis"), ("4", "tab-slowlog"), ("5", "tab-events")):
            await pilot.press("2")
            assert app.focused is app.screen.query_one(PostgresPanel).sessions
            await pilot.press(key)
            await pilot.pause()
            assert _active(app) == tab, key
        # a tab switched by other means than a key (a command, a click) stays switched too
        await pilot.press("2")
        app.screen.query_one(TabbedContent).active = "tab-deploys"
        await pilot.pause()
        await pilot.pause()
        assert _active(app) == "tab-deploys"


async def test_tab_numbers_without_any_source_configured_keep_a_sensible_focus(tmp_path):
    app = make_app(tmp_path, demo=False)
    async with app.run_test(size=(160, 48)) as pilot:
        for number, tab in enumerate(TABS, start=1):
            await pilot.press(str(number))
            assert _active(app) == tab
            assert app.focused is not None and app.focused.display
        await pilot.press("a")
        assert isinstance(app.focused, AlertsTable)


async def test_enter_on_the_alerts_opens_the_checklist_and_the_footer_offers_it(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _demo(app)
        assert "⏎ Checklist" in _footer(app)
        await pilot.press("2")
        assert "Checklist" not in _footer(app)  # enter is the sessions table's there
        await pilot.press("shift+tab")
        await pilot.press("a", "j", "enter")
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
        assert "#high-api-latency" in screen_text(app)


async def test_enter_in_the_pod_filter_is_the_filters_not_the_alerts_checklist(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _demo(app)
        await wait_for(lambda: len(app.pods) == 7, what="the demo's pods")
        await pilot.press("p", "slash", *"worker", "enter")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        assert app.focused is app.screen.query_one("#pods-table")


@pytest.mark.parametrize("size", SIZES)
async def test_slash_filters_the_alerts_by_label_and_enter_goes_back_to_them(tmp_path, size):
    app = make_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        alerts = await _demo(app)
        await pilot.press("slash", *"severity=critical", "enter")
        assert [a.name for a in alerts.alerts] == ["HighDatabaseConnections"]
        assert alerts.row_count == 1
        assert app.focused is alerts
        assert isinstance(app.screen, DashboardScreen)  # enter applied the filter, opened nothing
        status = screen_text(app)
        assert "filter severity=critical" in status and "1 of 4 shown" in status

        await pilot.press("slash")
        box = app.screen.query_one("#alerts-filter", Input)
        assert app.focused is box and box.value == "severity=critical"
        box.value = ""
        await pilot.press(*"alertname=~High.* severity!=critical", "enter")
        assert [a.name for a in alerts.alerts] == ["HighApiLatency"]

        await pilot.press("slash")
        box.value = ""
        await pilot.press(*"alertname!~.*Down redis", "enter")  # a bare word: the name or the summary
        assert [a.name for a in alerts.alerts] == ["SlowRedisOperations"]

        await pilot.press("escape")  # in the alerts, esc clears the filter
        assert alerts.row_count == 4 and "shown" not in screen_text(app)

        await pilot.press("slash", *"severity=~(", "enter")
        assert alerts.row_count == 4  # a bad regex filters nothing, and says why
        assert "not applied: bad regex in severity=~(" in screen_text(app)
        assert app.is_running
        await pilot.press("slash", "escape")
        assert app.focused is alerts and alerts.row_count == 4 and "filter" not in screen_text(app)
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")


async def test_the_filter_takes_label_values_as_text(tmp_path):
    nasty = {
        "labels": {"alertname": "Odd", "severity": "critical", "team": "[bold]x[/bold] .*"},
        "annotations": {"summary": "boom [/] \x1b[31m"},
        "state": "firing",
        "activeAt": "2026-11-27T02:50:00Z",
        "value": "1",
    }
    app = make_app(
        tmp_path, demo=False, prometheus_url="http://prom.test", transport=prometheus_json([nasty])
    )
    async with app.run_test(size=(160, 48)) as pilot:
        alerts = app.screen.query_one(AlertsTable)
        await wait_for(lambda: alerts.row_count == 1, what="the alert")
        await pilot.press("slash", *"team=[bold]x[/bold]", "space", *".*", "enter")
        assert alerts.row_count == 0 and "0 of 1 shown" in screen_text(app)
        await pilot.press("slash")
        app.screen.query_one("#alerts-filter", Input).value = 'team="[bold]x[/bold] .*"'
        await pilot.press("enter")
        assert alerts.row_count == 1


async def test_the_alerts_pane_leaves_the_postgresql_tab_room_for_its_sessions(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _demo(app)
        await pilot.press("2")
        await pilot.pause()
        main = app.screen.query_one("#main")
        assert main.outer_size.height <= 48 * 0.4
        runbook = app.screen.query_one("#runbook")
        assert runbook.outer_size.height >= 12  # still a readable runbook pane beside the alerts
        sessions = app.screen.query_one(PostgresPanel).sessions
        await wait_for(lambda: len(sessions.view) >= 8, what="the demo's sessions")
        assert _visible_rows(app, sessions) >= 8
        await pilot.press("a", "z")  # zoom: the tabs take the screen, and the focus leaves the hidden alerts
        await pilot.pause()
        assert not main.display and _visible_rows(app, sessions) >= 10
        assert app.focused is sessions
        await pilot.press("z")
        await pilot.pause()
        assert main.display


async def test_many_alerts_take_at_most_two_fifths_of_the_screen(tmp_path):
    many = [
        {
            "labels": {"alertname": f"Alert{n}", "severity": "warning", "n": str(n)},
            "annotations": {"summary": f"number {n}"},
            "state": "firing",
            "activeAt": "2026-11-27T02:50:00Z",
            "value": "1",
        }
        for n in range(30)
    ]
    app = make_app(tmp_path, demo=False, prometheus_url="http://prom.test", transport=prometheus_json(many))
    async with app.run_test(size=(160, 48)) as pilot:
        alerts = app.screen.query_one(AlertsTable)
        await wait_for(lambda: alerts.row_count == 30, what="30 alerts")
        await pilot.pause()
        assert app.screen.query_one("#main").outer_size.height == int(48 * 0.4)
        assert app.screen.query_one("#sources").outer_size.height >= 48 // 2


@pytest.mark.parametrize("size", SIZES)
async def test_a_cut_alert_summary_ends_in_an_ellipsis_and_nothing_scrolls_sideways(tmp_path, size):
    app = make_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        alerts = await _demo(app)
        await pilot.pause()
        labels = [str(c.label) for c in alerts.columns.values()]
        assert labels[:3] == ["State", "Severity", "Alert"] and labels[-1] == "Summary"
        first = [cell.plain for cell in alerts.get_row_at(0)]
        assert first[2] == "HighDatabaseConnections"
        summary = first[-1]
        assert summary.endswith("…") and len(summary) >= 20, summary  # "PostgreSQL connections at 87…"
        assert alerts.virtual_size.width <= alerts.scrollable_content_region.width


@pytest.mark.parametrize("size", SIZES)
async def test_the_footer_is_never_cut_and_always_offers_help(tmp_path, size):
    app = make_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await _demo(app)
        for keys in ((), ("2",), ("3",), ("a", "slash")):
            await pilot.press(*keys)
            await pilot.pause()
            footer = app.screen.query_one(KeyFooter)
            lines = _footer(app).split("\n")
            if keys[-1:] == ("slash",):  # typing in the filter: ? is a character there, not help
                assert "⏎ Apply filter" in _footer(app) and "esc Clear filter" in _footer(app)
            else:
                assert "? Help" in _footer(app)
            assert footer.outer_size.height == len(lines) <= 2
            assert all(len(line) <= footer.content_region.width for line in lines)
            for hint in footer.hints:  # every hint shown, its key and a whole word of what it does
                assert f"{hint.display} {hint.description.split(' ')[0]}" in _footer(app)


async def test_a_click_on_a_footer_hint_presses_its_key(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _demo(app)
        footer = app.screen.query_one(KeyFooter)
        row = _footer(app).split("\n")[0]
        await pilot.click(KeyFooter, offset=(footer.styles.padding.left + row.index("z Zoom") + 1, 0))
        await pilot.pause()
        assert app.screen.has_class("-zoomed")


async def test_b_browses_the_runbook_without_prometheus_and_when_all_is_quiet(tmp_path):
    app = make_app(tmp_path, demo=False)
    async with app.run_test(size=(160, 48)) as pilot:
        assert "Press b to browse the runbook" in screen_text(app)
        await pilot.press("b")
        await wait_for(lambda: isinstance(app.screen, RunbookBrowserScreen), what="the runbook browser")

    quiet = make_app(tmp_path, demo=False, prometheus_url="http://prom.test", transport=prometheus_json([]))
    async with quiet.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: "all quiet" in screen_text(quiet), what="no alerts")
        await pilot.press("b")
        await wait_for(lambda: isinstance(quiet.screen, RunbookBrowserScreen), what="the runbook browser")


async def test_b_says_why_when_the_runbook_did_not_load(tmp_path):
    app = make_app(tmp_path, runbook=tmp_path / "nope.md")
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await _demo(app)
        await pilot.press("b")
        await wait_for(lambda: bool(app._notifications), what="a notification")
        assert any("nope.md" in str(n.message) for n in app._notifications)
        assert isinstance(app.screen, DashboardScreen)


def _footer(app: OncallApp) -> str:
    """The footer's text as drawn."""
    return str(app.screen.query_one(KeyFooter).render())


def _visible_rows(app: OncallApp, table: VirtualTable[object]) -> int:
    """How many of the table's item rows are on the screen (its header line aside)."""
    visible = table.region
    for ancestor in table.ancestors:
        if hasattr(ancestor, "region") and ancestor is not app and ancestor is not app.screen:
            visible = visible.intersection(ancestor.region)
    return max(0, visible.height - 1)


# -- keys typed in one burst (a paste, tmux send-keys, a fast typist): each goes where the one before it put
# the focus, as if typed slowly


async def test_keys_typed_in_one_burst_follow_the_focus_the_key_before_moved(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        alerts = await _demo(app)
        burst(app, ["slash", *"severity", "equals_sign", *"critical", "enter"])
        box = app.screen.query_one("#alerts-filter")
        await wait_for(
            lambda: alerts.filter.text == "severity=critical" and not box.has_class("-shown"),
            what="enter: the filter kept, the box closed",
        )
        assert [a.severity for a in alerts.alerts] == ["critical"] and app.focused is alerts
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)  # the enter was the filter's, not the checklist's
        sessions = app.screen.query_one(PostgresPanel).sessions
        burst(app, ["2", "enter"])  # the session's full query, not the alert's checklist
        await wait_for(lambda: mounted(app.screen, TextScreen), what="the full query")
        await pilot.press("escape")
        await wait_for(lambda: app.focused is sessions, what="back in the sessions")
        burst(app, ["1", "slash", *"zp8", "enter"])
        pods = app.screen.query_one("#pods-table", VirtualTable)
        await wait_for(
            lambda: app.focused is pods and len(pods.view) == 1,
            what="enter: the filter kept, back in the pods",
        )
        assert [p.name for p in pods.view] == ["inmidst-worker-5b8c9d7f4-zp8kd"]
        burst(app, ["a", "enter"])  # the alert's checklist
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
