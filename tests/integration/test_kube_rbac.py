"""RBAC against the simulator: it answers the self-reviews and enforces the roles of examples/rbac/ as an API
server does; the probe reads everything it needs under those roles and asks for nothing else; and `oncall
check` warns about a role that reads Secrets without need, or lacks them with Helm history on."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import yaml
from kubernetes.client.exceptions import ApiException

from probes.kubernetes import KubernetesProbe
from probes.kubernetes.access import reads
from tests.helpers import oncall
from tui.config.settings import KubernetesSettings
from tui.lab.kube_sim import KubeSimulator

pytestmark = pytest.mark.integration

NS = "production"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "rbac"
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"


def role(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((EXAMPLES / name).read_text()) if d]


def authorization(sim: KubeSimulator) -> kubernetes.client.AuthorizationV1Api:
    config = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(str(sim.kubeconfig()), client_configuration=config)
    return kubernetes.client.AuthorizationV1Api(kubernetes.client.ApiClient(config))


def can(api: kubernetes.client.AuthorizationV1Api, verb: str, resource: str, **more: str) -> Any:
    attributes = {"namespace": NS, "verb": verb, "resource": resource, **more}
    body = {"spec": {"resourceAttributes": attributes}}
    return api.create_self_subject_access_review(body).status


# --- the simulator ----------------------------------------------------------------------------------------


def test_the_simulator_answers_access_reviews_from_the_bound_roles(kube_sim: KubeSimulator) -> None:
    api = authorization(kube_sim)
    admin = can(api, "list", "secrets")
    assert admin.allowed is True
    assert admin.reason == (
        'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" '
        'to ServiceAccount "oncall/oncall"'
    )
    kube_sim.set_rbac(role("oncall-role.yaml"))
    secrets = can(api, "list", "secrets")
    assert (secrets.allowed, secrets.denied, secrets.reason) == (False, None, None)
    pods = can(api, "watch", "pods")
    assert pods.allowed is True
    assert pods.reason == (
        'RBAC: allowed by RoleBinding "production/oncall-read" of Role "oncall-read" '
        'to ServiceAccount "oncall/oncall"'
    )
    assert can(api, "get", "pods", subresource="log").allowed is True
    assert can(api, "create", "pods", subresource="exec").allowed is False
    assert can(api, "list", "pods", namespace="kube-system").allowed is False  # the Role is production's
    kube_sim.set_rbac(role("oncall-role-helm.yaml"))
    assert can(api, "list", "secrets").allowed is True
    assert can(api, "get", "secrets").allowed is False  # the role lists them, nothing more


def test_the_simulator_lists_the_roles_rules_and_refuses_what_they_leave_out(kube_sim: KubeSimulator) -> None:
    kube_sim.set_rbac(role("oncall-role.yaml"))
    api = authorization(kube_sim)
    status = api.create_self_subject_rules_review({"spec": {"namespace": NS}}).status
    assert status.incomplete is False
    rules = {(tuple(r.api_groups), tuple(r.resources)): r.verbs for r in status.resource_rules}
    assert rules[(("",), ("pods",))] == ["list", "watch"]
    assert rules[(("",), ("nodes",))] == ["list"]  # the ClusterRoleBinding's rules apply here too
    assert not any("secrets" in resources for _, resources in rules)
    assert any("/version" in r.non_resource_urls for r in status.non_resource_rules)
    with pytest.raises(ApiException) as missing:
        api.create_self_subject_rules_review({"spec": {}})
    assert missing.value.status == 400 and "no namespace on request" in missing.value.body

    v1 = kubernetes.client.CoreV1Api(api.api_client)
    with pytest.raises(ApiException) as caught:
        v1.list_namespaced_secret(NS)
    assert caught.value.status == 403
    assert json.loads(caught.value.body)["message"] == (
        'secrets is forbidden: User "system:serviceaccount:oncall:oncall" cannot list resource "secrets" '
        'in API group "" in the namespace "production"'
    )
    assert len(v1.list_namespaced_pod(NS).items) == 7
    kube_sim.set_rbac(None)
    assert v1.list_namespaced_secret(NS).items  # cluster admin again


def test_a_denied_resource_is_not_allowed_by_the_access_review_either(kube_sim: KubeSimulator) -> None:
    api = authorization(kube_sim)
    kube_sim.deny("events", ("list",))
    assert can(api, "list", "events").allowed is False
    assert can(api, "list", "pods").allowed is True
    kube_sim.allow("events")
    assert can(api, "list", "events").allowed is True


def test_roles_given_at_start_authorize_from_the_first_request(
    kube_sim_factory: Callable[..., KubeSimulator],
) -> None:
    sim = kube_sim_factory(lab=True, rbac=[EXAMPLES / "oncall-role-helm.yaml"])
    api = authorization(sim)
    assert can(api, "list", "secrets").allowed is True
    assert can(api, "list", "configmaps").allowed is False


def test_kubectl_auth_can_i_works_against_the_simulator(kube_sim: KubeSimulator, tmp_path: Path) -> None:
    if not os.path.exists(KUBECTL):
        if os.environ.get("CI"):
            pytest.fail("kubectl is not installed")
        pytest.skip("kubectl is not installed")
    kube_sim.set_rbac(role("oncall-role.yaml"))
    config = kube_sim.kubeconfig()

    def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
        command = [KUBECTL, "--kubeconfig", str(config), "--cache-dir", str(tmp_path / "kcache"), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=30)

    secrets = kubectl("auth", "can-i", "list", "secrets", "-n", NS)
    assert (secrets.returncode, secrets.stdout.strip()) == (1, "no")
    pods = kubectl("auth", "can-i", "watch", "pods", "-n", NS)
    assert (pods.returncode, pods.stdout.strip()) == (0, "yes")
    listed = kubectl("auth", "can-i", "--list", "-n", NS)
    assert listed.returncode == 0, listed.stderr
    rows = {
        line.split()[0]: line.split("]")[-2].rsplit("[", 1)[1]
        for line in listed.stdout.splitlines()[1:]
        if line[:1] != " "
    }
    assert rows["pods"] == "list watch"
    assert rows["horizontalpodautoscalers.autoscaling"] == "list"
    assert "secrets" not in rows


# --- the probe under the example roles ----------------------------------------------------------------------


def _verb_and_resource(request: dict[str, Any]) -> tuple[str, str, str] | None:
    """(group, resource, verb) of an API request as RBAC sees it; None for discovery and /version."""
    segments = [s for s in request["path"].split("/") if s]
    if segments[:1] == ["api"]:
        group, rest = "", segments[2:]
    elif segments[:1] == ["apis"] and len(segments) > 3:
        group, rest = segments[1], segments[3:]
    else:
        return None
    if rest[:1] == ["namespaces"] and len(rest) > 2:
        rest = rest[2:]
    resource = rest[0] + (f"/{rest[2]}" if len(rest) > 2 else "")
    if request["method"] == "POST":
        return group, resource, "create"
    watch = request["query"].get("watch") in ("true", "1")
    return group, resource, "get" if len(rest) > 1 else ("watch" if watch else "list")


def test_the_probe_reads_everything_under_the_helm_role_and_sends_nothing_it_does_not_grant(
    kube_sim: KubeSimulator,
) -> None:
    kube_sim.set_rbac(role("oncall-role-helm.yaml"))
    settings = KubernetesSettings(kubeconfig=kube_sim.kubeconfig(), timeout=3, helm_history=True)
    kube_sim.clear_requests()
    with KubernetesProbe(settings, env={}) as probe:
        cache = probe.start_pods(watch_seconds=5)
        assert probe.informer is not None and probe.informer.wait_synced(5), probe.informer.health
        pod = next(row for row in cache.rows() if row.label("app") == "inmidst-api")
        snapshots = [
            probe.read_events(),
            probe.read_nodes(),
            probe.read_hpas(),
            probe.read_pvcs(),
            probe.read_services(),
            probe.read_network_policies(),
            probe.read_pod_metrics(),
            probe.read_helm_history("in-midst-my-life"),
        ]
        for snapshot in snapshots:
            assert snapshot.health.state == "ok", (snapshot.resource, snapshot.health)
        assert probe.read_logs(NS, pod.name).health.state == "ok"
        for reading in (
            probe.read_pods_reading("app=inmidst-api"),
            probe.read_describe_reading("app=inmidst-api"),
            probe.read_top_reading("app=inmidst-api"),
            probe.read_logs_reading("app=inmidst-api", 5),
        ):
            assert reading.ok, reading
    sent = {seen for r in kube_sim.requests() if (seen := _verb_and_resource(r))}
    wanted = {(read.group, read.resource, verb) for read in reads(helm_history=True) for verb in read.verbs}
    assert sent == wanted


def test_with_helm_history_off_no_secret_is_asked_for_and_the_reason_is_given(
    kube_sim: KubeSimulator,
) -> None:
    kube_sim.clear_requests()
    with KubernetesProbe(KubernetesSettings(kubeconfig=kube_sim.kubeconfig()), env={}) as probe:
        history = asyncio.run(probe.helm_history("in-midst-my-life"))
    assert history.items == () and history.fetched_at is None
    assert history.health.state == "not-configured"
    assert history.health.last_error == (
        "Helm history is off: oncall reads no Secrets. To read it, set [kubernetes] helm_history = true; "
        "the role then needs list on secrets (examples/rbac/oncall-role-helm.yaml)"
    )
    assert kube_sim.requests() == []


# --- oncall check -------------------------------------------------------------------------------------


def check(
    kube_sim: KubeSimulator, env: dict[str, str], tmp_path: Path, helm_history: bool
) -> tuple[int, str]:
    config = tmp_path / "oncall.toml"
    config.write_text(f"[kubernetes]\ntimeout = 5\nhelm_history = {str(helm_history).lower()}\n")
    result = oncall("--config", str(config), "check", env={**env, "KUBECONFIG": str(kube_sim.kubeconfig())})
    assert "Traceback" not in result.stderr, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("kubernetes"))
    return result.returncode, line


def test_check_warns_when_the_role_reads_secrets_helm_history_does_not_need(
    isolated_env: dict[str, str], kube_sim: KubeSimulator, tmp_path: Path
) -> None:
    kube_sim.set_rbac(role("oncall-role-helm.yaml"))
    code, line = check(kube_sim, isolated_env, tmp_path, helm_history=False)
    assert code == 1
    assert re.match(
        r"^kubernetes\s+degraded\s+Kubernetes v[\d.]+ \(context sim, namespace production\)", line
    )
    assert line.endswith(
        "; the role can read every Secret in namespace production, which oncall does not need with Helm "
        "history off: bind the least-privilege role in examples/rbac/oncall-role.yaml instead"
    ), line


def test_check_of_a_cluster_admin_warns_of_secrets_and_writes(
    isolated_env: dict[str, str], kube_sim: KubeSimulator, tmp_path: Path
) -> None:
    code, line = check(kube_sim, isolated_env, tmp_path, helm_history=False)
    assert code == 1 and "degraded" in line
    assert "the role can read every Secret in namespace production" in line
    assert "the role may do more than read in namespace production (* on *): oncall only reads" in line


def test_check_of_the_least_privilege_role_has_no_warning(
    isolated_env: dict[str, str], kube_sim: KubeSimulator, tmp_path: Path
) -> None:
    kube_sim.set_rbac(role("oncall-role.yaml"))
    code, line = check(kube_sim, isolated_env, tmp_path, helm_history=False)
    assert code == 0, line
    assert re.match(r"^kubernetes\s+ok\s+.*; pods readable; Helm history off in \d+ ms from ", line), line
    assert "role" not in line


def test_check_warns_when_helm_history_is_on_but_secrets_are_not_readable(
    isolated_env: dict[str, str], kube_sim: KubeSimulator, tmp_path: Path
) -> None:
    kube_sim.set_rbac(role("oncall-role.yaml"))
    code, line = check(kube_sim, isolated_env, tmp_path, helm_history=True)
    assert code == 1
    assert "degraded" in line and "Helm history on" in line
    assert line.endswith(
        "; Helm history is on but the role may not list secrets in namespace production: the Deploys tab and "
        "the Helm evidence stay empty; bind the role in examples/rbac/oncall-role-helm.yaml, or set "
        "helm_history = false"
    ), line
    kube_sim.set_rbac(role("oncall-role-helm.yaml"))
    code, line = check(kube_sim, isolated_env, tmp_path, helm_history=True)
    assert code == 0 and "role" not in line, line


def test_check_says_when_the_server_refuses_the_reviews_and_still_reports_ok(
    isolated_env: dict[str, str], kube_sim: KubeSimulator, tmp_path: Path
) -> None:
    kube_sim.set_rbac(role("oncall-role.yaml"))
    kube_sim.unserve("authorization.k8s.io")  # an old or stripped-down API server: 404 for the reviews
    code, line = check(kube_sim, isolated_env, tmp_path, helm_history=False)
    assert code == 0, line
    assert "could not ask whether the role may list secrets (not found:" in line, line
    assert "could not list the role's rules (not found:" in line, line


def test_helm_history_on_with_a_role_that_cannot_list_secrets_names_the_role_it_needs(
    kube_sim: KubeSimulator,
) -> None:
    kube_sim.set_rbac(role("oncall-role.yaml"))
    settings = KubernetesSettings(kubeconfig=kube_sim.kubeconfig(), timeout=3, helm_history=True)
    with KubernetesProbe(settings, env={}) as probe:
        history = probe.read_helm_history("in-midst-my-life")
    assert history.health.state == "forbidden"
    assert history.health.last_error == (
        'forbidden: secrets is forbidden: User "system:serviceaccount:oncall:oncall" cannot list resource '
        '"secrets" in API group "" in the namespace "production"; Helm history needs '
        "examples/rbac/oncall-role-helm.yaml"
    )
