"""The runbook pane beside the alerts table: the selected alert's section and its checklist progress."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from probes.format import clean
from probes.prometheus import FiringAlert
from tui.sessions.store import IncidentSession
from tui.triage.runbook import SectionMatch
from tui.widgets.render import clock_time, section_text, unmapped_text


class RunbookPane(VerticalScroll):
    DEFAULT_CSS = """
    RunbookPane { padding: 0 1; }
    RunbookPane > Static { width: 1fr; }
    """

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(Text("Select an alert to see its runbook section.", style="dim"), id="runbook-body")

    def show_message(self, message: Text) -> None:
        # a pane being torn down (the app quitting mid-update) has nothing left to draw into
        for body in self.query("#runbook-body").results(Static):
            body.update(message)

    def show(self, alert: FiringAlert, match: SectionMatch, session: IncidentSession | None) -> None:
        text = Text()
        if match.section is None:
            text.append_text(unmapped_text(alert.name, match))
        else:
            text.append(f"#{match.section.slug}", style="bold magenta")
            text.append(f"  matched by {match.via}\n", style="dim")
            text.append_text(section_text(match.section, session))
        text.append("\n\n")
        if session:
            text.append(f"Session #{session.id}", style="bold")
            text.append(f" opened {clock_time(session.opened_at)} by ")
            text.append(clean(session.opened_by), style="bold")
            if session.resolved_at:
                text.append(f", resolved {clock_time(session.resolved_at)}", style="green")
            text.append("\n")
        text.append("enter", style="bold reverse")
        text.append(" open the checklist", style="dim")
        self.show_message(text)
