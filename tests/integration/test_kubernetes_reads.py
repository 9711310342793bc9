"""Live triage reads: runbook kubectl commands as Readings, compared with real kubectl on the simulator."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from probes.base import Reading
from probes.format import human_duration
from probes.kubernetes import KubernetesProbe
from tui.config.settings import KubernetesSettings
from tui.demo import kube_objects as fixtures
from tui.demo.cluster import API_PODS, POSTGRES_POD, REDIS_POD, WORKER_PODS
from tui.lab.kube_sim import KubeSimulator

pytestmark = pytest.mark.integration

NS = "production"
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
FORBIDDEN_PODS = 'pods is forbidden: User "system:serviceaccount:oncall:oncall" cannot list resource "pods"'

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def kubeconfig(kube_sim: KubeSimulator) -> Path:
    return kube_sim.kubeconfig(namespace=NS, context="sim")


@pytest.fixture
def probe(kubeconfig: Path) -> Iterator[KubernetesProbe]:
    with KubernetesProbe(KubernetesSettings(kubeconfig=kubeconfig, timeout=3), env={}) as probe:
        yield probe


@pytest.fixture
def kubectl(kubeconfig: Path, tmp_path: Path) -> Kubectl:
    """Real kubectl against the simulator; its flags after the subcommand, times printed in UTC."""
    if not os.path.exists(KUBECTL):
        if os.environ.get("CI"):
            pytest.fail("kubectl is not installed")
        pytest.skip("kubectl is not installed")
    env = {**os.environ, "TZ": "UTC"}

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        flags = ["--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "kcache")]
        flags += ["--request-timeout", "10s"]
        result = subprocess.run([KUBECTL, *args, *flags], capture_output=True, text=True, timeout=30, env=env)
        if check:
            assert result.returncode == 0, result.stderr
        return result

    return run


def grep_after(lines: list[str] | tuple[str, ...], pattern: str, after: int) -> list[str]:
    """`grep -A<after> pattern`, group separators ("--") left out."""
    keep: set[int] = set()
    for index, line in enumerate(lines):
        if pattern in line:
            keep.update(range(index, min(index + after + 1, len(lines))))
    return [lines[i] for i in sorted(keep)]


def table(text: str) -> list[list[str]]:
    """kubectl's columns: cells are separated by two spaces or more ("1 (5s ago)" stays one cell)."""
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines() if line.strip()]


def query(request: dict[str, Any]) -> dict[str, str]:
    raw = request["query"]
    if isinstance(raw, str):
        return {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
    return {k: v[-1] if isinstance(v, list) else v for k, v in raw.items()}


def lines_of(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.expandtabs(8) for line in lines]


# --- get pods ---------------------------------------------------------------------------------


def test_pods_reading_is_kubectl_get_pods(
    probe: KubernetesProbe, kube_sim: KubeSimulator, kubectl: Kubectl
) -> None:
    kube_sim.crash(NS, API_PODS[0])
    reading = probe.read_pods_reading("app=inmidst-api")
    assert reading.ok, reading.problem
    assert reading.source == "kubernetes"
    assert reading.what == "kubectl -n production get pods -l app=inmidst-api"
    assert reading.columns == ("NAME", "READY", "STATUS", "RESTARTS", "AGE")
    theirs = table(kubectl("get", "pods", "-l", "app=inmidst-api").stdout)
    assert theirs[0] == list(reading.columns)

    def stable(row: list[str] | tuple[str, ...]) -> tuple[str, ...]:
        return (row[0], row[1], row[2], row[3].split()[0])  # the "(5s ago)" and AGE move with the clock

    assert [stable(r) for r in reading.rows] == [stable(r) for r in theirs[1:]]
    crashed = reading.rows[0]
    assert crashed[:3] == (API_PODS[0], "0/1", "CrashLoopBackOff")
    assert re.fullmatch(r"1 \(\d+s ago\)", crashed[3])
    redis = probe.read_pods_reading(
        "app=inmidst-redis"
    )  # the runbook's `kubectl get pods -l app=inmidst-redis`
    assert redis.rows == tuple(
        tuple(r) for r in table(kubectl("get", "pods", "-l", "app=inmidst-redis").stdout)[1:]
    )
    assert redis.rows[0][0] == REDIS_POD and redis.rows[0][4] == "12d"


def test_no_pod_matching_is_said_in_plain_words(probe: KubernetesProbe) -> None:
    reading = probe.read_pods_reading("app=inmidst-nope")
    assert reading.rows == () and reading.read_at is not None
    assert reading.problem == "no pods match -l app=inmidst-nope in namespace production"
    logs = probe.read_logs_reading("app=inmidst-nope", tail=10)
    assert not logs.ok and logs.problem == "no pods match -l app=inmidst-nope in namespace production"


def test_human_duration_is_kubectls() -> None:
    cases = {
        5: "5s",
        119: "119s",
        184: "3m4s",
        600: "10m",
        7200: "120m",
        4 * 3600 + 60: "4h1m",
        30 * 3600: "30h",
    }
    cases |= {3 * 86400 + 3600: "3d1h", 12 * 86400: "12d", 800 * 86400: "2y70d", -5: "<invalid>", -1: "0s"}
    assert {s: human_duration(s) for s in cases} == cases


# --- describe ---------------------------------------------------------------------------------


def test_describe_last_state_greps_as_kubectls_after_an_oom_kill(
    probe: KubernetesProbe, kube_sim: KubeSimulator, kubectl: Kubectl
) -> None:
    kube_sim.crash(NS, POSTGRES_POD, reason="OOMKilled", exit_code=137)
    # the runbook's `kubectl -n production describe pod -l app=inmidst-postgres | grep -A5 "Last State"`
    reading = probe.read_describe_reading("app=inmidst-postgres", namespace=NS)
    assert reading.ok, reading.problem
    assert reading.what == "kubectl -n production describe pod -l app=inmidst-postgres"
    ours = grep_after(reading.lines, "Last State", 5)
    theirs = grep_after(
        kubectl("-n", NS, "describe", "pod", "-l", "app=inmidst-postgres").stdout.splitlines(),
        "Last State",
        5,
    )
    assert ours == theirs
    assert ours[:3] == [
        "    Last State:     Terminated",
        "      Reason:       OOMKilled",
        "      Exit Code:    137",
    ]
    assert ours[-1] == "    Ready:          False"
    assert "    State:          Waiting" in reading.lines
    assert "      Reason:       CrashLoopBackOff" in reading.lines
    assert "    Restart Count:  1" in reading.lines
    assert reading.lines[:2] == ("Name:             inmidst-postgres-0", "Namespace:        production")
    assert "Node:             node-2/" in "\n".join(reading.lines)
    assert "      memory:  2Gi" in reading.lines  # Limits
    assert "Events:" in reading.lines


def test_describe_of_several_pods_has_each_ones_state_and_events(
    probe: KubernetesProbe, kube_sim: KubeSimulator, kubectl: Kubectl
) -> None:
    kube_sim.crash(NS, API_PODS[0])
    reading = probe.read_describe_reading("app=inmidst-api")
    assert reading.ok, reading.problem
    assert [line for line in reading.lines if line.startswith("Name:")] == [
        f"Name:             {p}" for p in API_PODS
    ]
    text = kubectl("describe", "pod", "-l", "app=inmidst-api").stdout
    assert grep_after(reading.lines, "Last State", 5) == grep_after(text.splitlines(), "Last State", 5)
    warning = next(line for line in reading.lines if "Readiness probe failed" in line)
    assert re.match(
        r"^  Warning  Unhealthy  \S+ \(x7 over \S+\)\s+kubelet\s+Readiness probe failed: HTTP", warning
    )
    ours = {line.split()[0] for line in reading.lines if line.startswith(("  Normal", "  Warning"))}
    assert ours == {"Normal", "Warning"}
    # two pods of two containers: the restarted worker says OOMKilled, the exporters have no Last State
    workers = probe.read_describe_reading("app=inmidst-worker")
    assert grep_after(workers.lines, "Last State", 5) == grep_after(
        kubectl("describe", "pod", "-l", "app=inmidst-worker").stdout.splitlines(), "Last State", 5
    )
    assert sum("Last State" in line for line in workers.lines) == 1
    assert "  metrics-exporter:" in workers.lines


def test_describe_without_the_right_to_read_events_still_shows_the_pod(
    probe: KubernetesProbe, kube_sim: KubeSimulator
) -> None:
    kube_sim.deny("events")
    reading = probe.read_describe_reading("app=inmidst-worker")
    assert reading.read_at is not None
    assert reading.problem is not None and reading.problem.startswith(
        "events not read: forbidden: events is forbidden"
    )
    assert "      Reason:       OOMKilled" in reading.lines
    assert reading.lines.count("Events:  <not read>") == 2
    events_lists = [r for r in kube_sim.requests() if r["path"].endswith("/events")]
    assert len(events_lists) == 1  # a 403 is not asked again for every pod


# --- jsonpath ---------------------------------------------------------------------------------

TEMPLATES = (
    "{.items[*].status.containerStatuses[*].restartCount}",
    "{.items[*].metadata.name}",
    '{range .items[*]}{.metadata.name}{"\\t"}{end}',
    '{range .items[*]}{.metadata.name}{"\\t"}'
    '{.status.containerStatuses[0].lastState.terminated.reason}{"\\n"}{end}',
    "{.items[?(@.status.containerStatuses[0].restartCount>0)].metadata.name}",
    "{.items[0].spec.containers[0].resources}",
    "{.items[*].kind} {.kind}",
    "{.items[-1:].metadata.labels.app}",
)


@pytest.mark.parametrize("selector", ["app=inmidst-api", None])
def test_jsonpath_reading_prints_what_kubectl_prints(
    probe: KubernetesProbe, kube_sim: KubeSimulator, kubectl: Kubectl, selector: str | None
) -> None:
    kube_sim.crash(NS, API_PODS[0])
    where = ["-l", selector] if selector else []
    for template in TEMPLATES:
        reading = probe.read_jsonpath_reading(selector, template)
        assert reading.ok, (template, reading.problem)
        theirs = kubectl("-n", NS, "get", "pods", *where, "-o", f"jsonpath={template}").stdout
        assert list(reading.lines) == lines_of(theirs), template


async def test_jsonpath_restart_counts_as_the_runbook_asks(
    probe: KubernetesProbe, kube_sim: KubeSimulator
) -> None:
    kube_sim.crash(NS, API_PODS[0])
    template = "{.items[*].status.containerStatuses[*].restartCount}"
    reading = await probe.jsonpath_reading("app=inmidst-api", template, namespace=NS)
    assert reading.lines == ("1 0 0",)
    assert reading.what == (
        "kubectl -n production get pods -l app=inmidst-api "
        "-o jsonpath='{.items[*].status.containerStatuses[*].restartCount}'"
    )


def test_jsonpath_errors_are_kubectls_words(
    probe: KubernetesProbe, kube_sim: KubeSimulator, kubectl: Kubectl
) -> None:
    kube_sim.clear_requests()
    bad = probe.read_jsonpath_reading(None, "{.items[0].metadata.name")
    assert not bad.ok and bad.read_at is None
    assert bad.problem == "error parsing jsonpath {.items[0].metadata.name, unclosed action"
    assert kube_sim.requests() == []  # a broken template asks nothing of the server
    out_of_range = probe.read_jsonpath_reading(None, "{.items[9].metadata.name}")
    assert out_of_range.problem is not None
    assert "array index out of bounds: index 9, length 7" in out_of_range.problem
    theirs = kubectl("get", "pods", "-o", "jsonpath={.items[9].metadata.name}", check=False)
    assert "array index out of bounds: index 9, length 7" in theirs.stderr


# --- logs -------------------------------------------------------------------------------------


async def test_logs_of_every_matching_pod_with_kubectls_prefix(
    probe: KubernetesProbe, kube_sim: KubeSimulator, kubectl: Kubectl
) -> None:
    for pod in API_PODS[1:]:
        kube_sim.append_logs(NS, pod, "api", [f"{pod} line {n}" for n in range(3)])
    reading = await probe.logs_reading("app=inmidst-api", tail=2)
    assert reading.ok, reading.problem
    assert reading.what == "kubectl -n production logs -l app=inmidst-api --tail=2 --prefix"
    theirs = kubectl("logs", "-l", "app=inmidst-api", "--tail=2", "--prefix").stdout.splitlines()
    assert sorted(reading.lines) == sorted(theirs)  # kubectl's pod order is a Go map's
    assert len(reading.lines) == 6  # two lines of each of the three pods
    assert reading.lines[-2:] == (
        f"[pod/{API_PODS[2]}/api] {API_PODS[2]} line 1",
        f"[pod/{API_PODS[2]}/api] {API_PODS[2]} line 2",
    )
    assert reading.lines[2:4] == (
        f"[pod/{API_PODS[1]}/api] {API_PODS[1]} line 1",
        f"[pod/{API_PODS[1]}/api] {API_PODS[1]} line 2",
    )


def test_logs_read_the_default_container_and_the_previous_instance(
    probe: KubernetesProbe, kubectl: Kubectl
) -> None:
    current = probe.read_logs_reading("app=inmidst-worker", tail=1)
    assert current.ok, current.problem
    theirs = kubectl("logs", "-l", "app=inmidst-worker", "--tail=1", "--prefix").stdout.splitlines()
    assert sorted(current.lines) == sorted(theirs)
    assert current.lines == (
        f"[pod/{WORKER_PODS[0]}/worker] processed job 19",
        f"[pod/{WORKER_PODS[1]}/worker] processed job 4",
    )
    previous = probe.read_logs_reading("app=inmidst-worker", tail=50, previous=True)
    assert previous.ok, previous.problem
    assert previous.what.endswith("--tail=50 --previous --prefix")
    assert previous.lines == (
        f"[pod/{WORKER_PODS[1]}/worker] loading batch 4812 (2.1 GB)",
        f"[pod/{WORKER_PODS[1]}/worker] fatal: out of memory",
    )
    exporter = probe.read_logs_reading("app=inmidst-worker", tail=5, container="metrics-exporter")
    assert (
        f"[pod/{WORKER_PODS[0]}/metrics-exporter] level=info msg=Accepting StatsD Traffic" in exporter.lines
    )
    none = probe.read_logs_reading("app=inmidst-api", tail=5, previous=True)
    assert (
        not none.ok
        and none.problem == "no pod matching -l app=inmidst-api has a previous terminated container"
    )


def test_logs_are_bounded_to_five_pods_those_that_restarted_first(
    probe: KubernetesProbe, kube_sim: KubeSimulator
) -> None:
    extra = [f"inmidst-api-7d9f8b6c5-z{n}" for n in range(4)]
    for name in extra:
        kube_sim.apply(
            fixtures.pod(name, namespace=NS, labels={"app": "inmidst-api"}, containers=[("api", "api:1")])
        )
        kube_sim.append_logs(NS, name, "api", [f"hello from {name}"])
    kube_sim.crash(NS, extra[-1])  # the last by name, kept because it restarted
    kube_sim.append_logs(NS, extra[-1], "api", ["after the restart"])
    reading = probe.read_logs_reading("app=inmidst-api", tail=200)
    assert reading.truncated
    pods = {line.split("]")[0] for line in reading.lines}
    assert len(pods) <= 5
    assert f"[pod/{extra[-1]}/api" in pods
    logs = [r for r in kube_sim.requests() if r["path"].endswith("/log")]
    assert len(logs) == 5
    assert {query(r).get("tailLines") for r in logs} == {"200"}


# --- top --------------------------------------------------------------------------------------


async def test_top_reading_is_kubectl_top_pods(probe: KubernetesProbe, kubectl: Kubectl) -> None:
    for selector in ("app=inmidst-api", "app=inmidst-worker"):
        reading = await probe.top_reading(selector)
        assert reading.ok, reading.problem
        assert reading.what == f"kubectl -n production top pods -l {selector}"
        theirs = table(kubectl("top", "pods", "-l", selector).stdout)
        assert [list(reading.columns), *map(list, reading.rows)] == theirs
    api = await probe.top_reading("app=inmidst-api")
    assert api.rows[0] == (API_PODS[0], "870m", "466Mi")


def test_top_without_metrics_server_says_so(probe: KubernetesProbe, kube_sim: KubeSimulator) -> None:
    kube_sim.unserve("metrics.k8s.io")  # the API server's 404 for a group nobody serves
    reading = probe.read_top_reading("app=inmidst-api")
    assert not reading.ok and reading.read_at is None
    assert (
        reading.problem
        == "metrics API not available: metrics.k8s.io is not served (is metrics-server installed?)"
    )


def test_top_without_the_right_to_read_metrics_is_forbidden(
    probe: KubernetesProbe, kube_sim: KubeSimulator
) -> None:
    kube_sim.deny("pods.metrics.k8s.io")
    reading = probe.read_top_reading("app=inmidst-api")
    assert not reading.ok
    assert reading.problem is not None and reading.problem.startswith("forbidden: ")


# --- errors and the read-only promise ---------------------------------------------------------


async def test_forbidden_pods_fail_every_reading_with_the_servers_words(
    probe: KubernetesProbe, kube_sim: KubeSimulator, kubectl: Kubectl
) -> None:
    kube_sim.deny("pods")
    readings = await asyncio.gather(
        probe.pods_reading("app=inmidst-api"),
        probe.logs_reading("app=inmidst-api", tail=200),
        probe.describe_reading("app=inmidst-postgres"),
        probe.top_reading("app=inmidst-api"),
        probe.jsonpath_reading("app=inmidst-api", "{.items[*].metadata.name}"),
    )
    for reading in readings:
        assert isinstance(reading, Reading)
        assert not reading.ok and reading.read_at is None, reading.what
        assert reading.problem is not None and reading.problem.startswith(f"forbidden: {FORBIDDEN_PODS}"), (
            reading
        )
        assert reading.source == "kubernetes"
    assert FORBIDDEN_PODS in kubectl("get", "pods", "-l", "app=inmidst-api", check=False).stderr


def test_an_unreachable_server_is_a_failed_reading(tmp_path: Path, kubeconfig: Path, closed_url: str) -> None:
    dead = tmp_path / "dead.yaml"
    port = closed_url.rsplit(":", 1)[1].rstrip("/")
    dead.write_text(re.sub(r"https://127\.0\.0\.1:\d+", f"https://127.0.0.1:{port}", kubeconfig.read_text()))
    with KubernetesProbe(KubernetesSettings(kubeconfig=dead, timeout=2), env={}) as probe:
        reading = probe.read_describe_reading("app=inmidst-api")
    assert reading.problem == f"connection refused at https://127.0.0.1:{port}"


async def test_every_reading_is_a_get_and_the_clock_is_the_probes(
    kubeconfig: Path, kube_sim: KubeSimulator
) -> None:
    moment = datetime.now(UTC) + timedelta(seconds=30)
    settings = KubernetesSettings(kubeconfig=kubeconfig, timeout=3)
    with KubernetesProbe(settings, env={}, clock=lambda: moment) as probe:
        kube_sim.clear_requests()
        readings = await asyncio.gather(
            probe.pods_reading(None),
            probe.logs_reading("app=inmidst-worker", tail=20, previous=True),
            probe.describe_reading("app=inmidst-worker"),
            probe.top_reading("app=inmidst-worker"),
            probe.jsonpath_reading(None, "{.items[*].metadata.name}"),
        )
    assert all(r.ok for r in readings), [r.problem for r in readings]
    assert {r.read_at for r in readings} == {moment}
    requests = kube_sim.requests()
    assert requests and {r["method"] for r in requests} == {"GET"}
    for r in requests:
        assert not {"exec", "attach", "portforward", "proxy"} & set(r["path"].split("/")), r
    assert {r["user_agent"] for r in requests} == {"oncall/0.1 (read-only)"}
