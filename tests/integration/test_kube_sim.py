"""The Kubernetes API simulator speaks the real API: the official client and kubectl both work against it."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes
import pytest
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import ProtocolError

from tui.demo.cluster import API_PODS, POSTGRES_POD, WORKER_PODS
from tui.demo.kube_objects import pod
from tui.lab.kube_sim import KubeSimulator
from tui.lab.kube_sim.fixtures import decode_helm_release

pytestmark = pytest.mark.integration

NS = "production"
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"


def api_client(sim: KubeSimulator, **kwargs: Any) -> kubernetes.client.ApiClient:
    config = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(str(sim.kubeconfig(**kwargs)), client_configuration=config)
    return kubernetes.client.ApiClient(config)


def core(sim: KubeSimulator) -> kubernetes.client.CoreV1Api:
    return kubernetes.client.CoreV1Api(api_client(sim))


def raw_get(sim: KubeSimulator, path: str, token: str | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPSConnection(
        "127.0.0.1", sim.port, context=ssl.create_default_context(cadata=sim.ca_pem)
    )
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token or sim.token}"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture
def kubectl(kube_sim: KubeSimulator, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    if not os.path.exists(KUBECTL):
        if os.environ.get("CI"):
            pytest.fail("kubectl is not installed")  # CI installs it: missing there is a broken setup
        pytest.skip("kubectl is not installed")
    config = kube_sim.kubeconfig()

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [
            KUBECTL,
            "--kubeconfig",
            str(config),
            "--cache-dir",
            str(tmp_path / "kcache"),
            "--request-timeout",
            "10s",
        ]
        result = subprocess.run([*command, *args], capture_output=True, text=True, timeout=30)
        if check:
            assert result.returncode == 0, result.stderr
        return result

    return run


# --- the official Python client ------------------------------------------------------------


def test_client_lists_pods_by_label_selector(kube_sim: KubeSimulator) -> None:
    v1 = core(kube_sim)

    def names(selector: str) -> set[str]:
        return {p.metadata.name for p in v1.list_namespaced_pod(NS, label_selector=selector).items}

    assert names("app=inmidst-api") == set(API_PODS)
    assert names("app==inmidst-api,tier=backend") == set(API_PODS)
    assert names("app in (inmidst-worker, inmidst-postgres)") == {*WORKER_PODS, POSTGRES_POD}
    assert names("tier=backend,app notin (inmidst-api)") == set(WORKER_PODS)
    assert names("tier!=backend") == {POSTGRES_POD, "inmidst-redis-0"}
    assert names("pod-template-hash") == {*API_PODS, *WORKER_PODS}
    assert names("!pod-template-hash") == {POSTGRES_POD, "inmidst-redis-0"}
    everywhere = v1.list_pod_for_all_namespaces()
    assert len(everywhere.items) == 7
    assert int(everywhere.metadata.resource_version) > 0


def test_client_field_selectors_and_pod_details(kube_sim: KubeSimulator) -> None:
    v1 = core(kube_sim)
    on_node_1 = v1.list_namespaced_pod(NS, field_selector="spec.nodeName=node-1")
    assert {p.spec.node_name for p in on_node_1.items} == {"node-1"}
    only = v1.list_namespaced_pod(NS, field_selector=f"metadata.name={POSTGRES_POD},status.phase==Running")
    assert [p.metadata.name for p in only.items] == [POSTGRES_POD]
    assert v1.list_namespaced_pod(NS, field_selector="status.phase!=Running").items == []
    events = v1.list_namespaced_event(
        NS, field_selector=f"involvedObject.name={API_PODS[0]},involvedObject.kind=Pod"
    )
    assert {e.reason for e in events.items} == {"Scheduled", "Started", "Unhealthy"}
    worker = v1.read_namespaced_pod(WORKER_PODS[1], NS)
    status = worker.status.container_statuses[0]
    assert (
        status.restart_count,
        status.last_state.terminated.reason,
        status.last_state.terminated.exit_code,
    ) == (
        2,
        "OOMKilled",
        137,
    )


def test_bad_selector_is_a_400_status(kube_sim: KubeSimulator) -> None:
    v1 = core(kube_sim)
    with pytest.raises(ApiException) as caught:
        v1.list_namespaced_pod(NS, label_selector="app in (inmidst-api")
    assert caught.value.status == 400
    body = json.loads(caught.value.body)
    assert (body["kind"], body["reason"], body["code"]) == ("Status", "BadRequest", 400)
    with pytest.raises(ApiException) as caught:
        v1.list_namespaced_pod(NS, field_selector="spec.color=blue")
    assert caught.value.status == 400


def test_client_reads_logs_with_tail_container_and_previous(kube_sim: KubeSimulator) -> None:
    v1 = core(kube_sim)
    tail = v1.read_namespaced_pod_log(API_PODS[0], NS, tail_lines=2)
    assert tail.splitlines() == [
        '{"level":"error","msg":"GET /api/orders 503","error":"upstream connect error: redis timeout"}',
        '{"level":"warn","msg":"heap usage 91% of limit"}',
    ]
    previous = v1.read_namespaced_pod_log(WORKER_PODS[1], NS, container="worker", previous=True)
    assert previous.splitlines()[-1] == "fatal: out of memory"
    stamped = v1.read_namespaced_pod_log(
        WORKER_PODS[0], NS, container="worker", tail_lines=1, timestamps=True
    )
    stamp, text = stamped.rstrip("\n").split(" ", 1)
    assert text == "processed job 19"
    assert stamp.endswith("Z") and len(stamp.split(".")[1]) == 10  # RFC3339Nano: nine digits and Z
    with pytest.raises(ApiException) as caught:
        v1.read_namespaced_pod_log(WORKER_PODS[0], NS)
    assert caught.value.status == 400
    assert json.loads(caught.value.body)["message"] == (
        f"a container name must be specified for pod {WORKER_PODS[0]}, "
        "choose one of: [worker metrics-exporter]"
    )
    with pytest.raises(ApiException) as caught:
        v1.read_namespaced_pod_log(API_PODS[1], NS, previous=True)
    assert json.loads(caught.value.body)["message"] == (
        f'previous terminated container "api" in pod "{API_PODS[1]}" not found'
    )


def test_crash_moves_logs_to_previous_and_sets_crashloop(kube_sim: KubeSimulator) -> None:
    kube_sim.crash(NS, API_PODS[1], reason="OOMKilled")
    kube_sim.append_logs(NS, API_PODS[1], "api", ["restarted after OOM"])
    v1 = core(kube_sim)
    status = v1.read_namespaced_pod(API_PODS[1], NS).status.container_statuses[0]
    assert status.restart_count == 1 and status.ready is False
    assert status.state.waiting.reason == "CrashLoopBackOff"
    assert status.last_state.terminated.reason == "OOMKilled"
    assert status.last_state.terminated.finished_at is not None
    assert v1.read_namespaced_pod_log(API_PODS[1], NS).splitlines() == ["restarted after OOM"]
    previous = v1.read_namespaced_pod_log(API_PODS[1], NS, previous=True, tail_lines=1)
    assert (
        previous.strip()
        == f'{{"level":"info","msg":"GET /api/orders 200","duration_ms":51,"pod":"{API_PODS[1]}"}}'
    )


def test_watch_replays_changes_since_a_resource_version(kube_sim: KubeSimulator) -> None:
    v1 = core(kube_sim)
    listed = v1.list_namespaced_pod(NS, label_selector="app=inmidst-api")
    kube_sim.apply(pod("inmidst-api-7d9f8b6c5-new01", NS, labels={"app": "inmidst-api"}))
    kube_sim.apply(pod("unrelated-0", NS, labels={"app": "other"}))
    kube_sim.crash(NS, API_PODS[2])
    kube_sim.delete("pods", NS, "inmidst-api-7d9f8b6c5-new01")
    seen = [
        (e["type"], e["object"].metadata.name)
        for e in kubernetes.watch.Watch().stream(
            v1.list_namespaced_pod,
            NS,
            label_selector="app=inmidst-api",
            resource_version=listed.metadata.resource_version,
            timeout_seconds=1,
        )
    ]
    assert seen == [
        ("ADDED", "inmidst-api-7d9f8b6c5-new01"),
        ("MODIFIED", API_PODS[2]),
        ("DELETED", "inmidst-api-7d9f8b6c5-new01"),
    ]


def test_watch_streams_live_changes_after_initial_state(kube_sim: KubeSimulator) -> None:
    v1 = core(kube_sim)
    seen: list[tuple[str, str, int]] = []

    def change() -> None:
        kube_sim.wait_for_watches(1)
        kube_sim.crash(NS, API_PODS[0])
        kube_sim.delete("pods", NS, API_PODS[2])

    changer = threading.Thread(target=change)
    changer.start()
    watch = kubernetes.watch.Watch()
    for event in watch.stream(
        v1.list_namespaced_pod, NS, label_selector="app=inmidst-api", timeout_seconds=5
    ):
        restarts = event["object"].status.container_statuses[0].restart_count
        seen.append((event["type"], event["object"].metadata.name, restarts))
        if event["type"] == "DELETED":
            watch.stop()
    changer.join()
    assert seen == [
        ("ADDED", API_PODS[0], 0),
        ("ADDED", API_PODS[1], 0),
        ("ADDED", API_PODS[2], 0),
        ("MODIFIED", API_PODS[0], 1),
        ("DELETED", API_PODS[2], 0),
    ]


def test_watch_from_compacted_version_raises_410(kube_sim: KubeSimulator) -> None:
    v1 = core(kube_sim)
    old = v1.list_namespaced_pod(NS).metadata.resource_version
    kube_sim.crash(NS, API_PODS[0])
    kube_sim.compact()
    stream = kubernetes.watch.Watch().stream(
        v1.list_namespaced_pod, NS, resource_version=old, timeout_seconds=2
    )
    with pytest.raises(ApiException) as caught:
        list(stream)
    assert caught.value.status == 410
    assert f"too old resource version: {old}" in caught.value.reason
    status, body = raw_get(kube_sim, f"/api/v1/namespaces/{NS}/pods?watch=1&resourceVersion={old}")
    event = json.loads(body.splitlines()[0])
    assert status == 200
    assert event["type"] == "ERROR"
    assert {k: event["object"][k] for k in ("kind", "status", "reason", "code")} == {
        "kind": "Status",
        "status": "Failure",
        "reason": "Expired",
        "code": 410,
    }


def test_watch_sends_bookmarks_and_closes_at_timeout(kube_sim: KubeSimulator) -> None:
    kube_sim.set_bookmark_interval(0.2)
    rv = kube_sim.resource_version()
    started = time.monotonic()
    status, body = raw_get(
        kube_sim,
        f"/api/v1/namespaces/{NS}/pods?watch=true&resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=1",
    )
    elapsed = time.monotonic() - started
    events = [json.loads(line) for line in body.splitlines()]
    assert status == 200 and 0.9 <= elapsed < 3
    assert events and {e["type"] for e in events} == {"BOOKMARK"}
    assert events[0]["object"] == {"kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": rv}}


def test_drop_watches_cuts_open_streams(kube_sim: KubeSimulator) -> None:
    v1 = core(kube_sim)
    response = v1.list_namespaced_pod(NS, watch=True, _preload_content=False, timeout_seconds=30)
    kube_sim.wait_for_watches(1)
    started = time.monotonic()
    kube_sim.drop_watches()
    with pytest.raises(ProtocolError, match="ended prematurely"):  # a cut, not a clean end of stream
        for _ in response.stream(4096):
            pass
    assert time.monotonic() - started < 3
    assert kube_sim.open_watches() == 0


def test_denied_resource_gives_the_real_403_and_others_keep_working(kube_sim: KubeSimulator) -> None:
    v1 = core(kube_sim)
    kube_sim.deny("events")
    with pytest.raises(ApiException) as caught:
        v1.list_namespaced_event(NS)
    body = json.loads(caught.value.body)
    assert caught.value.status == 403
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'events is forbidden: User "system:serviceaccount:oncall:oncall" '
        'cannot list resource "events" '
        'in API group "" in the namespace "production"',
        "reason": "Forbidden",
        "details": {"kind": "events"},
        "code": 403,
    }
    with pytest.raises(ApiException) as caught:
        v1.list_event_for_all_namespaces()
    assert json.loads(caught.value.body)["message"].endswith(
        'cannot list resource "events" in API group "" at the cluster scope'
    )
    assert len(v1.list_namespaced_pod(NS).items) == 7
    kube_sim.allow("events")
    assert v1.list_namespaced_event(NS).items


def test_wrong_token_is_401_and_missing_pod_404(kube_sim: KubeSimulator) -> None:
    status, body = raw_get(kube_sim, f"/api/v1/namespaces/{NS}/pods", token="wrong")
    assert status == 401
    assert json.loads(body) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }
    with pytest.raises(ApiException) as caught:
        core(kube_sim).read_namespaced_pod("nope", NS)
    assert caught.value.status == 404
    body = json.loads(caught.value.body)
    assert (body["message"], body["reason"], body["details"]) == (
        'pods "nope" not found',
        "NotFound",
        {"name": "nope", "kind": "pods"},
    )


def test_writes_are_forbidden_and_every_request_is_recorded(kube_sim: KubeSimulator) -> None:
    v1 = core(kube_sim)
    kube_sim.clear_requests()
    v1.list_namespaced_pod(NS)
    with pytest.raises(ApiException) as caught:
        v1.delete_namespaced_pod(API_PODS[0], NS)
    assert caught.value.status == 403
    assert 'cannot delete resource "pods"' in json.loads(caught.value.body)["message"]
    assert len(v1.list_namespaced_pod(NS).items) == 7  # nothing was deleted
    seen = [(r["method"], r["path"]) for r in kube_sim.requests()]
    assert seen == [
        ("GET", f"/api/v1/namespaces/{NS}/pods"),
        ("DELETE", f"/api/v1/namespaces/{NS}/pods/{API_PODS[0]}"),
        ("GET", f"/api/v1/namespaces/{NS}/pods"),
    ]
    assert kube_sim.requests()[0]["user_agent"].startswith("OpenAPI-Generator")
    assert kube_sim.bytes_sent() > 7 * 1000


def test_resource_versions_are_global_and_monotonic(kube_sim: KubeSimulator) -> None:
    first = int(kube_sim.apply(pod("a-0", NS))["metadata"]["resourceVersion"])
    second = int(kube_sim.crash(NS, API_PODS[0])["metadata"]["resourceVersion"])
    third = int(
        kube_sim.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "staging"}})[
            "metadata"
        ]["resourceVersion"]
    )
    assert first < second < third
    assert core(kube_sim).list_namespace().metadata.resource_version == str(third)


def test_latency_knob_delays_api_requests(kube_sim: KubeSimulator) -> None:
    v1 = core(kube_sim)
    kube_sim.set_latency(0.3)
    started = time.monotonic()
    v1.read_namespaced_pod(API_PODS[0], NS)
    assert time.monotonic() - started >= 0.3


def test_client_reads_metrics_hpa_network_policies_and_helm_history(kube_sim: KubeSimulator) -> None:
    client = api_client(kube_sim)
    metrics = kubernetes.client.CustomObjectsApi(client).list_namespaced_custom_object(
        "metrics.k8s.io", "v1beta1", NS, "pods"
    )
    usage = {m["metadata"]["name"]: m["containers"][0]["usage"] for m in metrics["items"]}
    assert usage[API_PODS[0]] == {"cpu": "870m", "memory": "466Mi"}
    nodes = kubernetes.client.CustomObjectsApi(client).list_cluster_custom_object(
        "metrics.k8s.io", "v1beta1", "nodes"
    )
    assert len(nodes["items"]) == 3
    scaler = kubernetes.client.AutoscalingV2Api(client).read_namespaced_horizontal_pod_autoscaler(
        "inmidst-api", NS
    )
    assert (
        scaler.spec.max_replicas,
        scaler.status.current_metrics[0].resource.current.average_utilization,
    ) == (10, 85)
    policies = kubernetes.client.NetworkingV1Api(client).list_namespaced_network_policy(NS)
    assert {p.metadata.name for p in policies.items} == {
        "default-deny-ingress",
        "inmidst-api-ingress",
        "inmidst-postgres-from-backend",
    }
    secrets = kubernetes.client.CoreV1Api(client).list_namespaced_secret(
        NS, label_selector="owner=helm,name=in-midst-my-life"
    )
    releases = sorted((decode_helm_release(s.to_dict()) for s in secrets.items), key=lambda r: r["version"])
    assert [(r["version"], r["info"]["status"], r["chart"]["metadata"]["version"]) for r in releases] == [
        (1, "superseded", "1.4.0"),
        (2, "superseded", "1.4.1"),
        (3, "deployed", "1.4.2"),
    ]
    nodes_listed = kubernetes.client.CoreV1Api(client).list_node()
    assert all(
        any(c.type == "Ready" and c.status == "True" for c in n.status.conditions) for n in nodes_listed.items
    )


def test_lists_10000_pods_quickly(kube_sim_factory: Callable[..., KubeSimulator]) -> None:
    sim = kube_sim_factory(pods=10_000, lab=False)
    started = time.monotonic()
    status, body = raw_get(sim, "/api/v1/namespaces/production/pods")
    elapsed = time.monotonic() - started
    assert status == 200
    assert len(json.loads(body)["items"]) == 10_000
    assert elapsed < 1.0, f"listing 10,000 pods took {elapsed:.2f}s"
    limited = core(sim).list_namespaced_pod(NS, limit=500)
    assert len(limited.items) == 500 and limited.metadata.remaining_item_count == 9500
    rest = core(sim).list_namespaced_pod(NS, limit=500, _continue=limited.metadata._continue)
    assert rest.items[0].metadata.name > limited.items[-1].metadata.name


def test_paged_list_gives_every_pod_once_with_the_remaining_count(kube_sim: KubeSimulator) -> None:
    everything = [p.metadata.name for p in core(kube_sim).list_namespaced_pod(NS).items]
    names: list[str] = []
    token = ""
    remaining: list[int | None] = []
    while True:
        query = f"limit=3&continue={token}" if token else "limit=3"
        status, body = raw_get(kube_sim, f"/api/v1/namespaces/{NS}/pods?{query}")
        assert status == 200
        page = json.loads(body)
        names += [item["metadata"]["name"] for item in page["items"]]
        remaining.append(page["metadata"].get("remainingItemCount"))
        token = page["metadata"].get("continue", "")
        if not token:
            break
    assert names == everything and len(everything) > 3
    # as the real server: each page but the last says how many are left; the last says nothing
    assert remaining[:-1] == [len(everything) - 3 * (i + 1) for i in range(len(remaining) - 1)]
    assert remaining[-1] is None


def test_continue_token_past_a_compaction_is_410_expired(kube_sim: KubeSimulator) -> None:
    first = core(kube_sim).list_namespaced_pod(NS, limit=2)
    kube_sim.crash(NS, API_PODS[0])
    kube_sim.compact()
    with pytest.raises(ApiException) as caught:
        core(kube_sim).list_namespaced_pod(NS, limit=2, _continue=first.metadata._continue)
    assert caught.value.status == 410
    body = json.loads(caught.value.body)
    assert (body["reason"], body["code"]) == ("Expired", 410)
    assert "continue parameter is too old" in body["message"]
    assert len(core(kube_sim).list_namespaced_pod(NS, limit=2).items) == 2  # a new list works at once


def test_kubectl_lists_in_chunks(kube_sim: KubeSimulator, kubectl: Callable[..., Any]) -> None:
    chunked = kubectl("get", "pods", "-n", NS, "--chunk-size=2", "-o", "name").stdout.split()
    whole = kubectl("get", "pods", "-n", NS, "--chunk-size=0", "-o", "name").stdout.split()
    assert chunked == whole and len(whole) > 2
    limits = [r["query"].get("limit") for r in kube_sim.requests() if r["path"].endswith("/pods")]
    assert "2" in limits


# --- kubectl -------------------------------------------------------------------------------


def test_kubectl_get_pods_json_with_label_selector(kubectl: Callable[..., Any]) -> None:
    listed = json.loads(kubectl("get", "pods", "-l", "app=inmidst-api", "-o", "json").stdout)
    assert sorted(item["metadata"]["name"] for item in listed["items"]) == sorted(API_PODS)


def test_kubectl_get_pods_table_shows_crashloop(kube_sim: KubeSimulator, kubectl: Callable[..., Any]) -> None:
    before = kubectl("get", "pods").stdout
    assert before.split()[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    row = next(line for line in before.splitlines() if line.startswith(API_PODS[0]))
    assert row.split()[1:4] == ["1/1", "Running", "0"]
    kube_sim.crash(NS, API_PODS[0])
    row = next(line for line in kubectl("get", "pods").stdout.splitlines() if line.startswith(API_PODS[0]))
    assert row.split()[1:4] == ["0/1", "CrashLoopBackOff", "1"]


def test_kubectl_logs_tail_and_previous(kube_sim: KubeSimulator, kubectl: Callable[..., Any]) -> None:
    assert (
        kubectl("logs", API_PODS[0], "--tail=1").stdout
        == '{"level":"warn","msg":"heap usage 91% of limit"}\n'
    )
    assert kubectl("logs", "-p", WORKER_PODS[1], "-c", "worker").stdout.splitlines() == [
        "loading batch 4812 (2.1 GB)",
        "fatal: out of memory",
    ]
    missing = kubectl("logs", "-p", API_PODS[1], check=False)
    assert missing.returncode != 0
    assert f'previous terminated container "api" in pod "{API_PODS[1]}" not found' in missing.stderr


def test_kubectl_describe_pod_shows_last_state_and_events(
    kube_sim: KubeSimulator, kubectl: Callable[..., Any]
) -> None:
    kube_sim.crash(NS, API_PODS[0])
    text = kubectl("describe", "pod", API_PODS[0]).stdout
    assert "Reason:       CrashLoopBackOff" in text
    assert "Last State:     Terminated" in text
    assert "Reason:       OOMKilled" in text
    assert "Exit Code:    137" in text
    assert "Restart Count:  1" in text
    assert "Readiness probe failed: HTTP probe failed with statuscode: 503" in text


def test_kubectl_top_pods(kubectl: Callable[..., Any]) -> None:
    rows = {line.split()[0]: line.split()[1:] for line in kubectl("top", "pods").stdout.splitlines()[1:]}
    assert rows[API_PODS[0]] == ["870m", "466Mi"]
    assert rows[WORKER_PODS[0]] == ["125m", "198Mi"]  # the containers summed, as kubectl does


def test_kubectl_gets_hpa_network_policies_services_and_pvcs(kubectl: Callable[..., Any]) -> None:
    hpa = kubectl("get", "hpa").stdout.splitlines()
    assert hpa[1].split()[:6] == ["inmidst-api", "Deployment/inmidst-api", "cpu:", "85%/70%", "3", "10"]
    policies = kubectl("get", "networkpolicy").stdout
    assert "inmidst-api-ingress             app=inmidst-api" in policies
    services = [line.split()[:2] for line in kubectl("get", "svc").stdout.splitlines()[1:]]
    assert services == [
        ["inmidst-api", "ClusterIP"],
        ["inmidst-postgres", "ClusterIP"],
        ["inmidst-redis", "ClusterIP"],
    ]
    pvcs = kubectl("get", "pvc", "-l", "app=inmidst-postgres").stdout.splitlines()
    assert [line.split()[:2] for line in pvcs[1:]] == [["data-inmidst-postgres-0", "Bound"]]


def test_kubectl_reports_forbidden_and_refused_writes(
    kube_sim: KubeSimulator, kubectl: Callable[..., Any]
) -> None:
    kube_sim.deny("pods")
    denied = kubectl("get", "pods", check=False)
    assert denied.returncode != 0
    assert (
        'pods is forbidden: User "system:serviceaccount:oncall:oncall" cannot list resource "pods"'
        in denied.stderr
    )
    kube_sim.allow("pods")
    refused = kubectl("delete", "pod", POSTGRES_POD, check=False)
    assert "Forbidden" in refused.stderr
    assert POSTGRES_POD in kubectl("get", "pods").stdout


def test_follow_streams_appended_log_lines(kube_sim: KubeSimulator) -> None:
    v1 = core(kube_sim)
    response = v1.read_namespaced_pod_log(
        "inmidst-redis-0", NS, follow=True, tail_lines=1, _preload_content=False, _request_timeout=10
    )
    kube_sim.append_logs(NS, "inmidst-redis-0", "redis", ["# WARNING: maxmemory reached", "evicted 120 keys"])
    seen = b""
    for chunk in response.stream(1024):
        seen += chunk
        if seen.count(b"\n") >= 3:
            break
    response.release_conn()
    assert seen.decode().splitlines() == [
        "* Ready to accept connections tcp",
        "# WARNING: maxmemory reached",
        "evicted 120 keys",
    ]


def test_denied_logs_leave_pods_readable(kube_sim: KubeSimulator) -> None:
    v1 = core(kube_sim)
    kube_sim.deny("pods/log", verbs=("get",))
    with pytest.raises(ApiException) as caught:
        v1.read_namespaced_pod_log(API_PODS[0], NS)
    assert json.loads(caught.value.body)["message"] == (
        f'pods "{API_PODS[0]}" is forbidden: User "system:serviceaccount:oncall:oncall" '
        'cannot get resource "pods/log" in API group "" in the namespace "production"'
    )
    assert v1.read_namespaced_pod(API_PODS[0], NS).status.phase == "Running"


def test_plain_http_mode_serves_the_client(kube_sim_factory: Callable[..., KubeSimulator]) -> None:
    sim = kube_sim_factory(tls=False, lab=False)
    assert sim.url.startswith("http://127.0.0.1:")
    sim.apply(pod("solo-0", "staging", labels={"app": "solo"}))
    v1 = core(sim)
    assert [p.metadata.name for p in v1.list_namespaced_pod("staging").items] == ["solo-0"]
    assert v1.list_namespaced_pod(NS).items == []
