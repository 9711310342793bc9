"""What the small dialogs hold: a long text in full, a note being written, a pick list. These draw and say
what was chosen; screens/modals.py puts them on top of a screen and closes them.

A panel that has a long text to show in full (a query, a slow log entry) posts `ShowText`; the screen it is
on opens the text.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from probes.format import clean
from tui.widgets import styles


class ShowText(Message):
    """A widget asks for a long server string to be shown in full: the screen opens it."""

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title = title
        self.text = text


class TextView(VerticalScroll):
    """A long server string in full, as plain text: never markup, control characters made visible."""

    def __init__(self, title: str, text: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        yield Label(Text(clean(self.title_text), style=styles.STRONG))
        yield Static(Text(clean(self.text, single_line=False)))


class NoteEditor(Vertical):
    """One line of note: enter posts `Submitted` with the text, or None when it is blank."""

    class Submitted(Message):
        def __init__(self, text: str | None) -> None:
            super().__init__()
            self.text = text

    def __init__(self, title: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.title_text = title

    def compose(self) -> ComposeResult:
        yield Label(Text(clean(self.title_text), style=styles.STRONG))
        yield Input(placeholder="What did you see or do? (enter saves, esc cancels)", id="note")

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted(event.value if event.value.strip() else None))


class PickList(Vertical):
    """Numbered items (commands to copy, sections to open); enter posts `Picked` with the index (a digit:
    PickScreen's keys)."""

    class Picked(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, title: str, items: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.title_text = title
        self.items = items

    def compose(self) -> ComposeResult:
        yield Label(Text(self.title_text, style=styles.STRONG))
        yield OptionList(*[Option(Text(f"{i + 1}. {clean(item)}")) for i, item in enumerate(self.items)])

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.Picked(event.option_index))

    def cursor_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def cursor_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()
