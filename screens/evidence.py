"""What the checklist writes under a step: its commands (never-run ones with why) and its readings, folded
to a few rows (saying how many more), stored with a tick, or in full for the evidence view."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from probes.base import Reading
from probes.format import clean
from tui.sessions.store import NOT_READ
from tui.triage.commands import Mutating, Unknown
from tui.triage.plans import StepPlan
from tui.triage.runner import EXPENSIVE
from tui.triage.shaping import reading_text
from tui.widgets import styles
from tui.widgets.render import since

ROWS_SELECTED = 12  # rows of a reading under the selected step
ROWS_OTHER = 3  # under the others: enough to see the answer, not to drown the list
GUARD_REFUSED = "the PostgreSQL guard refused it: "  # an Unknown's reason when the SQL guard said no
REFUSED = "refused: "  # a reading's problem when the source's guard refused the statement unsent


def evidence_text(plan: StepPlan, readings: tuple[Reading, ...] | None, now: datetime, *, rows: int) -> Text:
    """Under a step: what each command is (never-run ones with why), then each reading, all as plain text."""
    text = Text()
    for command in plan.commands:
        if isinstance(command, Mutating):
            text.append("\n    ⚠ never run: ", style=styles.WARNING_STRONG)
            text.append(clean(command.reason), style=styles.WARNING)
        elif isinstance(command, Unknown) and command.reason.startswith(GUARD_REFUSED):
            text.append("\n    ! not run: ", style=styles.WARNING_STRONG)
            text.append(clean(command.reason.removeprefix(GUARD_REFUSED)), style=styles.WARNING)
        elif isinstance(command, Unknown):
            text.append("\n    copy only: ", style=styles.MUTED)
            text.append(clean(command.reason), style=styles.MUTED)
    if plan.kind == "manual":
        text.append("\n    manual step: no live evidence; check it by hand", style=styles.MUTED_ITALIC)
        return text
    if not plan.reads:
        return text
    if readings is None:
        text.append("\n    reading…", style=styles.MUTED)
        return text
    for read, reading in zip(plan.reads, readings, strict=False):
        text.append("\n    ▸ ", style=styles.OK_STRONG if reading.ok else styles.WARNING_STRONG)
        label = "translated" if read.translated else "derived" if plan.kind == "derived" else "live"
        text.append(f"{label} · {reading.source}", style=styles.MUTED)
        what = _beyond_command(plan, reading.what)  # a command is printed once, in the step's own line
        if what:
            text.append(" · ", style=styles.MUTED)
            text.append(clean(what), style=styles.MUTED)
        if reading.read_at is not None:  # the key sampler's shared sample: when it was taken
            verb = "sampled" if read.read in EXPENSIVE else "read"
            text.append(f" · {verb} {since(reading.read_at, now)} ago", style=styles.MUTED)
        if read.note:
            text.append(f"\n      {clean(read.note)}", style=styles.MUTED_ITALIC)
        if reading.problem:
            text.append_text(problem_text(reading.problem))
        for line in reading_text(reading, rows=rows).split("\n")[1:]:
            if line.startswith("  ! "):
                continue  # the problem, shown above in its colour
            text.append("\n    ")
            text.append(clean(line))
        text.append_text(folded(reading, rows, hint=" (enter: full evidence)"))
    return text


def problem_text(problem: str) -> Text:
    """Why a read gave nothing: a statement the guard refused unsent says it was not run, and why."""
    if problem.startswith(REFUSED):
        return Text.assemble(
            ("\n      ! not run: ", styles.WARNING_STRONG),
            (clean(problem.removeprefix(REFUSED)), styles.WARNING),
        )
    return Text.assemble(("\n      ! ", styles.WARNING), (clean(problem), styles.WARNING))


def folded(reading: Reading, rows: int, *, hint: str = "") -> Text:
    """ "… 3 more rows" when a reading shows `rows` of more: folded evidence never passes for all of it."""
    hidden = max(0, len(reading.rows) - rows) + max(0, len(reading.lines) - rows)
    if not hidden:
        return Text()
    noun = "row" if reading.columns else "line"
    return Text(f"\n    … {hidden} more {noun}{'s' if hidden > 1 else ''}{hint}", style=styles.MUTED)


def stored_evidence(readings: tuple[Reading, ...]) -> str:
    """Readings as stored with a tick: each read one as text; each one that read nothing as why."""
    parts: list[str] = []
    for reading in readings:
        if reading.ok or reading.rows or reading.lines:
            parts.append(reading_text(reading))
        else:
            why = reading.problem or "nothing was read"
            parts.append(f"{NOT_READ}{clean(reading.source)}: {clean(reading.what)}: {clean(why)}")
    return "\n".join(parts)


def _beyond_command(plan: StepPlan, what: str) -> str:
    """A reading's title less the step's command it repeats ("(largest 10)"); "" when it only repeats it."""
    what = what.strip()
    for command in plan.step.commands:
        if what in command:
            return ""
        if what.startswith(command):
            return what[len(command) :].strip()
    return what


def full_evidence(plan: StepPlan | None, readings: tuple[Reading, ...]) -> str:
    """A step's readings in full, for the evidence view: every row and line kept, no cell cut."""
    parts = [reading_text(r, rows=len(r.rows) + len(r.lines), cell_max=None) for r in readings]
    if plan is not None:
        parts = [
            f"# {clean(read.note)}\n{part}" if read.note else part
            for read, part in zip(plan.reads, parts, strict=False)
        ]
    return "\n\n".join(parts)
