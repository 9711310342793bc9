"""`oncall snapshot`: the firing alerts with their runbook sections, and the servers beside them, for
pasting into an incident channel as text, Markdown or JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import httpx

from probes.format import clean, format_age
from probes.postgres import PgSnapshot
from probes.prometheus import AlertsSnapshot, FiringAlert, PrometheusProbe, alert_sort_key, format_value
from probes.redis import RedisSnapshot
from tui.cli.output import iso, md
from tui.cli.servers import (
    PodsReport,
    pods_json,
    pods_lines,
    postgres_json,
    postgres_lines,
    read_pods_report,
    read_postgres,
    read_redis,
    read_redis_twice,
    redis_json,
    redis_lines,
)
from tui.config.paths import example_runbook
from tui.config.settings import Settings
from tui.triage.causes import CauseFinding, diagnose, top_cause
from tui.triage.registry import Sources
from tui.triage.runbook import Runbook, Section, SectionMatch, load_runbook, match_section

if TYPE_CHECKING:
    from tui.cli.demo import DemoSources

SnapshotFormat = Literal["text", "json", "markdown"]
DEMO_NOTE = "DEMO: the built-in scripted incident (oncall --demo), not a real server"


def cmd_snapshot(args: argparse.Namespace, settings: Settings) -> int:
    runbook = load_runbook(settings.runbook or example_runbook())
    if args.demo:
        from tui.cli.demo import demo_sources  # the demo's modules load only for --demo

        snapshot = asyncio.run(take_demo_snapshot(demo_sources(settings), runbook))
    else:
        snapshot = asyncio.run(take_snapshot(settings, runbook))
    fmt: SnapshotFormat = "json" if args.json else "markdown" if args.markdown else "text"
    print(format_snapshot(snapshot, runbook, fmt=fmt, now=datetime.now(UTC)))
    return snapshot_exit_code(snapshot)


@dataclass(frozen=True)
class IncidentSnapshot(AlertsSnapshot):
    """The alerts, plus the pods when Kubernetes is configured; usable wherever an AlertsSnapshot is."""

    pods: PodsReport | None = None
    postgres: PgSnapshot | None = None  # None when PostgreSQL is not configured
    redis: RedisSnapshot | None = None  # None when Redis is not configured
    demo: bool = False  # the scripted incident of `--demo`: said at the top, never mistaken for real
    # each alert's common causes as the evidence judges them, ranked (by fingerprint); none without a runbook
    causes: dict[str, tuple[CauseFinding, ...]] = field(default_factory=dict)


async def take_snapshot(
    settings: Settings,
    runbook: Runbook | None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> IncidentSnapshot:
    """One poll of Prometheus and one list of pods; with a runbook, each alert's common causes judged from
    the configured servers' evidence (the checklist's rules, read once)."""
    async with PrometheusProbe(settings.prometheus, transport=transport) as probe:
        alerts, pods, postgres, redis = await asyncio.gather(
            probe.poll(),
            read_pods_report(settings.kubernetes),
            read_postgres(settings.postgres),
            read_redis(settings.redis),
        )
        causes = await _diagnose_alerts(settings, runbook, alerts.alerts, probe) if runbook else {}
    return IncidentSnapshot(
        alerts.alerts,
        alerts.health,
        alerts.fetched_at,
        pods=pods,
        postgres=postgres,
        redis=redis,
        causes=causes,
    )


async def snapshot_alerts(settings: Settings, runbook: Runbook | None) -> list[dict[str, Any]]:
    """The alerts as `oncall snapshot --json` lists them (section, "top_cause", "causes"), read now: the
    one code path the lab's drill and the CLI share."""
    snapshot = await take_snapshot(settings, runbook)
    document = json.loads(format_snapshot(snapshot, runbook, fmt="json", now=datetime.now(UTC)))
    alerts: list[dict[str, Any]] = document["alerts"]
    return alerts


async def _diagnose_alerts(
    settings: Settings, runbook: Runbook, alerts: Sequence[FiringAlert], prometheus: PrometheusProbe
) -> dict[str, tuple[CauseFinding, ...]]:
    """Each mapped alert's causes, judged from one read of each configured server."""
    mapped = [(a, _match(runbook, a).section) for a in alerts]
    wanted = [(alert, section) for alert, section in mapped if section is not None]
    if not wanted:
        return {}
    from probes.kubernetes import KubernetesProbe
    from probes.postgres import PostgresProbe
    from probes.redis import RedisProbe

    kube = KubernetesProbe(settings.kubernetes)
    kube_on = kube.health.state != "not-configured"
    try:
        async with PostgresProbe(settings.postgres) as postgres, RedisProbe(settings.redis) as redis:
            pods = (await kube.list_pods()).items if kube_on else ()  # each pod's limits, beside its use
            sources = Sources(
                kubernetes=kube if kube_on else None,
                postgres=postgres if postgres.configured else None,
                redis=redis if redis.configured else None,
                prometheus=prometheus if settings.prometheus.url else None,
                namespace=kube.namespace if kube_on else None,
                pods=lambda: pods,
            )
            return await _judge_alerts(sources, runbook, wanted)
    finally:
        kube.close()


async def _judge_alerts(
    sources: Sources, runbook: Runbook, wanted: Sequence[tuple[FiringAlert, Section]]
) -> dict[str, tuple[CauseFinding, ...]]:
    found = await asyncio.gather(*(diagnose(sources, runbook, section, alert) for alert, section in wanted))
    return {alert.fingerprint: findings for (alert, _), findings in zip(wanted, found, strict=True)}


async def take_demo_snapshot(demo: DemoSources, runbook: Runbook | None = None) -> IncidentSnapshot:
    """The demo's alerts, pods, database and cache, read through the real probes' parsers; with a runbook,
    each alert's causes judged from the demo's servers."""
    from tui.cli.demo import demo_pods_report
    from tui.demo.kube_objects import NAMESPACE

    async with PrometheusProbe(demo.prometheus, transport=demo.transport) as probe:
        alerts, postgres, redis = await asyncio.gather(
            probe.poll(), demo.postgres.poll(), read_redis_twice(demo.redis)
        )
        causes: dict[str, tuple[CauseFinding, ...]] = {}
        if runbook is not None:
            sources = Sources(
                kubernetes=demo.kube,
                postgres=demo.postgres,
                redis=demo.redis,
                prometheus=probe,
                namespace=NAMESPACE,
            )
            wanted = [(a, s) for a in alerts.alerts if (s := _match(runbook, a).section) is not None]
            causes = await _judge_alerts(sources, runbook, wanted)
    return IncidentSnapshot(
        alerts.alerts,
        alerts.health,
        alerts.fetched_at,
        pods=demo_pods_report(demo),
        postgres=postgres,
        redis=redis,
        demo=True,
        causes=causes,
    )


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
    demo = isinstance(snapshot, IncidentSnapshot) and snapshot.demo
    causes = snapshot.causes if isinstance(snapshot, IncidentSnapshot) else {}
    findings = [causes.get(alert.fingerprint, ()) for alert in alerts]
    if fmt == "json":
        text = _snapshot_json(snapshot, alerts, matches, findings, now)
        if pods is None and postgres is None and redis is None and not demo:
            return text
        document = json.loads(text)
        if demo:
            document = {"demo": True, **document}
        if pods is not None:
            document["kubernetes"] = pods_json(pods)
        if postgres is not None:
            document["postgresql"] = postgres_json(postgres)
        if redis is not None:
            document["redis"] = redis_json(redis)
        return json.dumps(document, indent=2, ensure_ascii=True)
    rows = [
        _AlertRow(alert, match, _runbook_words(match, runbook), found)
        for alert, match, found in zip(alerts, matches, findings, strict=True)
    ]
    if fmt in ("markdown", "text"):
        markdown = fmt == "markdown"
        text = _snapshot_markdown(snapshot, rows, now) if markdown else _snapshot_text(snapshot, rows, now)
        if demo:
            first, _, rest = text.partition("\n")
            text = f"{first}\n{'**' + DEMO_NOTE + '**' if markdown else DEMO_NOTE}\n{rest}".rstrip("\n")
        if pods:
            text += "\n\n" + "\n".join(pods_lines(pods, markdown=markdown))
        if postgres is not None:
            text += "\n\n" + "\n".join(postgres_lines(postgres, now, markdown=markdown))
        if redis is not None:
            text += "\n\n" + "\n".join(redis_lines(redis, now, markdown=markdown))
        return text
    raise ValueError(f"unknown snapshot format {fmt!r}")


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
    causes: tuple[CauseFinding, ...] = ()  # ranked; empty when not judged (no section, no runbook)

    @property
    def likely(self) -> str | None:
        """ "likely cause: NAME — reason", or that none is supported; None when the causes were not judged."""
        if not self.causes:
            return None
        top = top_cause(self.causes)
        if top is None:
            return "no cause supported by the evidence yet"
        return f"likely cause: {clean(top.name)} — {clean(top.reason)}"


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
    judged = [row for row in rows if row.likely is not None]
    if judged:
        lines.append("")
        for row in judged:
            slug = clean(row.match.section.slug) if row.match.section else "?"
            lines.append(f"{clean(row.alert.name)} (#{slug}): {row.likely}")
    return "\n".join(lines)


def _snapshot_markdown(snapshot: AlertsSnapshot, rows: list[_AlertRow], now: datetime) -> str:
    alerts = [row.alert for row in rows]
    endpoint = md(snapshot.health.endpoint or "Prometheus")
    stamp = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"### Alerts at {stamp}: {_counts(snapshot, alerts)}", "", f"Source: {endpoint}"]
    status = _status_lines(snapshot, now)
    if status:
        lines += ["", *(f"**{md(line)}**" for line in status)]
    if alerts:
        lines.append("")
    elif snapshot.health.answering:
        lines += ["", "No alerts firing or pending."]
    for row in rows:
        alert, match = row.alert, row.match
        state = "**FIRING**" if alert.state == "firing" else "_pending_"
        parts = [
            f"- {state} {md(alert.severity or 'no severity')} **{md(alert.name)}**",
            f"since {_since(alert, now)}",
            f"value {md(format_value(alert.value)) or '-'}",
        ]
        line = " · ".join(parts)
        if alert.summary:
            line += f" — {md(alert.summary)}"
        if match.section is not None:
            line += f" — runbook: `{clean(match.section.slug).replace('`', '')}`"
            if match.section.title and match.section.title != match.section.slug:
                line += f" {md(match.section.title)}"
        else:
            line += f" — {md(row.runbook)}"
        lines.append(line)
        if row.likely is not None:
            lines.append(f"  - {md(row.likely)}")
    return "\n".join(lines)


def _snapshot_json(
    snapshot: AlertsSnapshot,
    alerts: list[FiringAlert],
    matches: list[SectionMatch],
    findings: list[tuple[CauseFinding, ...]],
    now: datetime,
) -> str:
    health = snapshot.health
    document = {
        "taken_at": iso(now),
        "prometheus": {
            "state": health.state,
            "endpoint": health.endpoint,
            "error": health.last_error,
            "fetched_at": iso(snapshot.fetched_at),
            "stale": not health.answering and bool(snapshot.alerts),
        },
        "counts": {
            "firing": sum(1 for a in alerts if a.state == "firing"),
            "pending": sum(1 for a in alerts if a.state == "pending"),
        },
        "alerts": [
            _alert_json(alert, match, found, now)
            for alert, match, found in zip(alerts, matches, findings, strict=True)
        ],
    }
    # ensure_ascii: server text keeps every character, escaped, so none reaches the terminal raw
    return json.dumps(document, indent=2, ensure_ascii=True)


def _alert_json(
    alert: FiringAlert, match: SectionMatch, findings: Sequence[CauseFinding], now: datetime
) -> dict[str, Any]:
    section = match.section
    top = top_cause(findings)
    return {
        "state": alert.state,
        "severity": alert.severity,
        "name": alert.name,
        "since": _since(alert, now),
        "active_at": iso(alert.active_at),
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
        # the best-supported common cause (null when the evidence supports none), then each one, ranked
        "top_cause": top.as_json() if top is not None else None,
        "causes": [finding.as_json() for finding in findings],
    }
