"""Prometheus's alerts and alerting rules (/api/v1/alerts, /api/v1/rules) as oncall's `FiringAlert`s."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from sys import intern
from typing import Any, NamedTuple

from probes.prometheus.client import ALERTS_PATH, RULES_PATH, PromReadError, decode_json
from probes.prometheus.snapshot import FiringAlert, Labels
from probes.prometheus.stream import ANY
from probes.redact import redact_annotations, redact_labels


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
    """Alerting rules by name and, where one name has several rules, by the exact label sets of their
    active alerts as of the read (an alert's alertname is always its rule's name: one rule by that name
    places it)."""

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
        actives: list[tuple[str, Labels, tuple[str | None, float | None]]] = []
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
                    # decode_along hands the active alerts over as their label sets already
                    labels = active if isinstance(active, tuple) else active_labels(active)
                    if labels:
                        actives.append((name, labels, (query, for_seconds)))
        # only a name shared by several rules needs the label sets to tell its alerts apart
        shared = {name for name, entries in index.by_name.items() if len(entries) > 1}
        index.by_labels = {labels: rule for name, labels, rule in actives if name in shared}
        return index

    def place(self, name: str, labels: Labels) -> tuple[str | None, float | None] | None:
        """The (expression, for) of the rule that made this alert, or None when these rules can't say."""
        entries = self.by_name.get(name, ())
        if len(entries) == 1:
            return entries[0][1:]
        if labels in self.by_labels:
            return self.by_labels[labels]
        # an alert started after the rules were read: the rule whose name and static labels fit, if exactly
        # one does
        have = set(labels)
        fits = [(q, f) for static, q, f in entries if set(static) <= have]
        if len(fits) == 1 or (fits and len(set(fits)) == 1):
            return fits[0]
        return None

    def lookup(self, name: str, labels: Labels) -> tuple[str | None, float | None]:
        return self.place(name, labels) or (None, None)


def active_labels(raw: object) -> Labels | None:
    """The label set of one of a rule's active alerts (what the rules index keeps of it)."""
    return labels_of(raw.get("labels")) if isinstance(raw, dict) else None


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
    alert = AlertReader(rules).element(raw)
    return alert if isinstance(alert, FiringAlert) else None


class Unplaced(NamedTuple):
    """An alert the rules index could not give its rule (it started after the rules were read)."""

    alert: FiringAlert


class AlertReader:
    """Turns /api/v1/alerts answers into FiringAlerts, in a worker thread (never two reads at once). An alert
    unchanged since the last read comes back as the very same object: nothing to parse or hash again, nothing
    for the screen to redraw, and the new answer's strings are dropped instead of kept."""

    def __init__(self, rules: RuleIndex | None = None) -> None:
        self.rules = rules
        self._last: dict[Labels, tuple[object, FiringAlert]] = {}  # by labels: (activeAt as sent, alert)
        self._seen: dict[Labels, tuple[object, FiringAlert]] | None = None  # this read's, as it goes
        # what each entry's JSON text made last time (by its hash and length), with the rules of then: an
        # entry sent again to the letter is neither decoded nor parsed
        self._texts: dict[tuple[int, int], FiringAlert | Unplaced | None] = {}
        self._texts_seen: dict[tuple[int, int], FiringAlert | Unplaced | None] = {}
        self._texts_rules: RuleIndex | None = None
        self._answer: tuple[bytes, RuleIndex | None, tuple[list[FiringAlert], int, int]] | None = None

    def read(self, content: bytes, rules: RuleIndex | None) -> tuple[list[FiringAlert], int, int]:
        """(the alerts sorted by name and fingerprint, how many entries were malformed, how many alerts
        the rules could not place) of one answer; PromReadError when it is not Prometheus's alerts. Without
        rules (none read yet, or their read failed) the alerts have no expression and none counts as
        unplaced."""
        # the same answer as last time, to the byte (a storm that goes on unchanged): the same alerts. The
        # digest is taken without the GIL (hashlib lets it go for long inputs): the screen doesn't wait.
        digest = hashlib.blake2b(content, digest_size=16).digest()
        if self._answer is not None and self._answer[:2] == (digest, rules):
            alerts, skipped, unplaced = self._answer[2]
            return list(alerts), skipped, unplaced
        self.rules = rules
        if rules is not self._texts_rules:
            self._texts, self._texts_rules = {}, rules  # other rules: an alert's expression may differ
        seen: dict[Labels, tuple[object, FiringAlert]] = {}
        self._seen, self._texts_seen = seen, {}
        body = decode_json(
            content, ALERTS_PATH, along=("data", "alerts"), each=self.element, each_text=self.element_text
        )
        entries = alerts_list(body)
        self._last, self._texts = seen, self._texts_seen  # what went away is forgotten
        self._seen, self._texts_seen = None, {}
        alerts = [e.alert if isinstance(e, Unplaced) else e for e in entries if e is not None]
        alerts.sort(key=lambda a: (a.name, a.fingerprint))
        unplaced = sum(1 for e in entries if isinstance(e, Unplaced))
        skipped = sum(1 for e in entries if e is None)
        self._answer = (digest, rules, (alerts, skipped, unplaced))
        return list(alerts), skipped, unplaced

    def element_text(self, text: str) -> FiringAlert | Unplaced | None:
        """One entry of data.alerts as its JSON text: what the same text made last time, or parsed."""
        key = (hash(text), len(text))
        if key in self._texts:
            made = self._texts[key]
            alert = made.alert if isinstance(made, Unplaced) else made
            if alert is not None and self._seen is not None and alert.labels in self._last:
                self._seen[alert.labels] = self._last[alert.labels]
        else:
            made = self.element(json.loads(text))
        self._texts_seen[key] = made
        return made

    def element(self, raw: object) -> FiringAlert | Unplaced | None:
        """One entry of data.alerts: the alert, or None when it is malformed (counted and skipped)."""
        if not isinstance(raw, dict):
            return None
        labels = labels_of(raw.get("labels"))
        annotations = labels_of(raw.get("annotations") or {})
        if not labels or annotations is None:
            return None
        name = next((v for k, v in labels if k == "alertname"), None)
        state = raw.get("state")
        if not name or state not in ("firing", "pending"):
            return None
        raw_active = raw.get("activeAt")
        value = raw.get("value", "")
        if not isinstance(value, str):
            value = "" if value is None else str(value)
        placed = self.rules.place(name, labels) if self.rules is not None else None
        # what is shown: secret-looking labels' and annotations' values masked (probes/redact.py); the
        # fingerprint stays that of the labels as sent, so alerts that differ only in a secret stay apart
        annotations = redact_annotations(annotations)
        expression, for_seconds = placed or (None, None)
        seen = self._seen
        previous = self._last.get(labels)
        if previous is not None and previous[0] == raw_active:
            alert = previous[1]
            if (alert.state, alert.value, alert.annotations, alert.expression, alert.for_seconds) == (
                state,
                value,
                annotations,
                expression,
                for_seconds,
            ):
                if seen is not None:
                    seen[labels] = previous
                return alert if placed is not None or self.rules is None else Unplaced(alert)
        active_at: datetime | None = None
        if raw_active is not None:
            if not isinstance(raw_active, str):
                return None
            try:
                active_at = parse_rfc3339(raw_active)
            except ValueError:
                return None
        labels = tuple((intern(k), intern(v)) for k, v in labels)
        alert = FiringAlert(
            name=intern(name),
            state=intern(state),
            labels=redact_labels(labels),
            annotations=tuple((intern(k), v) for k, v in annotations),
            active_at=active_at,
            value=value,
            expression=expression,
            for_seconds=for_seconds,
            fingerprint=fingerprint(labels),
        )
        if seen is not None:
            seen[labels] = (raw_active, alert)
        return alert if placed is not None or self.rules is None else Unplaced(alert)


def read_rules(content: bytes) -> RuleIndex:
    """The rules index of one /api/v1/rules answer; each active alert decoded on its own, kept as its
    labels."""
    body = decode_json(
        content, RULES_PATH, along=("data", "groups", ANY, "rules", ANY, "alerts"), each=active_labels
    )
    return RuleIndex.from_body(body)


def count_alerts(total: int, firing: int, pending: int) -> str:
    noun = "alert" if total == 1 else "alerts"
    return f"{total} {noun} ({firing} firing, {pending} pending)"
