"""The help screen: the keys of the screen below it, read from the same bindings the footer shows."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from tui.widgets import styles
from tui.widgets.bindings import shown_bindings


def binding_rows(screen: Screen) -> list[tuple[str, str]]:
    """(key, description) of each binding the footer shows for `screen`."""
    return [
        (a.binding.key_display or screen.app.get_key_display(a.binding), a.binding.description)
        for a in shown_bindings(screen)
    ]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", key_display="?"),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def __init__(self, below: Screen) -> None:
        super().__init__()
        self.below = below

    def compose(self) -> ComposeResult:
        rows = [*binding_rows(self.below), ("ctrl+p", "Command palette: the same actions, searchable")]
        width = max(len(key) for key, _ in rows) + 3
        table = Text()
        for key, description in rows:
            table.append(key.ljust(width), style=styles.HIGHLIGHT)
            table.append(f"{description}\n")
        with VerticalScroll(classes="dialog", id="help"):
            yield Static(Text("Keys on this screen", style=styles.HEADING))
            yield Static(table)
            yield Static(Text("esc or ? closes this help", style=styles.MUTED))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
