"""A table that draws only the rows on screen, so 10,000 rows cost what 40 do (Textual's Line API).

Every list of the source tabs is one: `/` filters it (its TableFilter box), `s` cycles the sort column and `S`
reverses it, and the header marks the sort column with ▲ or ▼."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from probes.format import clean
from tui.widgets import styles
from tui.widgets.table_filter import TableFilter

Item = TypeVar("Item")

GAP = 2  # cells between columns
CACHED_LINES = 256  # rows kept drawn (at least; 4 screens on a tall terminal) before the cache starts over
ASCENDING, DESCENDING = "▲", "▼"


@dataclass(frozen=True)
class Column(Generic[Item]):
    key: str
    label: str
    width: int
    cell: Callable[[Item], Text]  # what the cell shows: plain Text (never markup); cleaned again when drawn
    sort_key: Callable[[Item], Any] | None = None
    descending: bool = False  # sort_key puts the largest value first (restarts, duration): ▼, not ▲


class VirtualTable(ScrollView, Generic[Item], can_focus=True):
    """Rows are kept as items; each visible line is rendered on demand and cached until the data changes."""

    DEFAULT_CSS = """
    VirtualTable { height: 1fr; }
    VirtualTable > .virtual-table--header { text-style: bold; background: $panel; }
    VirtualTable > .virtual-table--cursor { background: $accent 40%; text-style: bold; }
    """
    COMPONENT_CLASSES = {"virtual-table--header", "virtual-table--cursor"}
    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "Top", show=False),
        Binding("end", "jump(-1)", "Bottom", show=False),
        # priority: the box has the focus before the next key is routed (`/api` typed in one burst)
        Binding("slash", "filter", "Filter", key_display="/", priority=True),
        Binding("escape", "clear_filter", "Clear the filter", show=False),
        Binding("s", "sort_next", "Sort"),
        Binding("S", "sort_reverse", "Reverse the sort", show=False),
    ]

    cursor: reactive[int] = reactive(0)

    class Highlighted(Message):
        def __init__(self, table: VirtualTable[Any], item: Any) -> None:
            super().__init__()
            self.table = table
            self.item = item

    class Sorted(Message):
        """The user sorted the rows another way (`s`, `S`): a status line that names the order can say so."""

        def __init__(self, table: VirtualTable[Any]) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> VirtualTable[Any]:
            return self.table

    def __init__(
        self,
        columns: Sequence[Column[Item]],
        *,
        key: Callable[[Item], str],
        search_text: Callable[[Item], str] | None = None,
        empty: str = "nothing to show",
        what: str = "rows",
        sort_cycle: Sequence[str] | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.columns = list(columns)
        self._key = key
        self._search_text = search_text
        self.empty = empty
        self.what = what  # what the rows are, for the filter box and the sort toast: "pods", "sessions"
        sortable = [c.key for c in self.columns if c.sort_key is not None]
        # the columns `s` steps through, in this order, then back to the order the rows came in
        self._sort_cycle = [k for k in sort_cycle if k in sortable] if sort_cycle is not None else sortable
        self._filter_box: TableFilter | None = None
        self._items: list[Item] = []
        self._view: list[Item] = []
        self._filter = ""
        self._sort: tuple[str, bool] | None = None
        self._priority: Callable[[Item], int] | None = None
        self._cache: dict[tuple[int, bool], tuple[Item, Strip]] = {}
        self._expected = 0  # rows still to come (a list read in pages): the scroll height holds them already
        self._frame: tuple[Style, int, int, int] | None = None  # base style, width, scroll x, y of one frame

    # -- data -------------------------------------------------------------------------------------

    @property
    def view(self) -> Sequence[Item]:
        """The rows as shown: filtered and sorted."""
        return self._view

    @property
    def selected(self) -> Item | None:
        return self._view[self.cursor] if 0 <= self.cursor < len(self._view) else None

    @property
    def total(self) -> int:
        """How many rows there are before the filter."""
        return len(self._items)

    @property
    def filter_text(self) -> str:
        return self._filter

    @property
    def sort_column(self) -> tuple[Column[Item], bool] | None:
        """The column the rows are sorted by and whether the sort is reversed; None: as they came in."""
        if self._sort is None:
            return None
        column = next((c for c in self.columns if c.key == self._sort[0]), None)
        return (column, self._sort[1]) if column is not None and column.sort_key is not None else None

    def set_items(self, items: Sequence[Item], expected: int = 0) -> None:
        """`expected`: how many rows there will be once the rest comes (a list read in pages). The table
        is that tall already, so each page adds rows without a layout pass over the whole screen."""
        self._items = list(items)
        self._expected = expected
        self._rebuild(partial=True)

    def set_filter(self, text: str) -> None:
        needle = text.lower()
        if needle == self._filter:
            return
        # typing one more letter only narrows what is shown: look at those rows, not at all 10,000
        narrowing = bool(self._filter) and needle.startswith(self._filter)
        toggled = bool(needle) != bool(self._filter)
        self._filter = needle
        self._rebuild(within=self._view if narrowing else None)
        if toggled:
            self.refresh_bindings()  # esc clears the filter only while there is one

    def sort_by(self, column: str | None, reverse: bool = False) -> None:
        self._sort = (column, reverse) if column else None
        self._rebuild()

    def set_priority(self, priority: Callable[[Item], int] | None) -> None:
        """Rows with a lower priority come first (e.g. the pods of the selected alert's component)."""
        self._priority = priority
        self._rebuild()

    def redraw(self) -> None:
        """Render the visible rows again (their cells depend on the time, e.g. ages)."""
        self._cache.clear()
        self.refresh()

    def _rebuild(self, partial: bool = False, within: Sequence[Item] | None = None) -> None:
        """Filter, sort, keep the cursor on its row; `partial`: repaint only the visible rows that changed;
        `within`: the rows already shown, filtered and sorted, of which a narrower filter keeps some."""
        before = self._view
        keep = self._key(self.selected) if self.selected is not None else None
        at = self.cursor
        view = self._items if within is None else within
        if self._filter and self._search_text is not None:
            needle = self._filter
            view = [item for item in view if needle in self._search_text(item).lower()]
        if within is None:
            sort = self.sort_column
            sort_key = sort[0].sort_key if sort is not None else None
            if sort is not None and sort_key is not None:
                view = sorted(view, key=sort_key, reverse=sort[1])
            if self._priority is not None:
                view = sorted(view, key=self._priority)  # stable: keeps the column order within each group
        self._view = list(view)
        height = len(self._view) if self._filter else max(len(self._view), self._expected)
        size = Size(self._width(), height + 1)
        resized = size != self.virtual_size
        self.virtual_size = size
        # the selected row usually stays where it was: look there before searching 10,000 rows
        if keep is not None and not (at < len(self._view) and self._key(self._view[at]) == keep):
            index = next((i for i, item in enumerate(self._view) if self._key(item) == keep), None)
            if index is not None:
                self.cursor = index
        self.cursor = max(0, min(self.cursor, len(self._view) - 1))
        if partial and (len(before) == len(self._view) or not resized):
            # a few pods changed among 10,000, or a page more came: repaint their lines, not the whole table
            top = int(self.scroll_offset.y)
            bottom = min(max(len(before), len(self._view)), top + self.scrollable_content_region.height)
            for row in range(top, bottom):
                old = before[row] if row < len(before) else None
                if old is not (self._view[row] if row < len(self._view) else None):
                    self.refresh_line(row + 1)  # line 0 is the header
        else:
            self.refresh()
        if self._filter_box is not None:
            self._filter_box.show_count()

    def _width(self) -> int:
        return sum(c.width + GAP for c in self.columns)

    # -- drawing -------------------------------------------------------------------------------------

    def _line(self, cells: list[Text], style: Style) -> Strip:
        segments: list[Segment] = []
        gap = Segment(" " * GAP, style)
        for column, cell in zip(self.columns, cells, strict=True):
            if cell.spans:  # several styles in one cell: let rich lay it out (rare, slower)
                cell = _cleaned(cell, self.app.console)
                cell.truncate(column.width, overflow="ellipsis", pad=True)
                segments.extend(
                    Segment(s.text, style + s.style if s.style else style)
                    for s in cell.render(self.app.console)
                )
            else:
                segments.append(Segment(_fit(clean(cell.plain), column.width), style + _style(cell.style)))
            segments.append(gap)
        return Strip(segments)

    def render_lines(self, crop: Region) -> list[Strip]:
        # the style, width and scroll position are the same for every line of a frame: look them up once
        # (rich_style alone walks the DOM: ~0.2 ms a line, a third of a line's cost)
        offset = self.scroll_offset
        self._frame = (self.rich_style, self.scrollable_content_region.width, int(offset.x), int(offset.y))
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def render_line(self, y: int) -> Strip:
        if self._frame is not None:
            base, width, scroll_x, scroll_y = self._frame
        else:
            base, width = self.rich_style, self.scrollable_content_region.width
            scroll_x, scroll_y = int(self.scroll_offset.x), int(self.scroll_offset.y)
        if y == 0:
            style = base + self.get_component_rich_style("virtual-table--header")
            strip = self._line(self._header(), style)
            return self._window(strip, scroll_x, width, style)
        row = scroll_y + y - 1
        if row >= len(self._view):
            if row == 0 and not self._view:
                empty = Segment(self.empty, base + Style.parse(styles.MUTED))
                return Strip([empty]).crop_extend(0, width, base)
            return Strip.blank(width, base)
        item = self._view[row]
        selected = row == self.cursor
        # Cached by the row object itself: after a change only the rows that changed are drawn again.
        key = (id(item), selected)
        cached = self._cache.get(key)
        if cached is None or cached[0] is not item:
            style = base + self.get_component_rich_style("virtual-table--cursor") if selected else base
            cached = (item, self._line([c.cell(item) for c in self.columns], style))
            # a few screens of rows: every poll brings new row objects, so entries go stale at once; 4,000
            # of them per table (six tables) held ~100 MiB of old rows and lines after hours (the soak)
            if len(self._cache) > max(CACHED_LINES, 4 * self.size.height):
                self._cache.clear()
            self._cache[key] = cached
        return self._window(cached[1], scroll_x, width, base)

    def _window(self, strip: Strip, x: int, width: int, style: Style) -> Strip:
        """The part of a line the table's width shows; a cell whose text goes on past the right edge ends in
        "…" there (one look per line on screen, none when the line fits)."""
        shown = strip.crop_extend(x, x + width, style)
        end = x + width
        if width < 2 or strip.cell_length <= end:
            return shown
        start = 0
        for column in self.columns:
            stop = start + column.width
            if start < end < stop:  # the edge cuts this cell: is there more of its text past it?
                if strip.crop(end, stop).text.strip():
                    last = next(iter(shown.crop(width - 1, width)), None)
                    ellipsis = Segment("…", last.style if last else style)
                    return Strip.join([shown.crop(0, width - 1), Strip([ellipsis])])
                break
            if stop >= end:
                break  # the edge falls in the gap after a cell
            start = stop + GAP
        return shown

    def _header(self) -> list[Text]:
        """The column labels, the sort column's with ▲ (smallest first) or ▼ (largest first)."""
        sort = self.sort_column
        labels = []
        for column in self.columns:
            label = column.label
            if sort is not None and column is sort[0]:
                label = label[: column.width - 1] + arrow(column, sort[1])
            labels.append(Text(label))
        return labels

    # -- filter and sort keys -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "filter":
            return self._search_text is not None
        if action == "clear_filter":  # esc means something else (leave a modal) when nothing is filtered
            return bool(self._filter)
        if action in ("sort_next", "sort_reverse"):
            return bool(self._sort_cycle)
        return True

    async def action_filter(self) -> None:
        """`/`: the filter box above the list (mounted the first time), the focus in it."""
        if self._search_text is None or not isinstance(self.parent, Widget):
            return
        if self._filter_box is None:
            self._filter_box = TableFilter(self)
            await self.parent.mount(self._filter_box, before=self)
        self._filter_box.open()

    def action_clear_filter(self) -> None:
        if self._filter_box is not None:
            self._filter_box.action_clear()
        else:
            self.set_filter("")

    def action_sort_next(self) -> None:
        """`s`: the next sortable column, then back to the order the rows came in."""
        if not self._sort_cycle:
            return
        sort = self.sort_column
        cycle = self._sort_cycle
        at = cycle.index(sort[0].key) if sort is not None and sort[0].key in cycle else -1
        following = cycle[at + 1] if at + 1 < len(cycle) else None
        self.sort_by(following)  # each column first in its most useful direction; S reverses it
        self._say_sort()

    def action_sort_reverse(self) -> None:
        """`S`: the same column the other way round (the first sortable one, if none is sorted yet)."""
        sort = self.sort_column
        if sort is not None:
            self.sort_by(sort[0].key, reverse=not sort[1])
        elif self._sort_cycle:
            self.sort_by(self._sort_cycle[0], reverse=True)
        self._say_sort()

    def _say_sort(self) -> None:
        self.post_message(self.Sorted(self))
        sort = self.sort_column
        if sort is None:
            self.notify(f"{self.what} in the order they were read", timeout=2)
            return
        column, reverse = sort
        self.notify(f"{self.what} sorted by {column.label.lower()} {arrow(column, reverse)}", timeout=2)

    # -- cursor ----------------------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self._scroll_to_cursor()
        self.refresh()
        if self.selected is not None:
            self.post_message(self.Highlighted(self, self.selected))

    def _scroll_to_cursor(self) -> None:
        rows = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + rows:
            self.scroll_to(y=self.cursor - rows + 1, animate=False)

    def action_cursor(self, delta: int) -> None:
        if self._view:
            self.cursor = max(0, min(len(self._view) - 1, self.cursor + delta))

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.scrollable_content_region.height - 1))

    def action_jump(self, where: int) -> None:
        if self._view:
            self.cursor = where if where >= 0 else len(self._view) - 1

    def on_click(self, event: events.Click) -> None:
        row = int(self.scroll_offset.y) + event.y - 1
        if 0 <= row < len(self._view):
            self.cursor = row


def arrow(column: Column[Any], reverse: bool) -> str:
    """▼ when the largest values come first, ▲ when the smallest do."""
    return DESCENDING if column.descending != reverse else ASCENDING


def _cleaned(cell: Text, console: Console) -> Text:
    """A copy of a styled cell with its text cleaned: no column can put a control or bidi character out."""
    if clean(cell.plain) == cell.plain:
        return cell.copy()
    return Text.assemble(*((clean(s.text), s.style or "") for s in cell.render(console)), style=cell.style)


def _fit(text: str, width: int) -> str:
    """Pad or cut to exactly `width` cells, with an ellipsis where it was cut."""
    length = cell_len(text)
    if length <= width:
        return text + " " * (width - length)
    return set_cell_size(text, width - 1) + "…"


def _style(style: str | Style) -> Style:
    return Style.parse(style) if isinstance(style, str) else style
