"""Runbook lint: the problems a runbook owner is told about, and how the rules file is read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.triage.lint import LintProblem, RulesError, lint_runbook, load_rule_alert_names
from tui.triage.runbook import load_runbook, parse_runbook

SEED = Path(__file__).resolve().parents[2] / "examples" / "inmidst" / "RUNBOOK.md"


def test_seed_runbook_lints_clean_with_its_counts() -> None:
    report = lint_runbook(load_runbook(SEED), None)

    assert report.ok
    assert report.to_json() == {
        "sections": 12,
        "steps": 37,
        "causes": 47,
        "commands": 30,
        "problems": [],
        "ok": True,
    }
    assert report.to_text() == "12 sections, 37 triage steps, 47 common causes, 30 commands\nno problems"


def test_link_to_a_missing_section_names_the_section_and_the_link() -> None:
    runbook = parse_runbook(
        "## api-down\n\n**Triage**:\n1. `kubectl get pods`\n\n**Common causes**:\n"
        "- Redis: see [#redis-down](#redis-down)\n- Self: [#api-down](#api-down)\n"
    )

    report = lint_runbook(runbook, None)

    assert report.problems == (
        LintProblem(
            "broken link",
            "api-down",
            "common cause links to #redis-down, which is not a section or heading of the runbook",
            line=7,
        ),
    )
    assert not report.ok


def test_duplicate_slugs_are_reported_once() -> None:
    runbook = parse_runbook(
        "## redis-down\n\n**Triage**:\n1. `a`\n\n## Redis down\n\n**Triage**:\n1. `b`\n\n"
        "## redis-down\n\n**Triage**:\n1. `c`\n"
    )

    problems = lint_runbook(runbook, None).problems

    assert [(p.kind, p.section) for p in problems] == [("duplicate section", "redis-down")]
    assert "3 sections" in problems[0].detail


def test_section_without_triage_steps_is_reported() -> None:
    runbook = parse_runbook("## api-down\n\n**Alert**: API down.\n\n**Resolution**: Restart.\n")

    assert [(p.kind, p.section) for p in lint_runbook(runbook, None).problems] == [
        ("no triage steps", "api-down")
    ]


def test_rules_find_alerts_without_sections_and_sections_without_alerts() -> None:
    runbook = parse_runbook(
        "## redis-down\n\n**Triage**:\n1. `redis-cli PING`\n\n"
        "## api-down\n\n**Triage**:\n1. `kubectl get pods`\n"
    )

    report = lint_runbook(runbook, [("RedisDown", None), ("ReddisDown", None)])

    assert [(p.kind, p.section) for p in report.problems] == [
        ("alert without section", None),
        ("section without alert", "api-down"),
    ]
    assert report.problems[0].detail == "alert ReddisDown has no section (nearest: redis-down)"


def test_rules_map_through_their_runbook_url_anchor() -> None:
    runbook = parse_runbook("## cache-outage\n\n**Triage**:\n1. `redis-cli PING`\n")

    assert lint_runbook(runbook, [("RedisDown", "cache-outage")]).ok


def test_runbook_url_to_a_missing_anchor_is_reported_even_when_the_name_maps() -> None:
    runbook = parse_runbook("## redis-down\n\n**Triage**:\n1. `redis-cli PING`\n")

    problems = lint_runbook(runbook, [("RedisDown", "redis-dwn")]).problems

    assert problems == (
        LintProblem(
            "broken runbook_url",
            None,
            "alert RedisDown's runbook_url points to #redis-dwn, which is not a section",
        ),
    )


def test_plain_alert_names_are_accepted_as_rules() -> None:
    runbook = parse_runbook("## redis-down\n\n**Triage**:\n1. `redis-cli PING`\n")

    assert lint_runbook(runbook, ["RedisDown"]).ok


def test_text_report_lists_one_line_per_problem() -> None:
    runbook = parse_runbook("## api-down\n\n**Alert**: API down.\n")

    text = lint_runbook(runbook, ["ApiDown", "Watchdog"]).to_text()

    assert text.splitlines() == [
        "1 sections, 0 triage steps, 0 common causes, 0 commands",
        "no triage steps: api-down: the section has no triage steps",
        "alert without section: alert Watchdog has no section (nearest: api-down)",
    ]


def test_json_report_is_serialisable_and_lists_problems() -> None:
    runbook = parse_runbook("## api-down\n\n**Alert**: API down.\n")

    data = json.loads(json.dumps(lint_runbook(runbook, None).to_json()))

    assert data["ok"] is False
    assert data["problems"] == [
        {
            "kind": "no triage steps",
            "section": "api-down",
            "line": None,
            "detail": "the section has no triage steps",
        }
    ]


# --- the rules file ------------------------------------------------------------------------------


def test_rule_alert_names_come_with_their_runbook_anchor(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(
        """
groups:
  - name: a
    rules:
      - record: job:up:sum
        expr: sum(up)
      - alert: RedisDown
        expr: redis_up == 0
        annotations:
          runbook_url: https://example.org/RUNBOOK.md#redis-down
      - alert: ApiDown
        expr: up == 0
  - name: b
    rules:
      - alert: CacheMiss
        expr: vector(1)
        labels:
          runbook: "#low-cache-hit-ratio"
""",
        encoding="utf-8",
    )

    assert load_rule_alert_names(path) == [
        ("RedisDown", "redis-down"),
        ("ApiDown", None),
        ("CacheMiss", "low-cache-hit-ratio"),
    ]


def test_missing_rules_file_is_a_plain_error(tmp_path: Path) -> None:
    path = tmp_path / "missing.yml"

    with pytest.raises(RulesError, match="does not exist") as caught:
        load_rule_alert_names(path)
    assert str(path) in str(caught.value)


def test_bad_yaml_error_gives_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("groups:\n  - name: a\n    rules: [\n", encoding="utf-8")

    with pytest.raises(RulesError, match=r"not valid YAML at line \d+"):
        load_rule_alert_names(path)


@pytest.mark.parametrize("text", ["just a string\n", "alerts: []\n", "groups:\n  - name: a\n", "- 1\n"])
def test_yaml_that_is_not_a_rules_file_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "other.yml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(RulesError, match="not a Prometheus rules file"):
        load_rule_alert_names(path)


def test_rules_directory_is_a_plain_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="is a directory"):
        load_rule_alert_names(tmp_path)
