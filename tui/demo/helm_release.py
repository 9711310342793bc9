"""A Helm 3 release as Helm stores it in the cluster: a Secret of type helm.sh/release.v1."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from tui.demo.kube_objects import NAMESPACE, Obj, lab_now, object_meta, ts


def _helm_time(value: datetime) -> str:
    # Helm writes Go's time.Time: nanoseconds and a numeric offset.
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123+00:00"


def helm_release_secret(
    release: str,
    revision: int,
    *,
    status: str = "deployed",
    chart: str = "in-midst-my-life",
    chart_version: str = "1.4.2",
    app_version: str = "1.4.2",
    description: str = "Upgrade complete",
    namespace: str = NAMESPACE,
    deployed_at: datetime | None = None,
    first_deployed: datetime | None = None,
    values: Mapping[str, Any] | None = None,
) -> Obj:
    """A Helm 3 release Secret: type helm.sh/release.v1, data.release = base64(base64(gzip(release JSON)))."""
    deployed = deployed_at or lab_now() - timedelta(hours=2)
    first = first_deployed or deployed - timedelta(days=30)
    config = dict(values or {"image": {"tag": app_version}, "replicaCount": 3})
    manifest = (
        f"---\n# Source: {chart}/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\n"
        f"metadata:\n  name: inmidst-api\n  labels:\n    app: inmidst-api\n"
        f"    helm.sh/chart: {chart}-{chart_version}\n"
        f"spec:\n  replicas: {config.get('replicaCount', 3)}\n"
    )
    payload = {
        "name": release,
        "info": {
            "first_deployed": _helm_time(first),
            "last_deployed": _helm_time(deployed),
            "deleted": "",
            "description": description,
            "status": status,
            "notes": f"Thank you for installing {chart}.",
        },
        "chart": {
            "metadata": {
                "name": chart,
                "version": chart_version,
                "description": "The in-midst-my-life web application",
                "apiVersion": "v2",
                "appVersion": app_version,
                "type": "application",
            },
            "lock": None,
            "templates": [],
            "values": {"replicaCount": 3},
            "schema": None,
            "files": [],
        },
        "config": config,
        "manifest": manifest,
        "version": revision,
        "namespace": namespace,
    }
    helm_encoded = base64.b64encode(gzip.compress(json.dumps(payload).encode(), mtime=0))
    labels = {
        "name": release,
        "owner": "helm",
        "status": status,
        "version": str(revision),
        "modifiedAt": str(int(deployed.timestamp())),
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "helm.sh/release.v1",
        "metadata": object_meta(
            "Secret", f"sh.helm.release.v1.{release}.v{revision}", namespace, labels, ts(deployed)
        ),
        "data": {"release": base64.b64encode(helm_encoded).decode()},
    }
