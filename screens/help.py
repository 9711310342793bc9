"""The help screen: every key of the screen below it (the focused list's, the screen's, the app's), read from
the same bindings the footer shows, hidden ones included, grouped by where they work."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Input, OptionList, Static

from tui.widgets import styles
from tui.widgets.bindings import GROUPS, key_rows
from tui.widgets.virtual_table import VirtualTable


def heading(screen: Screen, group: str) -> str:
    """What a group of keys is called: where they work."""
    if group == "app":
        return "Everywhere"
    if group == "screen":
        return "This screen"
    focused = screen.focused
    if isinstance(focused, Input):
        return "This text field"
    if isinstance(focused, (OptionList, DataTable, VirtualTable)):
        return "This list"
    return "This pane"


def help_text(screen: Screen) -> Text:
    """The keys of `screen` as a table under a heading per group; the keys column as wide as its widest."""
    rows = key_rows(screen)
    width = max((len(row.keys) for row in rows), default=0) + 3
    text = Text()
    for group in GROUPS:
        in_group = [row for row in rows if row.group == group]
        if not in_group:
            continue
        if text:
            text.append("\n")
        text.append(f"{heading(screen, group)}\n", style=styles.HEADING)
        for row in in_group:
            text.append(row.keys.ljust(width), style=styles.HIGHLIGHT)
            text.append(f"{row.description}\n")
    return text


def open_help(app: App[object]) -> None:
    """`?`: the help of the screen on top (a modal's own keys on a modal), unless the help is that screen."""
    if not isinstance(app.screen, HelpScreen):
        app.push_screen(HelpScreen(app.screen))


class HelpScreen(ModalScreen[None]):
    AUTO_FOCUS = "#help"
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", key_display="?"),
        Binding("q", "dismiss", "Close", show=False),
        Binding("j", "scroll(1)", "Scroll down", show=False),
        Binding("k", "scroll(-1)", "Scroll up", show=False),
    ]

    def __init__(self, below: Screen) -> None:
        super().__init__()
        self.below = below

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="help"):
            yield Static(Text("Keys on this screen", style=styles.HEADING))
            yield Static(help_text(self.below), id="help-keys")
            yield Static(Text("esc or ? closes this help · j/k, pgup/pgdn scroll", style=styles.MUTED))

    def action_scroll(self, lines: int) -> None:
        self.query_one("#help", VerticalScroll).scroll_relative(y=lines, animate=False)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
