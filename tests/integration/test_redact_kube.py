"""A pod whose env holds secrets, served by the Kubernetes simulator over the real REST protocol and read the
way a runbook's kubectl commands are: jsonpath, describe and logs show the names, never a secret value."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from probes.kubernetes import KubernetesProbe
from probes.redact import MASK
from tests.helpers import applied_pod
from tui.config.settings import KubernetesSettings
from tui.lab.kube_sim import KubeSimulator
from tui.triage.commands import LiveRead
from tui.triage.commands.classifier import classify
from tui.triage.registry import Sources, gather

pytestmark = pytest.mark.integration

NS = "production"
POD = "redact-api-7d9f8b6c5-q2x4z"
SELECTOR = "app=redact-api"
DB_PASSWORD = "sim-db-pw-5e1f"
URL_PASSWORD = "sim-url-pw-0c7a"
API_TOKEN = "sim-api-token-93bd"
LOGGED_TOKEN = "sim-logged-bearer-77aa21"
LABEL_TOKEN = "sim-label-token-1d2e"
SECRETS = (DB_PASSWORD, URL_PASSWORD, API_TOKEN, LOGGED_TOKEN, LABEL_TOKEN)
LABELS = {"app": "redact-api", "deploy-token": LABEL_TOKEN}
ENV = [
    {"name": "DB_PASSWORD", "value": DB_PASSWORD},
    {"name": "DATABASE_URL", "value": f"postgresql://app:{URL_PASSWORD}@db/app"},
    {"name": "API_TOKEN", "value": API_TOKEN},
    {"name": "LOG_LEVEL", "value": "info"},
    {"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "redis-auth", "key": "password"}}},
]


def secret_pod() -> dict[str, Any]:
    return applied_pod(POD, NS, LABELS, ENV)


@pytest.fixture
def probe(kube_sim: KubeSimulator) -> Iterator[KubernetesProbe]:
    stored = kube_sim.apply(secret_pod())
    assert stored["spec"]["containers"][0]["env"][0]["value"] == DB_PASSWORD  # the simulator serves it as is
    kube_sim.append_logs(
        NS, POD, "api", ["connecting to billing", f"Authorization: Bearer {LOGGED_TOKEN}", "ready on :8080"]
    )
    kubeconfig: Path = kube_sim.kubeconfig(namespace=NS, context="sim")
    with KubernetesProbe(KubernetesSettings(kubeconfig=kubeconfig, timeout=3), env={}) as probe:
        yield probe


def no_secret(text: str) -> None:
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, f"{leaked} shown in:\n{text}"


def test_jsonpath_of_the_env_shows_each_name_and_no_secret_value(probe: KubernetesProbe) -> None:
    reading = probe.read_jsonpath_reading(SELECTOR, "{.items[*].spec.containers[*].env}")
    assert reading.ok, reading.problem
    text = "\n".join(reading.lines)
    no_secret(text)
    (env,) = (json.loads(line) for line in reading.lines)
    assert [e["name"] for e in env] == [e["name"] for e in ENV]  # names kept, in order
    shown = {e["name"]: e.get("value", e.get("valueFrom")) for e in env}
    assert shown == {
        "DB_PASSWORD": MASK,
        "DATABASE_URL": f"postgresql://app:{MASK}@db/app",
        "API_TOKEN": MASK,
        "LOG_LEVEL": "info",
        "REDIS_PASSWORD": {"secretKeyRef": {"name": "redis-auth", "key": "password"}},
    }


def test_jsonpath_of_the_annotations_shows_last_applied_configuration_redacted_inside(
    probe: KubernetesProbe,
) -> None:
    reading = probe.read_jsonpath_reading(SELECTOR, "{.items[*].metadata.annotations}")
    assert reading.ok, reading.problem
    no_secret("\n".join(reading.lines))
    annotations = json.loads(reading.lines[0])
    applied = json.loads(annotations["kubectl.kubernetes.io/last-applied-configuration"])
    assert applied["spec"]["containers"][0]["env"][0] == {"name": "DB_PASSWORD", "value": MASK}
    assert applied["metadata"]["labels"] == {"app": "redact-api", "deploy-token": MASK}


def test_describe_and_logs_show_no_secret_value(probe: KubernetesProbe) -> None:
    describe = probe.read_describe_reading(SELECTOR, namespace=NS)
    assert describe.ok, describe.problem
    assert f"Name:             {POD}" in describe.lines
    labels = [line for line in describe.lines if "app=redact-api" in line or "deploy-token=" in line]
    assert [line.split()[-1] for line in labels] == ["app=redact-api", f"deploy-token={MASK}"]
    no_secret("\n".join(describe.lines))
    logs = probe.read_logs_reading(SELECTOR, tail=10)
    assert logs.ok, logs.problem
    assert logs.lines == (
        f"[pod/{POD}/api] connecting to billing",
        f"[pod/{POD}/api] Authorization: Bearer {MASK}",
        f"[pod/{POD}/api] ready on :8080",
    )


async def test_the_runbooks_command_read_live_through_the_registry_shows_no_secret_value(
    probe: KubernetesProbe,
) -> None:
    command = f"kubectl -n {NS} get pods -l {SELECTOR} -o jsonpath='{{.items[*].spec.containers[*].env}}'"
    read = classify(command)
    assert isinstance(read, LiveRead), read
    reading = await gather(read, Sources(kubernetes=probe, namespace=NS))
    assert reading.ok, reading.problem
    text = "\n".join(reading.lines)
    no_secret(text)
    assert '"name":"DB_PASSWORD"' in text and f'"value":"{MASK}"' in text
