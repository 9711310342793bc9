"""Alertmanager's view of the alerts: /api/v2/alerts, /api/v2/silences and /api/v2/alerts/groups, read only.

probe.py polls them over httpx; model.py parses them into frozen dataclasses, says each Prometheus alert's
state as Alertmanager has it, and writes the amtool commands oncall shows (it never silences anything).
"""

from probes.alertmanager.model import (
    AlertGroup,
    AlertStatus,
    AmAlert,
    AmSnapshot,
    Matcher,
    Silence,
    amtool_add,
    amtool_expire,
)
from probes.alertmanager.probe import (
    ALERTS_PATH,
    ALLOWED_REQUESTS,
    GROUPS_PATH,
    NOT_CONFIGURED,
    SILENCES_PATH,
    AlertmanagerProbe,
)
from probes.alertmanager.settings import AlertmanagerSettings

__all__ = [
    "ALERTS_PATH",
    "ALLOWED_REQUESTS",
    "GROUPS_PATH",
    "NOT_CONFIGURED",
    "SILENCES_PATH",
    "AlertGroup",
    "AlertStatus",
    "AlertmanagerProbe",
    "AlertmanagerSettings",
    "AmAlert",
    "AmSnapshot",
    "Matcher",
    "Silence",
    "amtool_add",
    "amtool_expire",
]
