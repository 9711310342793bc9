"""The Events and Deploys tabs: plain reads of the cluster, each with its own health line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from probes.format import clean
from probes.kubernetes import HelmRevision, KubeEvent, ResourceSnapshot
from tui.widgets import styles
from tui.widgets.render import since


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


def events_lines(snapshot: ResourceSnapshot[KubeEvent], now: datetime) -> list[Text]:
    return [event_line(e, now) for e in snapshot.items]


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
