"""Pod detail (`d`): containers with state, last termination, resources, conditions and the pod's events."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from probes.kubernetes import PodRow
from screens.contract import ConsoleScreen
from tui.widgets import styles
from tui.widgets.footer import KeyFooter
from tui.widgets.header import StatusHeader
from tui.widgets.pod_view import pod_events_text, pod_text


class PodDetailScreen(ConsoleScreen[None]):
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
            yield Static(Text("Events: loading…", style=styles.MUTED), id="pod-events")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#pod-body", Static).update(pod_text(self.pod, self.console.now))
        self.run_worker(self._load_events(), group="pod-events", exclusive=True)

    async def _load_events(self) -> None:
        events, problem = await self.console.pod_events(self.pod)
        self.query_one("#pod-events", Static).update(pod_events_text(events, problem, self.console.now))

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_logs(self) -> None:
        from screens.logs import LogsScreen

        self.app.push_screen(LogsScreen(self.pod))
