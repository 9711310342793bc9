"""A table that draws only the rows on screen, so 10,000 rows cost what 40 do (Textual's Line API)."""

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

from probes.format import clean
from tui.widgets import styles

Item = TypeVar("Item")

GAP = 2  # cells between columns


@dataclass(frozen=True)
class Column(Generic[Item]):
    key: str
    label: str
    width: int
    cell: Callable[[Item], Text]  # what the cell shows: plain Text (never markup); cleaned again when drawn
    sort_key: Callable[[Item], Any] | None = None


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
    ]

    cursor: reactive[int] = reactive(0)

    class Highlighted(Message):
        def __init__(self, table: VirtualTable[Any], item: Any) -> None:
            super().__init__()
            self.table = table
            self.item = item

    def __init__(
        self,
        columns: Sequence[Column[Item]],
        *,
        key: Callable[[Item], str],
        search_text: Callable[[Item], str] | None = None,
        empty: str = "nothing to show",
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.columns = list(columns)
        self._key = key
        self._search_text = search_text
        self.empty = empty
        self._items: list[Item] = []
        self._view: list[Item] = []
        self._filter = ""
        self._sort: tuple[str, bool] | None = None
        self._priority: Callable[[Item], int] | None = None
        self._cache: dict[tuple[int, bool], tuple[Item, Strip]] = {}
        self._frame: tuple[Style, int, int, int] | None = None  # base style, width, scroll x, y of one frame

    # -- data -------------------------------------------------------------------------------------

    @property
    def view(self) -> Sequence[Item]:
        """The rows as shown: filtered and sorted."""
        return self._view

    @property
    def selected(self) -> Item | None:
        return self._view[self.cursor] if 0 <= self.cursor < len(self._view) else None

    def set_items(self, items: Sequence[Item]) -> None:
        self._items = list(items)
        self._rebuild(partial=True)

    def set_filter(self, text: str) -> None:
        self._filter = text.lower()
        self._rebuild()

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

    def _rebuild(self, partial: bool = False) -> None:
        """Filter, sort, keep the cursor on its row; `partial`: repaint only the visible rows that changed."""
        before = self._view
        keep = self._key(self.selected) if self.selected is not None else None
        at = self.cursor
        view = self._items
        if self._filter and self._search_text is not None:
            needle = self._filter
            view = [item for item in view if needle in self._search_text(item).lower()]
        if self._sort is not None:
            column = next((c for c in self.columns if c.key == self._sort[0]), None)
            if column is not None and column.sort_key is not None:
                view = sorted(view, key=column.sort_key, reverse=self._sort[1])
        if self._priority is not None:
            view = sorted(view, key=self._priority)  # stable: keeps the column order within each group
        self._view = list(view)
        self.virtual_size = Size(self._width(), len(self._view) + 1)
        # the selected row usually stays where it was: look there before searching 10,000 rows
        if keep is not None and not (at < len(self._view) and self._key(self._view[at]) == keep):
            index = next((i for i, item in enumerate(self._view) if self._key(item) == keep), None)
            if index is not None:
                self.cursor = index
        self.cursor = max(0, min(self.cursor, len(self._view) - 1))
        if partial and len(before) == len(self._view):
            # a few pods changed among 10,000: repaint their lines, not the whole table
            top = int(self.scroll_offset.y)
            bottom = min(len(self._view), top + self.scrollable_content_region.height)
            for row in range(top, bottom):
                if before[row] is not self._view[row]:
                    self.refresh_line(row + 1)  # line 0 is the header
        else:
            self.refresh()

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
            strip = self._line([Text(c.label) for c in self.columns], style)
            return strip.crop_extend(scroll_x, scroll_x + width, style)
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
            if len(self._cache) > 4000:
                self._cache.clear()
            self._cache[key] = cached
        return cached[1].crop_extend(scroll_x, scroll_x + width, base)

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
