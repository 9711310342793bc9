"""The Events and Deploys tabs: plain reads of the cluster, each with its own health line (the Deploys tab's
Helm history is off unless [kubernetes] helm_history is on: it then says so, and how to turn it on)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from probes.format import clean
from tui.widgets import styles
from tui.widgets.dialogs import ShowText
from tui.widgets.render import since
from tui.widgets.virtual_table import Column, VirtualTable

if TYPE_CHECKING:  # the models load with the first reads, after the first alerts are drawn
    from probes.kubernetes import HelmRevision, KubeEvent, ResourceSnapshot

NO_EVENTS = "no events in this namespace"


def event_line(event: KubeEvent, now: datetime) -> Text:
    """One event as `kubectl get events` shows it: age, type, reason, object, message."""
    line = Text()
    line.append(f"{since(event.last_seen, now):>5} ", style=styles.MUTED)
    line.append(
        f"{clean(event.type):<8}", style=styles.WARNING_STRONG if event.type == "Warning" else styles.MUTED
    )
    line.append(f"{clean(event.reason):<18} ", style=styles.STRONG)
    line.append(f"{clean(event.object)} ", style=styles.CODE)
    if event.count > 1:
        line.append(f"×{event.count} ", style=styles.MUTED)
    line.append(clean(event.message))
    return line


def read_problem(snapshot: ResourceSnapshot[object], now: datetime) -> Text | None:
    """What went wrong with a read, and how old the rows still shown are; None when it is fine."""
    health = snapshot.health
    if health.answering:
        return None
    if health.state == "not-configured" and not snapshot.items:
        # a read left off on purpose (Helm history by default): the reason and how to turn it on, no alarm
        return Text(clean(health.last_error or "not configured"), style=styles.MUTED)
    text = Text(
        f"{snapshot.resource} {health.state}: ",
        style=styles.FIRING if health.state != "not-configured" else styles.MUTED,
    )
    text.append(clean(health.last_error or ""))
    if snapshot.items and snapshot.fetched_at:
        text.append(f" — showing what was read {since(snapshot.fetched_at, now)} ago", style=styles.WARNING)
    return text


class ReadPanel(VerticalScroll):
    """A scrolling list of lines from one read; says plainly when the read failed."""

    DEFAULT_CSS = """
    ReadPanel { padding: 0 1; }
    """

    def __init__(self, placeholder: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        yield Static(Text(self.placeholder, style=styles.MUTED), classes="read-body")

    def show_lines(self, problem: Text | None, lines: Sequence[Text], empty: str) -> None:
        text = Text()
        if problem is not None:
            text.append_text(problem)
            text.append("\n")
        if not lines and problem is None:
            text.append(clean(empty), style=styles.MUTED)  # it may name what the runbook or server wrote
        for line in lines:
            text.append_text(line)
            text.append("\n")
        text.rstrip()
        self.query_one(".read-body", Static).update(text)


class EventsPanel(Vertical):
    """`kubectl get events` as a table: `/` filters it, `s` sorts it, enter shows one event's whole message;
    the line above says when the read failed (the events read before stay listed) or that there are none."""

    DEFAULT_CSS = """
    EventsPanel { padding: 0 1; }
    EventsPanel > Static { height: auto; }
    EventsPanel > VirtualTable { height: 1fr; }
    """
    BINDINGS = [Binding("enter", "detail", "Full event")]

    def __init__(self, placeholder: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.placeholder = placeholder
        self.read_at = datetime.now(UTC)  # the ages are those of the last read, as kubectl's would be
        self.table: VirtualTable[KubeEvent] = VirtualTable(
            self._columns(),
            key=lambda e: f"{e.namespace}/{e.object}/{e.reason}/{e.first_seen}",
            search_text=lambda e: f"{e.type} {e.reason} {e.object} {e.message} {e.source}",
            empty=NO_EVENTS,
            what="events",
            sort_cycle=("age", "type", "reason", "object", "count"),
            id="events-table",
        )
        self.table.display = False

    def _columns(self) -> list[Column[KubeEvent]]:
        def type_cell(e: KubeEvent) -> Text:
            return Text(clean(e.type), style=styles.WARNING_STRONG if e.type == "Warning" else styles.MUTED)

        def seen(e: KubeEvent) -> float:
            return -(e.last_seen.timestamp() if e.last_seen else 0)

        return [
            Column(
                "age",
                "AGE",
                5,
                lambda e: Text(since(e.last_seen, self.read_at), style=styles.MUTED),
                sort_key=seen,
            ),
            Column("type", "TYPE", 8, type_cell, sort_key=lambda e: (e.type != "Warning", e.type)),
            Column(
                "reason",
                "REASON",
                18,
                lambda e: Text(clean(e.reason), style=styles.STRONG),
                sort_key=lambda e: e.reason,
            ),
            Column(
                "object",
                "OBJECT",
                36,
                lambda e: Text(clean(e.object), style=styles.CODE),
                sort_key=lambda e: e.object,
            ),
            Column(
                "count",
                "COUNT",
                6,
                lambda e: Text(str(e.count) if e.count > 1 else "", style=styles.MUTED),
                sort_key=lambda e: -e.count,
                descending=True,
            ),
            Column("message", "MESSAGE", 200, lambda e: Text(clean(e.message))),
        ]

    def compose(self) -> ComposeResult:
        yield Static(Text(self.placeholder, style=styles.MUTED), id="events-status")
        yield self.table

    def show_events(self, problem: Text | None, events: Sequence[KubeEvent], now: datetime) -> None:
        """One read: the problem if it failed (the events read before stay listed), else how many."""
        self.read_at = now
        status = self.query_one("#events-status", Static)
        if problem is not None:
            status.update(problem)
        elif not events:
            status.update(Text(NO_EVENTS, style=styles.MUTED))
        else:
            warnings = sum(1 for e in events if e.type == "Warning")
            text = Text(f"{len(events)} events", style=styles.STRONG)
            if warnings:
                text.append(f" · {warnings} warnings", style=styles.WARNING)
            text.append(" · enter shows one in full", style=styles.MUTED)
            status.update(text)
        self.table.display = bool(events)
        self.table.set_items(events)
        self.table.redraw()  # the ages are the new read's

    def action_detail(self) -> None:
        event = self.table.selected
        if event is None or not self.table.display:
            return
        title = f"{clean(event.type)} {clean(event.reason)} · {clean(event.object)}"
        if event.count > 1:
            title += f" · ×{event.count}"
        body = clean(event.message, single_line=False)
        if event.source:
            body += f"\n\nreported by {clean(event.source)}"
        self.post_message(ShowText(title, body))


def helm_lines(snapshot: ResourceSnapshot[HelmRevision], now: datetime) -> list[Text]:
    lines = []
    for rev in snapshot.items:
        line = Text()
        line.append(f"{clean(rev.release)} ", style=styles.STRONG)
        line.append(f"rev {rev.revision:<4}", style=styles.STRONG)
        style = {"deployed": styles.OK, "failed": styles.FIRING, "superseded": styles.MUTED}.get(
            rev.status, styles.WARNING
        )
        line.append(f"{clean(rev.status):<16}", style=style)
        line.append(f"{since(rev.updated, now):>6} ago  ", style=styles.MUTED)
        line.append(f"{clean(rev.chart)}  app {clean(rev.app_version)}  ")
        line.append(clean(rev.description), style=styles.ITALIC)
        lines.append(line)
    return lines
