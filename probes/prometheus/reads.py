"""The live triage reads: an instant query, the scrape targets, PVC usage, each one GET answered as a
`Reading`, never raising."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from probes.base import Reading
from probes.format import format_age, format_bytes
from probes.http import redact_url
from probes.prometheus.alerts import labels_of, parse_rfc3339
from probes.prometheus.client import (
    NOT_CONFIGURED,
    QUERY_PATH,
    SOURCE,
    TARGETS_PATH,
    PrometheusClient,
    PromReadError,
)

VOLUME_METRICS = ("used_bytes", "capacity_bytes", "inodes_used", "inodes")  # kubelet_volume_stats_*


class TriageReads(PrometheusClient):
    """A runbook step's Prometheus reads, on the probe's own client."""

    async def query_reading(self, expr: str, *, limit: int = 20, what: str | None = None) -> Reading:
        """An instant query as a table: one row per series, a column per label and `value`, the highest
        value first; a scalar or string is one row. No series is an empty table saying so."""
        what = what or expr
        if not expr.strip():
            return Reading.failed(SOURCE, what, "empty query")
        return await self._read(what, lambda: self._query_table(expr, what, max(0, limit)))

    async def targets_reading(
        self, *, only_down: bool = True, match: str | None = None, limit: int = 50
    ) -> Reading:
        """The active scrape targets (only the down ones when `only_down`), those whose scrape URL or
        instance contains `match` when given: job, instance, health, last scrape, last error."""
        scope = f"targets whose instance or scrape URL contains {match!r}" if match else "targets"
        what = f"{'down ' if only_down else ''}{scope} ({TARGETS_PATH}?state=active)"
        return await self._read(what, lambda: self._targets_table(what, only_down, match, max(0, limit)))

    async def volume_usage_reading(self, namespace: str, workload: str | None) -> Reading:
        """PVC usage from the kubelet's kubelet_volume_stats_* series, for the PVCs in `namespace` whose
        name contains the workload's name ("deploy/inmidst-postgres" → "inmidst-postgres"); when
        Prometheus has no such series at all, says the kubelet's volume metrics are not scraped."""
        name = (workload or "").strip().rpartition("/")[2]
        scope = f"PVCs in {namespace}" if namespace else "PVCs in every namespace"
        if name:
            scope += f" named like {name!r}"
        what = f"kubelet_volume_stats_* for {scope}"
        return await self._read(what, lambda: self._volume_table(what, scope, namespace, name))

    async def _read(self, what: str, read: Callable[[], Awaitable[Reading]]) -> Reading:
        if not self.settings.url:
            return Reading.failed(SOURCE, what, NOT_CONFIGURED)
        try:
            return await read()
        except PromReadError as exc:
            return Reading.failed(SOURCE, what, str(exc))
        except Exception as exc:  # a bug here must not take the console down at 3 a.m.
            return Reading.failed(
                SOURCE, what, f"internal error while reading Prometheus: {type(exc).__name__}"
            )

    async def _query(self, expr: str) -> tuple[str, Any]:
        """(resultType, result) of one instant query."""
        client = self._client_or_raise()
        # Prometheus gives up on a heavy query a little before we stop waiting, so the user reads its own
        # "query timed out" rather than ours, and the server stops working on it
        params = {"query": expr, "timeout": f"{0.8 * self.settings.timeout:g}"}
        body = await self._get_json(client, QUERY_PATH, params)
        data = body.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("resultType"), str):
            raise PromReadError(f"unexpected response shape from {QUERY_PATH}: data.resultType missing")
        return data["resultType"], data.get("result")

    async def _query_table(self, expr: str, what: str, limit: int) -> Reading:
        kind, result = await self._query(expr)
        now = self._clock()
        if kind in ("scalar", "string"):
            return Reading.table(
                SOURCE, what, ("value",), [(format_value(_sample_value(result)),)], read_at=now
            )
        series = _series(kind, result)
        if not series:
            return Reading(SOURCE, what, columns=("value",), read_at=now, problem="no series")
        series.sort(key=lambda s: (_descending(s[1]), sorted(s[0].items())))
        kept = series[:limit]
        names = sorted({name for labels, _ in kept for name in labels}, key=lambda n: (n != "__name__", n))
        rows = tuple((*(labels.get(n, "") for n in names), format_value(value)) for labels, value in kept)
        return Reading(
            SOURCE, what, columns=(*names, "value"), rows=rows, read_at=now, truncated=len(series) > limit
        )

    async def _targets_table(self, what: str, only_down: bool, match: str | None, limit: int) -> Reading:
        client = self._client_or_raise()
        body = await self._get_json(client, TARGETS_PATH, {"state": "active"})
        data = body.get("data")
        active = data.get("activeTargets") if isinstance(data, dict) else None
        if active is None and isinstance(data, dict) and "activeTargets" in data:
            active = []  # a proxy turned an empty list into null
        if not isinstance(active, list):
            raise PromReadError(f"unexpected response shape from {TARGETS_PATH}: data.activeTargets missing")
        now = self._clock()
        targets = [t for t in (_target(raw, now) for raw in active) if t is not None]
        shown = [t for t in targets if (not only_down or t.health == "down") and t.matches(match)]
        shown.sort(key=lambda t: (t.health == "up", t.job, t.instance))
        columns = ("job", "instance", "health", "last scrape", "last error")
        if not shown:
            return Reading(SOURCE, what, columns=columns, read_at=now, problem=_no_targets(targets, match))
        rows = [(t.job, t.instance, t.health, t.last_scrape, t.last_error) for t in shown]
        return Reading.table(SOURCE, what, columns, rows, read_at=now, limit=limit)

    async def _volume_table(self, what: str, scope: str, namespace: str, name: str) -> Reading:
        metrics = "|".join(VOLUME_METRICS)
        matchers = [f'__name__=~"kubelet_volume_stats_({metrics})"']
        if namespace:
            matchers.append(f"namespace={promql_string(namespace)}")
        if name:
            matchers.append(f"persistentvolumeclaim=~{promql_string('.*' + regex_quote(name) + '.*')}")
        kind, result = await self._query("{" + ",".join(matchers) + "}")
        series = _series(kind, result)
        now = self._clock()
        if not series:
            _, anywhere = await self._query("count(kubelet_volume_stats_capacity_bytes)")
            if not anywhere:
                return Reading.failed(
                    SOURCE,
                    what,
                    f"Prometheus has no kubelet_volume_stats_* series for {scope}: "
                    "the kubelet's volume metrics are not scraped",
                    read_at=now,
                )
            return Reading.failed(
                SOURCE,
                what,
                f"Prometheus has no kubelet_volume_stats_* series for {scope}, "
                "though it has them for other volumes: is the name or namespace right?",
                read_at=now,
            )
        # a PVC's series may come from more than one kubelet job or instance: keep the largest value
        volumes: dict[tuple[str, str], dict[str, float]] = {}
        for labels, value in series:
            metric = labels.get("__name__", "").removeprefix("kubelet_volume_stats_")
            key = (labels.get("namespace", ""), labels.get("persistentvolumeclaim", ""))
            number = _number(value)
            if number is None or not key[1]:
                continue
            stats = volumes.setdefault(key, {})
            stats[metric] = max(stats.get(metric, number), number)
        if not volumes:
            problem = f"the kubelet_volume_stats_* series for {scope} have no PVC name or no number"
            return Reading.failed(SOURCE, what, problem, read_at=now)
        inodes = any("inodes" in stats for stats in volumes.values())
        columns = ["persistentvolumeclaim", "used", "capacity", "used %"]
        if inodes:
            columns.append("inodes used %")
        if not namespace:
            columns.insert(0, "namespace")
        ordered = sorted(
            volumes.items(), key=lambda kv: (_descending_share(kv[1], "used_bytes", "capacity_bytes"), kv[0])
        )
        rows = []
        for (ns, pvc), stats in ordered:
            row = [
                pvc,
                format_bytes(stats.get("used_bytes"), df=True),
                format_bytes(stats.get("capacity_bytes"), df=True),
            ]
            row.append(_percent(_share(stats, "used_bytes", "capacity_bytes")))
            if inodes:
                row.append(_percent(_share(stats, "inodes_used", "inodes")))
            rows.append(row if namespace else [ns, *row])
        return Reading.table(SOURCE, what, columns, rows, read_at=now)


def promql_string(value: str) -> str:
    """`value` as a PromQL double-quoted string literal: backslash, quote and control characters escaped,
    so text from a runbook can never end the string and add PromQL of its own."""
    out = []
    for ch in value:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


_RE2_SPECIAL = frozenset("\\.+*?()|[]{}^$")


def regex_quote(text: str) -> str:
    """`text` matched literally in a PromQL (RE2) regex, as Go's regexp.QuoteMeta quotes it."""
    return "".join("\\" + ch if ch in _RE2_SPECIAL else ch for ch in text)


def format_value(value: str) -> str:
    """A sample value made readable ("8.5e-01" → "0.85"); NaN, ±Inf and text as given."""
    try:
        number = float(value)
    except ValueError:
        return value
    if math.isnan(number) or math.isinf(number):
        return value
    return f"{number:.4g}"


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return None if math.isnan(number) else number


def _descending(value: str) -> tuple[int, float]:
    """Sort key: the highest number first, then NaN and text."""
    number = _number(value)
    return (1, 0.0) if number is None else (0, -number)


def _sample_value(sample: object) -> str:
    """The value of a [timestamp, "value"] pair."""
    if isinstance(sample, list) and len(sample) == 2 and isinstance(sample[1], str):
        return sample[1]
    raise PromReadError(f"unexpected response shape from {QUERY_PATH}: a sample is not [time, value]")


def _series(kind: str, result: object) -> list[tuple[dict[str, str], str]]:
    """(labels, value) of each series of a vector; of a matrix (a range selector), each one's last sample."""
    if kind not in ("vector", "matrix"):
        raise PromReadError(f"unexpected result type {kind!r} from {QUERY_PATH}")
    if result is None:
        return []
    if not isinstance(result, list):
        raise PromReadError(f"unexpected response shape from {QUERY_PATH}: data.result is not a list")
    series = []
    for item in result:
        labels = labels_of(item.get("metric") or {}) if isinstance(item, dict) else None
        if labels is None:
            raise PromReadError(f"unexpected response shape from {QUERY_PATH}: a series without labels")
        if kind == "vector":
            value = _sample_value(item.get("value"))
        else:
            values = item.get("values")
            if not isinstance(values, list) or not values:
                continue
            value = _sample_value(values[-1])
        series.append((dict(labels), value))
    return series


@dataclass(frozen=True)
class _Target:
    job: str
    instance: str
    health: str  # "up", "down" or "unknown"
    scrape_url: str
    last_scrape: str  # "3s ago", or "never"
    last_error: str

    def matches(self, match: str | None) -> bool:
        return not match or match in self.scrape_url or match in self.instance


def _target(raw: object, now: datetime) -> _Target | None:
    """One of data.activeTargets, or None when it is malformed."""
    if not isinstance(raw, dict):
        return None
    raw_labels = raw.get("labels")
    labels: dict[str, Any] = raw_labels if isinstance(raw_labels, dict) else {}

    def text(value: object) -> str:
        return value if isinstance(value, str) else ""

    return _Target(
        job=text(labels.get("job")) or text(raw.get("scrapePool")),
        instance=text(labels.get("instance")),
        health=text(raw.get("health")) or "unknown",
        scrape_url=redact_url(text(raw.get("scrapeUrl"))),
        last_scrape=_scrape_age(text(raw.get("lastScrape")), now),
        last_error=text(raw.get("lastError")),
    )


def _scrape_age(text: str, now: datetime) -> str:
    try:
        when = parse_rfc3339(text)
    except ValueError:
        return ""
    if when.year <= 1:  # Go's zero time: not scraped yet
        return "never"
    return f"{format_age((now - when).total_seconds())} ago"


def _no_targets(targets: list[_Target], match: str | None) -> str:
    if match and not any(t.matches(match) for t in targets):
        return f"no active target's instance or scrape URL contains {match!r}"
    if match:
        return f"no target matching {match!r} is down"
    if not targets:
        return "Prometheus has no active targets"
    noun = "target" if len(targets) == 1 else "targets"
    up = sum(1 for t in targets if t.health == "up")
    return f"no target is down ({len(targets)} active {noun}, {up} up)"


def _share(stats: Mapping[str, float], part: str, whole: str) -> float | None:
    if part not in stats or not stats.get(whole):
        return None
    return stats[part] / stats[whole]


def _descending_share(stats: Mapping[str, float], part: str, whole: str) -> float:
    share = _share(stats, part, whole)
    return 1.0 if share is None else -share  # the fullest first, unknown last


def _percent(share: float | None) -> str:
    return "" if share is None else f"{100 * share:.1f}%"
