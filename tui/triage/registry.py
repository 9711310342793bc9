"""Run a step's planned reads through the probes and turn each answer into a `Reading`.

Only reads leave here: every read goes through its probe's own guard (the SQL guard, the Redis allowlist,
the Kubernetes client that sends GET only, Prometheus's query API). A source that is not configured, or a
probe that has no such read (the demo's, for some), gives a Reading that says so instead of a guess.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from probes.base import Reading
from probes.format import cell_width, clean, fit_cells
from probes.kubernetes.rows import parse_quantity
from tui.triage.commands import LiveRead
from tui.triage.selectors import matches, parse_selector

READ_TIMEOUT = 15.0  # seconds for one read, whatever the probe's own timeouts
TABLE_ROWS = 20  # rows a reading keeps: evidence, not a dump
CELL_MAX = 120  # characters of one cell as text (an error message is the longest)
_STATUS = re.compile(
    r"(?:\b(?:GET|POST|PUT|PATCH|DELETE|HEAD)\s+\S+\s+|\bstatus\D{0,3}|HTTP/\d(?:\.\d)?\"?\s+)([1-5]\d\d)\b"
)


@dataclass(frozen=True)
class Sources:
    """The probes a read may go through; None where a source is not configured."""

    clock: Callable[[], datetime]
    kubernetes: Any = None  # KubernetesProbe (or the demo's)
    postgres: Any = None  # PostgresProbe
    redis: Any = None  # RedisProbe
    prometheus: Any = None  # PrometheusProbe
    alert_query: str | None = None  # the selected alert's expression, for "count from metrics" steps
    namespace: str | None = None  # the Kubernetes namespace oncall reads when the command names none
    pods: Callable[[], Sequence[Any]] | None = None  # the pod cache (PodRow), for limits beside usage


async def gather(read: LiveRead, sources: Sources) -> Reading:
    """One read, bounded in time, never raising: what a probe can't answer is a Reading saying why."""
    what = _what(read)
    try:
        async with asyncio.timeout(READ_TIMEOUT):
            reading = await _dispatch(read, sources, what)
    except TimeoutError:
        return Reading.failed(read.source, what, f"no answer within {READ_TIMEOUT:g}s")
    except Exception as exc:  # a bug in one read must not take the checklist down
        return Reading.failed(read.source, what, f"internal error while reading: {type(exc).__name__}")
    return _shape(reading, read)


async def gather_all(reads: Sequence[LiveRead], sources: Sources) -> tuple[Reading, ...]:
    """The reads of one step, at once."""
    return tuple(await asyncio.gather(*(gather(r, sources) for r in reads)))


def _what(read: LiveRead) -> str:
    if read.command:
        return read.command
    return f"{read.source} {read.read}" + (f" ({read.params.selector})" if read.params.selector else "")


def _probe(sources: Sources, name: str, method: str) -> Any:
    """The probe's method, or None when the source is not configured or has no such read."""
    probe = getattr(sources, name)
    if probe is None or not getattr(probe, "configured", True):
        return None
    return getattr(probe, method, None)


_FIELD = {"postgresql": "postgres", "kubernetes": "kubernetes", "redis": "redis", "prometheus": "prometheus"}


def _missing(read: LiveRead, what: str, sources: Sources) -> Reading:
    probe = getattr(sources, _FIELD[read.source])
    if probe is None or not getattr(probe, "configured", True):
        return Reading.failed(read.source, what, f"{read.source} is not configured")
    if type(probe).__module__.startswith("tui.demo."):
        return Reading.failed(read.source, what, f"the demo's {read.source} has no live {read.read} read yet")
    return Reading.failed(read.source, what, f"this {read.source} source has no live {read.read} read")


async def _dispatch(read: LiveRead, sources: Sources, what: str) -> Reading:
    p = read.params
    namespace = p.namespace or sources.namespace
    if read.source == "postgresql":
        run = _probe(sources, "postgres", "run_statement")
        return await run(p.statement or "") if run else _missing(read, what, sources)
    if read.source == "redis":
        redis_read = _probe(sources, "redis", "read")
        if redis_read is None:
            return _missing(read, what, sources)
        command = _redis_command(read)
        if command is None:
            return Reading.failed("redis", what, f"no Redis read for {read.read}")
        return await redis_read(command, limit=p.limit or p.count, pattern=p.pattern)
    if read.source == "prometheus":
        return await _prometheus(read, sources, what, namespace)
    return await _kubernetes(read, sources, what, namespace)


def _redis_command(read: LiveRead) -> tuple[str, ...] | None:
    p = read.params
    return {
        "info": ("INFO", *([p.section] if p.section else [])),
        "config-get": ("CONFIG", "GET", p.name or ""),
        "slowlog": ("SLOWLOG", "GET", str(p.count or 10)),
        "latency": ("LATENCY", "LATEST"),
        "scan": ("SCAN",),
        "bigkeys": ("BIGKEYS",),
        # "was the cache flushed": uptime, keys per database and the last save, from all of INFO
        "restart": ("INFO",),
    }.get(read.read)


async def _prometheus(read: LiveRead, sources: Sources, what: str, namespace: str | None) -> Reading:
    p = read.params
    if read.read == "targets-down":
        targets = _probe(sources, "prometheus", "targets_reading")
        return await targets(only_down=True) if targets else _missing(read, what, sources)
    if read.read == "target-health":
        targets = _probe(sources, "prometheus", "targets_reading")
        match = _host_port(p.pattern) if p.pattern else None
        return await targets(only_down=False, match=match) if targets else _missing(read, what, sources)
    if read.read == "volume-usage":
        volumes = _probe(sources, "prometheus", "volume_usage_reading")
        workload = (p.name or "").rpartition("/")[2] or None
        return await volumes(namespace or "", workload) if volumes else _missing(read, what, sources)
    if read.read == "alert-query":
        query = _probe(sources, "prometheus", "query_reading")
        if query is None:
            return _missing(read, what, sources)
        if not sources.alert_query:
            return Reading.failed("prometheus", what, "no alert selected: its expression is the query")
        return await query(sources.alert_query, what=f"the alert's expression: {sources.alert_query}")
    return Reading.failed("prometheus", what, f"no Prometheus read for {read.read}")


def _host_port(url: str) -> str:
    """host:port of a URL a runbook fetches inside a pod; "localhost:3001" matches no target, so the port."""
    host = re.sub(r"^[a-z]+://", "", url).split("/", 1)[0]
    return f":{host.rpartition(':')[2]}" if host.startswith(("localhost", "127.")) and ":" in host else host


async def _kubernetes(read: LiveRead, sources: Sources, what: str, namespace: str | None) -> Reading:
    p = read.params
    simple = {
        "pods": ("pods_reading", (p.selector, namespace)),
        "describe-pods": ("describe_reading", (p.selector or "", namespace)),
        "top-pods": ("top_reading", (p.selector or "", namespace)),
    }
    if read.read == "pods" and p.jsonpath:
        method = _probe(sources, "kubernetes", "jsonpath_reading")
        return await method(p.selector, p.jsonpath, namespace) if method else _missing(read, what, sources)
    if read.read in simple:
        name, args = simple[read.read]
        method = _probe(sources, "kubernetes", name)
        return await method(*args) if method else _missing(read, what, sources)
    if read.read in ("logs", "status-codes", "log-matches"):
        method = _probe(sources, "kubernetes", "logs_reading")
        if method is None:
            return _missing(read, what, sources)
        logs = await method(p.selector or "", p.tail or 200, namespace, p.container, p.previous)
        if read.read == "status-codes":
            return status_codes(logs)
        return logs
    if read.read == "memory-vs-limits":
        method = _probe(sources, "kubernetes", "top_reading")
        if method is None:
            return _missing(read, what, sources)
        return memory_against_limits(await method(p.selector or "", namespace), sources.pods)
    listing = {
        "hpas": "hpas",
        "pvcs": "pvcs",
        "services": "services",
        "network-policies": "network_policies",
        "nodes": "nodes",
        "events": "events",
    }
    if read.read in listing:
        method = _probe(sources, "kubernetes", listing[read.read])
        if method is None:
            return _missing(read, what, sources)
        if read.read == "nodes":
            snapshot = await method()
        elif read.read == "pvcs":
            snapshot = await method(label_selector=p.selector, namespace=namespace)
        else:
            snapshot = await method(namespace=namespace)
        return snapshot_reading(snapshot, what, selector=p.selector)
    if read.read == "helm-history":
        method = _probe(sources, "kubernetes", "helm_history")
        if method is None:
            return _missing(read, what, sources)
        return snapshot_reading(await method(p.release or "", namespace), what)
    return Reading.failed("kubernetes", what, f"no Kubernetes read for {read.read}")


# --- shaping -----------------------------------------------------------------------------------------------


# INFO's fields a triage step asks about, first: the rest follow in INFO's order
_INFO_FIRST = (
    "used_memory_human",
    "maxmemory_human",
    "maxmemory_policy",
    "mem_fragmentation_ratio",
    "used_memory_rss_human",
    "used_memory_peak_human",
    "connected_clients",
    "blocked_clients",
    "maxclients",
    "rejected_connections",
    "keyspace_hits",
    "keyspace_misses",
    "evicted_keys",
    "expired_keys",
)
# what tells a restart or a flush: a short uptime, few keys, a recent save or none since
_RESTART_FIELDS = (
    "uptime_in_seconds",
    "uptime_in_days",
    "rdb_last_save_time",
    "rdb_changes_since_last_save",
    "expired_keys",
    "evicted_keys",
)


def _info_rows(reading: Reading, read: LiveRead) -> Reading:
    if read.source != "redis" or read.read not in ("info", "restart") or not reading.rows:
        return reading
    if read.read == "restart":
        keep = [r for r in reading.rows if r[0] in _RESTART_FIELDS or re.fullmatch(r"db\d+", r[0])]
        return replace(reading, rows=tuple(keep), what="uptime, keys and last save (INFO)")
    first = {name: i for i, name in enumerate(_INFO_FIRST)}
    ordered = sorted(reading.rows, key=lambda r: first.get(r[0], len(first)))  # stable: INFO's order after
    return replace(reading, rows=tuple(ordered))


def _shape(reading: Reading, read: LiveRead) -> Reading:
    """The command's own `| grep` and `| head -N` applied to what was read, and the table kept small."""
    reading = _info_rows(reading, read)
    p = read.params
    if p.filter is not None:
        lines = reading.lines or tuple("  ".join(row) for row in reading.rows)
        reading = replace(reading, columns=(), rows=(), lines=tuple(p.filter.apply(lines)))
    if p.limit is not None:
        reading = replace(
            reading,
            rows=reading.rows[: p.limit],
            lines=reading.lines[: p.limit],
            truncated=reading.truncated or len(reading.rows) > p.limit or len(reading.lines) > p.limit,
        )
    if len(reading.rows) > TABLE_ROWS:
        reading = replace(reading, rows=reading.rows[:TABLE_ROWS], truncated=True)
    return reading


def memory_against_limits(top: Reading, pods: Callable[[], Sequence[Any]] | None) -> Reading:
    """`kubectl top pods` with each pod's memory limit (the sum over its containers) and the share used."""
    if not top.rows or "MEMORY(bytes)" not in top.columns:
        return top
    by_name = {pod.name: pod for pod in (pods() if pods else ())}
    name_at, memory_at = top.columns.index("NAME"), top.columns.index("MEMORY(bytes)")
    rows = []
    for row in top.rows:
        pod = by_name.get(row[name_at])
        limits = [parse_quantity(c.limits_memory) for c in pod.containers] if pod else []
        limit = sum(x for x in limits if x) if limits and all(limits) else None
        used = parse_quantity(row[memory_at])
        share = f"{used / limit:.0%}" if used and limit else ""
        limit_text = ",".join(c.limits_memory for c in pod.containers) if pod and limit else "no limit"
        rows.append((row[name_at], row[memory_at], limit_text if pod else "?", share))
    rows.sort(key=lambda r: -float(r[3].rstrip("%") or -1))
    return replace(
        top,
        what=f"memory against limits: {top.what}",
        columns=("NAME", "MEMORY", "LIMIT", "USED"),
        rows=tuple(rows),
    )


def status_codes(logs: Reading) -> Reading:
    """HTTP status codes counted in log lines ("GET /api/orders 503", status=502, HTTP/1.1" 500)."""
    if not logs.ok and not logs.lines:
        return replace(logs, what=f"status codes in {logs.what}")
    counts = Counter(match.group(1) for line in logs.lines for match in _STATUS.finditer(line))
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return Reading(
        source=logs.source,
        what=f"HTTP status codes in {logs.what}",
        columns=("status", "lines"),
        rows=tuple((code, str(n)) for code, n in rows),
        read_at=logs.read_at,
        problem=None if rows else "no HTTP status codes in the log tail",
    )


def snapshot_reading(snapshot: Any, what: str, *, selector: str | None = None) -> Reading:
    """A probe's typed list (hpas, pvcs, services, ...) as a table of its fields."""
    health = snapshot.health
    if snapshot.fetched_at is None:
        return Reading.failed("kubernetes", what, health.last_error or health.state)
    items = list(snapshot.items)
    terms = parse_selector(selector)
    if terms:
        items = [i for i in items if matches(getattr(i, "labels", ()), terms)]
    columns, rows = _fields(items)
    problem = None if health.state == "ok" else f"{health.state}: {health.last_error}"
    return Reading(
        source="kubernetes",
        what=what,
        columns=columns,
        rows=rows,
        read_at=snapshot.fetched_at,
        truncated=len(rows) > TABLE_ROWS,
        problem=problem,
    )


def _fields(items: Sequence[Any]) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    if not items:
        return (), ()
    names = [
        n for n in getattr(items[0], "__dataclass_fields__", {}) if n not in ("labels", "selector", "uid")
    ]
    rows = tuple(tuple(_cell(getattr(item, n)) for n in names) for item in items)
    return tuple(n.replace("_", " ") for n in names), rows


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, tuple):
        return ",".join(_cell(v) for v in value)
    return str(value)


# --- as text: what a ticked step stores, and the export shows -----------------------------------------------


def reading_text(reading: Reading, *, rows: int = TABLE_ROWS) -> str:
    """A reading as plain text lines: its source and time, then the table (aligned) or its lines."""
    when = reading.read_at.isoformat(timespec="seconds") if reading.read_at else "not read"
    out = [f"{reading.source}: {reading.what} ({when})"]
    if reading.problem:
        out.append(f"  ! {reading.problem}")
    if reading.columns:
        # cells as they will show (one line, controls visible), padded by terminal cells, not characters
        table = [[clean(cell) for cell in row] for row in (reading.columns, *reading.rows[:rows])]
        widths = [
            min(CELL_MAX, max(cell_width(r[i]) if i < len(r) else 0 for r in table))
            for i in range(len(reading.columns))
        ]
        for row in table:
            out.append("  " + "  ".join(fit_cells(cell, widths[i]) for i, cell in enumerate(row)).rstrip())
    out.extend("  " + line for line in reading.lines[:rows])
    if reading.truncated:
        out.append("  …")
    return "\n".join(out)
