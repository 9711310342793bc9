"""The virtual table shows the right rows for 10,000 items: cursor, paging, filter, sort and pinned rows."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Static

from tui.widgets.table_filter import TableFilter
from tui.widgets.virtual_table import Column, VirtualTable


@dataclass(frozen=True)
class Row:
    name: str
    restarts: int


COLUMNS = [
    Column("name", "NAME", 20, lambda r: Text(r.name), sort_key=lambda r: r.name),
    Column("restarts", "RESTARTS", 8, lambda r: Text(str(r.restarts)), sort_key=lambda r: r.restarts),
]


class TableApp(App[None]):
    def __init__(self, rows: list[Row]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        yield VirtualTable(COLUMNS, key=lambda r: r.name, search_text=lambda r: r.name, empty="no pods")

    def on_mount(self) -> None:
        self.query_one(VirtualTable).set_items(self.rows)


ROWS = [Row(f"pod-{i:05d}", i % 7) for i in range(10_000)]


def visible(table: VirtualTable) -> list[str]:
    return [table.render_line(y).text.rstrip() for y in range(table.scrollable_content_region.height)]


async def test_shows_the_header_and_the_first_rows_of_ten_thousand():
    app = TableApp(ROWS)
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(VirtualTable)
        await pilot.pause()
        lines = visible(table)
        assert lines[0].split() == ["NAME", "RESTARTS"]
        assert lines[1].split() == ["pod-00000", "0"]
        assert table.virtual_size.height == 10_001


async def test_end_and_paging_move_the_cursor_and_the_view():
    app = TableApp(ROWS)
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(VirtualTable)
        table.focus()
        await pilot.press("end")
        await pilot.pause()
        assert table.selected == ROWS[-1]
        assert visible(table)[-1].split()[0] == "pod-09999"
        await pilot.press("home", "pagedown")
        await pilot.pause()
        assert table.cursor == table.scrollable_content_region.height - 1
        await pilot.press("k")
        assert table.cursor == table.scrollable_content_region.height - 2


async def test_filter_sort_and_pinned_rows():
    app = TableApp(ROWS)
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(VirtualTable)
        table.set_filter("pod-0999")
        assert [r.name for r in table.view] == [f"pod-0999{i}" for i in range(10)]
        table.sort_by("restarts", reverse=True)
        assert [r.restarts for r in table.view] == sorted((r.restarts for r in table.view), reverse=True)
        table.set_priority(lambda r: 0 if r.name == "pod-09990" else 1)
        assert table.view[0].name == "pod-09990"
        table.set_filter("nothing matches")
        await pilot.pause()
        assert visible(table)[1].strip() == "no pods"


async def test_the_cursor_stays_on_the_same_row_when_rows_change():
    app = TableApp(ROWS[:100])
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(VirtualTable)
        table.cursor = 50
        table.set_items([Row("new-pod", 3), *ROWS[:100]])
        await pilot.pause()
        assert table.selected == ROWS[50]


async def test_untrusted_cell_text_is_not_markup():
    app = TableApp([Row("[/bold][link=x]evil", 1)])
    async with app.run_test(size=(60, 12)) as pilot:
        await pilot.pause()
        assert "[/bold][link=x]evil" in visible(app.query_one(VirtualTable))[1]


async def test_slash_filters_ten_thousand_rows_as_you_type_enter_keeps_it_and_esc_clears_it():
    app = TableApp(ROWS)
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(VirtualTable)
        table.focus()
        await pilot.press("slash", *"pod-0999")
        assert len(table.view) == 10 and app.focused is not table
        await pilot.press("1")  # one more letter: narrows what was shown
        assert [r.name for r in table.view] == ["pod-09991"]
        await pilot.press("backspace", "enter")
        assert app.focused is table and len(table.view) == 10
        text = str(app.query_one(TableFilter).query_one(Static).render())
        assert text.startswith("filter: pod-0999 (10 of 10000)")
        await pilot.press("escape")
        assert len(table.view) == 10_000 and app.focused is table


async def test_the_sort_column_has_an_arrow_and_s_and_S_change_it():
    app = TableApp(ROWS[:50])
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(VirtualTable)
        table.focus()
        await pilot.press("s")
        await pilot.pause()
        assert visible(table)[0].split() == ["NAME▲", "RESTARTS"]
        await pilot.press("s", "S")
        await pilot.pause()
        assert visible(table)[0].split() == ["NAME", "RESTART▼"]  # the arrow takes a full column's last cell
        assert (table.view[0].name, table.view[0].restarts) == ("pod-00006", 6)
        assert table.selected == ROWS[0]  # the cursor stays on its row


class Styled(App[None]):
    """A cell of several styles, longer than its column, and a row longer than the screen."""

    def compose(self) -> ComposeResult:
        columns = [
            Column("name", "NAME", 10, lambda r: Text.assemble(("pod-", "bold"), (r.name, "red"))),
            Column("more", "MORE", 40, lambda r: Text("x" * 17 + " " + "y" * 22)),
        ]
        yield VirtualTable(columns, key=lambda r: r.name)

    def on_mount(self) -> None:
        self.query_one(VirtualTable).set_items([Row("a-very-long-name", 1)])


async def test_a_cut_cell_ends_in_an_ellipsis_styled_or_at_the_screen_edge():
    app = Styled()
    async with app.run_test(size=(30, 6)) as pilot:
        await pilot.pause()
        row = visible(app.query_one(VirtualTable))[1]
        assert row.startswith("pod-a-ver…  ")
        assert row.endswith(" " + "x" * 17 + "…") and len(row) == 30  # cut between two words: still …


async def test_rows_replaced_by_every_poll_leave_the_drawn_lines_bounded():
    """Every poll brings new row objects: the lines drawn for the old ones are let go, not kept by the
    thousand (the soak saw each table hold 4,000 stale rows and lines, ~100 MiB after hours of polls)."""
    from tui.widgets.virtual_table import CACHED_LINES

    app = TableApp(ROWS[:30])
    async with app.run_test(size=(60, 40)) as pilot:
        table = app.query_one(VirtualTable)
        sizes = []
        for poll in range(60):
            table.set_items([Row(r.name, r.restarts + poll) for r in ROWS[:30]])  # new objects, as a poll
            await pilot.pause()
            sizes.append(len(table._cache))
        assert max(sizes) <= CACHED_LINES + 1, max(sizes)  # 60 polls x 30 rows drawn: 1,800 before
        assert visible(table)[1].split() == ["pod-00000", "59"]  # the newest rows are the ones shown
