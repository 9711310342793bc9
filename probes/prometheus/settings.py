"""How oncall reaches Prometheus: the settings the probe takes (tui.config fills them from flags, environment
and the TOML file)."""

from __future__ import annotations

from dataclasses import dataclass

from probes.http import HttpSettings


@dataclass(frozen=True)
class PrometheusSettings(HttpSettings):
    """[prometheus]: where the alerts come from; nothing beyond what every HTTP server is configured with."""
