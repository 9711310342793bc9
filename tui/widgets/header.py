"""The top bar: profile, DEMO or observer badge, and one health chip per source with its age."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from probes.health import SourceHealth
from tui.core.store import IncidentSession
from tui.core.text import clean
from tui.widgets.render import health_chip, since


class StatusHeader(Static):
    DEFAULT_CSS = """
    StatusHeader {
        height: 1;
        background: $panel;
        color: $text;
        padding: 0 1;
    }
    """

    def show(
        self,
        *,
        profile: str,
        demo: bool,
        observer: bool,
        followed: IncidentSession | None,
        healths: list[SourceHealth],
        now: datetime,
    ) -> None:
        text = Text.assemble(("oncall", "bold"), "  ")
        text.append(f"profile {clean(profile)}", style="dim")
        if demo:
            text.append("  ")
            text.append(" DEMO ", style="bold black on yellow")
        if observer:
            text.append("  ")
            text.append(" 🔒 OBSERVER ", style="bold white on dark_blue")
            if followed:
                text.append(" driven by ")
                text.append(clean(followed.driver), style="bold")
                text.append(f" ({since(followed.last_change_at, now)} ago)", style="dim")
            else:
                text.append(" waiting for a driver", style="dim")
        for health in healths:
            text.append("   ")
            text.append_text(health_chip(health, now))
        self.update(text)
