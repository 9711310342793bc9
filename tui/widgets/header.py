"""The top bar: profile, DEMO, LAB or observer badge, the session store's marks (also driven by, not yet
shared, read-only) and one health chip per source with its age."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, cast

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


class KubePlace(NamedTuple):
    """Where Kubernetes is read from: the kubeconfig context, and the namespace (None: all namespaces)."""

    context: str | None
    namespace: str | None


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

    @property
    def paused(self) -> bool: ...

    @property
    def refresh_every(self) -> str: ...  # "5s", or "2-5s" while the sources keep their own

    @property
    def kube_place(self) -> KubePlace | None: ...

    @property
    def also_driven_by(self) -> str | None: ...  # a driver: who else changed its session lately

    @property
    def unshared(self) -> int: ...  # changes queued locally while the shared store can't be reached

    @property
    def store_status(self) -> str | None: ...  # the store's notice in a few words: read-only, unreachable


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

    def on_unmount(self) -> None:
        # Textual's Signal keeps a subscriber (weak key, but its callback holds it strongly) until the next
        # publish: without this the header of every screen closed (checklist, pod, logs…) stayed in memory
        self.state.sessions_changed.unsubscribe(self)

    def on_resize(self) -> None:
        self.redraw()

    def redraw(self, _changed: Any = None) -> None:
        width = self.content_region.width
        for level in range(LEVELS):  # the widest that fits: chips shorten first, then the extras go
            text = self.line(level)
            if width <= 0 or text.cell_len <= width:
                break
        self.update(text, layout=False)  # one line, always: no need to lay the screen out again

    def line(self, level: int) -> Text:
        """The header at a level of detail: 0 says everything in words, LEVELS - 1 keeps only what matters
        (the mode's badge, who drives, changes not yet shared, every source's health, paused)."""
        app = self.state
        now = app.now
        compact = level >= 1
        gap = "  " if compact else "   "
        text = Text()
        if level < 3:
            text.append_text(Text.assemble(("oncall", styles.STRONG), "  "))
        if app.demo:
            text.append(" DEMO ", style=styles.DEMO_BADGE)
        elif level < 2:
            text.append(f"profile {clean(app.settings.profile)}", style=styles.MUTED)
        if app.settings.lab_factor:  # a game-day lab: its alerts fire N times sooner than in production
            text.append(" ")
            text.append(f" LAB ×{app.settings.lab_factor} ", style=styles.DEMO_BADGE)
        if app.observer:
            text.append(" ")
            text.append(" 🔒 OBSERVER ", style=styles.OBSERVER_BADGE)
            followed = app.followed
            if app.store_notice:
                text.append(" ")
                text.append(clean(app.store_notice), style=styles.WARNING_STRONG)
            elif followed:
                text.append(" " if level >= 3 else " driven by ")
                text.append(clean(followed.driver), style=styles.STRONG)
                if level < 3:
                    text.append(f" ({since(followed.last_change_at, now)} ago)", style=styles.MUTED)
            elif level < 3:
                text.append(" waiting for a driver", style=styles.MUTED)
        elif (other := app.also_driven_by) is not None:
            text.append(" ")
            text.append(f"⚠ also driven by {clean(other)}", style=styles.WARNING_STRONG)
        if app.unshared:
            text.append(gap)
            text.append(f"⏳ {app.unshared} not yet shared", style=styles.WARNING_STRONG)
        if app.store_status and level < 3:
            text.append(gap)
            text.append(f"⚠ {clean(app.store_status)}", style=styles.WARNING)
        for health in app.healths.values():
            text.append(gap)
            text.append_text(health_chip(health, now, compact=compact))
        place = app.kube_place
        if place is not None and level < 3:
            text.append(gap)
            text.append_text(place_text(place, with_context=level < 2))
        if app.paused:
            text.append(gap)
            text.append("⏸ paused", style=styles.WARNING_STRONG)
        elif level < 2:
            text.append(gap)
            text.append(f"every {app.refresh_every}", style=styles.MUTED)
        return text


LEVELS = 4


def place_text(place: KubePlace, *, with_context: bool) -> Text:
    """`ns production @sim`, or `ns all` across every namespace; names are untrusted text."""
    text = Text("ns ", style=styles.MUTED)
    text.append("all" if place.namespace is None else clean(place.namespace), style=styles.STRONG)
    if with_context and place.context:
        text.append(f" @{clean(place.context)}", style=styles.MUTED)
    return text
