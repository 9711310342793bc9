"""The servers beside Prometheus in `oncall snapshot`: pods, PostgreSQL and Redis, each read once and
written as text, Markdown or JSON."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from probes.base import SourceHealth
from probes.format import clean, format_age, format_bytes
from probes.kubernetes import KubernetesProbe, pod_summary
from probes.postgres import PgSnapshot, PostgresProbe
from probes.redis import RedisProbe, RedisSnapshot
from tui.cli.output import iso, md
from tui.config.settings import KubernetesSettings, PostgresSettings, RedisSettings

REDIS_INTERVAL = 1.0  # seconds between the snapshot's two Redis reads: the hit ratio of that interval
SLOW_ENTRIES_SHOWN = 5  # newest slow log entries in `oncall snapshot`


@dataclass(frozen=True)
class PodsReport:
    """One list of the namespace's pods, summarised for `oncall snapshot`."""

    health: SourceHealth
    namespace: str
    context: str
    summary: dict[str, Any] | None  # probes.kubernetes.pod_summary; None when the pods couldn't be read


async def read_redis(settings: RedisSettings, interval: float = REDIS_INTERVAL) -> RedisSnapshot | None:
    """Two refreshes of Redis `interval` apart (the second has the hit ratio of that interval), or None
    when Redis is not configured."""
    if not settings.configured:
        return None
    async with RedisProbe(settings) as probe:
        return await read_redis_twice(probe, interval)


async def read_redis_twice(probe: RedisProbe, interval: float = REDIS_INTERVAL) -> RedisSnapshot:
    """Two refreshes of this probe `interval` apart: the second has the hit ratio of that interval."""
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
    """One list of the namespace's pods, summarised; the probe's health when it can't be read."""
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


def postgres_lines(pg: PgSnapshot, now: datetime, *, markdown: bool = False) -> list[str]:
    """The connection pressure in a few lines, e.g. "PostgreSQL at db:5432/app: 87/100 connections
    (87%, 3 reserved); 60 idle, 20 active, 7 idle in transaction", then blocking and warnings."""
    text = md if markdown else clean
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
    """Memory, hit ratio, clients and the newest slow entries, e.g. "Redis at cache:6379/0: memory 1.4 GiB
    of 2.0 GiB (71%), hit ratio 87% over the last 1s (91% since start), 184 clients"."""
    text = md if markdown else clean
    heading = "### Redis" if markdown else "Redis"
    bullet = "- " if markdown else "  "
    health = rd.health
    where = f" at {text(health.endpoint)}" if health.endpoint else ""
    info = rd.info
    if info is None:
        return [f"{heading}{where}: unreadable: {text(health.last_error or health.state)}"]
    share = info.memory_share
    memory = f"memory {format_bytes(info.used_memory)}"
    if share is not None:
        memory += f" of {format_bytes(info.maxmemory)} ({share:.0%})"
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
        nested = "  - " if markdown else "    "  # a list inside the list item, in Markdown
        for entry in rd.slowlog[:SLOW_ENTRIES_SHOWN]:
            command = " ".join(clean(a) for a in entry.args)
            command = text(command if len(command) <= 80 else command[:79] + "…")
            age = format_age((now - entry.started_at).total_seconds())
            ms = entry.duration_ms
            lines.append(
                f"{nested}{ms:.1f} ms {age} ago: {command}"
                if ms >= 1
                else f"{nested}{ms:.3f} ms {age} ago: {command}"
            )
    for reading, why in rd.blocked:
        lines.append(f"{bullet}{reading}: {text(why)}")
    return lines


def redis_json(rd: RedisSnapshot) -> dict[str, Any]:
    info = rd.info
    return {
        "state": rd.health.state,
        "endpoint": rd.health.endpoint,
        "error": rd.health.last_error,
        "fetched_at": iso(rd.fetched_at),
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
                "at": iso(e.started_at),
                "duration_ms": e.duration_ms,
                "args": list(e.args),
                "client": e.client,
                "client_name": e.client_name,
            }
            for e in (rd.slowlog or ())[:SLOW_ENTRIES_SHOWN]
        ],
        "blocked": dict(rd.blocked),
    }


def postgres_json(pg: PgSnapshot) -> dict[str, Any]:
    pressure = pg.pressure
    return {
        "state": pg.health.state,
        "endpoint": pg.health.endpoint,
        "error": pg.health.last_error,
        "fetched_at": iso(pg.fetched_at),
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


def pods_lines(pods: PodsReport, *, markdown: bool) -> list[str]:
    """E.g. "Pods in namespace production: 7 (5 Running, 1 CrashLoopBackOff, 1 Pending); 12 restarts"."""
    text = md if markdown else clean
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


def pods_json(pods: PodsReport) -> dict[str, Any]:
    return {
        "state": pods.health.state,
        "endpoint": pods.health.endpoint,
        "context": pods.context or None,
        "namespace": pods.namespace,
        "error": pods.health.last_error,
        "pods": pods.summary,
    }
