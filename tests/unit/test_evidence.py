"""Which triage steps get live evidence, and the coverage report of the seed runbook."""

from __future__ import annotations

import json
from pathlib import Path

from probes.postgres import check_sql
from tests.helpers import REPO, oncall
from tui.triage.plans import coverage, plan_causes, plan_step
from tui.triage.runbook import TriageStep, load_runbook

SEED = REPO / "examples" / "inmidst" / "RUNBOOK.md"


def test_the_seed_runbook_has_evidence_for_36_of_its_37_steps_and_runs_every_command() -> None:
    report = coverage(load_runbook(SEED))
    assert report.steps == 37
    assert report.with_evidence == 36  # the issue asks for at least 35
    assert (report.count("live"), report.count("derived"), report.count("manual")) == (29, 7, 1)
    assert report.count("copy-only") == 0
    assert len(report.commands) == 30
    assert (report.commands_live, report.commands_translated) == (26, 4)


def test_the_one_manual_step_is_the_load_balancer_one() -> None:
    report = coverage(load_runbook(SEED))
    manual = [(s.slug, p.step.text) for s in report.sections for p in s.plans if p.kind == "manual"]
    assert manual == [
        ("high-active-connections", "Check for connection pooling issues at the load balancer level")
    ]


def test_commandless_steps_get_the_read_their_words_ask_for() -> None:
    runbook = load_runbook(SEED)
    section = runbook.section("high-api-error-rate")
    assert section is not None
    plan = plan_step(section.steps[1], section)  # "Identify the most common error codes…"
    assert plan.kind == "derived"
    (read,) = plan.reads
    assert (read.source, read.read, read.params.selector) == ("kubernetes", "status-codes", "app=inmidst-api")
    flushed = plan_step(TriageStep(1, "Check if cache was recently flushed", ()))
    assert [(r.source, r.read) for r in flushed.reads] == [("redis", "restart")]


def test_a_step_whose_commands_only_change_things_is_copy_only() -> None:
    step = TriageStep(
        1,
        "Roll back: `helm rollback in-midst-my-life 41 -n production`",
        ("helm rollback in-midst-my-life 41 -n production",),
    )
    plan = plan_step(step)
    assert plan.kind == "copy-only" and not plan.reads
    assert "changes the release" in plan.commands[0].reason  # type: ignore[union-attr]


def test_the_coverage_command_prints_each_section_and_the_totals(
    isolated_env: dict[str, str], tmp_path: Path
) -> None:
    result = oncall("runbook", "coverage", str(SEED), env=isolated_env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "high-api-error-rate: 2 live, 1 derived, 0 copy-only, 0 manual" in lines
    assert "  2. live      prometheus volume-usage (translated)" in lines
    assert lines[-2] == "steps: 37, with evidence 36 (29 live, 7 derived), 0 copy-only, 1 manual"
    assert lines[-1] == "commands: 30, 26 live, 4 translated, 0 never run"
    as_json = json.loads(oncall("runbook", "coverage", str(SEED), "--json", env=isolated_env).stdout)
    assert as_json["totals"]["with_evidence"] == 36
    assert len(as_json["sections"]) == 12
    broken = tmp_path / "missing.md"
    failed = oncall("runbook", "coverage", str(broken), env=isolated_env)
    assert failed.returncode == 2 and "missing.md" in failed.stderr and "Traceback" not in failed.stderr


def test_common_causes_get_the_read_that_bears_on_them() -> None:
    runbook = load_runbook(SEED)
    planned = {c.cause.text: c.read for section in runbook.sections for c in plan_causes(section, runbook)}
    assert len(planned) == 47
    assert sum(1 for read in planned.values() if read is not None) == 39
    deployment = planned["Bad deployment: rollback with `helm rollback in-midst-my-life -n production`"]
    assert deployment is not None and (deployment.read, deployment.params.release) == (
        "helm-history",
        "in-midst-my-life",
    )
    disk = planned["Disk full: PVC out of space"]
    assert disk is not None and (disk.source, disk.read, disk.params.name) == (
        "prometheus",
        "volume-usage",
        "inmidst-postgres",
    )
    dns = planned["DNS resolution failure"]  # the down target's own error says whether a lookup failed
    assert dns is not None and (dns.source, dns.read) == ("prometheus", "targets-down")
    upstream = planned["Upstream dependency timeout: check external API keys and rate limits"]
    assert upstream is None  # nothing a probe reads bears on it: no guess
    for read in planned.values():
        if read is not None and read.read == "sql":
            assert check_sql(read.params.statement or "").allowed
