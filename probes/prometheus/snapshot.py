"""What one Prometheus poll read: the firing and pending alerts, and the source's health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from probes.base import SourceHealth

Labels = tuple[tuple[str, str], ...]  # sorted (name, value) pairs: hashable and immutable


@dataclass(frozen=True, slots=True)
class FiringAlert:
    name: str  # the alertname label
    state: str  # "firing" or "pending"
    labels: Labels
    annotations: Labels
    active_at: datetime | None
    value: str  # as Prometheus gives it, e.g. "8.5e-01"; "" when absent
    expression: str | None  # the rule's PromQL, from /api/v1/rules
    for_seconds: float | None  # the rule's `for`, from /api/v1/rules
    fingerprint: str  # stable hash of the label set

    def label(self, name: str, default: str = "") -> str:
        return dict(self.labels).get(name, default)

    def annotation(self, name: str, default: str = "") -> str:
        return dict(self.annotations).get(name, default)

    @property
    def severity(self) -> str:
        return self.label("severity")

    @property
    def summary(self) -> str:
        return self.annotation("summary") or self.annotation("description")


@dataclass(frozen=True)
class AlertsSnapshot:
    alerts: tuple[FiringAlert, ...]
    health: SourceHealth
    fetched_at: datetime | None  # when `alerts` were fetched; older than health.checked_at when stale

    @property
    def firing(self) -> int:
        return sum(1 for alert in self.alerts if alert.state == "firing")

    @property
    def pending(self) -> int:
        return sum(1 for alert in self.alerts if alert.state == "pending")
