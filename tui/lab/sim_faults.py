"""The faults' Kubernetes side, through the simulator's control API: pods OOMKilled and back, a bad Helm
release revision and its rollback."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime
from typing import Any

import httpx

from tui.demo.cluster import API_PODS, POSTGRES_POD, REDIS_POD
from tui.demo.helm_release import helm_release_secret
from tui.demo.kube_objects import pod_metrics
from tui.lab.state import LAB_NAMESPACE, LabState

RELEASE = "in-midst-my-life"
BAD_VERSION = "1.5.0"  # the chart version the bad deploy ships; its revision is removed again on heal
# which pods run each part of the stack, by the app label the runbook's kubectl lines select on
PODS = {"inmidst-api": API_PODS, "inmidst-postgres": (POSTGRES_POD,), "inmidst-redis": (REDIS_POD,)}
TIMEOUT = httpx.Timeout(10.0, connect=3.0)


class SimulatorError(RuntimeError):
    """The simulator did not answer a control action as expected."""


def _client(state: LabState) -> httpx.Client:
    return httpx.Client(
        base_url=state.kube_url, headers={"Authorization": f"Bearer {state.kube_token}"}, timeout=TIMEOUT
    )


def sim_action(state: LabState, action: str, args: dict[str, Any]) -> Any:
    """`POST /_sim/<action>` with JSON args; returns the JSON answer, SimulatorError when it fails."""
    try:
        with _client(state) as client:
            reply = client.post(f"/_sim/{action}", json=args)
    except httpx.HTTPError as error:
        raise SimulatorError(f"the Kubernetes API simulator at {state.kube_url}: {error}") from None
    if reply.status_code != 200:
        raise SimulatorError(f"simulator {action}: HTTP {reply.status_code} {reply.text[:200]}")
    return reply.json()


def oom_kill(state: LabState, app: str) -> list[str]:
    """Every pod of `app` OOMKilled as the kubelet reports it (restart +1, CrashLoopBackOff, not ready)."""
    pods = list(PODS[app])
    for pod in pods:
        sim_action(state, "crash", {"namespace": LAB_NAMESPACE, "pod": pod, "reason": "OOMKilled"})
    return pods


def restore(state: LabState, app: str) -> list[str]:
    """The pods of `app` running and ready again (their last termination stays on record, as in a cluster)."""
    pods = list(PODS[app])
    for pod in pods:
        sim_action(state, "recover", {"namespace": LAB_NAMESPACE, "pod": pod})
    return pods


def lab_baseline(state: LabState) -> list[str]:
    """The API pods' memory as the lab's stand-in uses it, well under their 512Mi limit: the cluster the
    simulator loads shows one at 91% (the demo's story), evidence for "Memory pressure causing GC pauses"
    that no lab fault planted. `oncall lab up` applies it once the simulator runs; the pods it changed."""
    pods = [
        sim_action(state, "get", {"resource": "pods", "namespace": LAB_NAMESPACE, "name": p})
        for p in API_PODS
    ]
    metrics = [pod_metrics(pod, usage={"api": ("250m", "160Mi")}) for pod in pods]
    sim_action(state, "apply", {"objects": metrics})
    return list(API_PODS)


def release_secrets(state: LabState) -> list[dict[str, Any]]:
    """The release's Helm Secrets, oldest revision first."""
    try:
        with _client(state) as client:
            reply = client.get(
                f"/api/v1/namespaces/{LAB_NAMESPACE}/secrets",
                params={"labelSelector": f"owner=helm,name={RELEASE}"},
            )
    except httpx.HTTPError as error:
        raise SimulatorError(f"the Kubernetes API simulator at {state.kube_url}: {error}") from None
    if reply.status_code != 200:
        raise SimulatorError(f"listing Helm releases: HTTP {reply.status_code}")
    items: list[dict[str, Any]] = reply.json().get("items", [])
    return sorted(items, key=lambda s: int(s["metadata"]["labels"].get("version", "0")))


def decode_release(secret: dict[str, Any]) -> dict[str, Any]:
    """The release JSON a helm.sh/release.v1 Secret holds (base64 of Helm's base64 of gzip)."""
    helm_encoded = base64.b64decode(secret["data"]["release"])
    release: dict[str, Any] = json.loads(gzip.decompress(base64.b64decode(helm_encoded)))
    return release


def _with_status(secret: dict[str, Any], status: str) -> dict[str, Any]:
    """The same release Secret with another status (in its label and in the release it holds)."""
    release = decode_release(secret)
    release["info"]["status"] = status
    encoded = base64.b64encode(gzip.compress(json.dumps(release).encode(), mtime=0))
    metadata = {
        "name": secret["metadata"]["name"],
        "namespace": secret["metadata"].get("namespace", LAB_NAMESPACE),
        "labels": {**secret["metadata"].get("labels", {}), "status": status},
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": secret.get("type", "helm.sh/release.v1"),
        "metadata": metadata,
        "data": {"release": base64.b64encode(encoded).decode()},
    }


def bad_deploy(state: LabState) -> int:
    """A new revision of the release, deployed now (the previous one superseded); returns its number."""
    secrets = release_secrets(state)
    if not secrets:
        raise SimulatorError(f"no Helm release {RELEASE} in the simulator's {LAB_NAMESPACE} namespace")
    latest = secrets[-1]
    if decode_release(latest)["chart"]["metadata"]["version"] == BAD_VERSION:
        return int(latest["metadata"]["labels"]["version"])  # already deployed: planting it twice is a no-op
    first = decode_release(secrets[0])["info"]["first_deployed"]
    revision = int(latest["metadata"]["labels"]["version"]) + 1
    new = helm_release_secret(
        RELEASE,
        revision,
        chart_version=BAD_VERSION,
        app_version=BAD_VERSION,
        namespace=LAB_NAMESPACE,
        deployed_at=datetime.now(UTC),
        first_deployed=_parse_helm_time(first),
    )
    sim_action(state, "apply", {"objects": [_with_status(latest, "superseded"), new]})
    return revision


def rollback(state: LabState) -> int | None:
    """Remove the bad revision and make the one before it deployed again; None when there was none."""
    secrets = release_secrets(state)
    bad = [s for s in secrets if decode_release(s)["chart"]["metadata"]["version"] == BAD_VERSION]
    for secret in bad:
        sim_action(
            state,
            "delete",
            {"resource": "secrets", "namespace": LAB_NAMESPACE, "name": secret["metadata"]["name"]},
        )
    kept = [s for s in secrets if s not in bad]
    if kept and kept[-1]["metadata"]["labels"].get("status") != "deployed":
        sim_action(state, "apply", _with_status(kept[-1], "deployed"))
    return int(bad[0]["metadata"]["labels"]["version"]) if bad else None


def _parse_helm_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text[:26] + text[-6:])  # Helm's nanoseconds: keep microseconds
    except ValueError:
        return None


def api_error_logs(state: LabState) -> None:
    """What the bad deploy writes to its pods' logs: the 5xx it answers."""
    lines = [
        json.dumps(
            {
                "level": "error",
                "msg": f"GET /api/items/{n} 500",
                "error": "TypeError: cannot read properties of undefined (reading 'price')",
                "version": BAD_VERSION,
            }
        )
        for n in range(1, 21)
    ]
    for pod in API_PODS:
        sim_action(
            state, "logs", {"namespace": LAB_NAMESPACE, "pod": pod, "container": "api", "lines": lines}
        )
