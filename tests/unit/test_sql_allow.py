"""A team's own read-only functions and views, allowed by name in [postgres], become live runbook reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_config import config_error, load
from tui.triage.commands import LiveRead, Unknown, classify, configured_servers
from tui.triage.plans import coverage
from tui.triage.runbook import parse_runbook

ALLOWING = """
[postgres]
dsn = "host=db.internal dbname=inmidst user=oncall_monitor"
allow_functions = ["public.orders_open"]
allow_relations = ["reporting.daily"]
"""


def test_config_names_the_allowed_functions_and_views(tmp_path: Path) -> None:
    pg = load(tmp_path, ALLOWING).postgres
    assert pg.allow_functions == ("public.orders_open",)
    assert pg.allow_relations == ("reporting.daily",)


@pytest.mark.parametrize("value", ['"public.f"', "[1]", '[""]'])
def test_allow_lists_must_be_lists_of_names(tmp_path: Path, value: str) -> None:
    error = config_error(tmp_path, f"[postgres]\nallow_functions = {value}\n")
    assert error.key == "postgres.allow_functions"
    assert "must be a list of names" in str(error)


def test_an_allowed_function_is_a_live_read_and_others_stay_copy_only(tmp_path: Path) -> None:
    settings = load(tmp_path, ALLOWING)
    servers = configured_servers(settings.postgres, settings.redis)
    allowed = classify("SELECT orders_open()", servers)
    assert isinstance(allowed, LiveRead) and allowed.params.statement == "SELECT orders_open()"
    through_pod = classify('kubectl exec deploy/db -- psql -c "SELECT orders_open()"', servers)
    assert isinstance(through_pod, LiveRead) and through_pod.translated
    other = classify("SELECT audit_kill()", servers)
    assert isinstance(other, Unknown) and "audit_kill()" in other.reason
    assert isinstance(classify("SELECT orders_open()"), Unknown)  # without the config: refused


def test_coverage_counts_the_allowed_function_as_live(tmp_path: Path) -> None:
    settings = load(tmp_path, ALLOWING)
    runbook = parse_runbook(
        "## orders\n\n**Alert**: x\n\n**Triage**:\n1. Open orders: `SELECT orders_open()`\n"
    )
    plans = [
        p for s in coverage(runbook, configured_servers(settings.postgres, None)).sections for p in s.plans
    ]
    assert [p.kind for p in plans] == ["live"]
    assert [p.kind for s in coverage(runbook).sections for p in s.plans] == ["copy-only"]
