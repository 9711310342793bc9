"""Every list of the source tabs as a user drives it on the demo: `/` filters it (enter keeps the filter and
goes back to the list, esc clears it), `s`/`S` sort it with ▲/▼ on the sort column, enter opens the row;
the PostgreSQL sessions show duration, state, blocker and query first, and a cut cell ends in "…"."""

from __future__ import annotations

import re

import pytest
from textual.widgets import Input

from screens.dashboard import DashboardScreen
from screens.modals import TextScreen
from screens.pod_detail import PodDetailScreen
from tests.helpers import make_app, mounted, screen_text, wait_for
from tui.app import OncallApp
from tui.widgets.table_filter import TableFilter
from tui.widgets.virtual_table import VirtualTable

ARROWS = re.compile(r"[▲▼]")


async def _list(app: OncallApp, pilot, tab: str, table_id: str, rows: int = 1) -> VirtualTable:
    """The demo's `tab` shown and its list focused, as clicking the tab and the list does."""
    await wait_for(lambda: app.pg_snapshot is not None and app.redis_snapshot is not None, what="the demo")
    app.screen.query_one("#sources").active = tab
    await pilot.pause()
    table = app.screen.query_one(table_id, VirtualTable)
    await wait_for(lambda: len(table.view) >= rows, what=f"the rows of {table_id}")
    table.focus()
    await pilot.pause()
    return table


def header(table: VirtualTable) -> str:
    return table.render_line(0).text.rstrip()


def rows(table: VirtualTable) -> list[str]:
    """The rows on screen, as drawn."""
    shown = min(len(table.view), table.scrollable_content_region.height - 1)
    return [table.render_line(y).text.rstrip() for y in range(1, shown + 1)]


def filter_line(table: VirtualTable) -> str:
    """What the list's filter line says (empty when it has none)."""
    boxes = table.screen.query(TableFilter)
    box = next((b for b in boxes if b.table is table and b.display), None)
    return str(box.query_one("Static").render()) if box is not None else ""


# -- pods ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
async def test_slash_filters_the_pods_enter_keeps_it_and_opens_the_pod_from_the_list(tmp_path, size):
    app = make_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await wait_for(lambda: len(app.pods) == 7, what="the demo's pods")
        await pilot.press("p")
        table = app.screen.query_one("#pods-table", VirtualTable)
        assert app.focused is table
        await pilot.press("slash", *"worker")
        assert isinstance(app.focused, Input)
        assert [r.split()[0].split("-")[1] for r in rows(table)] == ["worker", "worker"]  # as you type
        assert "2 of 7" in filter_line(table)
        await pilot.press("enter")  # applies the filter: back in the list, no checklist
        assert isinstance(app.screen, DashboardScreen) and app.focused is table
        assert "filter: worker (2 of 7)" in screen_text(app)
        assert all("inmidst-worker-" in r for r in rows(table)) and len(rows(table)) == 2
        await pilot.press("down", "enter")  # enter on a pod: its detail, as d
        await wait_for(lambda: isinstance(app.screen, PodDetailScreen), what="the pod's detail")
        assert app.screen.pod == table.view[1]
        await pilot.press("escape")
        await wait_for(lambda: isinstance(app.screen, DashboardScreen), what="the dashboard again")
        assert "filter: worker (2 of 7)" in screen_text(app)  # kept while the detail was open

        await pilot.press("slash")  # the same filter, to change it
        assert isinstance(app.focused, Input) and app.focused.value == "worker"
        await pilot.press("escape")  # esc in the box clears it and goes back to the list
        assert app.focused is table and len(table.view) == 7
        assert "filter:" not in screen_text(app)


async def test_esc_in_a_filtered_list_clears_its_filter(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: len(app.pods) == 7, what="the demo's pods")
        await pilot.press("p", "slash", *"api", "enter")
        table = app.screen.query_one("#pods-table", VirtualTable)
        assert app.focused is table and len(table.view) == 3
        await pilot.press("escape")
        assert app.focused is table and len(table.view) == 7
        assert "filter:" not in screen_text(app)


async def test_s_cycles_the_pod_sort_with_an_arrow_on_that_column_only_and_S_reverses_it(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: len(app.pods) == 7, what="the demo's pods")
        await pilot.press("p")
        table = app.screen.query_one("#pods-table", VirtualTable)
        assert not ARROWS.search(header(table))  # as read: no column is the sort's
        await pilot.press("s")
        assert "STATUS▲" in header(table) and len(ARROWS.findall(header(table))) == 1
        await pilot.press("s")
        assert "RESTARTS▼" in header(table) and len(ARROWS.findall(header(table))) == 1
        restarts = [p.restarts for p in table.view]
        assert restarts == sorted(restarts, reverse=True)
        await pilot.press("S")
        assert "RESTARTS▲" in header(table)
        assert [p.restarts for p in table.view] == sorted(restarts)
        await pilot.press("s", "s", "s", "s")  # name, age, node, then as read again
        assert not ARROWS.search(header(table))


# -- PostgreSQL --------------------------------------------------------------------------------------------


async def test_the_sessions_show_duration_state_blocker_and_query_first_at_80_columns(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        sessions = await _list(app, pilot, "tab-postgresql", "#pg-sessions", rows=80)
        assert header(sessions).split()[:5] == ["DURATION", "STATE", "BLOCKED", "BY", "QUERY"]
        first = rows(sessions)[0]
        assert first.split()[:4] == ["9.0s", "active", "3200", "UPDATE"]  # the blocked update, its blocker
        assert first.endswith("…")  # the query goes on past the screen's edge


async def test_the_pods_show_name_ready_status_and_restarts_first_at_80_columns(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pods = await _list(app, pilot, "tab-pods", "#pods-table", rows=7)
        assert header(pods).split()[:4] == ["NAME", "READY", "STATUS", "RESTARTS"]
        crashed = next(r for r in rows(pods) if "zp8kd" in r)
        assert crashed.split()[:4] == ["inmidst-worker-5b8c9d7f4-zp8kd", "2/2", "Running", "2"]


async def test_the_sessions_filter_sort_and_open_a_full_query_from_the_keyboard(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        sessions = await _list(app, pilot, "tab-postgresql", "#pg-sessions", rows=80)
        total = len(sessions.view)
        # a query longer than its column is cut there with "…"; enter shows it whole
        assert any(re.search(r"JOIN orders o ON o.customer = c.id G…  +3400 ", r) for r in rows(sessions))
        await pilot.press("slash", *"idle in transaction", "enter")
        assert app.focused is sessions
        assert f"filter: idle in transaction (6 of {total})" in screen_text(app)
        assert all("idle in transaction" in r for r in rows(sessions)) and len(rows(sessions)) == 6
        await pilot.press("enter")
        await wait_for(lambda: mounted(app.screen, TextScreen), what="the full query")
        assert "UPDATE carts SET touched_at = now() WHERE id = $1" in screen_text(app)
        await pilot.press("escape")
        await wait_for(lambda: isinstance(app.screen, DashboardScreen), what="the dashboard again")
        await pilot.press("slash", "escape")
        assert app.focused is sessions and len(sessions.view) == total

        await pilot.press("s")
        assert "DURATION▼" in header(sessions) and len(ARROWS.findall(header(sessions))) == 1
        assert "Sessions by duration ▼" in screen_text(app)
        seconds = [s.query_seconds or 0 for s in sessions.view]
        assert seconds == sorted(seconds, reverse=True)
        for label in ("STATE", "USER", "APPLICATION", "PID"):
            await pilot.press("s")
            sort = sessions.sort_column
            assert sort is not None and (sort[0].label, sort[1]) == (label, False)
            assert len(ARROWS.findall(header(sessions))) == (label != "APPLICATION")  # past the edge at 160
            if label != "APPLICATION":
                assert f"{label}▲" in header(sessions)
        assert [s.pid for s in sessions.view] == sorted(s.pid for s in sessions.view)
        await pilot.press("s")  # back to the tab's own order: blocked first
        assert not ARROWS.search(header(sessions)) and sessions.view[0].blocked_by == (3200,)
        assert "Sessions (blocked first, then active, longest first" in screen_text(app)


async def test_the_statements_and_tables_lists_filter_and_sort_too(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("z")  # the tabs take the screen: all three PostgreSQL lists have room
        statements = await _list(app, pilot, "tab-postgresql", "#pg-statements")
        await pilot.press("s")
        assert "MEAN▼" in header(statements)
        means = [s.mean_ms for s in statements.view]
        assert means == sorted(means, reverse=True)
        await pilot.press("s")
        assert "CALLS▼" in header(statements) and "MEAN▼" not in header(statements)
        word = statements.view[0].query.split()[0]
        await pilot.press("slash", *word, "enter")
        assert app.focused is statements
        assert all(word.lower() in s.query.lower() for s in statements.view)
        assert f"filter: {word} ({len(statements.view)} of " in screen_text(app)

        tables = app.screen.query_one("#pg-tables", VirtualTable)
        await wait_for(lambda: bool(tables.view), what="the tables needing attention")
        tables.focus()
        await pilot.press("s")
        assert "TABLE▲" in header(tables)
        names = [f"{t.schema}.{t.name}" for t in tables.view]
        assert names == sorted(names)


# -- the slow log and the events ---------------------------------------------------------------------------


async def test_the_slow_log_filters_sorts_by_duration_and_says_so(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        slowlog = await _list(app, pilot, "tab-slowlog", "#slowlog-table", rows=7)
        await pilot.press("slash", *"keys", "enter")
        assert app.focused is slowlog
        assert "filter: keys (2 of 7)" in screen_text(app)
        assert [r.endswith("KEYS session:*") for r in rows(slowlog)] == [True, True]
        await pilot.press("slash", "escape")
        await pilot.press("s")
        assert "DURATION▼" in header(slowlog) and "TIME" in header(slowlog)
        assert "41.3 ms" in rows(slowlog)[0]
        assert "7 entries, by duration ▼" in screen_text(app)
        await pilot.press("s")
        assert "TIME▼" in header(slowlog) and "DURATION▼" not in header(slowlog)
        assert "7 entries, by time ▼" in screen_text(app)
        await pilot.press("s")
        assert "7 entries, newest first" in screen_text(app)
        await pilot.press("enter")
        await wait_for(lambda: mounted(app.screen, TextScreen), what="the full entry")


async def test_the_events_filter_sort_and_show_one_message_in_full(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        events = await _list(app, pilot, "tab-events", "#events-table", rows=9)
        assert header(events).split() == ["AGE", "TYPE", "REASON", "OBJECT", "COUNT", "MESSAGE"]
        assert "9 events · 2 warnings" in screen_text(app)
        cut = next(r for r in rows(events) if "Back-off" in r)
        assert cut.endswith("…")  # a message longer than its column ends in "…", whole on enter
        await pilot.press("slash", *"postgres", "enter")
        assert app.focused is events
        assert "filter: postgres (1 of 9)" in screen_text(app)
        assert len(rows(events)) == 1 and "Pulled" in rows(events)[0]
        await pilot.press("enter")
        await wait_for(lambda: mounted(app.screen, TextScreen), what="the whole event")
        text = screen_text(app)
        assert "Normal Pulled · Pod/inmidst-postgres-0" in text
        assert 'Container image "postgres:16.3" already present on machine' in text
        await pilot.press("escape")
        await wait_for(lambda: isinstance(app.screen, DashboardScreen), what="the dashboard again")
        await pilot.press("escape")  # esc in the filtered list: every event again
        assert len(events.view) == 9
        await pilot.press("S")  # the oldest first
        assert "AGE▼" in header(events) and "Pulled" in rows(events)[0]
        await pilot.press("s")
        assert "TYPE▲" in header(events) and rows(events)[0].split()[1] == "Warning"
        assert events.view[events.cursor].reason == "Pulled"  # the cursor stays on its row when sorted
        await pilot.press("home", "down", "enter")
        await wait_for(lambda: mounted(app.screen, TextScreen), what="the whole event")
        assert "Back-off restarting failed container worker in pod inmidst-worker-" in screen_text(app)


async def test_without_events_the_tab_says_so_and_offers_no_list(tmp_path):
    app = make_app(tmp_path, demo=False)
    async with app.run_test(size=(160, 48)) as pilot:
        app.screen.query_one("#sources").active = "tab-events"
        await pilot.pause()
        assert "Kubernetes is not configured" in screen_text(app)
        assert not app.screen.query_one("#events-table", VirtualTable).display
