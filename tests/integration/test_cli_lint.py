"""`oncall runbook lint FILE` as a runbook owner runs it: a broken link anywhere in a section fails, naming
the section and the line; the shipped runbook lints clean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import oncall
from tui.config.paths import example_runbook

SECTION = "high-api-error-rate"
# (the line of the shipped runbook to change, what to add to it, the part it is in)
EDITS = (
    ("**Alert**: API 5xx error rate exceeds 5% for 5 minutes.", "", "prose"),
    (
        "2. Identify the most common error codes: look for patterns (502, 503, 500)",
        " (see [#error-codes](#error-codes))",
        "triage step",
    ),
    (
        "- Upstream dependency timeout: check external API keys and rate limits",
        " ([#upstream-timeouts](#upstream-timeouts))",
        "common cause",
    ),
    (
        "**Resolution**: If caused by a bad deploy, rollback.",
        " see [#missing-section](#missing-section)",
        "resolution",
    ),
)
PROSE = "Dashboards: [#api-dashboards](#api-dashboards), [Grafana](https//grafana.example/d/api)."


@pytest.fixture
def broken(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    """The shipped runbook with one broken link in a step, a cause, the resolution and the prose."""
    lines = example_runbook().read_text(encoding="utf-8").splitlines()
    for anchor, added, _ in EDITS[1:]:
        index = next(i for i, line in enumerate(lines) if line.startswith(anchor))
        lines[index] = lines[index].replace(anchor, anchor + added, 1)
    alert = next(i for i, line in enumerate(lines) if line.startswith(EDITS[0][0]))
    lines[alert + 1 : alert + 1] = ["", PROSE]  # a paragraph of prose inside the section
    path = tmp_path / "RUNBOOK.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    numbers = {
        target: next(i for i, line in enumerate(lines, 1) if f"(#{target})" in line)
        for target in ("api-dashboards", "error-codes", "upstream-timeouts", "missing-section")
    }
    return path, numbers


def test_a_broken_link_in_a_step_a_cause_the_resolution_or_prose_fails_lint_naming_section_and_line(
    broken, isolated_env
):
    path, at = broken

    result = oncall("runbook", "lint", str(path), env=isolated_env)

    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "12 sections, 37 triage steps, 47 common causes, 30 commands"
    missing = "which is not a section or heading of the runbook"
    assert lines[1:] == [
        f"broken link: {SECTION}: line {at['api-dashboards']}: prose links to #api-dashboards, {missing}",
        f"malformed link: {SECTION}: line {at['api-dashboards']}: prose links to "
        "https//grafana.example/d/api, which is not a well-formed http(s) URL",
        f"broken link: {SECTION}: line {at['error-codes']}: triage step links to #error-codes, {missing}",
        f"broken link: {SECTION}: line {at['upstream-timeouts']}: common cause links to "
        f"#upstream-timeouts, {missing}",
        f"broken link: {SECTION}: line {at['missing-section']}: resolution links to "
        f"#missing-section, {missing}",
    ]


def test_lint_json_gives_each_broken_links_section_and_line(broken, isolated_env):
    path, at = broken

    result = oncall("runbook", "lint", str(path), "--json", env=isolated_env)

    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    found = {(p["kind"], p["section"], p["line"]) for p in report["problems"]}
    assert found == {
        ("broken link", SECTION, at["api-dashboards"]),
        ("malformed link", SECTION, at["api-dashboards"]),
        ("broken link", SECTION, at["error-codes"]),
        ("broken link", SECTION, at["upstream-timeouts"]),
        ("broken link", SECTION, at["missing-section"]),
    }


def test_a_resolution_line_with_a_missing_section_is_not_ok(tmp_path, isolated_env):
    path = tmp_path / "RUNBOOK.md"
    path.write_text(
        "## api-down\n\n**Triage**:\n1. `kubectl get pods`\n\n"
        "**Resolution**: see [#missing-section](#missing-section)\n",
        encoding="utf-8",
    )

    result = oncall("runbook", "lint", str(path), "--json", env=isolated_env)

    assert result.returncode == 1
    assert json.loads(result.stdout)["problems"] == [
        {
            "kind": "broken link",
            "section": "api-down",
            "line": 6,
            "detail": "resolution links to #missing-section, "
            "which is not a section or heading of the runbook",
        }
    ]


def test_links_to_headings_and_html_anchors_and_web_links_pass(tmp_path, isolated_env):
    path = tmp_path / "RUNBOOK.md"
    path.write_text(
        '# Runbook\n\n## Escalation <a id="pager"></a>\n\nCall the lead.\n\n'
        "## api-down\n\nSee [escalation](#escalation), [the pager](#pager), [top](#runbook) and "
        "[the dashboard](https://grafana.example:3000/d/api?from=now-1h).\n\n"
        "**Triage**:\n1. `kubectl get pods` ([#api-down](#api-down))\n",
        encoding="utf-8",
    )

    result = oncall("runbook", "lint", str(path), env=isolated_env)

    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[-1] == "no problems"


def test_what_reads_like_a_link_but_is_not_one_is_reported(tmp_path, isolated_env):
    path = tmp_path / "RUNBOOK.md"
    path.write_text(
        "## api-down\n\n**Triage**:\n1. `kubectl get pods`\n\n**Common causes**:\n"
        "- Redis: see [redis down](#redis down)\n- Empty: [here](#)\n",
        encoding="utf-8",
    )

    result = oncall("runbook", "lint", str(path), env=isolated_env)

    assert result.returncode == 1
    assert result.stdout.splitlines()[1:] == [
        "malformed link: api-down: line 7: common cause has [redis down](#redis down), "
        "which Markdown does not read as a link",
        "malformed link: api-down: line 8: common cause links to #, which names no anchor",
    ]


def test_the_shipped_runbook_lints_clean(isolated_env):
    result = oncall("runbook", "lint", str(example_runbook()), env=isolated_env)

    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines() == [
        "12 sections, 37 triage steps, 47 common causes, 30 commands",
        "no problems",
    ]
