"""Kubernetes objects only the tests and benchmarks use: many generated pods, and a Helm release read back."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from datetime import timedelta

from tui.demo.kube_objects import NAMESPACE, Obj, digest, pod, ts


def generated_pods(count: int, namespaces: int = 1, per_deployment: int = 25) -> Iterator[Obj]:
    """`count` pods for benchmarks, spread over namespaces (production, bench-1, ...) and deployments."""
    names = [NAMESPACE] + [f"bench-{i}" for i in range(1, namespaces)]
    created = ts(ago=timedelta(days=1))
    for i in range(count):
        ns = names[i % len(names)]
        deploy = f"svc-{i // per_deployment:04d}"
        suffix = digest(str(i), length=5)
        yield pod(
            f"{deploy}-6f7c8d9b5-{suffix}",
            ns,
            labels={"app": deploy, "pod-template-hash": "6f7c8d9b5"},
            containers=[("app", f"ghcr.io/in-midst-my-life/{deploy}:1.0.{i % 7}")],
            node=f"node-{i % 50 + 1}",
            requests={"cpu": "100m", "memory": "128Mi"},
            created=created,
        )


def decode_helm_release(secret: Obj) -> Obj:
    """The release JSON inside a Helm release Secret, as tui.demo.helm_release encoded it."""
    helm_encoded = base64.b64decode(secret["data"]["release"])
    return json.loads(gzip.decompress(base64.b64decode(helm_encoded)))
