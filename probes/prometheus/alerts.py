"""Prometheus's alerts and alerting rules (/api/v1/alerts, /api/v1/rules) as oncall's `FiringAlert`s."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from probes.prometheus.client import ALERTS_PATH, RULES_PATH, PromReadError
from probes.prometheus.snapshot import FiringAlert, Labels


def fingerprint(labels: Labels) -> str:
    """A stable id for an alert: sha256 of its sorted label set, 16 hex digits."""
    canonical = json.dumps(sorted(labels), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
)


def parse_rfc3339(text: str) -> datetime:
    """Parse Prometheus's RFC3339 timestamps, with Go's nanosecond fractions, to an aware UTC datetime."""
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"not an RFC3339 timestamp: {text!r}")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    # Python keeps microseconds; the nanoseconds Go writes are truncated, never rounded into the next second
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    tz = UTC
    if not zulu:
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        tz = timezone(-offset if sign == "-" else offset)
    moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz)
    return moment.astimezone(UTC)


class RuleIndex:
    """Alerting rules by the exact label sets of their active alerts, and by name for the rest."""

    def __init__(self) -> None:
        self.by_labels: dict[Labels, tuple[str | None, float | None]] = {}
        self.by_name: dict[str, list[tuple[Labels, str | None, float | None]]] = {}

    @classmethod
    def from_body(cls, body: Any) -> RuleIndex:
        try:
            return cls._from_body(body)
        except (TypeError, ValueError, AttributeError):
            raise PromReadError(f"unexpected response shape from {RULES_PATH}") from None

    @classmethod
    def _from_body(cls, body: Any) -> RuleIndex:
        data = body.get("data")
        groups = data.get("groups") if isinstance(data, dict) else None
        if not isinstance(groups, list):
            raise PromReadError(f"unexpected response shape from {RULES_PATH}: data.groups missing")
        index = cls()
        for group in groups:
            rules = group.get("rules") if isinstance(group, dict) else None
            for rule in rules if isinstance(rules, list) else ():
                if not isinstance(rule, dict) or rule.get("type", "alerting") != "alerting":
                    continue
                name = rule.get("name")
                if not isinstance(name, str):
                    continue
                query = rule.get("query") if isinstance(rule.get("query"), str) else None
                duration = rule.get("duration")
                for_seconds = (
                    float(duration)
                    if isinstance(duration, int | float) and not isinstance(duration, bool)
                    else None
                )
                static = labels_of(rule.get("labels") or {}) or ()
                index.by_name.setdefault(name, []).append((static, query, for_seconds))
                for active in rule.get("alerts") or ():
                    labels = labels_of(active.get("labels")) if isinstance(active, dict) else None
                    if labels:
                        index.by_labels[labels] = (query, for_seconds)
        return index

    def lookup(self, name: str, labels: Labels) -> tuple[str | None, float | None]:
        if labels in self.by_labels:
            return self.by_labels[labels]
        # between the two requests an alert may have started: fall back to the rule whose name and
        # static labels fit, if exactly one does
        have = set(labels)
        fits = [(q, f) for static, q, f in self.by_name.get(name, ()) if set(static) <= have]
        if len(fits) == 1 or (fits and len(set(fits)) == 1):
            return fits[0]
        return None, None


def labels_of(raw: object) -> Labels | None:
    """Sorted (name, value) pairs, or None if this isn't a map of strings."""
    if not isinstance(raw, dict):
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        return None
    return tuple(sorted(raw.items()))


def alerts_list(body: Any) -> list[Any]:
    data = body.get("data")
    if not isinstance(data, dict) or "alerts" not in data:
        raise PromReadError(f"unexpected response shape from {ALERTS_PATH}: data.alerts missing")
    alerts = data["alerts"]
    if alerts is None:
        return []  # some proxies in front of Prometheus turn an empty list into null
    if not isinstance(alerts, list):
        raise PromReadError(f"unexpected response shape from {ALERTS_PATH}: data.alerts is not a list")
    return alerts


def parse_alert(raw: object, rules: RuleIndex | None) -> FiringAlert | None:
    """One entry of data.alerts, or None when it is malformed (the caller counts and skips it)."""
    if not isinstance(raw, dict):
        return None
    labels = labels_of(raw.get("labels"))
    annotations = labels_of(raw.get("annotations") or {})
    if not labels or annotations is None:
        return None
    name = dict(labels).get("alertname")
    state = raw.get("state")
    if not name or state not in ("firing", "pending"):
        return None
    active_at: datetime | None = None
    raw_active = raw.get("activeAt")
    if raw_active is not None:
        if not isinstance(raw_active, str):
            return None
        try:
            active_at = parse_rfc3339(raw_active)
        except ValueError:
            return None
    value = raw.get("value", "")
    if not isinstance(value, str):
        value = "" if value is None else str(value)
    expression, for_seconds = rules.lookup(name, labels) if rules else (None, None)
    return FiringAlert(
        name=name,
        state=state,
        labels=labels,
        annotations=annotations,
        active_at=active_at,
        value=value,
        expression=expression,
        for_seconds=for_seconds,
        fingerprint=fingerprint(labels),
    )


def count_alerts(total: int, firing: int, pending: int) -> str:
    noun = "alert" if total == 1 else "alerts"
    return f"{total} {noun} ({firing} firing, {pending} pending)"
