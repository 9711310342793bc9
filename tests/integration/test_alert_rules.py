"""The shipped alert rules: valid for promtool, and each alert lands on its own runbook section."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tui.lab.rules import format_duration, parse_duration, scale_rules
from tui.lab.state import LAB_FACTOR
from tui.triage.lint import lint_runbook, load_rule_alert_names
from tui.triage.runbook import kebab, load_runbook, match_section

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "inmidst"
RULES = EXAMPLE / "alerts.yml"
RUNBOOK = EXAMPLE / "RUNBOOK.md"


def _promtool() -> str:
    found = shutil.which("promtool") or ("/usr/bin/promtool" if Path("/usr/bin/promtool").exists() else None)
    if found is None:
        message = "promtool is not installed (apt-get install prometheus)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it: missing there is a broken setup, not a skip
        pytest.skip(message)
    return found


def test_promtool_accepts_the_example_rules() -> None:
    result = subprocess.run(
        [_promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 12 rules found" in result.stdout


def test_example_rules_and_runbook_lint_without_problems() -> None:
    report = lint_runbook(load_runbook(RUNBOOK), load_rule_alert_names(RULES))

    assert report.problems == ()
    assert report.to_text().endswith("no problems")


def test_every_example_alert_maps_to_its_own_section_through_runbook_url() -> None:
    runbook = load_runbook(RUNBOOK)
    alerts = load_rule_alert_names(RULES)

    mapped = {}
    for name, anchor in alerts:
        match = match_section(runbook, name, {}, {"runbook_url": f"https://example.org/RUNBOOK.md#{anchor}"})
        assert match.section is not None, name
        assert match.via == "runbook_url"
        mapped[name] = match.section.slug

    assert len(mapped) == 12
    assert all(slug == kebab(name) for name, slug in mapped.items())
    assert sorted(mapped.values()) == sorted(s.slug for s in runbook.sections)


def test_each_rule_has_the_runbook_duration_severity_and_annotations() -> None:
    runbook = load_runbook(RUNBOOK)
    rules = [r for g in yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"] for r in g["rules"]]

    for rule in rules:
        section = runbook.section(kebab(rule["alert"]))
        assert section is not None, rule["alert"]
        stated = re.search(r"for (\d+) minutes", section.alert)
        # the runbook's 80% thresholds state no duration; the rules use 5m there
        assert rule["for"] == (f"{stated.group(1)}m" if stated else "5m"), rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        assert rule["annotations"]["runbook_url"] == (
            f"https://github.com/in-midst-my-life/infra/blob/main/docs/RUNBOOK.md#{section.slug}"
        )


RULE_TESTS = EXAMPLE / "alerts_test.yml"


def test_promtool_unit_tests_pass_for_every_example_alert() -> None:
    result = subprocess.run(
        [_promtool(), "test", "rules", str(RULE_TESTS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert "FAILED" not in result.stdout + result.stderr


def _minutes(duration: str) -> int:
    match = re.fullmatch(r"(\d+)m", duration)
    assert match, f"durations in the rule tests are whole minutes: {duration}"
    return int(match.group(1))


def test_every_example_alert_has_a_firing_a_pending_and_a_quiet_unit_test() -> None:
    """A 13th alert without its promtool tests fails here: fired after its `for:` (labels and annotations
    as rendered), pending one evaluation before, and quiet just under its threshold at the firing time."""
    rules = {
        r["alert"]: r for g in yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"] for r in g["rules"]
    }
    suite = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))

    assert suite["rule_files"] == [RULES.name]
    assert _minutes(suite["evaluation_interval"]) == 1
    missing: list[str] = []
    for name, rule in rules.items():
        fired_at: set[int] = set()
        pending_at: set[int] = set()
        quiet_at: set[int] = set()
        for group in suite["tests"]:
            cases = [c for c in group.get("alert_rule_test", []) if c["alertname"] == name]
            firing = [c for c in cases if c.get("exp_alerts")]
            for case in firing:
                # the labels the rule sets and every annotation, rendered (no template left)
                for alert in case["exp_alerts"]:
                    assert alert["exp_labels"]["severity"] == rule["labels"]["severity"], name
                    assert set(alert["exp_annotations"]) == set(rule["annotations"]), name
                    assert not any("{{" in str(v) for v in alert["exp_annotations"].values()), name
                fired_at.add(_minutes(case["eval_time"]))
            if firing:
                pending = {
                    _minutes(c["eval_time"])
                    for c in group.get("promql_expr_test", [])
                    if c["expr"] == f'ALERTS{{alertname="{name}"}}'
                    and all('alertstate="pending"' in s["labels"] for s in c["exp_samples"])
                    and c["exp_samples"]
                }
                not_firing = {_minutes(c["eval_time"]) for c in cases if not c.get("exp_alerts")}
                pending_at |= pending & not_firing
            else:
                quiet_at |= {_minutes(c["eval_time"]) for c in cases}
        for_minutes = _minutes(rule["for"])
        if not any(t >= for_minutes for t in fired_at):
            missing.append(f"{name}: no test fires it after its for: {rule['for']}")
        if not {t - 1 for t in fired_at} & pending_at:
            missing.append(f"{name}: no test sees it pending (not firing) one evaluation before it fires")
        if not fired_at & quiet_at:
            missing.append(f"{name}: no quiet test (exp_alerts: []) at the time it fires")

    assert missing == [], "\n".join(missing)
    assert len(rules) == 12


def _scaled_rule_tests(suite: dict[str, Any], factor: int) -> dict[str, Any]:
    """alerts_test.yml on the lab's clock: every time (eval_time, interval, evaluation_interval) divided by
    the factor, the series' samples and the expected alerts unchanged (ratios and averages don't move)."""

    def scaled(duration: str) -> str:
        return format_duration(parse_duration(duration) / factor)

    out = copy.deepcopy(suite)
    out["evaluation_interval"] = scaled(str(out["evaluation_interval"]))
    for group in out["tests"]:
        group["interval"] = scaled(group["interval"])
        for case in group.get("alert_rule_test", []) + group.get("promql_expr_test", []):
            case["eval_time"] = scaled(case["eval_time"])
    return out


def test_the_labs_time_compressed_rules_pass_the_same_unit_tests_on_its_clock(tmp_path: Path) -> None:
    """What `oncall lab up` loads into its Prometheus (the shipped rules with `for:` and ranges divided by
    LAB_FACTOR) fires, pends and stays quiet exactly like the shipped rules, LAB_FACTOR times sooner."""
    suite = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))
    (tmp_path / RULES.name).write_text(scale_rules(RULES.read_text(encoding="utf-8"), LAB_FACTOR))
    tests = tmp_path / RULE_TESTS.name
    tests.write_text(yaml.safe_dump(_scaled_rule_tests(suite, LAB_FACTOR), sort_keys=False))

    result = subprocess.run(
        [_promtool(), "test", "rules", str(tests)], capture_output=True, text=True, timeout=120, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert "eval_time: 6s" in tests.read_text()  # HighApiErrorRate fires after 5s, not 5m
