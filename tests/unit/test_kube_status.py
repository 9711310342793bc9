"""pod_row: the STATUS, READY and RESTARTS columns kubectl would print, for the pod shapes seen on call."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import urllib3
from kubernetes import client

from probes.kubernetes import (
    ClusterTarget,
    PodCache,
    ReadOnlyApiClient,
    ReadOnlyViolation,
    check_read_only,
    explain,
    parse_quantity,
    pod_row,
    pod_summary,
    restarts_text,
)
from probes.kubernetes.client import log_problem as _log_problem
from tests.helpers import offline_kube_probe

T0 = "2026-11-27T02:00:00Z"


def container(name: str = "api", **resources: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "image": f"ghcr.io/inmidst/{name}:1.4.2"}
    if resources:
        spec["resources"] = {
            "requests": {k[4:]: v for k, v in resources.items() if k.startswith("req_")},
            "limits": {k[4:]: v for k, v in resources.items() if k.startswith("lim_")},
        }
    return spec


def running(name: str = "api", restarts: int = 0, ready: bool = True, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "ready": ready,
        "restartCount": restarts,
        "image": f"ghcr.io/inmidst/{name}:1.4.2",
        "imageID": "sha256:abc",
        "state": {"running": {"startedAt": T0}},
        **extra,
    }


def waiting(name: str, reason: str, restarts: int = 0, **extra: Any) -> dict[str, Any]:
    return {**running(name, restarts, ready=False), "state": {"waiting": {"reason": reason}}, **extra}


def terminated(name: str, reason: str, code: int, restarts: int = 0) -> dict[str, Any]:
    state = {"terminated": {"reason": reason, "exitCode": code, "finishedAt": T0}}
    return {**running(name, restarts, ready=False), "state": state}


def oom_last_state(finished: str = "2026-11-27T02:58:00Z") -> dict[str, Any]:
    return {"terminated": {"reason": "OOMKilled", "exitCode": 137, "finishedAt": finished}}


def pod(
    name: str = "inmidst-api-7d9f-abcde",
    *,
    phase: str = "Running",
    containers: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    init: list[dict[str, Any]] | None = None,
    init_statuses: list[dict[str, Any]] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    **status: Any,
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "metadata": {
            "name": name,
            "namespace": "production",
            "uid": f"uid-{name}",
            "labels": {"app": "inmidst-api", "pod-template-hash": "7d9f"},
            "creationTimestamp": T0,
            "resourceVersion": "42",
            "ownerReferences": [{"kind": "ReplicaSet", "name": "inmidst-api-7d9f", "controller": True}],
        },
        "spec": {"nodeName": "node-1", "containers": containers or [container()]},
        "status": {"phase": phase, **status},
    }
    if init is not None:
        obj["spec"]["initContainers"] = init
    if statuses is not None:
        obj["status"]["containerStatuses"] = statuses
    if init_statuses is not None:
        obj["status"]["initContainerStatuses"] = init_statuses
    if conditions is not None:
        obj["status"]["conditions"] = conditions
    return obj


def test_a_healthy_pod_is_running_and_ready() -> None:
    row = pod_row(pod(statuses=[running()]))
    assert (row.status, row.ready, row.restarts) == ("Running", "1/1", 0)
    assert row.key == "production/inmidst-api-7d9f-abcde"
    assert row.labels == (("app", "inmidst-api"), ("pod-template-hash", "7d9f"))
    assert row.owner == "ReplicaSet/inmidst-api-7d9f"
    assert row.node == "node-1"
    assert row.created_at == datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    assert row.last_termination_reason == "" and row.last_restart_at is None


def test_oomkilled_then_crashloop_shows_crashloopbackoff_with_the_oom_as_last_reason() -> None:
    status = waiting("api", "CrashLoopBackOff", restarts=4, lastState=oom_last_state())
    row = pod_row(pod(statuses=[status]))
    assert row.status == "CrashLoopBackOff"
    assert row.ready == "0/1"
    assert row.restarts == 4
    assert row.last_termination_reason == "OOMKilled"
    assert row.last_exit_code == 137
    assert row.last_restart_at == datetime(2026, 11, 27, 2, 58, tzinfo=UTC)
    assert row.oom_killed
    (api,) = row.containers
    assert (api.state, api.reason, api.last_termination_reason) == (
        "waiting",
        "CrashLoopBackOff",
        "OOMKilled",
    )
    now = datetime(2026, 11, 27, 3, 1, tzinfo=UTC)
    assert restarts_text(row, now) == "4 (3m ago)"


def test_a_container_just_killed_for_memory_shows_oomkilled() -> None:
    row = pod_row(pod(statuses=[terminated("api", "OOMKilled", 137, restarts=1)]))
    assert row.status == "OOMKilled"
    assert row.containers[0].state == "terminated"


def test_terminated_without_a_reason_shows_the_exit_code_or_signal() -> None:
    status = running(ready=False)
    status["state"] = {"terminated": {"exitCode": 2}}
    assert pod_row(pod(statuses=[status])).status == "ExitCode:2"
    status["state"] = {"terminated": {"exitCode": 0, "signal": 9}}
    assert pod_row(pod(statuses=[status])).status == "Signal:9"


def test_an_evicted_pod_shows_evicted_and_the_reason_message() -> None:
    message = "The node was low on resource: memory."
    row = pod_row(pod(phase="Failed", reason="Evicted", message=message))
    assert row.status == "Evicted"
    assert row.phase == "Failed"
    assert row.message == message


def test_an_unschedulable_pod_is_pending_with_its_condition() -> None:
    condition = {
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": "0/3 nodes are available: 3 Insufficient memory.",
    }
    obj = pod(phase="Pending", conditions=[condition])
    del obj["spec"]["nodeName"]
    row = pod_row(obj)
    assert (row.status, row.ready, row.node) == ("Pending", "0/1", "")
    assert row.conditions[0].reason == "Unschedulable"
    assert "Insufficient memory" in row.conditions[0].message


def test_container_creating_and_image_pull_problems_show_the_waiting_reason() -> None:
    for reason in ("ContainerCreating", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError"):
        assert pod_row(pod(phase="Pending", statuses=[waiting("api", reason)])).status == reason


def test_init_containers_show_progress_then_their_failures() -> None:
    init = [container("migrate"), container("warm-cache")]
    done = {**terminated("migrate", "Completed", 0)}
    still = {**running("warm-cache", ready=False)}
    row = pod_row(
        pod(
            phase="Pending",
            init=init,
            init_statuses=[done, still],
            statuses=[waiting("api", "PodInitializing")],
        )
    )
    assert row.status == "Init:1/2"
    assert [c.name for c in row.containers] == ["migrate", "warm-cache", "api"]
    assert row.containers[0].init and not row.containers[2].init

    crashing = waiting("migrate", "CrashLoopBackOff", restarts=3)
    row = pod_row(pod(phase="Pending", init=init, init_statuses=[crashing, waiting("warm-cache", "")]))
    assert row.status == "Init:CrashLoopBackOff"
    assert row.restarts == 3

    failed = terminated("migrate", "Error", 1)
    assert pod_row(pod(phase="Pending", init=init[:1], init_statuses=[failed])).status == "Init:Error"


def test_a_ready_sidecar_counts_in_ready_and_does_not_block_init() -> None:
    sidecar = {**container("proxy"), "restartPolicy": "Always"}
    init_status = {**running("proxy"), "started": True}
    conditions = [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}]
    row = pod_row(
        pod(init=[sidecar], init_statuses=[init_status], statuses=[running()], conditions=conditions)
    )
    assert (row.status, row.ready) == ("Running", "2/2")


def test_a_pod_being_deleted_is_terminating_and_on_a_lost_node_unknown() -> None:
    obj = pod(statuses=[running()])
    obj["metadata"]["deletionTimestamp"] = "2026-11-27T03:00:00Z"
    row = pod_row(obj)
    assert row.status == "Terminating" and row.deleting
    obj["status"]["reason"] = "NodeLost"
    assert pod_row(obj).status == "Unknown"


def test_completed_job_pod_shows_completed_and_completed_sidecar_with_running_shows_running() -> None:
    row = pod_row(pod(phase="Succeeded", statuses=[terminated("job", "Completed", 0)]))
    assert row.status == "Completed"
    statuses = [terminated("setup", "Completed", 0), running("api")]
    both = pod_row(
        pod(
            containers=[container("api"), container("setup")],
            statuses=statuses,
            conditions=[{"type": "Ready", "status": "True"}],
        )
    )
    # kubectl walks the statuses from the last: "Completed" from setup, then api is running
    assert both.status == "Running"
    assert both.ready == "1/2"


def test_restarts_sum_over_containers_and_the_newest_restart_wins() -> None:
    statuses = [
        running("api", restarts=2, lastState=oom_last_state("2026-11-27T02:10:00Z")),
        running(
            "sidecar",
            restarts=5,
            lastState={
                "terminated": {"reason": "Error", "exitCode": 1, "finishedAt": "2026-11-27T02:20:00Z"}
            },
        ),
    ]
    row = pod_row(pod(containers=[container("api"), container("sidecar")], statuses=statuses))
    assert row.restarts == 7
    assert row.last_termination_reason == "Error"
    assert row.last_exit_code == 1
    assert row.last_restart_at == datetime(2026, 11, 27, 2, 20, tzinfo=UTC)
    assert row.oom_killed is False  # the *last* restart was not OOM; the detail view shows each container


def test_requests_and_limits_are_kept_as_written() -> None:
    spec = container("api", req_cpu="250m", req_memory="256Mi", lim_cpu="1", lim_memory="512Mi")
    (api,) = pod_row(pod(containers=[spec], statuses=[running()])).containers
    assert (api.requests_cpu, api.requests_memory, api.limits_cpu, api.limits_memory) == (
        "250m",
        "256Mi",
        "1",
        "512Mi",
    )
    assert parse_quantity(api.requests_cpu) == 0.25
    assert parse_quantity(api.limits_memory) == 512 * 2**20


@pytest.mark.parametrize(
    ("text", "value"),
    [("250m", 0.25), ("1", 1.0), ("1.5", 1.5), ("12345678n", 0.012345678), ("1Gi", 2**30), ("1e3", 1000.0)],
)
def test_quantities_parse(text: str, value: float) -> None:
    assert parse_quantity(text) == pytest.approx(value)


def test_garbage_does_not_raise() -> None:
    assert parse_quantity("lots") is None
    row = pod_row({"metadata": None, "spec": {"containers": "x"}, "status": {"containerStatuses": [None]}})
    assert row.name == "" and row.status == "" and row.ready == "0/0"


def test_pod_summary_counts_status_restarts_and_oom() -> None:
    rows = [
        pod_row(pod("a", statuses=[running()])),
        pod_row(pod("b", statuses=[waiting("api", "CrashLoopBackOff", 3, lastState=oom_last_state())])),
        pod_row(pod("c", statuses=[running(restarts=1)])),
    ]
    summary = pod_summary(rows)
    assert summary["by_status"] == {"Running": 2, "CrashLoopBackOff": 1}
    assert summary["restarts"] == 4
    assert summary["oom_killed"] == ["production/b"]


# --- the cache --------------------------------------------------------------------------------


def test_cache_rows_are_memoized_per_version_and_changes_are_cheap_to_ask() -> None:
    cache = PodCache()
    cache.replace_all([pod_row(pod("a")), pod_row(pod("b"))], "10")
    v1 = cache.version
    first = cache.rows()
    assert cache.rows() is first
    assert [r.name for r in first] == ["a", "b"]
    cache.upsert(pod_row(pod("c", statuses=[waiting("api", "CrashLoopBackOff")])))
    cache.delete("production/a")
    changes = cache.changed_since(v1)
    assert changes.keys == {"production/c", "production/a"} and not changes.full
    assert changes.version == cache.version
    assert [r.name for r in cache.rows()] == ["b", "c"]
    assert cache.changed_since(cache.version).keys == frozenset()
    # an identical relist changes nothing
    before = cache.version
    cache.replace_all(list(cache.rows()), "11")
    assert cache.version == before


def test_a_reader_far_behind_is_told_to_redraw_everything() -> None:
    cache = PodCache()
    cache.replace_all([pod_row(pod("a"))], "1")
    for i in range(3000):
        cache.upsert(pod_row(pod("a", statuses=[running(restarts=i)])))
    changes = cache.changed_since(0)
    assert changes.full and changes.keys == {"production/a"}


def test_pod_row_for_10000_pods_is_fast_enough_for_a_relist() -> None:
    pods = [
        pod(f"p-{i}", statuses=[waiting("api", "CrashLoopBackOff", 2, lastState=oom_last_state())])
        for i in range(10_000)
    ]
    started = time.perf_counter()
    rows = [pod_row(p) for p in pods]
    elapsed = time.perf_counter() - started
    assert len(rows) == 10_000
    assert elapsed < 2.0, f"pod_row took {elapsed:.2f}s for 10,000 pods"


# --- the read-only guard ----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
def test_the_guard_refuses_every_method_but_get(method: str) -> None:
    with pytest.raises(ReadOnlyViolation, match=method):
        check_read_only(method, "https://k8s:6443/api/v1/namespaces/production/pods/x")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/namespaces/production/pods/inmidst-api-0/exec?command=sh",
        "/api/v1/namespaces/production/pods/inmidst-api-0/attach",
        "/api/v1/namespaces/production/pods/inmidst-api-0/portforward",
        "/api/v1/namespaces/production/services/inmidst-api/proxy/metrics",
        "/api/v1/nodes/node-1/proxy/stats",
    ],
)
def test_the_guard_refuses_exec_attach_portforward_and_proxy(path: str) -> None:
    with pytest.raises(ReadOnlyViolation):
        check_read_only("GET", "https://k8s:6443" + path)


def test_the_guard_lets_reads_through_even_of_a_pod_named_proxy() -> None:
    check_read_only("GET", "https://k8s:6443/api/v1/namespaces/production/pods/proxy")
    check_read_only("GET", "https://k8s:6443/api/v1/namespaces/production/pods/proxy/log?tailLines=5")
    check_read_only("get", "https://k8s:6443/apis/metrics.k8s.io/v1beta1/namespaces/production/pods")


def test_the_probe_client_refuses_writes_before_sending_anything(tmp_path: Path) -> None:
    probe = offline_kube_probe(tmp_path)
    api = probe.api_client
    assert isinstance(api, ReadOnlyApiClient)
    assert api.user_agent == "oncall/0.1 (read-only)"
    assert probe.namespace == "production"
    core = client.CoreV1Api(api)
    sent: list[str] = []
    api.rest_client.pool_manager.request = lambda *a, **k: sent.append(a[0])  # type: ignore[method-assign]
    with pytest.raises(ReadOnlyViolation):
        core.delete_namespaced_pod("inmidst-api-0", "production")
    with pytest.raises(ReadOnlyViolation):
        core.create_namespaced_pod("production", {"metadata": {"name": "x"}})
    with pytest.raises(ReadOnlyViolation):
        core.connect_get_namespaced_pod_exec("inmidst-api-0", "production", command=["sh"])
    with pytest.raises(ReadOnlyViolation):
        api.rest_client.request("POST", "https://127.0.0.1:1/api/v1/namespaces")
    assert sent == []
    probe.close()


# --- errors in plain words --------------------------------------------------------------------


def api_error(status: int, message: str) -> Any:
    from kubernetes.client.exceptions import ApiException

    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "code": status}
    error = ApiException(status=status, reason="Forbidden" if status == 403 else "x")
    error.body = json.dumps(body)
    return error


TARGET = ClusterTarget("https://127.0.0.1:6443", "sim", "production", "/tmp/kubeconfig")


def test_a_403_says_forbidden_with_the_servers_message() -> None:
    message = (
        'events is forbidden: User "oncall" cannot list resource "events" in API group "" '
        'in the namespace "production"'
    )
    error = explain(api_error(403, message), TARGET, 5)
    assert (error.state, str(error)) == ("forbidden", f"forbidden: {message}")


def test_a_401_names_the_context_not_the_token() -> None:
    error = explain(api_error(401, "Unauthorized"), TARGET, 5)
    assert str(error) == "401 Unauthorized: check the token in kubeconfig context sim"


def test_timeouts_and_refusals_are_plain_words() -> None:
    refused = urllib3.exceptions.NewConnectionError(None, "Failed to establish")  # type: ignore[arg-type]
    refused.__cause__ = ConnectionRefusedError(111, "Connection refused")
    assert str(explain(refused, TARGET, 5)) == "connection refused at https://127.0.0.1:6443"
    slow = urllib3.exceptions.ReadTimeoutError(None, "/api", "Read timed out.")  # type: ignore[arg-type]
    assert str(explain(slow, TARGET, 5)) == "timed out after 5s waiting for https://127.0.0.1:6443"


def test_the_multi_container_log_error_lists_the_containers() -> None:
    message = "a container name must be specified for pod inmidst-api-0, choose one of: [api envoy]"
    words, containers = _log_problem(message, "inmidst-api-0", previous=False)
    assert containers == ("api", "envoy")
    assert words == "pod inmidst-api-0 has several containers; choose one of: api, envoy"
