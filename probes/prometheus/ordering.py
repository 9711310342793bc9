"""The order alerts are listed in, everywhere oncall lists them: firing before pending, then severity
(critical first), then age (oldest first)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from probes.prometheus.snapshot import FiringAlert

SEVERITY_ORDER = ("critical", "warning", "info")  # anything else sorts after info
STATE_ORDER = ("firing", "pending")


def severity_rank(severity: str) -> int:
    """0 for critical, 1 warning, 2 info, 3 anything else (case-insensitive)."""
    try:
        return SEVERITY_ORDER.index(severity.strip().lower())
    except ValueError:
        return len(SEVERITY_ORDER)


def alert_sort_key(alert: FiringAlert, now: datetime) -> tuple[int, int, float, str, str]:
    """Firing before pending, then severity (critical first), then age (oldest first); stable ties."""
    state = STATE_ORDER.index(alert.state) if alert.state in STATE_ORDER else len(STATE_ORDER)
    age = (now - alert.active_at).total_seconds() if alert.active_at else -math.inf
    return (state, severity_rank(alert.severity), -age, alert.name, alert.fingerprint)


_NEVER = datetime.min.replace(tzinfo=UTC)


def alert_order_key(alert: FiringAlert) -> tuple[int, int, int, datetime, str, str]:
    """alert_sort_key's order without its `now`: the oldest first is the earliest activeAt first, whatever
    the time, so the key of an alert can be kept from one poll to the next. No activeAt: after the rest."""
    state = STATE_ORDER.index(alert.state) if alert.state in STATE_ORDER else len(STATE_ORDER)
    started = (0, alert.active_at) if alert.active_at is not None else (1, _NEVER)
    return (state, severity_rank(alert.severity), *started, alert.name, alert.fingerprint)
