"""`oncall lab break|heal|drill` as a user runs them, against a real lab: the faults fire their alerts in the
lab's Prometheus and the console names the planted cause."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, get_json, oncall, running_lab
from tui.lab.drill import section_state
from tui.lab.state import LabState

pytestmark = pytest.mark.integration

# Quick faults whose causes four different sources decide: Kubernetes (the pod's last termination),
# PostgreSQL (sessions idle in transaction), Redis (keys without a TTL), Prometheus (the scrape's error).
QUICK_FAULTS = ("high-database-connections", "postgresql-down", "high-redis-memory", "target-down")
DRILL_KEYS = {"section", "fault", "fired", "seconds_to_fire", "mapped_section", "top_cause", "right"}


@dataclass
class Lab:
    env: dict[str, str]
    root: Path


def _alerts(state: LabState) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = get_json(f"{state.prometheus_url}/api/v1/alerts")["data"]["alerts"]
    return alerts


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("drill")
    with running_lab(base) as (env, _):
        yield Lab(env, base / "lab")


def test_break_shows_in_status_with_its_alert_and_heal_clears_it(lab: Lab) -> None:
    slug = "high-database-connections"
    broke = oncall("lab", "break", slug, env=lab.env)
    assert broke.returncode == 0, broke.stdout + broke.stderr
    assert f"broke {slug}" in broke.stdout and "idle in transaction" in broke.stdout
    again = oncall("lab", "break", slug, env=lab.env)
    assert again.returncode == 0 and "already broken" in again.stdout

    state = LabState.load(lab.root)
    deadline = time.monotonic() + 30
    while section_state(_alerts(state), slug) is None and time.monotonic() < deadline:
        time.sleep(0.5)
    status = json.loads(oncall("lab", "status", "--json", env=lab.env).stdout)
    assert status["broken"] == [slug]
    assert "HighDatabaseConnections" in {a["name"] for a in status["alerts"]}
    assert "high-database-connections" in oncall("lab", "status", env=lab.env).stdout

    healed = oncall("lab", "heal", slug, env=lab.env)
    assert healed.returncode == 0, healed.stdout + healed.stderr
    assert f"healed {slug}" in healed.stdout
    assert "not broken" in oncall("lab", "heal", slug, env=lab.env).stdout
    assert json.loads(oncall("lab", "status", "--json", env=lab.env).stdout)["broken"] == []


def test_a_drill_of_four_faults_fires_each_and_names_its_planted_cause(lab: Lab) -> None:
    drill = oncall("lab", "drill", "--json", *QUICK_FAULTS, env=lab.env, timeout=240)

    results = json.loads(drill.stdout)
    assert [set(r) for r in results] == [DRILL_KEYS] * len(QUICK_FAULTS), drill.stderr
    assert [r["section"] for r in results] == list(QUICK_FAULTS)
    for result in results:
        assert result["fired"] is True, (result, drill.stderr)
        assert result["mapped_section"] == result["section"], (result, drill.stderr)
        assert result["right"] is True, (result, drill.stderr)
    assert drill.returncode == 0
    assert LabState.load(lab.root).broken == []


def test_ctrl_c_in_a_drill_heals_the_fault_it_planted(lab: Lab) -> None:
    slug = "high-database-connections"
    drill = subprocess.Popen(
        [sys.executable, "-m", "tui", "lab", "drill", slug],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=lab.env,
        cwd=REPO,
    )
    assert drill.stdout is not None
    try:
        lines = []
        for line in drill.stdout:  # the drill says each step as it takes it
            lines.append(line)
            if line.strip().startswith(f"broke {slug}"):
                break
        drill.send_signal(signal.SIGINT)
        rest, _ = drill.communicate(timeout=30)
    finally:
        if drill.poll() is None:
            drill.kill()
    assert drill.returncode == 130, "".join(lines) + rest
    assert f"healed {slug}" in rest
    assert LabState.load(lab.root).broken == []
