"""Pod detail (`d`): containers with state, last termination, resources, conditions and the pod's events."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from probes.format import clean
from probes.kubernetes.probe import KubeEvent
from probes.kubernetes.rows import PodRow
from tui.widgets.header import StatusHeader
from tui.widgets.kube_panels import event_line
from tui.widgets.pods import status_style
from tui.widgets.render import since


def pod_text(pod: PodRow, now: datetime) -> Text:
    text = Text()
    text.append(f"{clean(pod.namespace)}/", style="dim")
    text.append(clean(pod.name), style="bold")
    text.append("  ")
    text.append(clean(pod.status), style=status_style(pod.status))
    text.append(f"  ready {pod.ready}  restarts {pod.restarts}  age {since(pod.created_at, now)}")
    text.append(
        f"\nnode {clean(pod.node) or '<none>'}  ip {clean(pod.ip) or '-'}  owner {clean(pod.owner) or '-'}",
        style="dim",
    )
    if pod.message:
        text.append("\n")
        text.append(clean(pod.message), style="yellow")
    text.append("\n\nContainers\n", style="bold underline")
    for c in pod.containers:
        text.append("  init " if c.init else "  ", style="dim")
        text.append(clean(c.name), style="bold")
        text.append(f"  {clean(c.image)}\n", style="dim")
        state = c.state + (f" ({clean(c.reason)})" if c.reason else "")
        text.append(f"    state {state}", style=status_style(c.reason) if c.reason else "green")
        text.append(f"  ready {'yes' if c.ready else 'no'}  restarts {c.restarts}")
        if c.started_at:
            text.append(f"  since {since(c.started_at, now)}")
        text.append("\n")
        if c.last_termination_reason:
            text.append("    last state terminated: ", style="dim")
            text.append(
                clean(c.last_termination_reason),
                style="bold red" if c.last_termination_reason in ("OOMKilled", "Error") else "",
            )
            if c.last_exit_code is not None:
                text.append(f" (exit code {c.last_exit_code})")
            if c.last_finished_at:
                text.append(f" {since(c.last_finished_at, now)} ago")
            text.append("\n")
        text.append(
            f"    requests cpu {clean(c.requests_cpu) or '-'} memory {clean(c.requests_memory) or '-'}"
            f"   limits cpu {clean(c.limits_cpu) or '-'} memory {clean(c.limits_memory) or '-'}\n",
            style="dim",
        )
    if pod.conditions:
        text.append("\nConditions\n", style="bold underline")
        for cond in pod.conditions:
            text.append(
                f"  {clean(cond.type):<16} {clean(cond.status):<6}",
                style="" if cond.status == "True" else "yellow",
            )
            if cond.reason or cond.message:
                text.append(f" {clean(cond.reason)} {clean(cond.message)}", style="dim")
            text.append("\n")
    return text


class PodDetailScreen(Screen[None]):
    AUTO_FOCUS = "#pod-detail"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("l", "logs", "Logs"),
    ]

    def __init__(self, pod: PodRow) -> None:
        super().__init__()
        self.pod = pod

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        with VerticalScroll(id="pod-detail"):
            yield Static(id="pod-body")
            yield Static(Text("Events: loading…", style="dim"), id="pod-events")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#pod-body", Static).update(pod_text(self.pod, self.app.now))
        self.load_events()

    def show_events(self, events: tuple[KubeEvent, ...] | None, problem: str | None = None) -> None:
        text = Text("\nEvents\n", style="bold underline")
        if problem:
            text.append(clean(problem), style="yellow")
        elif not events:
            text.append("no events for this pod", style="dim")
        for event in events or ():
            text.append_text(event_line(event, self.app.now))
            text.append("\n")
        self.query_one("#pod-events", Static).update(text)

    def load_events(self) -> None:
        loader = getattr(self.app, "load_pod_events", None)
        if loader is None:
            self.show_events(None, "events come with the Kubernetes probe")
        else:
            self.run_worker(loader(self, self.pod), group="pod-events", exclusive=True)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_logs(self) -> None:
        from screens.logs import LogsScreen

        self.app.push_screen(LogsScreen(self.pod))
