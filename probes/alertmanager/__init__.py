"""Alertmanager's view of the alerts: /api/v2/alerts and /api/v2/silences, read only."""

from probes.alertmanager.settings import AlertmanagerSettings

__all__ = ["AlertmanagerSettings"]
