"""Helm release history decoded from release Secrets built the way Helm 3 writes them."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from probes.kubernetes import history_from_secrets
from probes.kubernetes.helm import HelmDecodeError, decode_release, revision_from_secret


def release(version: int, status: str, description: str, *, chart_version: str = "1.4.2") -> dict[str, Any]:
    return {
        "name": "in-midst-my-life",
        "namespace": "production",
        "version": version,
        "info": {
            "first_deployed": "2026-11-01T10:00:00Z",
            "last_deployed": f"2026-11-2{version}T10:00:00.123456789Z",
            "status": status,
            "description": description,
        },
        "chart": {"metadata": {"name": "in-midst-my-life", "version": chart_version, "appVersion": "2.0"}},
        "config": {},
        "manifest": "---\n",
    }


def helm_secret(body: dict[str, Any], *, gzipped: bool = True) -> dict[str, Any]:
    """A Secret as the API returns it: Helm stores base64(gzip(JSON)); the API base64-encodes it again."""
    raw = json.dumps(body).encode()
    stored = base64.b64encode(gzip.compress(raw) if gzipped else raw)
    name = body["name"]
    return {
        "metadata": {
            "name": f"sh.helm.release.v1.{name}.v{body['version']}",
            "namespace": "production",
            "labels": {"owner": "helm", "name": name, "status": body["info"]["status"]},
        },
        "type": "helm.sh/release.v1",
        "data": {"release": base64.b64encode(stored).decode()},
    }


def test_one_revision_is_decoded_with_chart_and_app_version() -> None:
    revision = revision_from_secret(helm_secret(release(3, "deployed", "Upgrade complete")))
    assert revision.revision == 3
    assert revision.status == "deployed"
    assert revision.chart == "in-midst-my-life-1.4.2"
    assert revision.app_version == "2.0"
    assert revision.description == "Upgrade complete"
    assert revision.updated == datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)


def test_history_is_newest_first_and_skips_broken_secrets() -> None:
    broken = helm_secret(release(9, "failed", "x"))
    broken["data"]["release"] = base64.b64encode(b"not base64 gzip json!").decode()
    secrets = [
        helm_secret(release(1, "superseded", "Install complete", chart_version="1.4.0")),
        helm_secret(release(3, "deployed", "Rollback to 1")),
        helm_secret(release(2, "failed", "Upgrade failed: timed out"), gzipped=False),
        broken,
    ]
    revisions, skipped = history_from_secrets(secrets)
    assert [r.revision for r in revisions] == [3, 2, 1]
    assert [r.status for r in revisions] == ["deployed", "failed", "superseded"]
    assert revisions[2].chart == "in-midst-my-life-1.4.0"
    assert skipped == 1


def test_undecodable_payloads_say_which_step_failed() -> None:
    with pytest.raises(HelmDecodeError, match="gzip"):
        decode_release(base64.b64encode(b"\x1f\x8b\x08garbage"))
    with pytest.raises(HelmDecodeError, match="JSON"):
        decode_release(base64.b64encode(b"{nope"))
    with pytest.raises(HelmDecodeError, match=r"data\.release"):
        revision_from_secret({"data": {}})
