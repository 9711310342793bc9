"""Turn runbook sections, alerts and health into rich Text; every untrusted value goes through clean()."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rich.cells import cell_len
from rich.text import Text

from probes.base import SourceHealth
from probes.format import clean, format_age
from tui.sessions.store import IncidentSession, StepRecord, StepState
from tui.triage.runbook import Section, SectionMatch, TriageStep
from tui.widgets import styles, upstream  # noqa: F401 (upstream: Textual's fixes, applied at import)

STATE_MARK: Mapping[StepState, tuple[str, str]] = {
    "done": ("✓", styles.OK_STRONG),
    "skipped": ("–", styles.WARNING),
    "pending": ("☐", styles.MUTED),
}

HEALTH_MARK: Mapping[str, tuple[str, str]] = {
    "ok": ("●", styles.OK),
    "degraded": ("◐", styles.WARNING),
    "down": ("✖", styles.FIRING),
    "forbidden": ("⊘", styles.FIRING),
    "not-configured": ("○", styles.MUTED),
}

SEVERITY_STYLE: Mapping[str, str] = styles.SEVERITY


def plain(value: object, style: str = styles.PLAIN) -> Text:
    """Untrusted text as a Text: never parsed as markup, control characters made visible."""
    return Text(clean(value), style=style)


def since(moment: datetime | None, now: datetime) -> str:
    return format_age((now - moment).total_seconds() if moment else None)


def clock_time(moment: datetime) -> str:
    return moment.strftime("%H:%M:%SZ")


def step_text(step: TriageStep) -> Text:
    """The step's text with its inline `commands` highlighted."""
    text = Text()
    for i, part in enumerate(clean(step.text).split("`")):
        text.append(part, style=styles.HIGHLIGHT if i % 2 else styles.PLAIN)
    return text


def progress(section: Section, session: IncidentSession | None) -> Text:
    total = len(section.steps)
    states = [session.step_state(i) if session else "pending" for i in range(total)]
    done = states.count("done")
    skipped = states.count("skipped")
    bar = Text()
    for state in states:
        bar.append("▰" if state != "pending" else "▱", style=STATE_MARK[state][1])
    bar.append(f" {done}/{total} done")
    if skipped:
        bar.append(f", {skipped} skipped", style=styles.WARNING)
    return bar


def step_line(step: TriageStep, state: StepState) -> Text:
    mark, style = STATE_MARK[state]
    line = Text.assemble((f"{mark} ", style), (f"{step.number}. ", styles.STRONG))
    line.append_text(step_text(step))
    return line


def who_from(who: str, host: str) -> str:
    """Who made a change and from which machine: `alice@bastion` as it is when the user's name already
    says the host, else `alice@laptop-7` or `alice@bastion (on laptop-7)`; one clean line."""
    who, host = clean(who), clean(host)
    if not host or who.endswith(f"@{host}"):
        return who
    return f"{who} (on {host})" if "@" in who else f"{who}@{host}"


STATE_WORDS: Mapping[StepState, str] = {"done": "done", "skipped": "skipped", "pending": "back to pending"}


def step_history_text(records: Sequence[StepRecord]) -> str:
    """Every change of a step, oldest first, one a line: when, the state, who (the last is what is shown).

    Plain text for a `TextScreen` (which never reads it as markup); names are cleaned to one line each."""
    if not records:
        return "No change to this step yet: it is pending."
    width = max(len(STATE_WORDS[record.state]) for record in records)
    day = len({record.at.date() for record in records}) > 1  # an incident across midnight: dates too
    lines = []
    for number, record in enumerate(records, 1):
        when = record.at.strftime("%Y-%m-%d %H:%M:%SZ") if day else clock_time(record.at)
        mark = STATE_MARK[record.state][0]
        line = (
            f"{when}  {mark} {STATE_WORDS[record.state].ljust(width)}  by {who_from(record.who, record.host)}"
        )
        lines.append(line + ("   ← shown" if number == len(records) else ""))
    count = f"{len(records)} change{'s' if len(records) != 1 else ''}, oldest first"
    return "\n".join([count, "", *lines])


def causes_text(section: Section) -> Text:
    text = Text()
    if not section.causes:
        return Text("no common causes listed", style=styles.MUTED)
    for cause in section.causes:
        text.append("• ")
        text.append(clean(cause.text))
        for link in cause.links:
            text.append(f"  → #{clean(link)}", style=styles.LINK)
        text.append("\n")
    text.rstrip()
    return text


def section_text(section: Section, session: IncidentSession | None = None) -> Text:
    """A whole section, for the runbook pane and the runbook browser."""
    text = Text()
    if section.title != section.slug:
        text.append(clean(section.title), style=styles.STRONG)
        text.append("\n")
    text.append(clean(section.alert) or "no alert description", style=styles.ITALIC)
    text.append("\n\nTriage  ", style=styles.HEADING)
    text.append_text(progress(section, session))
    for i, step in enumerate(section.steps):
        text.append("\n")
        text.append_text(step_line(step, session.step_state(i) if session else "pending"))
    if not section.steps:
        text.append("\nno triage steps in this section", style=styles.MUTED)
    text.append("\n\nCommon causes\n", style=styles.HEADING)
    text.append_text(causes_text(section))
    text.append("\n\nResolution\n", style=styles.HEADING)
    text.append(
        clean(section.resolution, single_line=False) or "no resolution written",
        style=styles.PLAIN if section.resolution else styles.MUTED,
    )
    return text


def unmapped_text(alertname: str, match: SectionMatch) -> Text:
    text = Text()
    text.append("No runbook section for ", style=styles.WARNING_STRONG)
    text.append(clean(alertname), style=styles.STRONG)
    text.append(".", style=styles.WARNING_STRONG)
    if match.nearest:
        text.append("\nNearest sections: ")
        text.append(", ".join(clean(s) for s in match.nearest), style=styles.LINK)
        text.append("\nPress b to browse the runbook.", style=styles.MUTED)
    return text


# a source's name in a chip when the header is narrow (80 columns): every source's health still fits
SHORT_SOURCE: Mapping[str, str] = {"prometheus": "prom", "kubernetes": "k8s", "postgresql": "pg"}


def health_chip(health: SourceHealth, now: datetime, *, compact: bool = False) -> Text:
    """A source's state and the age of its last good read (`● prometheus ok 3s`; compact: `● prom 3s`)."""
    mark, style = HEALTH_MARK.get(health.state, ("?", styles.PLAIN))
    name = SHORT_SOURCE.get(health.source, health.source) if compact else health.source
    chip = Text.assemble((f"{mark} ", style), (name, styles.STRONG), " ")
    age = since(health.last_success, now) if health.last_success else None
    if health.state == "not-configured":
        chip.append("off" if compact else "not configured", style=styles.MUTED)
    elif compact:
        chip.append(age or ("…" if health.state == "degraded" else health.state), style=style)
    elif health.state == "ok":
        chip.append(f"ok {age or since(None, now)}", style=style)
    else:
        chip.append(health.state, style=style)
        if age:
            chip.append(f" stale {age}", style=styles.WARNING)
    return chip


def needs_layout(old: Text | None, new: Text, width: int) -> bool:
    """Whether a Static going from `old` to `new` may change height, so needs a (screen-wide) layout pass.

    Not when neither text has a line that wraps at `width` and both have as many lines; not when the Static
    is in a hidden tab (no width): showing the tab lays it out anyway.
    """
    if width <= 0:
        return False
    if old is None:
        return True
    old_lines, new_lines = old.plain.split("\n"), new.plain.split("\n")
    return len(old_lines) != len(new_lines) or any(
        cell_len(line) > width for line in (*old_lines, *new_lines)
    )


def set_text(widget: Any, text: Text) -> None:
    """Static.update, skipped when nothing changed, and without a layout pass when the height can't change.

    A layout pass re-arranges the whole screen (~20 ms on a small machine): a panel refreshed every few
    seconds must not pay it for a number that changed inside a line of the same size.
    """
    old: Text | None = getattr(widget, "_shown_text", None)
    if old is not None and old == text:
        return
    widget._shown_text = text
    widget.update(text, layout=needs_layout(old, text, widget.content_region.width))
