"""The checklist's common causes, each marked from its evidence (✓ supported, ✗ not supported, ? unknown)
with the reading that decided it, best-supported first; then the section's resolution."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from probes.base import Reading
from probes.format import clean
from tui.triage.causes import CauseFinding
from tui.triage.plans import CausePlan
from tui.triage.runbook import Section
from tui.triage.shaping import reading_text
from tui.widgets import styles
from tui.widgets.render import causes_text, since

EVIDENCE_ROWS = 3  # rows of a cause's reading: the verdict says what they mean, these show it
MARKS = {"supported": "✓", "not supported": "✗", "unknown": "?"}
CLASSES = {
    "supported": "cause-list--supported",
    "not supported": "cause-list--not-supported",
    "unknown": "cause-list--unknown",
}


class CauseList(Static):
    """Common causes and resolution; `show_causes` draws the judged causes, `show_plain` the list alone."""

    COMPONENT_CLASSES = set(CLASSES.values())
    DEFAULT_CSS = """
    CauseList > .cause-list--supported { color: $success; text-style: bold; }
    CauseList > .cause-list--not-supported { color: $text-muted; }
    CauseList > .cause-list--unknown { color: $warning; }
    """

    def verdict_style(self, verdict: str) -> Style:
        # plain until the list's styles are applied: a verdict can arrive (from a worker) before that
        return self.get_component_rich_style(CLASSES[verdict], partial=True, default=Style.null())

    def verdict_text(self, finding: CauseFinding, *, mark: bool = True) -> Text:
        """ "✓ supported: 38 of 45 sessions idle in transaction…", the reason as plain text (never markup)."""
        text = Text()
        head = f"{MARKS[finding.verdict]} {finding.verdict}" if mark else finding.verdict
        text.append(head, style=self.verdict_style(finding.verdict))
        text.append(": ")
        text.append(clean(finding.reason))
        return text

    def show_section(
        self,
        section: Section | None,
        judged: Sequence[tuple[CauseFinding, CausePlan, Reading | None]],
        now: datetime,
    ) -> None:
        """The causes ranked with their verdicts and readings (or the plain list before the first round),
        then the resolution."""
        text = Text()
        if section is not None:
            text.append("Common causes", style=styles.HEADING)
            if judged:
                text.append("  best-supported first, judged from the evidence", style=styles.MUTED)
            text.append("\n")
            text.append_text(self._judged(judged, now) if judged else causes_text(section))
            text.append("\n\nResolution\n", style=styles.HEADING)
            text.append(clean(section.resolution, single_line=False) or "no resolution written")
        self.update(text)

    def _judged(
        self, judged: Sequence[tuple[CauseFinding, CausePlan, Reading | None]], now: datetime
    ) -> Text:
        text = Text()
        for finding, plan, reading in judged:
            text.append(f"{MARKS[finding.verdict]} ", style=self.verdict_style(finding.verdict))
            text.append(clean(plan.cause.text), style=styles.STRONG if finding.verdict == "supported" else "")
            for link in plan.cause.links:
                text.append(f"  → #{clean(link)}", style=styles.LINK)
            text.append("\n    ")
            text.append_text(self.verdict_text(finding, mark=False))
            if plan.read is not None and reading is not None:
                text.append_text(_evidence(plan, reading, now))
            text.append("\n")
        text.rstrip()
        return text


def _evidence(plan: CausePlan, reading: Reading, now: datetime) -> Text:
    """The reading under a cause: what was read and when, its problem, a few of its rows."""
    assert plan.read is not None
    text = Text()
    text.append("\n    ▸ ", style=styles.OK_STRONG if reading.ok else styles.WARNING_STRONG)
    text.append(clean(plan.read.note), style=styles.MUTED)
    if reading.read_at is not None:
        text.append(f" · read {since(reading.read_at, now)} ago", style=styles.MUTED)
    if reading.problem:
        text.append("\n      ! ", style=styles.WARNING)
        text.append(clean(reading.problem), style=styles.WARNING)
    for line in reading_text(reading, rows=EVIDENCE_ROWS).split("\n")[1:]:
        if not line.startswith("  ! "):
            text.append("\n    ")
            text.append(clean(line))
    hidden = max(0, len(reading.rows) - EVIDENCE_ROWS) + max(0, len(reading.lines) - EVIDENCE_ROWS)
    if hidden:
        noun = "row" if reading.columns else "line"
        text.append(f"\n    … {hidden} more {noun}{'s' if hidden > 1 else ''}", style=styles.MUTED)
    return text
