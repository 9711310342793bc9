"""The runbook pane beside the alerts table: the selected alert's section, the cause its evidence supports
best, and its checklist progress."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.style import Style
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

if TYPE_CHECKING:
    from tui.triage.causes import CauseFinding


KEPT_CAUSES = 256  # alerts whose judged causes are kept (the shown one always); others are judged again


class RunbookPane(VerticalScroll):
    COMPONENT_CLASSES = {"runbook-pane--cause", "runbook-pane--no-cause"}
    DEFAULT_CSS = """
    RunbookPane { padding: 0 1; }
    RunbookPane > Static { width: 1fr; }
    RunbookPane > .runbook-pane--cause { color: $success; text-style: bold; }
    RunbookPane > .runbook-pane--no-cause { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[FiringAlert, SectionMatch, IncidentSession | None] | None = None
        self._causes: dict[str, tuple[CauseFinding, ...]] = {}  # alert fingerprint -> its causes, ranked
        self.paused = False  # refresh paused (P): an alert not judged yet waits for P

    def show_causes(self, alert: FiringAlert, findings: tuple[CauseFinding, ...]) -> None:
        """The alert's causes as just judged; drawn now if it is the alert shown."""
        causes = self._causes
        causes.pop(alert.fingerprint, None)  # the newest judgement last: the oldest go first
        causes[alert.fingerprint] = findings
        if len(causes) > KEPT_CAUSES:  # alerts come and go through a long incident: not one entry each
            shown = self._shown[0].fingerprint if self._shown is not None else None
            for fingerprint in [fp for fp in causes if fp != shown][: len(causes) - KEPT_CAUSES]:
                del causes[fingerprint]
        if self._shown is not None and self._shown[0].fingerprint == alert.fingerprint:
            self.show(*self._shown)

    def _style(self, component: str) -> Style:
        # plain until the pane's styles are applied: a verdict can arrive (from a worker) before that
        return self.get_component_rich_style(component, partial=True, default=Style.null())

    def cause_line(self, alert: FiringAlert) -> Text:
        """ "likely cause: NAME — reason" for the best-supported cause, or that none is supported (yet)."""
        findings = self._causes.get(alert.fingerprint)
        muted = self._style("runbook-pane--no-cause")
        if findings is None:
            why = "refresh paused: P reads it" if self.paused else "the evidence is being read"
            return Text(f"likely cause: not judged yet ({why})", style=muted)
        from tui.triage.causes import top_cause  # here: judged findings exist, so the reads have loaded

        top = top_cause(findings)
        if top is None:
            return Text("no cause supported by the evidence yet", style=muted)
        text = Text()
        text.append("likely cause: ", style=self._style("runbook-pane--cause"))
        text.append(clean(top.name), style=styles.STRONG)
        text.append(" — ")
        text.append(clean(top.reason))  # a server's strings inside: plain text, never markup
        return text

    def compose(self) -> ComposeResult:
        yield Static(
            Text("Select an alert to see its runbook section.", style=styles.MUTED), id="runbook-body"
        )

    def show_message(self, message: Text) -> None:
        # a pane being torn down (the app quitting mid-update) has nothing left to draw into
        for body in self.query("#runbook-body").results(Static):
            body.update(message)

    def show_reading(self, alert: FiringAlert) -> None:
        """The alert is selected but the runbook is still being read (start-up): its section comes next."""
        self._shown = None
        text = Text()
        text.append(clean(alert.name), style=styles.STRONG)
        text.append("\nreading the runbook…\n\n", style=styles.MUTED)
        text.append("enter", style=styles.KEY_HINT)
        text.append(" open the checklist", style=styles.MUTED)
        self.show_message(text)

    def show(self, alert: FiringAlert, match: SectionMatch, session: IncidentSession | None) -> None:
        self._shown = (alert, match, session)
        text = Text()
        if match.section is None:
            text.append_text(unmapped_text(alert.name, match))
        else:
            text.append(f"#{match.section.slug}", style=styles.LINK)
            text.append(f"  matched by {match.via}\n", style=styles.MUTED)
            text.append_text(self.cause_line(alert))
            text.append("\n")
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
