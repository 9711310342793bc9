"""The Pods tab: every pod as kubectl shows it, in a virtual table, with the alert's component first."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from probes import kubernetes as kube  # its row functions load with the first pods (probes.lazy)
from probes.base import SourceHealth
from probes.format import clean
from tui.triage.selectors import Selector, matches
from tui.widgets import styles
from tui.widgets.render import since
from tui.widgets.styles import FAILED_POD_STATUSES, status_style
from tui.widgets.virtual_table import Column, VirtualTable

if TYPE_CHECKING:
    from probes.kubernetes import PodRow


def usage(used: float | None, request: str, limit: str, unit: str) -> Text:
    """Usage against the limit (or the request): `120m 48%`, red from 90% of the limit."""
    if used is None:
        return Text("-", style=styles.MUTED)
    shown = f"{used * 1000:.0f}m" if unit == "cpu" else f"{used / 2**20:.0f}Mi"
    against = kube.parse_quantity(limit) or kube.parse_quantity(request)
    if not against:
        return Text(shown)
    share = used / against
    style = styles.FIRING if limit and share >= 0.9 else styles.WARNING if share >= 0.75 else styles.PLAIN
    return Text(f"{shown} {share:.0%}", style=style)


class PodsPanel(Vertical):
    """The table filters with / and sorts with s (S reverses); the selected alert's pods come first."""

    DEFAULT_CSS = """
    PodsPanel { height: 1fr; }
    PodsPanel > #pods-status { height: 1; padding: 0 1; }
    """
    BINDINGS = [
        Binding("d", "detail", "Pod detail"),
        Binding("enter", "detail", "Pod detail", show=False),
        Binding("l", "logs", "Pod logs"),
    ]

    class DetailRequested(Message):
        """`d` or enter on a pod: the screen shows its detail."""

        def __init__(self, pod: PodRow) -> None:
            super().__init__()
            self.pod = pod

    class LogsRequested(Message):
        """`l` on a pod: the screen shows its logs."""

        def __init__(self, pod: PodRow) -> None:
            super().__init__()
            self.pod = pod

    def __init__(self, now: Callable[[], datetime] = lambda: datetime.now(UTC), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.now = now
        self.usage: Mapping[str, tuple[float, float]] = {}  # pod key → (cpu cores, memory bytes)
        self._summary_text = Text("listing pods…", style=styles.MUTED)
        self._health: SourceHealth | None = None
        self.table: VirtualTable[PodRow] = VirtualTable(
            self._columns(),
            key=lambda p: p.key,
            search_text=self._search_text,
            empty="no pods",
            what="pods",
            sort_cycle=("status", "restarts", "name", "age", "node"),
            id="pods-table",
        )

    def _columns(self) -> list[Column[PodRow]]:
        def age(p: PodRow) -> float:
            return -(p.created_at.timestamp() if p.created_at else 0)

        return [
            Column(
                "name",
                "NAME",
                34,
                lambda p: Text(clean(p.name), style=styles.STRONG),
                sort_key=lambda p: p.name,
            ),
            Column("ready", "READY", 5, lambda p: Text(p.ready)),
            Column(
                "status",
                "STATUS",
                17,
                lambda p: Text(clean(p.status), style=status_style(p.status)),
                sort_key=lambda p: (p.status not in FAILED_POD_STATUSES, p.status == "Running", p.status),
            ),
            Column(
                "restarts",
                "RESTARTS",
                12,
                lambda p: Text(kube.restarts_text(p, self.now())),
                sort_key=lambda p: -p.restarts,
                descending=True,
            ),
            Column(
                "last",
                "LAST EXIT",
                10,
                lambda p: Text(
                    clean(p.last_termination_reason), style=styles.FIRING if p.oom_killed else styles.PLAIN
                ),
            ),
            Column("cpu", "CPU", 9, lambda p: self._usage(p, 0)),
            Column("memory", "MEMORY", 10, lambda p: self._usage(p, 1)),
            Column("node", "NODE", 14, lambda p: Text(clean(p.node) or "<none>"), sort_key=lambda p: p.node),
            Column("age", "AGE", 5, lambda p: Text(since(p.created_at, self.now())), sort_key=age),
            # last: one namespace is the usual view; `:ns all` still tells pods apart, and 80 columns show
            # what matters first (name, ready, status, restarts)
            Column(
                "namespace",
                "NAMESPACE",
                12,
                lambda p: Text(clean(p.namespace)),
                sort_key=lambda p: p.namespace,
            ),
        ]

    def _usage(self, pod: PodRow, which: int) -> Text:
        used = self.usage.get(pod.key)
        containers = [c for c in pod.containers if not c.init]
        if which == 0:
            return usage(
                used[0] if used else None,
                _sum(c.requests_cpu for c in containers),
                _sum(c.limits_cpu for c in containers),
                "cpu",
            )
        return usage(
            used[1] if used else None,
            _sum(c.requests_memory for c in containers),
            _sum(c.limits_memory for c in containers),
            "memory",
        )

    @staticmethod
    def _search_text(pod: PodRow) -> str:
        return f"{pod.namespace}/{pod.name} {pod.status} {pod.node} {pod.last_termination_reason}"

    def compose(self) -> ComposeResult:
        yield Static(id="pods-status")
        yield self.table

    # -- data in ----------------------------------------------------------------------------------

    def show_pods(self, pods: Sequence[PodRow]) -> None:
        # while the first list comes in pages, the table is as tall as the list will be
        self.table.set_items(
            pods, expected=0 if getattr(pods, "complete", True) else getattr(pods, "expected", 0)
        )
        self._summary(pods)

    def show_state(self, message: Text) -> None:
        # one line, updated at every pod change: a layout pass each time would cost a frame
        self.query_one("#pods-status", Static).update(message, layout=False)

    def show_health(self, health: SourceHealth) -> None:
        """The pod watch's health: when it fails, the status line says why and how old the pods shown are."""
        quiet = not _failing(self._health) and not _failing(health)
        self._health = health
        if not quiet:  # called every second for the age: a healthy line is redrawn only when pods change
            self.show_state(self._state_text())

    def _state_text(self) -> Text:
        health = self._health
        if health is None or not _failing(health):
            return self._summary_text
        text = Text(f"Kubernetes {health.state}: ", style=styles.FIRING)
        text.append(clean(health.last_error or "no answer"))
        if health.last_success is not None:
            text.append(
                f" — showing pods read {since(health.last_success, self.now())} ago", style=styles.WARNING
            )
        else:
            text.append(" — no pods read yet", style=styles.WARNING)
        return text

    def set_component(self, selectors: Sequence[Selector]) -> None:
        """Put the pods the selected alert's runbook section names (its `-l` selectors) first."""
        if not selectors:
            self.table.set_priority(None)
            return
        self.table.set_priority(lambda p: 0 if any(matches(p.labels, s) for s in selectors) else 1)

    def set_usage(self, usage: Mapping[str, tuple[float, float]]) -> None:
        self.usage = usage
        self.table.redraw()

    def _summary(self, pods: Sequence[PodRow]) -> None:
        failing = oom = pending = 0
        for p in pods:  # one pass: this runs on every change of a 10,000-pod cache
            failing += p.status in FAILED_POD_STATUSES
            oom += p.oom_killed
            pending += p.phase == "Pending"
        if getattr(pods, "complete", True):
            text = Text(f"{len(pods)} pods", style=styles.STRONG)
        else:  # the first list is still coming in pages: say how far it has got, never a total it isn't
            expected = getattr(pods, "expected", 0)
            text = Text("loading… ", style=styles.WARNING)
            of = f" of ~{expected}" if expected > len(pods) else " so far"
            text.append(f"{len(pods)}{of} pods", style=styles.STRONG)
        if failing:
            text.append(f" · {failing} failing", style=styles.FIRING)
        if oom:
            text.append(f" · {oom} OOMKilled", style=styles.FIRING)
        if pending:
            text.append(f" · {pending} pending", style=styles.WARNING)
        self._summary_text = text
        self.show_state(self._state_text())

    # -- keys ---------------------------------------------------------------------------------------

    def action_detail(self) -> None:
        if self.table.selected is not None:
            self.post_message(self.DetailRequested(self.table.selected))

    def action_logs(self) -> None:
        if self.table.selected is not None:
            self.post_message(self.LogsRequested(self.table.selected))


def _sum(quantities: Iterable[str]) -> str:
    """The sum of the containers' quantities as a plain number string ("" when none is set)."""
    values = [kube.parse_quantity(q) for q in quantities if q]
    return str(sum(v for v in values if v is not None)) if values else ""


def _failing(health: SourceHealth | None) -> bool:
    return health is not None and not health.answering and health.state != "not-configured"
