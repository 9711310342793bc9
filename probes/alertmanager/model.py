"""What one Alertmanager poll read: its alerts (state, silences, inhibitions), silences and groups, parsed
from /api/v2/alerts, /api/v2/silences and /api/v2/alerts/groups into frozen dataclasses; every string cleaned.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from probes.base import SourceHealth
from probes.format import clean
from probes.prometheus.alerts import (
    labels_of,  # kept as sent, to match Prometheus's own label sets
    parse_rfc3339,
)
from probes.prometheus.snapshot import Labels
from probes.redact import MASK, redact_labels, secret_name


class AmShapeError(ValueError):
    """An answer that is JSON but not what Alertmanager's API says it sends."""


@dataclass(frozen=True)
class AmAlert:
    fingerprint: str  # Alertmanager's own fingerprint (not oncall's)
    labels: Labels
    state: str  # "active", "suppressed" or "unprocessed"
    silenced_by: tuple[str, ...]  # silence ids
    inhibited_by: tuple[str, ...]  # fingerprints of the inhibiting alerts

    @property
    def name(self) -> str:
        return dict(self.labels).get("alertname", "")


@dataclass(frozen=True)
class Matcher:
    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    @property
    def op(self) -> str:
        return {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}[
            (self.is_regex, self.is_equal)
        ]

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"


@dataclass(frozen=True)
class Silence:
    id: str
    created_by: str
    comment: str
    starts_at: datetime | None
    ends_at: datetime | None
    matchers: tuple[Matcher, ...]
    state: str  # "active", "pending" or "expired"


@dataclass(frozen=True)
class AlertGroup:
    labels: Labels  # the route's group_by labels and their values
    receiver: str
    fingerprints: tuple[str, ...]  # Alertmanager fingerprints of the group's alerts

    @property
    def title(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.labels) or "(all)"


@dataclass(frozen=True)
class AlertStatus:
    """One Prometheus alert as Alertmanager has it, said in the table's words."""

    kind: str  # "active", "silenced", "inhibited", "not-received" (not, or not yet, in Alertmanager)
    text: str  # "active", "silenced by alice until 12:30Z", "inhibited by HighApiErrorRate"
    silences: tuple[Silence, ...] = ()
    group: AlertGroup | None = None

    @property
    def muted(self) -> bool:
        return self.kind in ("silenced", "inhibited")


@dataclass(frozen=True)
class AmSnapshot:
    alerts: tuple[AmAlert, ...]
    silences: tuple[Silence, ...]
    groups: tuple[AlertGroup, ...]
    health: SourceHealth
    fetched_at: datetime | None

    # indexes, made once per snapshot: the table asks for every alert's status on each redraw
    @cached_property
    def _by_labels(self) -> dict[Labels, AmAlert]:
        return {alert.labels: alert for alert in self.alerts}

    @cached_property
    def _group_of(self) -> dict[str, AlertGroup]:
        found: dict[str, AlertGroup] = {}
        for group in self.groups:
            for fingerprint in group.fingerprints:
                found.setdefault(fingerprint, group)
        return found

    @cached_property
    def _names(self) -> dict[str, str]:
        return {alert.fingerprint: clean(alert.name) for alert in self.alerts}

    def alert_for(self, labels: Labels) -> AmAlert | None:
        """Alertmanager's copy of a Prometheus alert: the same label set, or (Prometheus's external labels
        added on the way) the one alert whose labels hold all of them."""
        exact = self._by_labels.get(labels)
        if exact is not None:
            return exact
        have = set(labels)
        fits = [a for a in self.alerts if have <= set(a.labels)]
        return fits[0] if len(fits) == 1 else None

    def status(self, labels: Labels, now: datetime) -> AlertStatus:
        alert = self.alert_for(labels)
        if alert is None:
            # not sent (pending) or not yet: shown in the group its labels would put it in, if one exists
            have = set(labels)
            group = next((g for g in self.groups if g.labels and set(g.labels) <= have), None)
            return AlertStatus("not-received", "not in Alertmanager", (), group)
        group = self._group_of.get(alert.fingerprint)
        by_id = {s.id: s for s in self.silences}
        silences = tuple(by_id[i] for i in alert.silenced_by if i in by_id)
        if alert.silenced_by:
            if silences:
                first = min(silences, key=lambda s: s.ends_at or now)
                text = f"silenced by {first.created_by or '?'} until {until(first.ends_at, now)}"
            else:
                text = f"silenced ({alert.silenced_by[0]})"
            return AlertStatus("silenced", text, silences, group)
        if alert.inhibited_by:
            names = self._names
            inhibitors = sorted({names.get(fp) or "another alert" for fp in alert.inhibited_by})
            return AlertStatus("inhibited", "inhibited by " + ", ".join(inhibitors), (), group)
        return AlertStatus("active", alert.state if alert.state != "suppressed" else "suppressed", (), group)


def until(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "?"
    if abs(moment - now) < timedelta(hours=20):
        return moment.strftime("%H:%MZ")
    return moment.strftime("%Y-%m-%d %H:%MZ")


# -- parsing: anything off-shape is skipped (alerts, silences) or an AmShapeError (the body) -----------------


def _strings(raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(clean(x) for x in raw if isinstance(x, str))


def _time(raw: object) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        return parse_rfc3339(raw)
    except ValueError:
        return None


def _list(body: Any, path: str) -> list[Any]:
    if body is None:
        return []
    if not isinstance(body, list):
        raise AmShapeError(f"unexpected response shape from {path}: not a JSON list")
    return body


def parse_alert(raw: object) -> AmAlert | None:
    if not isinstance(raw, dict):
        return None
    fingerprint, labels = raw.get("fingerprint"), labels_of(raw.get("labels"))
    status = raw.get("status")
    if not isinstance(fingerprint, str) or not labels or not isinstance(status, dict):
        return None
    state = status.get("state")
    if state not in ("active", "suppressed", "unprocessed"):
        return None
    return AmAlert(
        fingerprint=clean(fingerprint),
        labels=redact_labels(labels),  # as Prometheus's alerts are: the two are matched by their labels
        state=state,
        silenced_by=_strings(status.get("silencedBy")),
        inhibited_by=_strings(status.get("inhibitedBy")),
    )


def parse_alerts(body: Any, path: str) -> tuple[list[AmAlert], int]:
    """The alerts, and how many entries were malformed and skipped."""
    entries = _list(body, path)
    alerts = [a for a in (parse_alert(e) for e in entries) if a is not None]
    return alerts, len(entries) - len(alerts)


def parse_matcher(raw: object) -> Matcher | None:
    if not isinstance(raw, dict):
        return None
    name, value = raw.get("name"), raw.get("value")
    if not isinstance(name, str) or not isinstance(value, str):
        return None
    is_equal = raw.get("isEqual", True)
    shown = MASK if value and secret_name(name) else clean(value)  # a silence on a secret label's value
    return Matcher(clean(name), shown, bool(raw.get("isRegex", False)), bool(is_equal))


def parse_silence(raw: object) -> Silence | None:
    if not isinstance(raw, dict):
        return None
    sid, matchers, status = raw.get("id"), raw.get("matchers"), raw.get("status")
    if not isinstance(sid, str) or not isinstance(matchers, list):
        return None
    parsed = tuple(m for m in (parse_matcher(x) for x in matchers) if m is not None)
    state = status.get("state") if isinstance(status, dict) else None
    return Silence(
        id=clean(sid),
        created_by=clean(raw.get("createdBy") if isinstance(raw.get("createdBy"), str) else ""),
        comment=clean(raw.get("comment") if isinstance(raw.get("comment"), str) else ""),
        starts_at=_time(raw.get("startsAt")),
        ends_at=_time(raw.get("endsAt")),
        matchers=parsed,
        state=state if state in ("active", "pending", "expired") else "unknown",
    )


def parse_silences(body: Any, path: str) -> list[Silence]:
    return [s for s in (parse_silence(e) for e in _list(body, path)) if s is not None]


def parse_groups(body: Any, path: str) -> list[AlertGroup]:
    groups: list[AlertGroup] = []
    for raw in _list(body, path):
        if not isinstance(raw, dict):
            continue
        labels = labels_of(raw.get("labels") or {})
        alerts = raw.get("alerts")
        if labels is None or not isinstance(alerts, list):
            continue
        receiver = raw.get("receiver")
        name = receiver.get("name") if isinstance(receiver, dict) else None
        prints = tuple(
            clean(a["fingerprint"])
            for a in alerts
            if isinstance(a, dict) and isinstance(a.get("fingerprint"), str)
        )
        groups.append(AlertGroup(redact_labels(labels), clean(name) if isinstance(name, str) else "", prints))
    return groups


# -- amtool: oncall never silences; it shows the command a responder copies ----------------------------------

# labels that name one alert; others (a value, a pod's IP) change and would make the silence miss
IDENTIFYING_SKIP = frozenset({"instance_ip", "pod_ip"})


def amtool_add(
    url: str, labels: Labels, *, comment: str = "silenced from oncall", duration: str = "1h"
) -> str:
    """`amtool silence add` with the alert's labels as matchers, every value shell-quoted."""
    parts = [
        "amtool",
        "silence",
        "add",
        f"--alertmanager.url={shlex.quote(url)}",
        f"--comment={shlex.quote(comment)}",
        f"--duration={duration}",
    ]
    ordered = sorted(labels, key=lambda kv: (kv[0] != "alertname", kv[0]))
    parts += [f"{name}={shlex.quote(value)}" for name, value in ordered if name not in IDENTIFYING_SKIP]
    return " ".join(parts)


def amtool_expire(url: str, silence_id: str) -> str:
    return f"amtool silence expire --alertmanager.url={shlex.quote(url)} {shlex.quote(silence_id)}"
