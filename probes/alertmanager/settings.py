"""How oncall reaches Alertmanager: the settings the probe takes (tui.config fills them from flags,
environment and the TOML file)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from probes.base import Secret


@dataclass(frozen=True)
class AlertmanagerSettings:
    url: str | None = None  # None: not configured (the alerts table shows Prometheus's view alone)
    token: Secret | None = None  # bearer token
    username: str | None = None  # basic auth
    password: Secret | None = None
    ca_file: Path | None = None
    verify: bool = True
    timeout: float = 5.0  # seconds, per request
    refresh: float = 5.0  # seconds between polls when healthy
    backoff_max: float = 60.0  # seconds: the longest wait between polls while Alertmanager is failing
