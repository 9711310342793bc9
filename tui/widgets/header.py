"""The top bar: profile, DEMO or observer badge, and one health chip per source with its age."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

from rich.text import Text
from textual.widgets import Static

from probes.format import clean
from tui.widgets import styles
from tui.widgets.render import health_chip, since

if TYPE_CHECKING:
    from textual.signal import Signal

    from probes.base import SourceHealth
    from tui.config.settings import Settings
    from tui.sessions.store import IncidentSession


class HeaderState(Protocol):
    """What the header draws from: the app's clock, mode, followed session and each source's health."""

    @property
    def now(self) -> datetime: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def demo(self) -> bool: ...

    @property
    def observer(self) -> bool: ...

    @property
    def followed(self) -> IncidentSession | None: ...

    @property
    def store_notice(self) -> str | None: ...

    @property
    def healths(self) -> Mapping[str, SourceHealth]: ...

    @property
    def sessions_changed(self) -> Signal[IncidentSession | None]: ...


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

    @property
    def state(self) -> HeaderState:
        return cast("HeaderState", self.app)

    def on_mount(self) -> None:
        self.watch(self.app, "now", self.redraw)
        self.watch(self.app, "snapshot", self.redraw, init=False)
        self.state.sessions_changed.subscribe(self, self.redraw)

    def redraw(self, _changed: Any = None) -> None:
        app = self.state
        now = app.now
        text = Text.assemble(("oncall", styles.STRONG), "  ")
        if app.demo:
            text.append(" DEMO ", style=styles.DEMO_BADGE)
        else:
            text.append(f"profile {clean(app.settings.profile)}", style=styles.MUTED)
        if app.observer:
            text.append("  ")
            text.append(" 🔒 OBSERVER ", style=styles.OBSERVER_BADGE)
            followed = app.followed
            if app.store_notice:
                text.append(" ")
                text.append(clean(app.store_notice), style=styles.WARNING_STRONG)
            elif followed:
                text.append(" driven by ")
                text.append(clean(followed.driver), style=styles.STRONG)
                text.append(f" ({since(followed.last_change_at, now)} ago)", style=styles.MUTED)
            else:
                text.append(" waiting for a driver", style=styles.MUTED)
        for health in app.healths.values():
            text.append("   ")
            text.append_text(health_chip(health, now))
        self.update(text, layout=False)  # one line, always: no need to lay the screen out again
