"""Helm 3 release history read from its Secrets (sh.helm.release.v1.<name>.v<N>), without running helm."""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from probes.base import SourceHealth
from probes.kubernetes.resources import ResourceSnapshot
from probes.kubernetes.rows import as_dict, parse_time

HELM_SECRET_TYPE = "helm.sh/release.v1"
HELM_ROLE_EXAMPLE = "examples/rbac/oncall-role-helm.yaml"
# why there is no Helm history, and how to have it: said the same way by the Deploys tab and the evidence
HELM_OFF = (
    "Helm history is off: oncall reads no Secrets. To read it, set [kubernetes] helm_history = true; "
    f"the role then needs list on secrets ({HELM_ROLE_EXAMPLE})"
)
_GZIP_MAGIC = b"\x1f\x8b\x08"


class HelmDecodeError(ValueError):
    """A release secret whose payload isn't what Helm 3 writes; the message says which step failed."""


@dataclass(frozen=True, slots=True)
class HelmRevision:
    release: str
    namespace: str
    revision: int
    updated: datetime | None  # info.last_deployed
    status: str  # deployed, superseded, failed, pending-upgrade, pending-rollback, uninstalled, ...
    chart: str  # "name-version", as `helm history` prints it
    app_version: str
    description: str  # e.g. "Upgrade complete", "Rollback to 2"


def helm_history_off(now: datetime) -> ResourceSnapshot[HelmRevision]:
    """The Helm history read refused, as [kubernetes] helm_history is off: not read (no request sent), and
    why, so the Deploys tab and the runbook's Helm evidence both say how to turn it on."""
    health = SourceHealth(source="kubernetes", state="not-configured", checked_at=now, last_error=HELM_OFF)
    return ResourceSnapshot("helm history", (), health, None)


def release_selector(release: str) -> str:
    """The label selector Helm's storage driver uses for one release's secrets."""
    return f"owner=helm,name={release}"


def decode_release(payload: str | bytes) -> dict[str, Any]:
    """Helm's stored release: base64 of (usually gzipped) JSON, as in helm/pkg/storage/driver/util.go."""
    try:
        raw = base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError):
        raise HelmDecodeError("release is not base64") from None
    if raw.startswith(_GZIP_MAGIC):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error):
            raise HelmDecodeError("release is not valid gzip") from None
    try:
        release = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise HelmDecodeError("release is not JSON") from None
    if not isinstance(release, dict):
        raise HelmDecodeError("release JSON is not an object")
    return release


def revision_from_secret(secret: dict[str, Any]) -> HelmRevision:
    """One release Secret as the API returns it (data values base64-encoded once more) → HelmRevision."""
    encoded = as_dict(secret.get("data")).get("release")
    if not isinstance(encoded, str):
        raise HelmDecodeError("secret has no data.release")
    try:
        inner = base64.b64decode(encoded, validate=False)
    except (binascii.Error, ValueError):
        raise HelmDecodeError("data.release is not base64") from None
    release = decode_release(inner)
    return revision_from_release(release, secret)


def revision_from_release(release: dict[str, Any], secret: dict[str, Any] | None = None) -> HelmRevision:
    info = as_dict(release.get("info"))
    chart = as_dict(release.get("chart"))
    meta = as_dict(chart.get("metadata"))
    labels = ((secret or {}).get("metadata") or {}).get("labels") or {}
    version = release.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        try:
            version = int(labels.get("version", 0))
        except (TypeError, ValueError):
            version = 0
    name, chart_version = str(meta.get("name", "")), str(meta.get("version", ""))
    return HelmRevision(
        release=str(release.get("name") or labels.get("name", "")),
        namespace=str(release.get("namespace") or ""),
        revision=version,
        updated=parse_time(info.get("last_deployed")) or parse_time(info.get("first_deployed")),
        # the status label can lag behind the body only by Helm's own bug; the body is the record
        status=str(info.get("status") or labels.get("status", "")),
        chart=f"{name}-{chart_version}" if name and chart_version else name,
        app_version=str(meta.get("appVersion", "")),
        description=str(info.get("description", "")),
    )


def history_from_secrets(secrets: list[dict[str, Any]]) -> tuple[tuple[HelmRevision, ...], int]:
    """Revisions, newest first, and how many secrets could not be decoded."""
    revisions: list[HelmRevision] = []
    skipped = 0
    for secret in secrets:
        if secret.get("type") not in (None, HELM_SECRET_TYPE):
            continue
        try:
            revisions.append(revision_from_secret(secret))
        except HelmDecodeError:
            skipped += 1
    revisions.sort(key=lambda r: r.revision, reverse=True)
    return tuple(revisions), skipped
