"""What a read's answer looks like as evidence: the command's own `| grep` and `| head`, the tables kept
small, the reads that count or compare (status codes, memory against limits), and a reading as text."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from probes.base import Reading, SourceHealth
from probes.format import cell_width, clean, fit_cells
from probes.kubernetes import parse_quantity
from tui.triage.commands import LiveRead
from tui.triage.selectors import matches, parse_selector

if TYPE_CHECKING:
    from probes.kubernetes import PodRow

TABLE_ROWS = 20  # rows a reading keeps: evidence, not a dump
CELL_MAX = 120  # characters of one cell as text (an error message is the longest)
_STATUS = re.compile(
    r"(?:\b(?:GET|POST|PUT|PATCH|DELETE|HEAD)\s+\S+\s+|\bstatus\D{0,3}|HTTP/\d(?:\.\d)?\"?\s+)([1-5]\d\d)\b"
)


class Listing(Protocol):
    """A probe's typed list of one kind of object (hpas, pvcs, services, ...): a `ResourceSnapshot`."""

    @property
    def items(self) -> Sequence[object]: ...

    @property
    def health(self) -> SourceHealth: ...

    @property
    def fetched_at(self) -> datetime | None: ...


def shape(reading: Reading, read: LiveRead) -> Reading:
    """The command's own `| grep` and `| head -N` applied to what was read, and the table kept small."""
    p = read.params
    if p.filter is not None:
        lines = reading.lines or tuple("  ".join(row) for row in reading.rows)
        kept = tuple(p.filter.apply(lines))
        if not kept and reading.read_at is not None and (lines or reading.ok):
            # blank evidence is never left unexplained: grep printed nothing, so say so
            pattern = p.filter.pattern
            kept = (f'(no line matches "{pattern}" in {len(lines)} lines read)',)
            if p.filter.invert:
                kept = (f'(every one of the {len(lines)} lines read matches "{pattern}")',)
        reading = replace(reading, columns=(), rows=(), lines=kept)
    if p.limit is not None:
        reading = replace(
            reading,
            rows=reading.rows[: p.limit],
            lines=reading.lines[: p.limit],
            truncated=reading.truncated or len(reading.rows) > p.limit or len(reading.lines) > p.limit,
        )
    if len(reading.rows) > TABLE_ROWS:
        reading = replace(reading, rows=reading.rows[:TABLE_ROWS], truncated=True)
    if reading.ok and not reading.rows and not reading.lines:
        empty = "no rows" if reading.columns else "nothing"
        reading = replace(reading, lines=(f"(the read answered {empty}: it found none)",))
    return reading


# --- Redis INFO: the fields a triage step asks about first --------------------------------------------------

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


def info_first(reading: Reading) -> Reading:
    """INFO with the fields a triage step asks about first; the rest follow in INFO's order."""
    if not reading.rows:
        return reading
    first = {name: i for i, name in enumerate(_INFO_FIRST)}
    ordered = sorted(reading.rows, key=lambda r: first.get(r[0], len(first)))  # stable: INFO's order after
    return replace(reading, rows=tuple(ordered))


def restart_fields(reading: Reading) -> Reading:
    """Of INFO, what tells a restart or a flush: uptime, keys per database and the last save."""
    if not reading.rows:
        return reading
    keep = [r for r in reading.rows if r[0] in _RESTART_FIELDS or re.fullmatch(r"db\d+", r[0])]
    return replace(reading, rows=tuple(keep), what="uptime, keys and last save (INFO)")


# --- the reads that count or compare ------------------------------------------------------------------------


def memory_against_limits(top: Reading, pods: Callable[[], Sequence[PodRow]] | None) -> Reading:
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


def snapshot_reading(snapshot: Listing, what: str, *, selector: str | None = None) -> Reading:
    """A probe's typed list (hpas, pvcs, services, ...) as a table of its fields."""
    health = snapshot.health
    if snapshot.fetched_at is None:
        return Reading.failed("kubernetes", what, health.last_error or health.state)
    items = list(snapshot.items)
    terms = parse_selector(selector)
    if terms:
        # only objects that carry labels are narrowed by a selector (a node row has none to match)
        items = [i for i in items if not hasattr(i, "labels") or matches(i.labels, terms)]
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


def _fields(items: Sequence[object]) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    if not items or not dataclasses.is_dataclass(items[0]):
        return (), ()
    names = [f.name for f in dataclasses.fields(items[0]) if f.name not in ("labels", "selector", "uid")]
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


def reading_text(reading: Reading, *, rows: int = TABLE_ROWS, cell_max: int | None = CELL_MAX) -> str:
    """A reading as plain text lines: its source and time, then the table (aligned) or its lines.

    `cell_max` None keeps every cell whole (the evidence view)."""
    when = reading.read_at.isoformat(timespec="seconds") if reading.read_at else "not read"
    out = [f"{reading.source}: {reading.what} ({when})"]
    if reading.problem:
        out.append(f"  ! {reading.problem}")
    if reading.columns:
        # cells as they will show (one line, controls visible), padded by terminal cells, not characters
        table = [[clean(cell) for cell in row] for row in (reading.columns, *reading.rows[:rows])]
        widths = [
            min(cell_max or 10**6, max(cell_width(r[i]) if i < len(r) else 0 for r in table))
            for i in range(len(reading.columns))
        ]
        for row in table:
            out.append("  " + "  ".join(fit_cells(cell, widths[i]) for i, cell in enumerate(row)).rstrip())
    out.extend("  " + line for line in reading.lines[:rows])
    if reading.truncated:
        out.append("  …")
    return "\n".join(out)
