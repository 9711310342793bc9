"""The runbook pane beside the alerts table: the selected alert's section and its checklist progress."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from probes.format import clean
from probes.prometheus import FiringAlert
from tui.sessions.store import IncidentSession
from tui.triage.runbook import SectionMatch
from tui.widgets import styles
from tui.widgets.render import clock_time, section_text, unmapped_text


class RunbookPane(VerticalScroll):
    DEFAULT_CSS = """
    RunbookPane { padding: 0 1; }
    RunbookPane > Static { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Static(
            Text("Select an alert to see its runbook section.", style=styles.MUTED), id="runbook-body"
        )

    def show_message(self, message: Text) -> None:
        # a pane being torn down (the app quitting mid-update) has nothing left to draw into
        for body in self.query("#runbook-body").results(Static):
            body.update(message)

    def show(self, alert: FiringAlert, match: SectionMatch, session: IncidentSession | None) -> None:
        text = Text()
        if match.section is None:
            text.append_text(unmapped_text(alert.name, match))
        else:
            text.append(f"#{match.section.slug}", style=styles.LINK)
            text.append(f"  matched by {match.via}\n", style=styles.MUTED)
            text.append_text(section_text(match.section, session))
        text.append("\n\n")
        if session:
            text.append(f"Session #{session.id}", style=styles.STRONG)
            text.append(f" opened {clock_time(session.opened_at)} by ")
            text.append(clean(session.opened_by), style=styles.STRONG)
            if session.resolved_at:
                text.append(f", resolved {clock_time(session.resolved_at)}", style=styles.OK)
            text.append("\n")
        text.append("enter", style=styles.KEY_HINT)
        text.append(" open the checklist", style=styles.MUTED)
        self.show_message(text)
