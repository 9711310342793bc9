"""The `:` command line: one line at the bottom over the screen it was opened on; enter runs, esc closes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Input

from tui.widgets.command_line import CommandSuggester

PLACEHOLDER = "pods pg redis slowlog events logs deploys · ns NAME|all · ctx NAME · runbook SLUG · q"


class CommandLineScreen(ModalScreen[str | None]):
    """Answers the line typed (the app runs it), or None on esc; tab or → takes the completion shown."""

    DEFAULT_CSS = """
    CommandLineScreen { align: left bottom; background: $background 0%; }
    CommandLineScreen > Input#command-line { dock: bottom; width: 100%; border: tall $accent; }
    """
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("tab", "complete", "Complete", priority=True),
    ]

    def __init__(self, names: Mapping[str, Sequence[str]]) -> None:
        super().__init__()
        self.names = names  # what each command's argument completes from

    def compose(self) -> ComposeResult:
        yield Input(placeholder=PLACEHOLDER, suggester=CommandSuggester(self.names), id="command-line")

    def on_mount(self) -> None:
        line = self.query_one(Input)
        line.border_title = ":command · tab completes · enter runs · esc closes"
        line.focus()

    @on(Input.Submitted)
    def _run(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_complete(self) -> None:
        line = self.query_one(Input)
        line.cursor_position = len(line.value)
        line.action_cursor_right()  # at the end, → takes the suggestion

    def action_close(self) -> None:
        self.dismiss(None)
