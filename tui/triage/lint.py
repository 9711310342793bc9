"""Runbook lint: broken links, duplicate or empty sections, and alerts and sections that miss each other."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from probes.format import clean, read_text_file
from tui.triage.runbook import Runbook, match_section


class RulesError(Exception):
    """The Prometheus rules file can't be read or isn't one; the message is plain words naming the path."""


@dataclass(frozen=True)
class LintProblem:
    kind: str  # "broken link", "duplicate section", "no triage steps", "alert without section", ...
    section: str | None  # the section slug the problem is in or about, None when it is about an alert
    detail: str  # plain words for the terminal
    line: int | None = None  # the runbook line it is on, when it is on one


@dataclass(frozen=True)
class LintReport:
    sections: int
    steps: int
    causes: int
    commands: int
    problems: tuple[LintProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "sections": self.sections,
            "steps": self.steps,
            "causes": self.causes,
            "commands": self.commands,
            "problems": [
                {"kind": p.kind, "section": p.section, "line": p.line, "detail": p.detail}
                for p in self.problems
            ],
            "ok": self.ok,
        }

    def to_text(self) -> str:
        lines = [
            f"{self.sections} sections, {self.steps} triage steps, {self.causes} common causes, "
            f"{self.commands} commands"
        ]
        for problem in self.problems:
            where = f"{problem.section}: " if problem.section else ""
            where += f"line {problem.line}: " if problem.line is not None else ""
            lines.append(f"{problem.kind}: {where}{problem.detail}")
        if self.ok:
            lines.append("no problems")
        return "\n".join(lines)


# An alert rule as the lint takes it: its name, or (name, the section slug its runbook_url points at).
AlertRule = str | tuple[str, str | None]


def lint_runbook(runbook: Runbook, rules: Sequence[AlertRule] | None = None) -> LintReport:
    """Check a runbook, and with alert rules that every alert has a section and every section an alert."""
    problems: list[LintProblem] = []
    slugs = {section.slug for section in runbook.sections}
    counts = Counter(section.slug for section in runbook.sections)
    for slug, count in counts.items():
        if count > 1:
            problems.append(
                LintProblem(
                    "duplicate section", slug, f"{count} sections have this slug; links reach only the first"
                )
            )
    for section in runbook.sections:
        if not section.steps:
            problems.append(LintProblem("no triage steps", section.slug, "the section has no triage steps"))
    problems.extend(_link_problems(runbook, slugs))
    if rules is not None:
        problems.extend(_rule_problems(runbook, rules))
    return LintReport(
        sections=len(runbook.sections),
        steps=sum(len(section.steps) for section in runbook.sections),
        causes=sum(len(section.causes) for section in runbook.sections),
        commands=sum(len(section.commands) for section in runbook.sections),
        problems=tuple(problems),
    )


_NOT_AN_ANCHOR = "which is not a section or heading of the runbook"
_LOOKS_WEB = re.compile(r"(?i)(?:https?[:/]|www\.)")  # meant for the web: http:, http/, www.


def _link_problems(runbook: Runbook, slugs: set[str]) -> list[LintProblem]:
    """Every #anchor link must reach a section or heading of the runbook; a web link must be well formed
    (it is not fetched: lint reaches no network); what reads like a link but isn't one is reported."""
    problems: list[LintProblem] = []
    for link in runbook.links:
        if not link.href:
            detail = f"{link.part} has {clean(link.written)}, which Markdown does not read as a link"
            problems.append(LintProblem("malformed link", link.section, detail, line=link.line))
        elif link.href.startswith("#"):
            anchor = unquote(link.href[1:])
            if not anchor:
                detail = f"{link.part} links to #, which names no anchor"
                problems.append(LintProblem("malformed link", link.section, detail, line=link.line))
            elif anchor not in slugs and anchor not in runbook.anchors:
                detail = f"{link.part} links to #{clean(anchor)}, {_NOT_AN_ANCHOR}"
                problems.append(LintProblem("broken link", link.section, detail, line=link.line))
        elif _LOOKS_WEB.match(link.href) and not _well_formed_web_link(link.href):
            detail = f"{link.part} links to {clean(link.href)}, which is not a well-formed http(s) URL"
            problems.append(LintProblem("malformed link", link.section, detail, line=link.line))
    return problems


def _well_formed_web_link(href: str) -> bool:
    """http(s), "://", a host and a port that is a number, nothing blank."""
    parts = urlsplit(href)
    try:
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return False
    return (
        parts.scheme.lower() in ("http", "https")
        and bool(parts.hostname)
        and not any(c.isspace() for c in href)
    )


def _rule_problems(runbook: Runbook, rules: Sequence[AlertRule]) -> list[LintProblem]:
    problems: list[LintProblem] = []
    covered: set[str] = set()
    reported: set[tuple[str, str | None]] = set()
    for rule in rules:
        name, anchor = (rule, None) if isinstance(rule, str) else rule
        if (name, anchor) in reported:
            continue  # the same alert in two rules (warning and critical) is one alert to the runbook
        reported.add((name, anchor))
        annotations = {"runbook_url": f"#{anchor}"} if anchor else {}
        match = match_section(runbook, name, {}, annotations)
        if anchor and runbook.section(anchor) is None:
            problems.append(
                LintProblem(
                    "broken runbook_url",
                    None,
                    f"alert {name}'s runbook_url points to #{anchor}, which is not a section",
                )
            )
        if match.section is None:
            nearest = f" (nearest: {', '.join(match.nearest)})" if match.nearest else ""
            problems.append(
                LintProblem("alert without section", None, f"alert {name} has no section{nearest}")
            )
        else:
            covered.add(match.section.slug)
    for section in runbook.sections:
        if section.slug not in covered:
            problems.append(
                LintProblem("section without alert", section.slug, "no alert rule maps to this section")
            )
    return problems


def load_rule_alert_names(path: Path) -> list[tuple[str, str | None]]:
    """(alertname, runbook section anchor or None) of each alerting rule in a Prometheus rules file."""
    path = Path(path)
    text = read_text_file(path, "the rules file", "YAML file", RulesError)
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise RulesError(f"the rules file {path} is not valid YAML{where}") from None
    groups = document.get("groups") if isinstance(document, dict) else None
    if not isinstance(groups, list):
        raise RulesError(f"{path} is not a Prometheus rules file: it has no 'groups:' list")
    alerts: list[tuple[str, str | None]] = []
    for group in groups:
        rules = group.get("rules") if isinstance(group, dict) else None
        if not isinstance(rules, list):
            raise RulesError(f"{path} is not a Prometheus rules file: a group has no 'rules:' list")
        for rule in rules:
            if isinstance(rule, dict) and isinstance(rule.get("alert"), str):
                alerts.append((rule["alert"], _runbook_anchor(rule)))
    return alerts


def _runbook_anchor(rule: dict[str, Any]) -> str | None:
    """The section a rule names: its runbook_url's #anchor, else a `runbook` annotation or label."""
    annotations = _mapping(rule.get("annotations"))
    labels = _mapping(rule.get("labels"))
    url = annotations.get("runbook_url")
    if isinstance(url, str) and "#" in url:
        return unquote(url.rsplit("#", 1)[1]).strip() or None
    for value in (labels.get("runbook"), annotations.get("runbook")):
        if isinstance(value, str) and value.strip():
            return unquote(value.rsplit("#", 1)[-1]).strip() or None
    return None


def _mapping(value: object) -> dict[str, Any]:
    """A YAML mapping, or {} for anything else (a rule's annotations and labels may be missing or junk)."""
    return value if isinstance(value, dict) else {}
