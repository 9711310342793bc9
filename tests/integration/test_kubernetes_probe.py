"""The Kubernetes probe through the official client against the API simulator: watch, reads, errors."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import yaml

from probes.kubernetes import KubernetesProbe, PodInformer, PodRow
from probes.kubernetes import client as kubernetes_client
from tests.helpers import oncall
from tui.cli.check import check_kubernetes
from tui.cli.servers import read_pods_report
from tui.config.settings import KubernetesSettings
from tui.demo import kube_objects as fixtures
from tui.lab.kube_sim import KubeSimulator

pytestmark = pytest.mark.integration

NAMESPACE = "production"
WATCH_SECONDS = 5  # short server-side watches: reconnects happen within the test's lifetime too


def wait_until(predicate: Callable[[], Any], timeout: float = 3.0, step: float = 0.01) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            return value
        time.sleep(step)


@pytest.fixture
def kubeconfig(kube_sim: KubeSimulator) -> Path:
    return kube_sim.kubeconfig(namespace=NAMESPACE, context="sim")


@pytest.fixture
def probe(kubeconfig: Path) -> Iterator[KubernetesProbe]:
    probe = KubernetesProbe(KubernetesSettings(kubeconfig=kubeconfig, timeout=3), env={})
    try:
        yield probe
    finally:
        probe.close()


@pytest.fixture
def informer(probe: KubernetesProbe) -> PodInformer:
    probe.start_pods(watch_seconds=WATCH_SECONDS)
    informer = probe.informer
    assert informer is not None
    assert informer.wait_synced(5), informer.health
    return informer


def restarted(informer: PodInformer, before: PodRow) -> PodRow | None:
    """The pod's row once it shows one more restart than `before`."""
    row = informer.cache.get(before.key)
    return row if row is not None and row.restarts > before.restarts else None


def rows_by_app(informer: PodInformer, app: str) -> list[PodRow]:
    return [row for row in informer.cache.rows() if row.label("app") == app]


def pod_requests(sim: KubeSimulator, since: int = 0) -> list[dict[str, Any]]:
    return [r for r in sim.requests()[since:] if r["path"].endswith("/pods")]


def query(request: dict[str, Any]) -> dict[str, str]:
    """The request's query parameters, whether the simulator recorded them as a dict or a string."""
    raw = request["query"]
    if isinstance(raw, str):
        return {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
    return {k: v[-1] if isinstance(v, list) else v for k, v in raw.items()}


def is_watch(request: dict[str, Any]) -> bool:
    return query(request).get("watch", "").lower() in ("true", "1")


# --- pods: list + watch -----------------------------------------------------------------------


def test_the_informer_fills_the_cache_from_one_list(informer: PodInformer, kube_sim: KubeSimulator) -> None:
    assert len(rows_by_app(informer, "inmidst-api")) == 3
    assert len(rows_by_app(informer, "inmidst-worker")) == 2
    names = [row.name for row in informer.cache.rows()]
    assert any("postgres" in name for name in names) and any("redis" in name for name in names)
    assert all(row.namespace == NAMESPACE for row in informer.cache.rows())
    assert informer.lists == 1
    assert informer.health.state == "ok"
    assert informer.cache.resource_version
    lists = [r for r in pod_requests(kube_sim) if not is_watch(r)]
    assert len(lists) == 1


def test_a_crash_shows_as_crashloopbackoff_oomkilled_within_a_second(
    informer: PodInformer, kube_sim: KubeSimulator
) -> None:
    before = rows_by_app(informer, "inmidst-api")[0]
    version = informer.cache.version
    kube_sim.wait_for_watches(1)  # seen live through the watch, not in the first list
    started = time.monotonic()
    kube_sim.crash(NAMESPACE, before.name, reason="OOMKilled", exit_code=137)

    def crashed() -> PodRow | None:
        row = informer.cache.get(before.key)
        return row if row is not None and row.restarts == before.restarts + 1 else None

    row = wait_until(crashed, timeout=1.0, step=0.005)
    elapsed = time.monotonic() - started
    assert row is not None, f"no MODIFIED seen within 1 s; row: {informer.cache.get(before.key)}"
    assert elapsed < 1.0
    assert row.status == "CrashLoopBackOff"
    assert row.last_termination_reason == "OOMKilled"
    assert row.last_exit_code == 137
    assert row.oom_killed
    changes = informer.cache.changed_since(version)
    assert before.key in changes.keys and not changes.full
    assert informer.lists == 1  # a watch event, not a relist


def test_a_new_pod_is_added_and_a_deleted_pod_goes(informer: PodInformer, kube_sim: KubeSimulator) -> None:
    kube_sim.apply(fixtures.pod("inmidst-api-canary", namespace=NAMESPACE, labels={"app": "inmidst-api"}))
    key = f"{NAMESPACE}/inmidst-api-canary"
    assert wait_until(lambda: informer.cache.get(key) is not None), "ADDED not seen"
    assert len(rows_by_app(informer, "inmidst-api")) == 4
    kube_sim.delete("pods", NAMESPACE, "inmidst-api-canary")
    assert wait_until(lambda: informer.cache.get(key) is None), "DELETED not seen"
    assert informer.lists == 1


def test_after_a_dropped_watch_it_resumes_from_its_resource_version_without_listing(
    informer: PodInformer, kube_sim: KubeSimulator
) -> None:
    victim = rows_by_app(informer, "inmidst-worker")[0]
    seen = len(kube_sim.requests())
    watches = informer.watches
    kube_sim.drop_watches()
    assert wait_until(lambda: informer.watches > watches), "no reconnect after the dropped watch"
    kube_sim.crash(NAMESPACE, victim.name, reason="Error", exit_code=1)
    row = wait_until(
        lambda: (r := informer.cache.get(victim.key)) and r.restarts == victim.restarts + 1 and r
    )
    assert row, "change after the reconnect not seen"
    assert row.last_termination_reason == "Error"
    new = pod_requests(kube_sim, seen)
    assert new, "no pod requests after the drop"
    assert all(is_watch(r) for r in new), f"a list was sent after a dropped watch: {new}"
    assert all(query(r).get("resourceVersion") for r in new)
    assert informer.lists == 1


def test_after_compaction_it_relists_on_410_and_converges(
    informer: PodInformer, kube_sim: KubeSimulator
) -> None:
    # move the global resourceVersion on without a pod event, so the informer's version falls behind
    kube_sim.apply(fixtures.node("node-compaction-marker"))
    kube_sim.compact()
    kube_sim.drop_watches()
    assert wait_until(lambda: informer.lists >= 2, timeout=5), "no relist after 410"
    kube_sim.apply(fixtures.pod("inmidst-api-after-410", namespace=NAMESPACE, labels={"app": "inmidst-api"}))
    key = f"{NAMESPACE}/inmidst-api-after-410"
    assert wait_until(lambda: informer.cache.get(key) is not None, timeout=3), "did not converge after 410"
    assert informer.health.state == "ok"


def paged_probe(sim: KubeSimulator) -> KubernetesProbe:
    kubeconfig = sim.kubeconfig(namespace=NAMESPACE, context="sim")
    return KubernetesProbe(KubernetesSettings(kubeconfig=kubeconfig, timeout=5), env={})


def test_the_first_list_shows_each_page_as_it_comes_and_says_how_many_are_coming(
    kube_sim_factory: Callable[..., KubeSimulator],
) -> None:
    sim = kube_sim_factory(pods=600, lab=False)  # three pages of 250
    sim.set_latency(0.6)
    probe = paged_probe(sim)
    try:
        cache = probe.start_pods(watch_seconds=WATCH_SECONDS)
        assert wait_until(lambda: len(cache) > 0, timeout=10)
        shown = cache.rows()
        assert (len(shown), shown.complete, shown.expected) == (250, False, 600)
        assert not cache.synced
        assert wait_until(lambda: cache.synced, timeout=10), probe.health
        done = cache.rows()
        assert (len(done), done.complete, done.expected) == (600, True, 600)
        assert len({row.key for row in done}) == 600
    finally:
        probe.close()


def test_a_410_in_the_middle_of_the_paged_list_lists_again_from_the_start(
    kube_sim_factory: Callable[..., KubeSimulator],
) -> None:
    sim = kube_sim_factory(pods=600, lab=False)
    sim.set_latency(1.0)
    probe = paged_probe(sim)
    try:
        cache = probe.start_pods(watch_seconds=WATCH_SECONDS)
        assert wait_until(lambda: len(cache) > 0, timeout=10)  # the second page is asked for now
        # the snapshot the list started from is compacted away while the second page is on its way
        sim.apply(fixtures.pod("added-mid-list", namespace=NAMESPACE, labels={"app": "late"}))
        sim.compact()
        assert wait_until(lambda: cache.synced, timeout=20), probe.health
        lists = [r for r in pod_requests(sim) if not is_watch(r)]
        starts = [r for r in lists if "continue" not in query(r)]
        assert len(starts) == 2, lists  # the first list, then one fresh list after the 410
        assert len(cache) == 601 and cache.get(f"{NAMESPACE}/added-mid-list") is not None
        assert cache.rows().complete and probe.health.state == "ok"
    finally:
        probe.close()


def test_stop_returns_quickly_while_a_watch_is_open(
    probe: KubernetesProbe, informer: PodInformer, kube_sim: KubeSimulator
) -> None:
    kube_sim.wait_for_watches(1)
    time.sleep(0.2)  # the informer is now blocked reading an idle TLS stream
    started = time.monotonic()
    probe.stop_pods()
    assert time.monotonic() - started < 2.0
    assert not informer.running
    assert wait_until(lambda: kube_sim.open_watches() == 0), "the watch connection was left open"


# --- plain reads ------------------------------------------------------------------------------


def test_denied_events_mark_only_events_forbidden_while_pods_keep_updating(
    probe: KubernetesProbe, informer: PodInformer, kube_sim: KubeSimulator
) -> None:
    kube_sim.deny("events")
    events = probe.read_events()
    assert events.health.state == "forbidden"
    message = events.health.last_error or ""
    assert message.startswith("forbidden: ")
    assert "events is forbidden" in message  # the server's own words
    assert events.items == ()
    victim = rows_by_app(informer, "inmidst-api")[1]
    kube_sim.crash(NAMESPACE, victim.name)
    assert wait_until(lambda: (r := informer.cache.get(victim.key)) and r.restarts > victim.restarts)
    assert informer.health.state == "ok"
    assert probe.read_nodes().health.state == "ok"
    kube_sim.allow("events")
    assert probe.read_events().health.state == "ok"


def test_events_come_warnings_first_then_newest(probe: KubernetesProbe) -> None:
    events = probe.read_events()
    assert events.health.state == "ok", events.health
    assert events.items
    types = [event.type for event in events.items]
    assert types == sorted(types, key=lambda t: t != "Warning")
    warnings = [e for e in events.items if e.type == "Warning"]
    times = [e.last_seen for e in warnings if e.last_seen]
    assert times == sorted(times, reverse=True)


def test_events_of_one_pod(probe: KubernetesProbe, informer: PodInformer) -> None:
    pod = rows_by_app(informer, "inmidst-api")[0]
    events = probe.read_events(involved=f"Pod/{pod.name}")
    assert events.health.state == "ok"
    assert all(e.involved_name == pod.name for e in events.items)


def test_logs_tail_is_bounded_and_previous_is_the_last_instance(
    probe: KubernetesProbe, informer: PodInformer, kube_sim: KubeSimulator
) -> None:
    pod = rows_by_app(informer, "inmidst-worker")[0]
    container = next(c.name for c in pod.containers if not c.init)
    kube_sim.append_logs(NAMESPACE, pod.name, container, [f"line {i}" for i in range(500)])
    kube_sim.append_logs(NAMESPACE, pod.name, container, ["fatal: out of memory"], previous=True)
    tail = probe.read_logs(NAMESPACE, pod.name, container, tail=200)
    assert tail.health.state == "ok", tail.health
    assert len(tail.lines) == 200
    assert tail.lines[-1].endswith("line 499")
    previous = probe.read_logs(NAMESPACE, pod.name, container, tail=200, previous=True)
    assert previous.health.state == "ok", previous.health
    assert previous.lines[-1].endswith("fatal: out of memory")


def test_logs_of_a_multi_container_pod_without_a_container_list_the_choices(
    probe: KubernetesProbe, informer: PodInformer
) -> None:
    several = [row for row in informer.cache.rows() if sum(not c.init for c in row.containers) > 1]
    if not several:
        pytest.skip("the lab has no multi-container pod")
    pod = several[0]
    tail = probe.read_logs(NAMESPACE, pod.name)
    assert tail.health.state == "down"
    names = [c.name for c in pod.containers if not c.init]
    assert set(tail.containers) == set(names)
    assert f"pod {pod.name} has several containers; choose one of" in (tail.health.last_error or "")


@pytest.fixture
def helm_probe(kubeconfig: Path) -> Iterator[KubernetesProbe]:
    """A probe of a team that opted into Helm history (`[kubernetes] helm_history = true`)."""
    settings = KubernetesSettings(kubeconfig=kubeconfig, timeout=3, helm_history=True)
    with KubernetesProbe(settings, env={}) as probe:
        yield probe


def test_helm_history_is_read_from_the_release_secrets(helm_probe: KubernetesProbe) -> None:
    history = helm_probe.read_helm_history("in-midst-my-life")
    assert history.health.state == "ok", history.health
    assert [r.revision for r in history.items] == [3, 2, 1]
    assert history.items[0].chart.startswith("in-midst-my-life-") or history.items[0].chart
    assert all(r.status for r in history.items)
    assert history.items[0].updated is not None


def test_cluster_reads_return_rows(probe: KubernetesProbe) -> None:
    nodes = probe.read_nodes()
    assert nodes.health.state == "ok" and nodes.items
    assert all(node.ready in ("True", "False", "Unknown") for node in nodes.items)
    for read in (probe.read_hpas, probe.read_pvcs, probe.read_services, probe.read_network_policies):
        snapshot = read()
        assert snapshot.health.state == "ok", (snapshot.resource, snapshot.health)
        assert snapshot.items, snapshot.resource
    metrics = probe.read_pod_metrics()
    assert metrics.health.state in ("ok", "not-configured")
    if metrics.health.state == "ok":
        assert all(m.memory >= 0 for m in metrics.items)


def test_pvcs_by_label_selector(probe: KubernetesProbe) -> None:
    every = probe.read_pvcs()
    assert every.items
    labels = dict(every.items[0].labels)
    if not labels:
        pytest.skip("the lab's PVCs have no labels")
    key, value = next(iter(labels.items()))
    chosen = probe.read_pvcs(f"{key}={value}")
    assert chosen.items and all(dict(p.labels).get(key) == value for p in chosen.items)


def test_every_request_is_a_get_with_oncall_user_agent_and_no_exec(
    probe: KubernetesProbe, informer: PodInformer, kube_sim: KubeSimulator
) -> None:
    probe.read_events()
    probe.read_nodes()
    probe.read_pod_metrics()
    with KubernetesProbe(replace(probe.settings, helm_history=True), env={}) as helm:
        assert helm.read_helm_history("in-midst-my-life").items
    pod = rows_by_app(informer, "inmidst-worker")[0]
    probe.read_logs(NAMESPACE, pod.name, pod.containers[-1].name)
    requests = kube_sim.requests()
    assert requests
    assert {r["method"] for r in requests} == {"GET"}
    for r in requests:
        segments = r["path"].split("/")
        assert not {"exec", "attach", "portforward", "proxy"} & set(segments[-1:]), r
    assert {r["user_agent"] for r in requests} == {"oncall/0.1 (read-only)"}


# --- errors in plain words --------------------------------------------------------------------


def test_a_closed_port_is_connection_refused(tmp_path: Path, kubeconfig: Path, closed_url: str) -> None:
    document = yaml.safe_load(kubeconfig.read_text())
    port = closed_url.rsplit(":", 1)[1].rstrip("/")
    document["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{port}"
    dead = tmp_path / "dead.yaml"
    dead.write_text(yaml.safe_dump(document))
    with KubernetesProbe(KubernetesSettings(kubeconfig=dead, timeout=2), env={}) as probe:
        events = probe.read_events()
        assert events.health.state == "down"
        assert events.health.last_error == f"connection refused at https://127.0.0.1:{port}"


def test_a_bad_token_is_401_naming_the_context_and_never_printing_it(
    tmp_path: Path, kubeconfig: Path
) -> None:
    document = yaml.safe_load(kubeconfig.read_text())
    document["users"][0]["user"]["token"] = "wrong-s3cret-token"
    bad = tmp_path / "bad-token.yaml"
    bad.write_text(yaml.safe_dump(document))
    with KubernetesProbe(KubernetesSettings(kubeconfig=bad, timeout=2), env={}) as probe:
        health = probe.read_check()
        assert health.state == "forbidden"
        assert health.last_error == "401 Unauthorized: check the token in kubeconfig context sim"
        assert "s3cret" not in repr(health)


def test_an_unknown_context_is_named_with_the_file(kubeconfig: Path) -> None:
    probe = KubernetesProbe(KubernetesSettings(kubeconfig=kubeconfig, context="prod-eu"), env={})
    assert probe.health.state == "down"
    assert probe.health.last_error is not None
    assert probe.health.last_error.startswith(f"context 'prod-eu' not found in kubeconfig {kubeconfig}")
    assert probe.read_events().health.state == "down"


def test_kubeconfig_env_and_namespace_from_the_context(kubeconfig: Path) -> None:
    with KubernetesProbe(KubernetesSettings(), env={"KUBECONFIG": str(kubeconfig)}) as probe:
        assert probe.namespace == NAMESPACE
        assert probe.target is not None and probe.target.context == "sim"
        assert probe.read_pods().health.state == "ok"


def test_no_kubeconfig_is_not_configured(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    probe = KubernetesProbe(KubernetesSettings(), env={"KUBECONFIG": str(missing)})
    assert probe.health.state == "not-configured"
    assert str(missing) in (probe.health.last_error or "")


def test_latency_beyond_the_timeout_is_timed_out(probe: KubernetesProbe, kube_sim: KubeSimulator) -> None:
    kube_sim.set_latency(4)
    try:
        with KubernetesProbe(
            KubernetesSettings(kubeconfig=probe.settings.kubeconfig, timeout=1), env={}
        ) as slow:
            events = slow.read_events()
    finally:
        kube_sim.set_latency(0)
    assert events.health.state == "down"
    assert events.health.last_error is not None and events.health.last_error.startswith("timed out after 1s")


# --- oncall check and snapshot ----------------------------------------------------------------


LEAST_PRIVILEGE = Path(__file__).resolve().parents[2] / "examples" / "rbac" / "oncall-role.yaml"


async def test_check_reads_the_version_and_one_pod(kubeconfig: Path, kube_sim: KubeSimulator) -> None:
    kube_sim.set_rbac(yaml.safe_load_all(LEAST_PRIVILEGE.read_text()))
    seen = len(kube_sim.requests())
    health = await check_kubernetes(KubernetesSettings(kubeconfig=kubeconfig))
    assert health.state == "ok", health
    assert "namespace production" in (health.detail or "")
    paths = {r["path"].rstrip("/"): query(r) for r in kube_sim.requests()[seen:]}
    assert "/version" in paths
    assert paths[f"/api/v1/namespaces/{NAMESPACE}/pods"]["limit"] == "1"


async def test_snapshot_pod_summary_counts_crashes(probe: KubernetesProbe, kube_sim: KubeSimulator) -> None:
    victim = next(row for row in probe.read_pods().items if row.label("app") == "inmidst-api")
    kube_sim.crash(NAMESPACE, victim.name, reason="OOMKilled")
    report = await read_pods_report(probe.settings)
    assert report.health.state == "ok"
    assert report.summary is not None
    assert report.summary["pods"] >= 7
    assert report.summary["by_status"].get("CrashLoopBackOff", 0) >= 1
    assert victim.key in report.summary["oom_killed"]


def test_forbidden_pods_mark_the_informer_forbidden_then_it_recovers(
    probe: KubernetesProbe, kube_sim: KubeSimulator
) -> None:
    kube_sim.deny("pods")
    probe.start_pods(watch_seconds=WATCH_SECONDS)
    informer = probe.informer
    assert informer is not None
    assert wait_until(lambda: informer.health.state == "forbidden", timeout=3), informer.health
    assert (informer.health.last_error or "").startswith("forbidden: pods is forbidden")
    assert probe.health.state == "forbidden"
    assert probe.read_nodes().health.state == "ok"  # the rest of the cluster stays readable
    kube_sim.allow("pods")
    assert wait_until(lambda: informer.cache.synced, timeout=10), informer.health
    assert informer.health.state == "ok"
    assert len(informer.cache) == 7


async def test_the_async_reads_run_off_the_event_loop(helm_probe: KubernetesProbe) -> None:
    probe = helm_probe
    events, nodes, metrics, history = await asyncio.gather(
        probe.events(), probe.nodes(), probe.pod_metrics(), probe.helm_history("in-midst-my-life")
    )
    assert events.items and nodes.items and history.items
    by_pod = {m.name: m for m in metrics.items}
    api = next(m for name, m in by_pod.items() if name.startswith("inmidst-api-"))
    assert api.cpu > 0 and api.memory > 0
    hpa = (await probe.hpas()).items[0]
    assert hpa.metrics == "cpu: 85%/70%"
    assert (hpa.min_replicas, hpa.max_replicas, hpa.desired_replicas) == (3, 10, 4)


# --- the CLI, as a user runs it ---------------------------------------------------------------


def test_oncall_check_reports_kubernetes_ok_from_kubeconfig(
    isolated_env: dict[str, str], kubeconfig: Path, kube_sim: KubeSimulator, tmp_path: Path
) -> None:
    kube_sim.set_rbac(yaml.safe_load_all(LEAST_PRIVILEGE.read_text()))
    config = tmp_path / "oncall.toml"
    config.write_text("[kubernetes]\ntimeout = 5\n")
    env = {**isolated_env, "KUBECONFIG": str(kubeconfig)}
    result = oncall("--config", str(config), "check", env=env)
    line = next(line for line in result.stdout.splitlines() if line.startswith("kubernetes"))
    assert re.match(
        rf"^kubernetes\s+ok\s+Kubernetes v[\d.]+ \(context sim, namespace production\); pods readable; "
        rf"Helm history off in \d+ ms from {re.escape(kube_sim.url)}$",
        line,
    ), line
    assert "sim-token" not in result.stdout + result.stderr


def test_oncall_snapshot_has_the_pod_summary(
    isolated_env: dict[str, str], kubeconfig: Path, kube_sim: KubeSimulator, tmp_path: Path
) -> None:
    with KubernetesProbe(KubernetesSettings(kubeconfig=kubeconfig), env={}) as probe:
        victim = probe.read_pods().items[0]
    kube_sim.crash(NAMESPACE, victim.name, reason="OOMKilled")
    config = tmp_path / "oncall.toml"
    config.write_text("[prometheus]\ntimeout = 2\n")
    env = {**isolated_env, "KUBECONFIG": str(kubeconfig)}
    text = oncall("--config", str(config), "snapshot", env=env).stdout
    pods = next(line for line in text.splitlines() if line.startswith("Pods in "))
    pattern = r"^Pods in namespace production, context sim: 7 \(.*1 CrashLoopBackOff.*\); \d+ restarts$"
    assert re.match(pattern, pods), pods
    assert f"OOMKilled: {NAMESPACE}/{victim.name}" in text
    document = json.loads(oncall("--config", str(config), "snapshot", "--json", env=env).stdout)
    assert document["kubernetes"]["state"] == "ok"
    assert document["kubernetes"]["pods"]["by_status"]["CrashLoopBackOff"] == 1


@pytest.fixture
def service_account(
    kube_sim: KubeSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """A pod's service account directory pointing at the simulator; returns the pod's environment."""
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(kube_sim.token)
    (account / "ca.crt").write_text(kube_sim.ca_pem)
    (account / "namespace").write_text(NAMESPACE)
    monkeypatch.setattr(kubernetes_client, "SERVICE_ACCOUNT_DIR", account)
    return {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(kube_sim.port)}


def test_in_cluster_config_uses_the_service_account(service_account: dict[str, str]) -> None:
    with KubernetesProbe(KubernetesSettings(in_cluster=True), env=service_account) as probe:
        assert probe.health.state == "ok"
        assert probe.namespace == NAMESPACE
        assert probe.endpoint == f"https://127.0.0.1:{service_account['KUBERNETES_SERVICE_PORT']}"
        assert probe.target is not None and probe.target.context == ""
    outside = KubernetesProbe(KubernetesSettings(in_cluster=True), env={})
    assert outside.health.state == "not-configured"
    assert (outside.health.last_error or "").startswith("in-cluster config unavailable")


def test_in_cluster_reads_pods(service_account: dict[str, str]) -> None:
    with KubernetesProbe(KubernetesSettings(in_cluster=True), env=service_account) as probe:
        pods = probe.read_pods()
        assert pods.health.state == "ok", pods.health
        assert len(pods.items) == 7
