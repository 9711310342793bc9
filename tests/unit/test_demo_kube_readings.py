"""The demo's cluster answers the checklist's live Kubernetes readings in the real probe's kubectl layout."""

from __future__ import annotations

from datetime import timedelta

import pytest

from probes.kubernetes import POD_COLUMNS, TOP_COLUMNS
from tests.helpers import T0, FixedClock, make_app, prometheus_json, screen_text, wait_for
from tests.ui.test_checklist_evidence import _open
from tui.demo.cluster import API_PODS
from tui.demo.kubernetes import CRASH_AFTER, CRASHING_POD, DemoKubernetes

API = "app=inmidst-api"
AFTER_CRASH = CRASH_AFTER + timedelta(seconds=15)


def demo(after: timedelta = timedelta(0)) -> DemoKubernetes:
    """The demo cluster whose incident started at T0, read `after` that."""
    return DemoKubernetes(T0, FixedClock(T0 + after))


async def test_pods_table_before_and_after_the_crash() -> None:
    before = await demo().pods_reading(API)
    assert before.ok and before.what == "kubectl -n production get pods -l app=inmidst-api"
    assert before.columns == POD_COLUMNS
    assert [row[0] for row in before.rows] == sorted(API_PODS)
    assert {row[2] for row in before.rows} == {"Running"}
    assert before.read_at == T0

    after = await demo(AFTER_CRASH).pods_reading(API)
    rows = {row[0]: row for row in after.rows}
    assert len(rows) == 3
    assert rows[CRASHING_POD] == (CRASHING_POD, "0/1", "CrashLoopBackOff", "1 (15s ago)", "120m")
    assert all(rows[name][2] == "Running" for name in API_PODS if name != CRASHING_POD)


async def test_pods_of_no_match_and_of_an_unsupported_selector() -> None:
    cluster = demo()
    nothing = await cluster.pods_reading("app=nope")
    assert nothing.rows == () and nothing.problem == "no pods match -l app=nope in namespace production"
    refused = await cluster.pods_reading("app!=inmidst-api")
    assert not refused.ok and "equality selectors" in (refused.problem or "")
    everything = await cluster.pods_reading(None)
    assert everything.what == "kubectl -n production get pods" and len(everything.rows) == 7


async def test_logs_are_prefixed_per_pod_and_hold_the_503() -> None:
    reading = await demo().logs_reading(API, 200)
    assert reading.ok
    assert reading.what == "kubectl -n production logs -l app=inmidst-api --tail=200 --prefix"
    prefixes = {line.split(" ", 1)[0] for line in reading.lines}
    assert prefixes == {f"[pod/{name}/api]" for name in API_PODS}
    (error,) = [line for line in reading.lines if "503" in line]
    assert error.startswith(f"[pod/{CRASHING_POD}/api] ") and "redis timeout" in error


async def test_previous_logs_exist_only_after_the_crash() -> None:
    before = await demo().logs_reading(API, 50, previous=True)
    assert not before.ok
    assert before.problem == "no pod matching -l app=inmidst-api has a previous terminated container"

    after = await demo(AFTER_CRASH).logs_reading(API, 50, previous=True)
    assert after.ok and after.what.endswith("--tail=50 --previous --prefix")
    assert all(line.startswith(f"[pod/{CRASHING_POD}/api] ") for line in after.lines)
    assert any("503" in line for line in after.lines)
    assert after.lines[-1].endswith('"JavaScript heap out of memory"}')


async def test_describe_shows_the_oomkill_as_grep_a5_last_state_finds_it() -> None:
    reading = await demo(AFTER_CRASH).describe_reading(API)
    assert reading.ok and reading.what == "kubectl -n production describe pod -l app=inmidst-api"
    lines = list(reading.lines)
    assert lines[0].split() == ["Name:", CRASHING_POD]
    assert sum(line.startswith("Name:") for line in lines) == 3
    (at,) = [i for i, line in enumerate(lines) if "Last State" in line]
    grep = [line.split() for line in lines[at : at + 6]]  # grep -A5 "Last State"
    assert grep[0] == ["Last", "State:", "Terminated"]
    assert grep[1] == ["Reason:", "OOMKilled"]
    assert grep[2] == ["Exit", "Code:", "137"]
    assert grep[4][0] == "Finished:" and "03:00:30" in " ".join(grep[4])
    assert any("CrashLoopBackOff" in line for line in lines[:at])
    events = "\n".join(lines[: lines.index("", at)])
    assert "OOMKilling" in events and "BackOff" in events


async def test_describe_before_the_crash_has_no_last_state() -> None:
    reading = await demo().describe_reading(API)
    assert reading.ok and not any("Last State" in line for line in reading.lines)


async def test_top_shows_cpu_and_memory_in_kubectl_units() -> None:
    reading = await demo().top_reading(API)
    assert reading.ok and reading.what == "kubectl -n production top pods -l app=inmidst-api"
    assert reading.columns == TOP_COLUMNS
    assert reading.rows[0] == (CRASHING_POD, "870m", "466Mi")
    assert [row[0] for row in reading.rows] == sorted(API_PODS)


@pytest.mark.parametrize(("after", "counts"), [(timedelta(0), "0 0 0"), (AFTER_CRASH, "1 0 0")])
async def test_jsonpath_prints_the_restart_counts(after: timedelta, counts: str) -> None:
    template = "{.items[*].status.containerStatuses[*].restartCount}"
    reading = await demo(after).jsonpath_reading(API, template)
    assert reading.ok
    assert reading.what == f"kubectl -n production get pods -l app=inmidst-api -o jsonpath='{template}'"
    assert reading.lines == (counts,)


async def test_jsonpath_of_a_bad_template_says_why() -> None:
    reading = await demo().jsonpath_reading(API, "{.items[")
    assert not reading.ok and reading.problem


async def test_the_demo_checklist_for_high_api_error_rate_shows_the_logs(tmp_path) -> None:
    # HighApiErrorRate is not in the demo's script: the demo's cluster, with Prometheus firing that alert
    firing = {
        "labels": {"alertname": "HighApiErrorRate", "severity": "critical", "namespace": "production"},
        "annotations": {"summary": "API 5xx rate 9%"},
        "state": "firing",
        "activeAt": "2026-11-27T02:50:00Z",
        "value": "0.09",
    }
    app = make_app(tmp_path, transport=prometheus_json([firing]))
    assert isinstance(app.kube, DemoKubernetes)
    async with app.run_test(size=(160, 60)) as pilot:
        screen = await _open(app, pilot, "HighApiErrorRate")
        await wait_for(lambda: {0, 1} <= screen.evidence.keys(), what="the evidence of the first two steps")
        (logs,) = screen.evidence[0]
        assert logs.ok and logs.what == "kubectl -n production logs -l app=inmidst-api --tail=200 --prefix"
        assert any("GET /api/orders 503" in line for line in logs.lines)
        (codes,) = screen.evidence[1]  # step 2 counts the status codes in those logs
        assert codes.ok and ("503", "1") in codes.rows
        await pilot.pause()
        text = screen_text(app)
        # the step prints its command once; the reading's label names only what oncall added to it
        assert "Check API pod logs: kubectl -n production logs -l app=inmidst-api --tail=200" in text
        assert "▸ live · kubernetes · --prefix · read" in text
        assert f"[pod/{CRASHING_POD}/api] " in text
        assert "has no live" not in text
