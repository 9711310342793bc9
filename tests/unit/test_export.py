"""The Markdown export: what a postmortem gets from an incident session, and that no value breaks it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from markdown_it import MarkdownIt

from probes.format import format_duration
from tui.sessions.export import export_markdown
from tui.sessions.store import IncidentSession, Note, StepRecord, TimelineEntry
from tui.triage.runbook import CommonCause, Section, TriageStep

FIRED = datetime(2026, 11, 27, 3, 12, 5, tzinfo=UTC)
OPENED = datetime(2026, 11, 27, 3, 14, 0, tzinfo=UTC)
RESOLVED = datetime(2026, 11, 27, 3, 40, 0, tzinfo=UTC)

SECTION = Section(
    slug="high-api-error-rate",
    title="High API error rate",
    alert="API 5xx error rate exceeds 5% for 5 minutes.",
    steps=(
        TriageStep(
            1,
            "Check API pod logs: `kubectl -n production logs -l app=inmidst-api --tail=200`",
            ("kubectl -n production logs -l app=inmidst-api --tail=200",),
        ),
        TriageStep(2, "Identify the most common error codes: look for patterns (502, 503, 500)", ()),
        TriageStep(
            3,
            "Check recent deployments: `helm history in-midst-my-life -n production`",
            ("helm history in-midst-my-life -n production",),
        ),
    ),
    causes=(CommonCause("Redis unavailable: see [#redis-down](#redis-down)", ("redis-down",)),),
    resolution="If caused by a bad deploy, rollback. Otherwise fix the root cause and monitor error rate.",
)


def _at(minutes: int, seconds: int = 0) -> datetime:
    return OPENED + timedelta(minutes=minutes, seconds=seconds)


def _session(**changes) -> IncidentSession:
    fields = dict(
        id=1,
        fingerprint="3f2a9c",
        alertname="HighApiErrorRate",
        section_slug="high-api-error-rate",
        active_at=FIRED,
        opened_at=OPENED,
        opened_by="alice",
        resolved_at=RESOLVED,
        summary="API 5xx error rate above 5%",
        labels=(("severity", "critical"), ("namespace", "production")),
        steps={
            0: StepRecord(0, "done", "alice", _at(1, 2), "inmidst-api-7f9c  Running  3 restarts"),
            1: StepRecord(1, "skipped", "bob", _at(2, 30)),
        },
        notes=(
            Note(1, 1, "alice", _at(2, 40), "502s come from the ingress only"),
            Note(2, None, "bob", _at(5), "rolled back to revision 41\nerror rate falling"),
        ),
        driver="bob",
        last_change_at=_at(5),
    )
    fields.update(changes)
    return IncidentSession(**fields)


TIMELINE = [
    TimelineEntry(FIRED, "", "fired", "HighApiErrorRate fired"),
    TimelineEntry(OPENED, "alice", "opened", "checklist opened"),
    TimelineEntry(_at(1, 2), "alice", "step", "step 1 done"),
    TimelineEntry(_at(2, 30), "bob", "step", "step 2 skipped"),
    TimelineEntry(_at(2, 40), "alice", "note", "step 2: 502s come from the ingress only"),
    TimelineEntry(_at(5), "bob", "note", "rolled back to revision 41\nerror rate falling"),
    TimelineEntry(RESOLVED, "", "resolved", "HighApiErrorRate resolved"),
]


def _lines(markdown: str) -> list[str]:
    return markdown.splitlines()


def _tables(markdown: str) -> list[list[list[str]]]:
    """Every table as rows of cell texts, the way a GFM renderer splits them."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    tables: list[list[list[str]]] = []
    row: list[str] | None = None
    for token in tokens:
        if token.type == "table_open":
            tables.append([])
        elif token.type == "tr_open":
            row = []
        elif token.type == "inline" and row is not None:
            row.append("".join(child.content for child in token.children or ()))
        elif token.type == "tr_close" and row is not None:
            tables[-1].append(row)
            row = None
    return tables


def test_the_export_starts_with_the_alert_and_its_facts() -> None:
    lines = _lines(export_markdown(_session(), TIMELINE, SECTION))
    assert lines[0] == "# HighApiErrorRate — incident timeline"
    for expected in [
        "- **Summary**: API 5xx error rate above 5%",
        "- **Fired**: 2026-11-27 03:12:05Z",
        "- **Checklist opened**: 2026-11-27 03:14:00Z by alice",
        "- **Resolved**: 2026-11-27 03:40:00Z",
        "- **Duration**: 27m 55s",
        "- **Last change**: 2026-11-27 03:19:00Z by bob",
        "- **Runbook section**: `high-api-error-rate` — High API error rate",
    ]:
        assert expected in lines


def test_an_unresolved_incident_says_so_and_shows_its_duration_so_far() -> None:
    lines = _lines(
        export_markdown(_session(resolved_at=None), TIMELINE[:-1], SECTION, now=FIRED + timedelta(hours=1))
    )
    assert "- **Resolved**: not resolved" in lines
    assert "- **Duration**: 1h 00m 00s so far" in lines


def test_each_step_shows_its_state_who_and_when() -> None:
    lines = _lines(export_markdown(_session(), TIMELINE, SECTION))
    assert "1 of 3 done, 1 skipped." in lines
    assert (
        "| 1 | ✓ done | Check API pod logs: `kubectl -n production logs -l app=inmidst-api --tail=200` "
        "| alice | 2026-11-27 03:15:02Z |"
    ) in lines
    assert (
        "| 2 | – skipped | Identify the most common error codes: look for patterns (502, 503, 500) "
        "| bob | 2026-11-27 03:16:30Z |"
    ) in lines
    assert (
        "| 3 | ☐ pending | Check recent deployments: `helm history in-midst-my-life -n production` |  |  |"
        in lines
    )


def test_step_numbers_come_from_the_runbook() -> None:
    renumbered = Section(
        slug="x",
        title="x",
        alert="",
        steps=(TriageStep(4, "four", ()), TriageStep(5, "five", ())),
        causes=(),
        resolution="",
    )
    session = _session(
        steps={1: StepRecord(1, "done", "alice", _at(1))}, notes=(Note(1, 1, "alice", _at(2), "hm"),)
    )
    lines = _lines(export_markdown(session, [], renumbered))
    assert "| 5 | ✓ done | five | alice | 2026-11-27 03:15:00Z |" in lines
    assert "- 2026-11-27 03:16:00Z · alice · step 5: hm" in lines


def test_notes_keep_their_step_author_and_time_and_stay_one_item_each() -> None:
    markdown = export_markdown(_session(), TIMELINE, SECTION)
    lines = _lines(markdown)
    start = lines.index("## Notes")
    assert lines[start + 2 : start + 5] == [
        "- 2026-11-27 03:16:40Z · alice · step 2: 502s come from the ingress only",
        "- 2026-11-27 03:19:00Z · bob · rolled back to revision 41",
        "  error rate falling",
    ]
    html = MarkdownIt("commonmark").render(
        markdown[markdown.index("## Notes") : markdown.index("## Evidence")]
    )
    assert html.count("<li>") == 2


def test_the_timeline_is_chronological_and_ends_with_the_runbook_resolution() -> None:
    markdown = export_markdown(_session(), TIMELINE, SECTION)
    lines = _lines(markdown)
    start = lines.index("## Timeline")
    assert lines[start + 2 : start + 5] == [
        "| time (UTC) | who | event |",
        "| --- | --- | --- |",
        "| 2026-11-27 03:12:05Z |  | HighApiErrorRate fired |",
    ]
    assert "| 2026-11-27 03:19:00Z | bob | rolled back to revision 41 error rate falling |" in lines
    assert (
        lines[start + 2 + 2 + len(TIMELINE) - 1] == "| 2026-11-27 03:40:00Z |  | HighApiErrorRate resolved |"
    )
    assert lines[-3:] == [
        "## Resolution (from the runbook)",
        "",
        "If caused by a bad deploy, rollback. Otherwise fix the root cause and monitor error rate.",
    ]
    assert markdown.endswith("rate.\n")


def test_changes_from_two_machines_say_which_host_each_came_from() -> None:
    timeline = [
        TimelineEntry(_at(0), "", "fired", "HighApiErrorRate fired", "laptop-a"),
        TimelineEntry(_at(1), "alice", "step", "step 1 done", "laptop-a"),
        TimelineEntry(_at(2), "bob", "step", "step 1 skipped", "laptop-b|x"),
    ]
    events = _tables(export_markdown(_session(), timeline, SECTION))[-1]
    assert events == [
        ["time (UTC)", "who", "host", "event"],
        ["2026-11-27 03:14:00Z", "", "", "HighApiErrorRate fired"],  # Prometheus' events have no host
        ["2026-11-27 03:15:00Z", "alice", "laptop-a", "step 1 done"],
        ["2026-11-27 03:16:00Z", "bob", "laptop-b|x", "step 1 skipped"],
    ]
    one_host = [entry for entry in timeline if entry.who != "bob"]
    assert _tables(export_markdown(_session(), one_host, SECTION))[-1][0] == ["time (UTC)", "who", "event"]


def test_captured_evidence_is_fenced_so_backticks_inside_cant_escape() -> None:
    evidence = "```\n# not a heading\n```"
    session = _session(steps={0: StepRecord(0, "done", "alice", _at(1), evidence)})
    lines = _lines(export_markdown(session, [], SECTION))
    start = lines.index("## Evidence")
    assert lines[start + 2 : start + 9] == [
        "Step 1, done by alice at 2026-11-27 03:15:00Z:",
        "",
        "````",
        "```",
        "# not a heading",
        "```",
        "````",
    ]


def test_without_a_runbook_section_the_changed_steps_are_listed_by_position() -> None:
    session = _session(section_slug="high-api-error-rate")
    markdown = export_markdown(session, TIMELINE, None)
    lines = _lines(markdown)
    assert "- **Runbook section**: no runbook section (`high-api-error-rate` was not found)" in lines
    assert "| 1 | ✓ done | (no runbook section) | alice | 2026-11-27 03:15:02Z |" in lines
    assert "| 2 | – skipped | (no runbook section) | bob | 2026-11-27 03:16:30Z |" in lines
    assert not any(line.startswith("| 3 |") for line in lines)
    assert lines[-3:] == ["## Resolution (from the runbook)", "", "No runbook section."]
    unmapped = _lines(export_markdown(_session(section_slug=None, steps={}), [], None))
    assert "- **Runbook section**: no runbook section" in unmapped
    assert "No step was ticked or skipped." in unmapped


def test_steps_recorded_past_the_sections_end_are_kept() -> None:
    session = _session(steps={4: StepRecord(4, "done", "alice", _at(1))})
    lines = _lines(export_markdown(session, [], SECTION))
    assert "| 5 | ✓ done | (no longer in the runbook section) | alice | 2026-11-27 03:15:00Z |" in lines


def test_pipes_and_newlines_in_untrusted_values_do_not_break_the_tables() -> None:
    session = _session(
        labels=(
            ("route", "/api|/health"),
            ("odd\\", "ends with a backslash\\|"),
            ("multi", "line one\nline two"),
        ),
        steps={0: StepRecord(0, "done", "eve | mallory", _at(1))},
    )
    timeline = [TimelineEntry(_at(1), "eve|x", "note", "a | b\n| --- |")]
    markdown = export_markdown(session, timeline, SECTION)
    labels, checklist, events = _tables(markdown)
    assert labels == [
        ["label", "value"],
        ["multi", "line one line two"],
        ["odd\\", "ends with a backslash\\|"],
        ["route", "/api|/health"],
    ]
    assert all(len(row) == 5 for row in checklist)
    assert checklist[1][3] == "eve | mallory"
    assert events == [["time (UTC)", "who", "event"], ["2026-11-27 03:15:00Z", "eve|x", "a | b | --- |"]]


def test_a_pipe_inside_a_step_command_stays_in_its_cell() -> None:
    section = Section(
        slug="s",
        title="s",
        alert="",
        steps=(TriageStep(1, "Grep: `kubectl logs x | grep ERROR`", ("kubectl logs x | grep ERROR",)),),
        causes=(),
        resolution="",
    )
    _, checklist, _ = _tables(export_markdown(_session(steps={}), TIMELINE, section))
    assert checklist[1][:3] == ["1", "☐ pending", "Grep: kubectl logs x | grep ERROR"]


def test_terminal_escapes_never_reach_the_export() -> None:
    esc = "\x1b[31mred\x1b[0m"
    session = _session(
        alertname=f"Alert{esc}",
        summary="title\x1b]0;pwned\x07",
        labels=(("pod", f"api-{esc}"),),
        opened_by=f"alice{esc}",
        driver="bob\x9b2J",
        steps={0: StepRecord(0, "done", f"eve{esc}", _at(1), f"log line {esc}\x08")},
        notes=(Note(1, None, "bob", _at(2), f"see {esc}\r\nnext"),),
    )
    timeline = [TimelineEntry(_at(1), f"eve{esc}", "step", f"step 1 done{esc}")]
    markdown = export_markdown(session, timeline, SECTION)
    assert not any(ord(ch) < 0x20 and ch != "\n" for ch in markdown)
    assert not any(0x7F <= ord(ch) <= 0x9F for ch in markdown)
    assert _lines(markdown)[0] == "# Alert␛[31mred␛[0m — incident timeline"


def test_durations_read_naturally() -> None:
    assert [format_duration(timedelta(seconds=s).total_seconds()) for s in (0, 45, 65, 3725, 90061, -5)] == [
        "0s",
        "45s",
        "1m 05s",
        "1h 02m 05s",
        "1d 1h 01m",
        "0s",
    ]
