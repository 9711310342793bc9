"""Small modal screens: write a note, pick one of several commands or links, read a long text in full.

Each puts one dialog widget (tui/widgets/dialogs.py) on top and closes with what it answered.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen

from tui.widgets.dialogs import NoteEditor, PickList, TextView


class NoteScreen(ModalScreen[str | None]):
    """Ask for a note; enter saves, escape cancels."""

    # `?` is a character the note may hold: f1 shows the keys here
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("f1", "app.help", "Keys"),
    ]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title

    def compose(self) -> ComposeResult:
        yield NoteEditor(self.title_text, classes="dialog")

    @on(NoteEditor.Submitted)
    def _submit(self, event: NoteEditor.Submitted) -> None:
        self.dismiss(event.text)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PickScreen(ModalScreen[int | None]):
    """Pick one of several items (commands to copy, sections to open); returns its index."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("j", "down", "Down", show=False),
        Binding("k", "up", "Up", show=False),
        Binding("1", "pick(1)", "Pick by number", key_display="1-9", show=False),
        *(Binding(str(n), f"pick({n})", "Pick by number", show=False) for n in range(2, 10)),
        Binding("question_mark", "app.help", "Keys", key_display="?"),
    ]

    def __init__(self, title: str, items: list[str]) -> None:
        super().__init__()
        self.title_text = title
        self.items = items

    def compose(self) -> ComposeResult:
        yield PickList(self.title_text, self.items, classes="dialog")

    @on(PickList.Picked)
    def _picked(self, event: PickList.Picked) -> None:
        self.dismiss(event.index)

    def action_pick(self, number: int) -> None:
        if number <= len(self.items):
            self.dismiss(number - 1)

    def action_down(self) -> None:
        self.query_one(PickList).cursor_down()

    def action_up(self) -> None:
        self.query_one(PickList).cursor_up()

    def action_cancel(self) -> None:
        self.dismiss(None)


__all__ = ["NoteScreen", "PickScreen", "TextScreen"]


@runtime_checkable
class BlockClipboard(Protocol):
    """An app that copies several lines at once (evidence to paste in a ticket), not only one line."""

    def copy_lines_to_clipboard(self, text: str) -> None: ...


class TextScreen(ModalScreen[None]):
    """A long server string in full (a query text, a slow log entry), as text; `c` copies it.

    With `lines`, `c` copies it line for line (evidence for a ticket); else as one line (a command)."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("c", "copy", "Copy"),
        Binding("j", "scroll(1)", "Scroll down", key_display="j/↓", show=False),
        Binding("k", "scroll(-1)", "Scroll up", key_display="k/↑", show=False),
        Binding("question_mark", "app.help", "Keys", key_display="?"),
    ]

    def __init__(self, title: str, text: str, *, lines: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.lines = lines

    def compose(self) -> ComposeResult:
        yield TextView(self.title_text, self.text, classes="dialog")

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, lines: int) -> None:
        self.query_one(TextView).scroll_relative(y=lines, animate=False)

    def action_copy(self) -> None:
        if self.lines and isinstance(self.app, BlockClipboard):
            self.app.copy_lines_to_clipboard(self.text)
        else:
            self.app.copy_to_clipboard(self.text)
        self.notify("copied to the clipboard", timeout=2)
