"""The `/` box of one list: typing narrows the list at once, enter keeps the filter and goes back to the list,
esc clears it; while a filter is kept, one line says what it is and how many rows match."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Static

from probes.format import clean
from tui.widgets import styles
from tui.widgets.bindings import focus_now

if TYPE_CHECKING:
    from tui.widgets.virtual_table import VirtualTable


class TableFilter(Horizontal):
    """Mounted just above its table on the first `/`; hidden again when the filter is cleared."""

    DEFAULT_CSS = """
    TableFilter { height: 1; display: none; }
    TableFilter.-shown { display: block; }
    TableFilter > Input { width: 1fr; }
    TableFilter.-applied > Input { display: none; }
    TableFilter > Static { width: auto; padding: 0 1; }
    TableFilter.-applied > Static { width: 1fr; padding: 0; }
    """
    BINDINGS = [Binding("escape", "clear", "Clear the filter", show=False)]

    def __init__(self, table: VirtualTable[Any]) -> None:
        super().__init__(classes="table-filter")
        self.table = table
        self._shown = Text()

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder=f"filter {self.table.what} (enter keeps it, esc clears)",
            compact=True,
            classes="table-filter--input",
        )
        yield Static(classes="table-filter--count")

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    @property
    def value(self) -> str:
        return self.input.value if self.is_mounted else ""

    def open(self) -> None:
        """`/`: type a filter; the list below narrows as you type."""
        self.add_class("-shown")
        self.remove_class("-applied")
        focus_now(self.input)
        self.input.action_end()
        self.show_count()

    def show_count(self) -> None:
        """How many rows match: `3 of 7` while typing, `filter: api (3 of 7)` once kept."""
        if not self.is_mounted or not self.has_class("-shown"):
            return  # called at every change of the list (each pod event): no filter, nothing to say
        count = f"{len(self.table.view)} of {self.table.total}"
        applied = self.has_class("-applied")
        if applied:
            text = Text("filter: ", style=styles.MUTED)
            text.append(clean(self.value), style=styles.HIGHLIGHT)
            text.append(f" ({count})", style=styles.STRONG)
            text.append(" · / changes it, esc clears it", style=styles.MUTED)
        else:
            text = Text(count, style=styles.MUTED)
        if text != self._shown:
            self._shown = text
            # kept, the line has the row's width: a new count costs no layout pass
            self.query_one(Static).update(text, layout=not applied)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.table.set_filter(event.value)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()  # enter here is the filter's: it never reaches the screen (the alert's checklist)
        self.apply()

    def apply(self) -> None:
        """enter: keep the filter, show it on one line, and give the list the focus back."""
        if not self.value:
            self.action_clear()
            return
        self.add_class("-applied")
        self.show_count()
        focus_now(self.table)

    def action_clear(self) -> None:
        """esc: the whole list again, the box gone, the focus back in the list."""
        with self.input.prevent(Input.Changed):
            self.input.value = ""
        self.table.set_filter("")
        self.remove_class("-shown", "-applied")
        self._shown = Text()
        self.query_one(Static).update("")
        focus_now(self.table)
