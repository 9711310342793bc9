"""How oncall reaches Alertmanager: the settings the probe takes (tui.config fills them from flags,
environment and the TOML file)."""

from __future__ import annotations

from dataclasses import dataclass

from probes.http import HttpSettings


@dataclass(frozen=True)
class AlertmanagerSettings(HttpSettings):
    """[alertmanager]: None for url means not configured (the alerts table shows Prometheus's view alone)."""
