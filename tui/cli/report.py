"""Plain-text, JSON and Markdown reports for `oncall check` and `oncall snapshot`, without the UI."""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from probes.base import SourceHealth
from probes.format import clean
from probes.kubernetes import KubernetesProbe, pod_summary
from probes.postgres import NOT_CONFIGURED as POSTGRES_NOT_CONFIGURED
from probes.postgres import PgSnapshot, PostgresProbe
from probes.prometheus.probe import AlertsSnapshot, FiringAlert, PrometheusProbe, format_value
from probes.redis import NOT_CONFIGURED as REDIS_NOT_CONFIGURED
from probes.redis import RedisProbe, RedisSnapshot
from tui.config.settings import KubernetesSettings, PostgresSettings, RedisSettings, Settings
from tui.triage.runbook import Runbook, SectionMatch, match_section

SnapshotFormat = Literal["text", "json", "markdown"]

# The sources `oncall check` lists, in this order.
SOURCES = ("prometheus", "kubernetes", "postgresql", "redis")
REDIS_INTERVAL = 1.0  # seconds between the snapshot's two Redis reads: the hit ratio of that interval
SLOW_ENTRIES_SHOWN = 5  # newest slow log entries in `oncall snapshot`
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


def format_age(seconds: float | None) -> str:
    """A short age like kubectl's: 45s, 12m, 3h5m, 2d4h; "?" when unknown."""
    if seconds is None or math.isnan(seconds):
        return "?"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        hours, minutes = divmod(s // 60, 60)
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(s // 3600, 24)
    return f"{days}d{hours}h" if hours else f"{days}d"


# --- oncall check -----------------------------------------------------------------------------


async def check_sources(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> list[SourceHealth]:
    """One real poll of each configured source, all at once: a slow one doesn't delay the others."""
    async with PrometheusProbe(settings.prometheus, transport=transport) as probe:
        prometheus, kubernetes, postgres, redis = await asyncio.gather(
            probe.poll(),
            check_kubernetes(settings.kubernetes),
            check_postgres(settings.postgres),
            check_redis(settings.redis),
        )
    return [prometheus.health, kubernetes, postgres, redis]


async def check_redis(settings: RedisSettings) -> SourceHealth:
    """One real refresh: version, role, and which readings the provider or the ACL blocks."""
    if not settings.configured:
        return SourceHealth.not_configured("redis", REDIS_NOT_CONFIGURED)
    async with RedisProbe(settings) as probe:
        return await probe.check()


async def check_postgres(settings: PostgresSettings) -> SourceHealth:
    """One real refresh: version, role, pg_monitor yes/no, pg_stat_statements yes/no, read-only guard on."""
    if not settings.configured:
        return SourceHealth.not_configured("postgresql", POSTGRES_NOT_CONFIGURED)
    async with PostgresProbe(settings) as probe:
        return await probe.check()


async def check_kubernetes(settings: KubernetesSettings) -> SourceHealth:
    """The API server's version and one pod of the namespace: reachable, authenticated, allowed to list."""
    probe = KubernetesProbe(settings)
    try:
        if probe.health.state != "ok":
            return probe.health  # no kubeconfig, or a context that isn't in it: nothing to send
        return await probe.check()
    finally:
        probe.close()


def check_exit_code(healths: Iterable[SourceHealth]) -> int:
    """0 when every configured source is ok; not-configured sources don't count."""
    configured = [h for h in healths if h.state != "not-configured"]
    return 0 if all(h.state == "ok" for h in configured) else 1


def describe_health(health: SourceHealth) -> str:
    """One line of plain words about a source, safe for any terminal, never holding a secret."""
    if health.answering:
        parts = [health.detail or "read"]
        if health.latency is not None:
            parts.append(f"in {round(health.latency * 1000)} ms")
        if health.endpoint:
            parts.append(f"from {health.endpoint}")
        text = " ".join(parts)
        if health.state == "degraded" and health.last_error:
            text += f"; {health.last_error}"
        return clean(text)
    return clean(health.last_error or health.state.replace("-", " "))


def format_check(healths: Iterable[SourceHealth], *, as_json: bool) -> str:
    """One aligned line per source: `<source>  <state>  <detail>`, or a JSON list."""
    healths = list(healths)
    if as_json:
        return json.dumps([_health_json(h) for h in healths], indent=2)
    rows = [(clean(h.source), h.state, describe_health(h)) for h in healths]
    source_width = max((len(r[0]) for r in rows), default=0)
    state_width = max((len(r[1]) for r in rows), default=0)
    return "\n".join(
        f"{source:<{source_width}}  {state:<{state_width}}  {detail}".rstrip()
        for source, state, detail in rows
    )


def _health_json(health: SourceHealth) -> dict[str, Any]:
    return {
        "source": health.source,
        "state": health.state,
        "detail": describe_health(health),
        "endpoint": health.endpoint,
        "latency_ms": round(health.latency * 1000, 1) if health.latency is not None else None,
        "checked_at": _iso(health.checked_at),
        "last_success": _iso(health.last_success),
        "error": health.last_error,
    }


# --- oncall snapshot --------------------------------------------------------------------------


@dataclass(frozen=True)
class PodsReport:
    """One list of the namespace's pods, summarised for `oncall snapshot`."""

    health: SourceHealth
    namespace: str
    context: str
    summary: dict[str, Any] | None  # probes.kubernetes.probe.pod_summary; None when the pods couldn't be read


@dataclass(frozen=True)
class IncidentSnapshot(AlertsSnapshot):
    """The alerts, plus the pods when Kubernetes is configured; usable wherever an AlertsSnapshot is."""

    pods: PodsReport | None = None
    postgres: PgSnapshot | None = None  # None when PostgreSQL is not configured
    redis: RedisSnapshot | None = None  # None when Redis is not configured


async def take_snapshot(
    settings: Settings,
    runbook: Runbook | None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> IncidentSnapshot:
    """One poll of Prometheus and one list of pods. `runbook` is matched later, by format_snapshot; it is
    accepted here so the CLI hands both over in one place."""
    del runbook  # matching needs no server: format_snapshot does it
    async with PrometheusProbe(settings.prometheus, transport=transport) as probe:
        alerts, pods, postgres, redis = await asyncio.gather(
            probe.poll(),
            read_pods_report(settings.kubernetes),
            read_postgres(settings.postgres),
            read_redis(settings.redis),
        )
    return IncidentSnapshot(
        alerts.alerts, alerts.health, alerts.fetched_at, pods=pods, postgres=postgres, redis=redis
    )


async def read_redis(settings: RedisSettings, interval: float = REDIS_INTERVAL) -> RedisSnapshot | None:
    """Two refreshes of Redis `interval` apart (the second has the hit ratio of that interval), or None
    when Redis is not configured."""
    if not settings.configured:
        return None
    async with RedisProbe(settings) as probe:
        first = await probe.poll()
        if not first.health.answering:
            return first
        await asyncio.sleep(interval)
        return await probe.poll()


async def read_postgres(settings: PostgresSettings) -> PgSnapshot | None:
    """One refresh of PostgreSQL for the snapshot, or None when it is not configured."""
    if not settings.configured:
        return None
    async with PostgresProbe(settings) as probe:
        return await probe.poll()


async def read_pods_report(settings: KubernetesSettings) -> PodsReport:
    probe = KubernetesProbe(settings)
    try:
        context = probe.target.context if probe.target else ""
        if probe.health.state != "ok":
            return PodsReport(probe.health, probe.namespace, context, None)
        read = await probe.list_pods()
        summary = pod_summary(read.items) if read.health.state == "ok" else None
        return PodsReport(read.health, probe.namespace, context, summary)
    finally:
        probe.close()


def snapshot_exit_code(snapshot: AlertsSnapshot) -> int:
    """0 when the alerts are fresh (ok or degraded), 1 when Prometheus is down, forbidden or not set."""
    return 0 if snapshot.health.answering else 1


def format_snapshot(
    snapshot: AlertsSnapshot,
    runbook: Runbook | None,
    *,
    fmt: SnapshotFormat,
    now: datetime,
) -> str:
    """Alerts with their runbook sections, and the pod summary when read, as text, JSON or Markdown."""
    alerts = sorted(snapshot.alerts, key=lambda a: alert_sort_key(a, now))
    matches = [_match(runbook, alert) for alert in alerts]
    pods = snapshot.pods if isinstance(snapshot, IncidentSnapshot) else None
    postgres = snapshot.postgres if isinstance(snapshot, IncidentSnapshot) else None
    redis = snapshot.redis if isinstance(snapshot, IncidentSnapshot) else None
    if fmt == "json":
        text = _snapshot_json(snapshot, alerts, matches, now)
        if pods is None and postgres is None and redis is None:
            return text
        document = json.loads(text)
        if pods is not None:
            document["kubernetes"] = _pods_json(pods)
        if postgres is not None:
            document["postgresql"] = _postgres_json(postgres)
        if redis is not None:
            document["redis"] = _redis_json(redis)
        return json.dumps(document, indent=2, ensure_ascii=True)
    rows = [
        _AlertRow(alert, match, _runbook_words(match, runbook))
        for alert, match in zip(alerts, matches, strict=True)
    ]
    if fmt in ("markdown", "text"):
        markdown = fmt == "markdown"
        text = _snapshot_markdown(snapshot, rows, now) if markdown else _snapshot_text(snapshot, rows, now)
        if pods:
            text += "\n\n" + "\n".join(_pods_lines(pods, markdown=markdown))
        if postgres is not None:
            text += "\n\n" + "\n".join(postgres_lines(postgres, now, markdown=markdown))
        if redis is not None:
            text += "\n\n" + "\n".join(redis_lines(redis, now, markdown=markdown))
        return text
    raise ValueError(f"unknown snapshot format {fmt!r}")


def postgres_lines(pg: PgSnapshot, now: datetime, *, markdown: bool = False) -> list[str]:
    """The connection pressure in a few lines, e.g. "PostgreSQL at db:5432/app: 87/100 connections
    (87%, 3 reserved); 60 idle, 20 active, 7 idle in transaction", then blocking and warnings."""
    text = _md if markdown else clean
    heading = "### PostgreSQL" if markdown else "PostgreSQL"
    bullet = "- " if markdown else "  "
    health = pg.health
    where = f" at {text(health.endpoint)}" if health.endpoint else ""
    pressure = pg.pressure
    if pressure is None:
        return [f"{heading}{where}: unreadable: {text(health.last_error or health.state)}"]
    states = ", ".join(f"{n} {text(state)}" for state, n in pressure.by_state)
    line = (
        f"{heading}{where}: {pressure.used}/{pressure.max_connections} connections "
        f"({round(pressure.percent)}%, {pressure.reserved} reserved)"
    )
    if states:
        line += f"; {states}"
    lines = [line]
    if not health.answering:
        age = format_age((now - pg.fetched_at).total_seconds()) if pg.fetched_at else "?"
        lines.append(f"{bullet}stale: read {age} ago; now {text(health.last_error or health.state)}")
    if pressure.by_application:
        apps = ", ".join(f"{text(app or '(none)')} {n}" for app, n in pressure.by_application[:5])
        lines.append(f"{bullet}by application: {apps}")
    blocked = pg.blocked
    if blocked:
        pairs = ", ".join(f"{s.pid} by {'/'.join(str(p) for p in s.blocked_by)}" for s in blocked[:5])
        lines.append(f"{bullet}{len(blocked)} blocked: {pairs}")
    if pressure.idle_in_transaction:
        oldest = pressure.idle_in_transaction[0]
        lines.append(
            f"{bullet}{len(pressure.idle_in_transaction)} idle in transaction over 5m, "
            f"oldest pid {oldest.pid} for {format_age(oldest.xact_seconds)}"
        )
    for warning in pg.warnings:
        lines.append(f"{bullet}warning: {text(warning)}")
    return lines


def redis_lines(rd: RedisSnapshot, now: datetime, *, markdown: bool = False) -> list[str]:
    """Memory, hit ratio, clients and the newest slow entries, e.g. "Redis at cache:6379/0: memory 1.4GiB
    of 2.0GiB (71%), hit ratio 87% over the last 1s (91% since start), 184 clients"."""
    text = _md if markdown else clean
    heading = "### Redis" if markdown else "Redis"
    bullet = "- " if markdown else "  "
    health = rd.health
    where = f" at {text(health.endpoint)}" if health.endpoint else ""
    info = rd.info
    if info is None:
        return [f"{heading}{where}: unreadable: {text(health.last_error or health.state)}"]
    share = info.memory_share
    memory = f"memory {_bytes(info.used_memory)}"
    if share is not None:
        memory += f" of {_bytes(info.maxmemory)} ({share:.0%})"
    ratios = []
    if rd.interval is not None and rd.interval.hit_ratio is not None:
        ratios.append(f"{rd.interval.hit_ratio:.0%} over the last {format_age(rd.interval.seconds)}")
    if info.hit_ratio is not None:
        ratios.append(f"{info.hit_ratio:.0%} since start")
    hits = ""
    if ratios:
        hits = f", hit ratio {ratios[0]}" + (f" ({ratios[1]})" if len(ratios) > 1 else "")
    clients = f"clients {info.connected_clients}"
    if rd.maxclients:
        clients += f"/{rd.maxclients}"
    lines = [f"{heading}{where}: {memory}{hits}, {clients}"]
    if not health.answering:
        age = format_age((now - rd.fetched_at).total_seconds()) if rd.fetched_at else "?"
        lines.append(f"{bullet}stale: read {age} ago; now {text(health.last_error or health.state)}")
    policy = rd.maxmemory_policy
    extra = [f"version {text(info.version)}", f"role {text(info.replication.role)}"]
    if policy:
        extra.append(f"policy {text(policy)}")
    extra.append(f"up {format_age(info.uptime_seconds)}")
    if info.blocked_clients:
        extra.append(f"{info.blocked_clients} blocked clients")
    lines.append(bullet + ", ".join(extra))
    if rd.slowlog:
        lines.append(f"{bullet}newest slow log entries:")
        for entry in rd.slowlog[:SLOW_ENTRIES_SHOWN]:
            command = " ".join(text(a) for a in entry.args)
            command = command if len(command) <= 80 else command[:79] + "…"
            age = format_age((now - entry.started_at).total_seconds())
            ms = entry.duration_ms
            lines.append(
                f"{bullet}  {ms:.1f} ms {age} ago: {command}"
                if ms >= 1
                else f"{bullet}  {ms:.3f} ms {age} ago: {command}"
            )
    for reading, why in rd.blocked:
        lines.append(f"{bullet}{reading}: {text(why)}")
    return lines


def _bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1024
    return f"{n}B"


def _redis_json(rd: RedisSnapshot) -> dict[str, Any]:
    info = rd.info
    return {
        "state": rd.health.state,
        "endpoint": rd.health.endpoint,
        "error": rd.health.last_error,
        "fetched_at": _iso(rd.fetched_at),
        "version": info.version if info else None,
        "role": info.replication.role if info else None,
        "memory": (
            {
                "used": info.used_memory,
                "maxmemory": info.maxmemory or None,
                "share": round(info.memory_share, 4) if info.memory_share is not None else None,
                "rss": info.used_memory_rss,
                "fragmentation_ratio": info.fragmentation_ratio,
                "policy": rd.maxmemory_policy,
            }
            if info
            else None
        ),
        "hit_ratio": {
            "interval": rd.interval.hit_ratio if rd.interval else None,
            "interval_seconds": rd.interval.seconds if rd.interval else None,
            "since_start": info.hit_ratio if info else None,
        },
        "clients": (
            {"connected": info.connected_clients, "blocked": info.blocked_clients, "max": rd.maxclients}
            if info
            else None
        ),
        "slowlog": [
            {
                "id": e.id,
                "at": _iso(e.started_at),
                "duration_ms": e.duration_ms,
                "args": list(e.args),
                "client": e.client,
                "client_name": e.client_name,
            }
            for e in (rd.slowlog or ())[:SLOW_ENTRIES_SHOWN]
        ],
        "blocked": dict(rd.blocked),
    }


def _postgres_json(pg: PgSnapshot) -> dict[str, Any]:
    pressure = pg.pressure
    return {
        "state": pg.health.state,
        "endpoint": pg.health.endpoint,
        "error": pg.health.last_error,
        "fetched_at": _iso(pg.fetched_at),
        "server_version": pg.server_version or None,
        "role": pg.role or None,
        "warnings": list(pg.warnings),
        "pressure": (
            {
                "used": pressure.used,
                "max_connections": pressure.max_connections,
                "reserved": pressure.reserved,
                "by_state": dict(pressure.by_state),
                "by_application": dict(pressure.by_application),
                "blocked": [{"pid": s.pid, "blocked_by": list(s.blocked_by)} for s in pg.blocked],
                "idle_in_transaction": [
                    {"pid": s.pid, "application": s.application, "seconds": s.xact_seconds}
                    for s in pressure.idle_in_transaction
                ],
            }
            if pressure is not None
            else None
        ),
    }


def _pods_where(pods: PodsReport) -> str:
    context = f", context {pods.context}" if pods.context else ""
    return f"namespace {pods.namespace}{context}"


def _pods_lines(pods: PodsReport, *, markdown: bool) -> list[str]:
    """E.g. "Pods in namespace production: 7 (5 Running, 1 CrashLoopBackOff, 1 Pending); 12 restarts"."""
    text = _md if markdown else clean
    heading = "### Pods" if markdown else "Pods"
    summary = pods.summary
    if summary is None:
        if pods.health.state == "not-configured":
            return [f"{heading}: Kubernetes is not configured: {text(pods.health.last_error or '')}".rstrip()]
        return [f"{heading}: unreadable in {text(_pods_where(pods))}: {text(pods.health.last_error or '')}"]
    counts = ", ".join(f"{n} {text(status)}" for status, n in summary["by_status"].items())
    line = f"{heading} in {text(_pods_where(pods))}: {summary['pods']}"
    if counts:
        line += f" ({counts})"
    line += f"; {summary['restarts']} restart{'s' if summary['restarts'] != 1 else ''}"
    lines = [line]
    bullet = "- " if markdown else "  "
    if summary["oom_killed"]:
        lines.append(f"{bullet}OOMKilled: {', '.join(text(key) for key in summary['oom_killed'])}")
    if summary["not_ready"]:
        lines.append(f"{bullet}not ready: {', '.join(text(key) for key in summary['not_ready'])}")
    return lines


def _pods_json(pods: PodsReport) -> dict[str, Any]:
    return {
        "state": pods.health.state,
        "endpoint": pods.health.endpoint,
        "context": pods.context or None,
        "namespace": pods.namespace,
        "error": pods.health.last_error,
        "pods": pods.summary,
    }


def _match(runbook: Runbook | None, alert: FiringAlert) -> SectionMatch:
    if runbook is None:
        return SectionMatch(section=None, via="", nearest=())
    return match_section(runbook, alert.name, dict(alert.labels), dict(alert.annotations))


def _since(alert: FiringAlert, now: datetime) -> str:
    return format_age((now - alert.active_at).total_seconds() if alert.active_at else None)


def _runbook_words(match: SectionMatch, runbook: Runbook | None) -> str:
    if match.section is not None:
        section = match.section
        title = clean(section.title)
        return clean(section.slug) if title in ("", section.slug) else f"{clean(section.slug)} ({title})"
    if runbook is None:
        return "no runbook loaded"
    if match.nearest:
        return f"no runbook section (nearest: {', '.join(clean(s) for s in match.nearest)})"
    return "no runbook section"


def _status_lines(snapshot: AlertsSnapshot, now: datetime) -> list[str]:
    """What the reader must know before trusting the list: down, stale, degraded, not configured."""
    health = snapshot.health
    error = clean(health.last_error or "")
    if health.state == "not-configured":
        # no full stop after an error: it often ends in a URL that gets copied
        return [f"Prometheus is not configured: {error}" if error else "Prometheus is not configured"]
    if health.state in ("down", "forbidden"):
        word = "is down" if health.state == "down" else "refused access"
        lines = [f"Prometheus {word}: {error}"]
        if snapshot.fetched_at is not None and snapshot.alerts:
            age = format_age((now - snapshot.fetched_at).total_seconds())
            lines.append(f"The alerts below are stale: fetched {age} ago.")
        else:
            lines.append("No alerts to show.")
        return lines
    if health.state == "degraded" and error:
        return [f"Note: {error}"]
    return []


def _counts(snapshot: AlertsSnapshot, alerts: list[FiringAlert]) -> str:
    """Counts like "4 firing, 2 pending"; marked stale, or "unknown" when nothing could be read."""
    firing = sum(1 for a in alerts if a.state == "firing")
    counts = f"{firing} firing, {len(alerts) - firing} pending"
    if snapshot.health.answering:
        return counts
    return f"{counts} (stale)" if snapshot.fetched_at is not None else "unknown"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class _AlertRow:
    alert: FiringAlert
    match: SectionMatch
    runbook: str  # plain words: the section, or why there is none


def _snapshot_text(snapshot: AlertsSnapshot, rows: list[_AlertRow], now: datetime) -> str:
    alerts = [row.alert for row in rows]
    endpoint = clean(snapshot.health.endpoint or "Prometheus")
    lines = [f"Alerts at {_stamp(now)} from {endpoint}: {_counts(snapshot, alerts)}"]
    lines += _status_lines(snapshot, now)
    if not alerts:
        if snapshot.health.answering:
            lines.append("No alerts firing or pending.")
        return "\n".join(lines)
    header = ("STATE", "SEVERITY", "ALERT", "SINCE", "VALUE", "RUNBOOK", "SUMMARY")
    table = [header] + [
        (
            row.alert.state,
            clean(row.alert.severity) or "-",
            clean(row.alert.name),
            _since(row.alert, now),
            clean(format_value(row.alert.value)) or "-",
            row.runbook,
            clean(row.alert.summary),
        )
        for row in rows
    ]
    widths = [max(len(cells[i]) for cells in table) for i in range(len(header) - 1)]
    lines.append("")
    for cells in table:
        padded = [cell.ljust(width) for cell, width in zip(cells, widths, strict=False)]
        lines.append("  ".join([*padded, cells[-1]]).rstrip())
    return "\n".join(lines)


def _snapshot_markdown(snapshot: AlertsSnapshot, rows: list[_AlertRow], now: datetime) -> str:
    alerts = [row.alert for row in rows]
    endpoint = _md(snapshot.health.endpoint or "Prometheus")
    stamp = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"### Alerts at {stamp}: {_counts(snapshot, alerts)}", "", f"Source: {endpoint}"]
    status = _status_lines(snapshot, now)
    if status:
        lines += ["", *(f"**{_md(line)}**" for line in status)]
    if alerts:
        lines.append("")
    elif snapshot.health.answering:
        lines += ["", "No alerts firing or pending."]
    for row in rows:
        alert, match = row.alert, row.match
        state = "**FIRING**" if alert.state == "firing" else "_pending_"
        parts = [
            f"- {state} {_md(alert.severity or 'no severity')} **{_md(alert.name)}**",
            f"since {_since(alert, now)}",
            f"value {_md(format_value(alert.value)) or '-'}",
        ]
        line = " · ".join(parts)
        if alert.summary:
            line += f" — {_md(alert.summary)}"
        if match.section is not None:
            line += f" — runbook: `{clean(match.section.slug).replace('`', '')}`"
            if match.section.title and match.section.title != match.section.slug:
                line += f" {_md(match.section.title)}"
        else:
            line += f" — {_md(row.runbook)}"
        lines.append(line)
    return "\n".join(lines)


def _snapshot_json(
    snapshot: AlertsSnapshot, alerts: list[FiringAlert], matches: list[SectionMatch], now: datetime
) -> str:
    health = snapshot.health
    document = {
        "taken_at": _iso(now),
        "prometheus": {
            "state": health.state,
            "endpoint": health.endpoint,
            "error": health.last_error,
            "fetched_at": _iso(snapshot.fetched_at),
            "stale": not health.answering and bool(snapshot.alerts),
        },
        "counts": {
            "firing": sum(1 for a in alerts if a.state == "firing"),
            "pending": sum(1 for a in alerts if a.state == "pending"),
        },
        "alerts": [_alert_json(alert, match, now) for alert, match in zip(alerts, matches, strict=True)],
    }
    # ensure_ascii: server text keeps every character, escaped, so none reaches the terminal raw
    return json.dumps(document, indent=2, ensure_ascii=True)


def _alert_json(alert: FiringAlert, match: SectionMatch, now: datetime) -> dict[str, Any]:
    section = match.section
    return {
        "state": alert.state,
        "severity": alert.severity,
        "name": alert.name,
        "since": _since(alert, now),
        "active_at": _iso(alert.active_at),
        "value": alert.value,
        "summary": alert.summary,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "fingerprint": alert.fingerprint,
        "expression": alert.expression,
        "for_seconds": alert.for_seconds,
        "runbook": (
            {"slug": section.slug, "title": section.title, "via": match.via} if section is not None else None
        ),
        "nearest_sections": list(match.nearest),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#])")


def _md(text: str) -> str:
    """Server text for Markdown: control characters made visible, Markdown syntax escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", clean(text))
