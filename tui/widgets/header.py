"""The top bar: profile, DEMO or observer badge, and one health chip per source with its age."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from probes.format import clean
from tui.widgets.render import health_chip, since


class StatusHeader(Static):
    """Draws itself from the app's state, every second and whenever a poll or a session changes."""

    DEFAULT_CSS = """
    StatusHeader {
        height: 1;
        background: $panel;
        color: $text;
        padding: 0 1;
    }
    """

    def on_mount(self) -> None:
        self.watch(self.app, "now", self.redraw)
        self.watch(self.app, "snapshot", self.redraw, init=False)
        self.app.sessions_changed.subscribe(self, self.redraw)

    def redraw(self, _changed: Any = None) -> None:
        app: Any = self.app
        now = app.now
        text = Text.assemble(("oncall", "bold"), "  ")
        if app.demo:
            text.append(" DEMO ", style="bold black on yellow")
        else:
            text.append(f"profile {clean(app.settings.profile)}", style="dim")
        if app.observer:
            text.append("  ")
            text.append(" 🔒 OBSERVER ", style="bold white on dark_blue")
            followed = app.followed
            if app.store_notice:
                text.append(" ")
                text.append(clean(app.store_notice), style="bold yellow")
            elif followed:
                text.append(" driven by ")
                text.append(clean(followed.driver), style="bold")
                text.append(f" ({since(followed.last_change_at, now)} ago)", style="dim")
            else:
                text.append(" waiting for a driver", style="dim")
        for health in app.healths.values():
            text.append("   ")
            text.append_text(health_chip(health, now))
        self.update(text, layout=False)  # one line, always: no need to lay the screen out again
