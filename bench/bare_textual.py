"""The competitor of `bench.start_bench`: a bare Textual app that shows one line, nothing else."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Static

LINE = "bare textual app ready"


class BareApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Static(LINE)


if __name__ == "__main__":
    BareApp().run()
