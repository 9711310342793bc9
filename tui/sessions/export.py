"""Export an incident session as postmortem-ready Markdown: facts, checklist, notes and timeline."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from probes.format import clean, format_duration
from probes.redact import redact_labels, redact_text
from tui.sessions.store import IncidentSession, StepRecord, TimelineEntry


class Step(Protocol):
    """A runbook step as the export reads it (tui.triage.runbook.TriageStep is one)."""

    @property
    def number(self) -> int: ...  # 1-based, as written in the runbook

    @property
    def text(self) -> str: ...


class Section(Protocol):
    """The session's runbook section as the export reads it (tui.triage.runbook.Section is one)."""

    @property
    def slug(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def steps(self) -> Sequence[Step]: ...

    @property
    def resolution(self) -> str: ...


DEMO_NOTE = "a practice session on oncall's built-in scripted incident (oncall --demo), not a real incident."
_STATE_MARKS = {"done": "✓ done", "skipped": "– skipped", "pending": "☐ pending"}
# A pipe, with any backslashes right before it (which would otherwise escape our escaping backslash).
_PIPE = re.compile(r"(\\*)\|")


def write_export(path: Path, text: str) -> None:
    """Write an export readable by its owner only (0600): it holds evidence read from production."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        found = os.fstat(fd)
        # an older export is narrowed too; a tty, a pipe or someone else's file is left alone
        if stat.S_ISREG(found.st_mode) and found.st_uid == os.geteuid():
            os.fchmod(fd, 0o600)
        out.write(text)


def format_time(moment: datetime) -> str:
    """UTC, to the second, readable in a postmortem: ``2026-11-27 03:12:05Z``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def export_markdown(
    session: IncidentSession,
    timeline: list[TimelineEntry],
    section: Section | None,
    *,
    now: datetime | None = None,
    demo: bool = False,
) -> str:
    """The session as Markdown; ``now`` (when given) lets an unresolved incident show its duration so far;
    ``demo`` marks a practice session on the scripted incident, in the title and in a line under it."""
    alertname = _line(session.alertname) or "(unnamed alert)"
    out: list[str] = [f"# {'DEMO — ' if demo else ''}{alertname} — incident timeline", ""]
    if demo:
        out += [f"> **DEMO**: {DEMO_NOTE}", ""]
    out += _facts(session, section, now)
    out += _labels(session)
    out += _checklist(session, section)
    out += _notes(session, section)
    out += _evidence(session, section)
    out += _timeline(timeline)
    out += _resolution(section)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def _facts(session: IncidentSession, section: Section | None, now: datetime | None) -> list[str]:
    lines = [
        f"- **Alert**: {_line(session.alertname)}",
        f"- **Summary**: {_line(session.summary) or '(none)'}",
        f"- **Fired**: {format_time(session.active_at)}",
        f"- **Checklist opened**: {format_time(session.opened_at)} by {_line(session.opened_by)}",
    ]
    if session.resolved_at is not None:
        lines.append(f"- **Resolved**: {format_time(session.resolved_at)}")
        lines.append(
            f"- **Duration**: {format_duration((session.resolved_at - session.active_at).total_seconds())}"
        )
    else:
        lines.append("- **Resolved**: not resolved")
        if now is not None:
            lines.append(
                f"- **Duration**: {format_duration((now - session.active_at).total_seconds())} so far"
            )
    lines.append(f"- **Last change**: {format_time(session.last_change_at)} by {_line(session.driver)}")
    if section is not None:
        title = _line(section.title)
        named = _code(section.slug) + (f" — {title}" if title and title != section.slug else "")
        lines.append(f"- **Runbook section**: {named}")
    elif session.section_slug:
        lines.append(
            f"- **Runbook section**: no runbook section ({_code(session.section_slug)} was not found)"
        )
    else:
        lines.append("- **Runbook section**: no runbook section")
    lines.append(f"- **Fingerprint**: {_code(session.fingerprint)}")
    return [*lines, ""]


def _labels(session: IncidentSession) -> list[str]:
    if not session.labels:
        return []
    # a session stored before its alert's labels were redacted gets the same rules on its way out
    rows = [f"| {_cell(name)} | {_cell(value)} |" for name, value in sorted(redact_labels(session.labels))]
    return ["## Labels", "", "| label | value |", "| --- | --- |", *rows, ""]


def _step_number(index: int, section: Section | None) -> int:
    if section is not None and 0 <= index < len(section.steps):
        return section.steps[index].number
    return index + 1


def _checklist(session: IncidentSession, section: Section | None) -> list[str]:
    lines = ["## Triage checklist", ""]
    indexes: list[int]
    if section is None:
        lines += [
            "No runbook section: only the steps that were ticked or skipped are listed, by position.",
            "",
        ]
        indexes = sorted(session.steps)
    else:
        # Steps recorded beyond the section's end mean the runbook changed since: keep them, marked.
        indexes = sorted(set(range(len(section.steps))) | set(session.steps))
    if not indexes:
        return [*lines, "No step was ticked or skipped.", ""]
    total = len(section.steps) if section is not None else len(indexes)
    done = sum(1 for record in session.steps.values() if record.state == "done")
    skipped = sum(1 for record in session.steps.values() if record.state == "skipped")
    lines += [f"{done} of {total} done, {skipped} skipped.", ""]
    lines += ["| # | state | step | who | when |", "| --- | --- | --- | --- | --- |"]
    for index in indexes:
        record: StepRecord | None = session.steps.get(index)
        if section is not None and index < len(section.steps):
            text = section.steps[index].text
        elif section is not None:
            text = "(no longer in the runbook section)"
        else:
            text = "(no runbook section)"
        state = record.state if record else "pending"
        who = _cell(record.who) if record else ""
        when = format_time(record.at) if record else ""
        number = _step_number(index, section)
        lines.append(f"| {number} | {_STATE_MARKS[state]} | {_cell(text)} | {who} | {when} |")
    return [*lines, ""]


def _notes(session: IncidentSession, section: Section | None) -> list[str]:
    if not session.notes:
        return []
    lines = ["## Notes", ""]
    for note in session.notes:
        where = "" if note.step_index is None else f"step {_step_number(note.step_index, section)}: "
        body = clean(note.text, single_line=False).strip().split("\n")
        # Continuation lines indented, so a multi-line note stays one list item.
        rest = [f"  {line}" if line.strip() else "" for line in body[1:]]
        lines.append(f"- {format_time(note.at)} · {_line(note.who)} · {where}{body[0]}")
        lines += rest
    return [*lines, ""]


def _evidence(session: IncidentSession, section: Section | None) -> list[str]:
    records = [record for _, record in sorted(session.steps.items()) if record.evidence.strip()]
    if not records:
        return []
    lines = ["## Evidence", ""]
    for record in records:
        number = _step_number(record.index, section)
        lines += [f"Step {number}, {record.state} by {_line(record.who)} at {format_time(record.at)}:", ""]
        # what could not be read is said as such, never printed as if it were evidence
        lines += [f"- evidence: not read — {_line(redact_text(why))}" for why in record.missing]
        if record.missing:
            lines.append("")
        # evidence stored before the probes redacted query text gets the same rules on its way out
        text = clean(redact_text(record.read), single_line=False).strip("\n")
        if not text.strip():
            continue
        # A fence longer than any backtick run inside, so captured output can't close it early.
        longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
        fence = "`" * max(3, longest + 1)
        lines += [fence, text, fence, ""]
    return lines


def _timeline(timeline: list[TimelineEntry]) -> list[str]:
    lines = ["## Timeline", ""]
    if not timeline:
        return [*lines, "No events recorded.", ""]
    # changes made from more than one machine (two drivers, a shared store): say which each came from
    hosts = {entry.host for entry in timeline if entry.who and entry.host}
    if len(hosts) > 1:
        lines += ["| time (UTC) | who | host | event |", "| --- | --- | --- | --- |"]
    else:
        lines += ["| time (UTC) | who | event |", "| --- | --- | --- |"]
    for entry in sorted(timeline, key=lambda e: e.at):
        host = f" {_cell(entry.host if entry.who else '')} |" if len(hosts) > 1 else ""
        lines.append(f"| {format_time(entry.at)} | {_cell(entry.who)} |{host} {_cell(entry.detail)} |")
    return [*lines, ""]


def _resolution(section: Section | None) -> list[str]:
    lines = ["## Resolution (from the runbook)", ""]
    if section is None:
        return [*lines, "No runbook section.", ""]
    text = clean(section.resolution, single_line=False).strip()
    return [*lines, text or "The runbook section has no resolution text.", ""]


def _line(value: object) -> str:
    """One line with no control characters."""
    return clean(value).strip()


def _cell(value: object) -> str:
    """One table cell: one line, and no pipe (nor backslash before one) that could end the cell."""
    return _PIPE.sub(lambda m: m.group(1) * 2 + "\\|", _line(value))


def _code(value: object) -> str:
    """An inline code span that no backtick inside the value can close early."""
    text = _line(value)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"
