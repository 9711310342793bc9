"""The lab's fault catalogue and the drill's pure parts: alert -> section, the verdict per fault, the table,
the JSON; break/heal bookkeeping; the simulator side of the faults against a real simulator process."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from probes.kubernetes.helm import history_from_secrets
from tui.config.paths import example_runbook
from tui.lab import sim_faults
from tui.lab.drill import (
    DrillResult,
    alerts_for_section,
    drill_exit_code,
    drill_json,
    drill_result,
    drill_table,
    section_of,
    section_state,
)
from tui.lab.faults import FAULTS, Fault, UnknownSection, break_section, heal_all, heal_section
from tui.lab.kube_sim import KubeSimulator
from tui.lab.state import LAB_NAMESPACE, LabState
from tui.triage.runbook import load_runbook

RUNBOOK_URL = "https://github.com/in-midst-my-life/infra/blob/main/docs/RUNBOOK.md#"
DRILL_KEYS = {"section", "fault", "fired", "seconds_to_fire", "mapped_section", "top_cause", "right"}


def prom_alert(name: str, section: str, state: str = "firing") -> dict[str, Any]:
    return {
        "labels": {"alertname": name},
        "annotations": {"runbook_url": RUNBOOK_URL + section},
        "state": state,
    }


def snapshot_alert(
    section: str, cause: str | None, verdict: str = "supported", mapped: str | None = None
) -> dict[str, Any]:
    entry = prom_alert("X", section)
    entry["runbook"] = {"slug": mapped or section, "title": section, "via": "runbook_url"}
    entry["top_cause"] = {"cause": cause, "verdict": verdict, "reason": "r"} if cause else None
    return entry


def test_there_is_a_fault_for_each_of_the_twelve_sections_in_runbook_order() -> None:
    runbook = load_runbook(example_runbook())
    assert list(FAULTS) == [s.slug for s in runbook.sections]
    assert len(FAULTS) == 12


def test_each_fault_plants_one_of_its_sections_own_common_causes() -> None:
    runbook = load_runbook(example_runbook())
    for section in runbook.sections:
        fault = FAULTS[section.slug]
        bullets = [c.text for c in section.causes]
        assert any(b.lower().startswith(fault.cause.lower()) for b in bullets), (section.slug, fault.cause)


def test_an_unknown_section_names_the_ones_there_are(tmp_path: Path) -> None:
    with pytest.raises(UnknownSection, match="high-api-error-rate"):
        break_section(LabState(root=tmp_path), "no-such-section")


def test_an_alert_maps_to_the_section_its_runbook_url_names() -> None:
    assert section_of(prom_alert("ApiDown", "api-down")) == "api-down"
    assert section_of({"annotations": {}}) is None
    alerts = [
        prom_alert("TargetDown", "target-down", "pending"),
        prom_alert("ApiDown", "api-down", "pending"),
        prom_alert("TargetDown", "target-down", "firing"),
    ]
    assert [a["state"] for a in alerts_for_section(alerts, "target-down")] == ["firing", "pending"]
    assert section_state(alerts, "api-down") == "pending"
    assert section_state(alerts, "target-down") == "firing"
    assert section_state(alerts, "redis-down") is None


def test_a_fault_is_right_only_when_it_fired_mapped_home_and_its_planted_cause_leads_supported() -> None:
    fault = FAULTS["high-database-connections"]
    good = [snapshot_alert(fault.section, "Connection leak: application not returning connections to pool")]
    result = drill_result(fault, True, 6.04, good)
    assert result == {
        "section": "high-database-connections",
        "fault": fault.description,
        "fired": True,
        "seconds_to_fire": 6.0,
        "mapped_section": "high-database-connections",
        "top_cause": "Connection leak",
        "right": True,
    }
    assert not drill_result(fault, False, None, [])["right"]
    unknown = [snapshot_alert(fault.section, "Connection leak: application ...", verdict="unknown")]
    assert not drill_result(fault, True, 6.0, unknown)["right"]
    other = [snapshot_alert(fault.section, "Spike in API traffic without autoscaling")]
    assert drill_result(fault, True, 6.0, other)["top_cause"] == "Spike in API traffic without autoscaling"
    assert not drill_result(fault, True, 6.0, other)["right"]
    elsewhere = [snapshot_alert(fault.section, "Connection leak", mapped="postgresql-down")]
    assert drill_result(fault, True, 6.0, elsewhere)["mapped_section"] == "postgresql-down"
    assert not drill_result(fault, True, 6.0, elsewhere)["right"]


def sample_results() -> list[DrillResult]:
    return [
        drill_result(
            FAULTS["postgresql-down"],
            True,
            4.2,
            [snapshot_alert("postgresql-down", "OOM killed: insufficient")],
        ),
        drill_result(FAULTS["redis-down"], False, None, []),
    ]


def test_the_drill_json_is_one_object_per_fault_with_exactly_the_issues_keys() -> None:
    document = json.loads(drill_json(sample_results()))
    assert [set(entry) for entry in document] == [DRILL_KEYS, DRILL_KEYS]
    assert document[0]["fired"] is True and document[0]["right"] is True
    assert document[1] == {
        "section": "redis-down",
        "fault": FAULTS["redis-down"].description,
        "fired": False,
        "seconds_to_fire": None,
        "mapped_section": None,
        "top_cause": None,
        "right": False,
    }


def test_the_drill_table_has_a_line_per_fault_and_the_totals() -> None:
    lines = drill_table(sample_results(), elapsed=372.4).splitlines()
    assert lines[0].split() == ["section", "fault", "fired", "in", "mapped", "section", "top", "cause"]
    assert lines[1].startswith("postgresql-down") and "4.2 s" in lines[1] and "OOM killed" in lines[1]
    assert lines[1].endswith("right")
    assert lines[2].startswith("redis-down") and lines[2].endswith("WRONG")
    assert lines[-1] == "1/2 fired, 1/2 mapped, 1/2 cause right, total 6m12s"


def test_the_drill_exits_0_only_when_every_fault_was_right() -> None:
    results = sample_results()
    assert drill_exit_code(results) == 1
    assert drill_exit_code(results[:1]) == 0
    assert drill_exit_code([]) == 1


@pytest.fixture
def recorded_fault(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """high-database-connections' fault replaced by one that records what it was asked to do."""
    calls: list[str] = []

    def step(word: str) -> Callable[[LabState], str]:
        def run(state: LabState) -> str:
            calls.append(word)
            return word

        return run

    fault = Fault("high-database-connections", "recorded", "Connection leak", step("planted"), step("undone"))
    monkeypatch.setitem(FAULTS, fault.section, fault)
    return calls


def test_breaking_twice_or_healing_a_healthy_section_changes_nothing_and_says_so(
    tmp_path: Path, recorded_fault: list[str]
) -> None:
    state = LabState(root=tmp_path)
    slug = "high-database-connections"
    assert heal_section(state, slug) == f"{slug} is not broken; nothing to heal"
    assert break_section(state, slug).startswith(f"broke {slug}: planted")
    assert "already broken" in break_section(state, slug)
    assert recorded_fault == ["planted"]
    assert LabState.load(tmp_path).broken == [slug]
    assert heal_section(state, slug) == f"healed {slug}: undone"
    assert heal_section(state, slug) == f"{slug} is not broken; nothing to heal"
    assert recorded_fault == ["planted", "undone"]
    assert LabState.load(tmp_path).broken == []
    assert heal_all(state) == ["nothing is broken"]


def test_a_break_that_fails_half_way_stays_recorded_so_heal_can_undo_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(state: LabState) -> str:
        raise RuntimeError("the API did not answer")

    monkeypatch.setitem(
        FAULTS, "target-down", Fault("target-down", "d", "Pod crashed", fail, lambda s: "undone")
    )
    state = LabState(root=tmp_path)
    with pytest.raises(RuntimeError):
        break_section(state, "target-down")
    assert LabState.load(tmp_path).broken == ["target-down"]
    assert heal_all(state) == ["healed target-down: undone"]


@pytest.fixture
def sim_state(kube_sim_factory: Callable[..., KubeSimulator], tmp_path: Path) -> LabState:
    sim = kube_sim_factory(tls=False, lab=True)
    return LabState(root=tmp_path, kube_url=sim.url, kube_token=sim.token)


def _pod(state: LabState, name: str) -> dict[str, Any]:
    found: dict[str, Any] = sim_faults.sim_action(
        state, "get", {"resource": "pods", "namespace": LAB_NAMESPACE, "name": name}
    )
    return found


def test_oom_kill_marks_the_pods_as_the_kubelet_would_and_restore_brings_them_back(
    sim_state: LabState,
) -> None:
    pods = sim_faults.oom_kill(sim_state, "inmidst-api")
    assert len(pods) == 3
    status = _pod(sim_state, pods[0])["status"]["containerStatuses"][0]
    assert status["lastState"]["terminated"]["reason"] == "OOMKilled"
    assert status["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert status["restartCount"] == 1 and status["ready"] is False
    sim_faults.restore(sim_state, "inmidst-api")
    status = _pod(sim_state, pods[0])["status"]["containerStatuses"][0]
    assert "running" in status["state"] and status["ready"] is True
    assert status["lastState"]["terminated"]["reason"] == "OOMKilled"  # the record stays, as in a cluster


def test_the_bad_deploy_is_a_new_deployed_helm_revision_and_the_rollback_removes_it(
    sim_state: LabState,
) -> None:
    def history() -> list[tuple[int, str, str]]:
        revisions, skipped = history_from_secrets(sim_faults.release_secrets(sim_state))
        assert skipped == 0
        return [(r.revision, r.status, r.chart) for r in revisions]

    before = history()
    assert before[0] == (3, "deployed", "in-midst-my-life-1.4.2")
    assert sim_faults.bad_deploy(sim_state) == 4
    assert sim_faults.bad_deploy(sim_state) == 4  # planted twice: still one bad revision
    after = history()
    assert after[:2] == [
        (4, "deployed", "in-midst-my-life-1.5.0"),
        (3, "superseded", "in-midst-my-life-1.4.2"),
    ]
    revisions, _ = history_from_secrets(sim_faults.release_secrets(sim_state))
    assert revisions[0].updated is not None and revisions[1].updated is not None
    assert revisions[0].updated > revisions[1].updated
    assert sim_faults.rollback(sim_state) == 4
    assert history() == before
    assert sim_faults.rollback(sim_state) is None


def test_the_lab_baseline_leaves_no_api_pod_near_its_memory_limit(sim_state: LabState) -> None:
    def memory(pod: str) -> str:
        found = sim_faults.sim_action(
            sim_state, "get", {"resource": "pods.metrics.k8s.io", "namespace": LAB_NAMESPACE, "name": pod}
        )
        return str(found["containers"][0]["usage"]["memory"])

    pods = sim_faults.lab_baseline(sim_state)
    assert [memory(pod) for pod in pods] == ["160Mi"] * 3
    labels = sim_faults.sim_action(
        sim_state, "get", {"resource": "pods.metrics.k8s.io", "namespace": LAB_NAMESPACE, "name": pods[0]}
    )["metadata"]["labels"]
    assert labels["app"] == "inmidst-api"
