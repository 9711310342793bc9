"""What one PostgreSQL poll read: sessions, connection pressure, top statements and table health."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from probes.base import SourceHealth
from probes.redact import redact_text

HIDDEN_QUERY = "<insufficient privilege>"


@dataclass(frozen=True)
class PgSession:
    pid: int
    user: str | None
    database: str | None
    application: str
    client: str | None  # "10.0.0.5:53122", "local" (Unix socket), None for background workers
    backend_type: str  # "client backend", "autovacuum worker", ...
    state: str | None  # "active", "idle", "idle in transaction", ...; None when hidden or a worker
    wait_event_type: str | None
    wait_event: str | None
    query: str  # HIDDEN_QUERY when the role may not see it
    query_start: datetime | None
    xact_start: datetime | None
    state_change: datetime | None
    query_seconds: float | None
    xact_seconds: float | None
    blocked_by: tuple[int, ...]  # pids holding the lock this session waits for
    hidden: bool  # the role lacks pg_monitor/pg_read_all_stats for this session

    @property
    def blocked(self) -> bool:
        return bool(self.blocked_by)


@dataclass(frozen=True)
class PgPressure:
    used: int  # client connections, oncall's own included
    max_connections: int
    reserved: int  # superuser_reserved_connections (+ reserved_connections on 16+)
    by_state: tuple[tuple[str, int], ...]  # most first; "unknown" for sessions the role may not see
    by_application: tuple[tuple[str, int], ...]  # most first; "" for sessions that set no application_name
    idle_in_transaction: tuple[PgSession, ...]  # open longer than the probe's threshold, oldest first

    @property
    def available(self) -> int:
        """Connections ordinary roles can still open."""
        return max(0, self.max_connections - self.reserved - self.used)

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.max_connections if self.max_connections else 0.0


@dataclass(frozen=True)
class PgStatement:
    query: str
    calls: int
    mean_ms: float
    total_ms: float
    rows: int


@dataclass(frozen=True)
class PgTable:
    schema: str
    name: str
    seq_scan: int
    idx_scan: int
    live_tuples: int
    dead_tuples: int
    last_vacuum: datetime | None
    last_autovacuum: datetime | None
    last_analyze: datetime | None
    last_autoanalyze: datetime | None


@dataclass(frozen=True)
class PgSnapshot:
    sessions: tuple[PgSession, ...]  # active first, longest running first; oncall's own session never
    pressure: PgPressure | None  # None until the first successful read
    statements: tuple[PgStatement, ...] | None  # None: see statements_problem
    statements_problem: str | None
    tables: tuple[PgTable, ...]
    server_version: str  # "15.4", "" until connected
    role: str
    superuser: bool
    can_write: bool
    pg_monitor: bool
    warnings: tuple[str, ...]  # shown once, visibly: superuser, a role that can write, no pg_monitor
    health: SourceHealth
    fetched_at: datetime | None  # when the data was read; older than health.checked_at when stale
    read_only: bool = False  # the session's default_transaction_read_only, as the server reports it
    database: str = ""
    unlisted_idle: int = 0  # idle sessions counted in the pressure but not in `sessions`

    @classmethod
    def empty(cls, health: SourceHealth) -> PgSnapshot:
        """Nothing read yet (or nothing to keep): only the health says why."""
        return cls(
            sessions=(),
            pressure=None,
            statements=None,
            statements_problem=None,
            tables=(),
            server_version="",
            role="",
            superuser=False,
            can_write=False,
            pg_monitor=False,
            warnings=(),
            health=health,
            fetched_at=None,
        )

    @property
    def blocked(self) -> tuple[PgSession, ...]:
        return tuple(s for s in self.sessions if s.blocked_by)

    @property
    def active(self) -> tuple[PgSession, ...]:
        return tuple(s for s in self.sessions if s.state == "active")


@dataclass(frozen=True)
class PgRole:
    name: str
    database: str
    superuser: bool
    pg_monitor: bool
    read_all_stats: bool
    owns_tables: bool
    writes_tables: bool
    read_only: bool
    pgss_version: str | None
    pgss_schema: str | None

    @property
    def can_write(self) -> bool:
        return self.superuser or self.owns_tables or self.writes_tables


def role_from(row: Mapping[str, Any]) -> PgRole:
    return PgRole(
        name=row["role"],
        database=row["database"],
        superuser=bool(row["superuser"]),
        pg_monitor=bool(row["pg_monitor"]),
        read_all_stats=bool(row["read_all_stats"]),
        owns_tables=bool(row["owns_tables"]),
        writes_tables=bool(row["writes_tables"] or row["write_all_data"]),
        read_only=str(row["read_only"]).lower() == "on",
        pgss_version=row["pgss_version"],
        pgss_schema=row["pgss_schema"],
    )


def role_warnings(role: PgRole) -> tuple[str, ...]:
    warnings: list[str] = []
    if role.superuser:
        warnings.append(
            f"connected as superuser {role.name}: a read-only role with pg_monitor is safer "
            "(the session is read-only, but a superuser can turn that off)"
        )
    elif role.can_write:
        how = "it owns tables" if role.owns_tables else "it has INSERT/UPDATE/DELETE on tables"
        warnings.append(f"role {role.name} can write ({how}): a read-only role with pg_monitor is safer")
    if not role.superuser and not role.pg_monitor:
        warnings.append(
            f"role {role.name} lacks pg_monitor: other users' queries show as {HIDDEN_QUERY}; "
            f"GRANT pg_monitor TO {role.name}"
        )
    return tuple(warnings)


# the activity query's session arrays, in order (sql/activity.sql)
SESSION_FIELDS = (
    "pid",
    "user",
    "database",
    "application",
    "client_addr",
    "client_port",
    "backend_type",
    "state",
    "wait_event_type",
    "wait_event",
    "query",
    "query_start",
    "xact_start",
    "state_change",
    "blocked_by",
)


def sessions_from_json(text: str | None, now: datetime) -> tuple[PgSession, ...]:
    """Sessions from the activity query's JSON arrays (SESSION_FIELDS), their ages counted from the
    server's `now` as the server would: 2,000 sessions' arithmetic is done here, not in the server."""
    rows: list[dict[str, Any]] = []
    for values in json.loads(text) if text else ():
        row = dict(zip(SESSION_FIELDS, values, strict=True))
        port, addr = row.pop("client_port"), row.pop("client_addr")
        row["client"] = "local" if port == -1 else (f"{addr}:{port}" if addr is not None else None)
        for moment, age in (("query_start", "query_seconds"), ("xact_start", "xact_seconds")):
            started = _timestamp(row[moment])
            row[age] = (now - started).total_seconds() if started is not None else None
        rows.append(row)
    return sessions_from_rows(rows)


@dataclass(frozen=True)
class PgCounts:
    """The activity query's counts over every session, listed or not (oncall's own left out)."""

    by_state: Counter[str]  # client sessions; "unknown" for those the role may not see
    by_application: Counter[str]  # client sessions; "" for those that set no application_name
    clients: int
    idle: int  # every idle session, client or not


def counts_from_json(text: str | None) -> PgCounts:
    """Counts from the activity query's [state, application, client, n] arrays."""
    by_state: Counter[str] = Counter()
    by_application: Counter[str] = Counter()
    clients = idle = 0
    for state, application, client, n in json.loads(text) if text else ():
        count = int(n)
        if state == "idle":
            idle += count
        if client:
            clients += count
            by_state[state or "unknown"] += count
            by_application[application or ""] += count
    return PgCounts(by_state=by_state, by_application=by_application, clients=clients, idle=idle)


def pressure_from(
    row: Mapping[str, Any],
    sessions: tuple[PgSession, ...],
    idle_in_transaction_seconds: float,
    counts: PgCounts | None = None,
) -> PgPressure:
    """Connection pressure from the activity query's row and its sessions.

    The counts by state and application come from `counts` (counted on the server over every client,
    listed or not) when given, or from the row's by_state/by_application JSON; else from the sessions.
    """
    clients = [
        s for s in sessions if s.backend_type == "client backend" or (s.hidden and s.database is not None)
    ]
    if counts is not None:
        by_state, by_application = counts.by_state, counts.by_application
    elif row.get("by_state") is not None:
        by_state = Counter({str(k): int(v) for k, v in json.loads(row["by_state"]).items()})
        by_application = Counter({str(k or ""): int(v) for k, v in json.loads(row["by_application"]).items()})
    else:
        by_state = Counter(s.state or "unknown" for s in clients)
        by_application = Counter(s.application for s in clients)  # visible even without pg_monitor
    threshold = idle_in_transaction_seconds
    idle_in_transaction = sorted(
        (
            s
            for s in clients
            if s.state in ("idle in transaction", "idle in transaction (aborted)")
            and (s.xact_seconds or 0.0) >= threshold
        ),
        key=lambda s: -(s.xact_seconds or 0.0),
    )
    return PgPressure(
        # oncall's own session is left out of the counts, not out of the connections used
        used=counts.clients + 1 if counts is not None else int(row["used"]),
        max_connections=int(row["max_connections"]),
        reserved=int(row["superuser_reserved"] or 0) + int(row["reserved"] or 0),
        by_state=_most_first(by_state),
        by_application=_most_first(by_application),
        idle_in_transaction=tuple(idle_in_transaction),
    )


def sessions_from_rows(raw: Sequence[Mapping[str, Any]] | None) -> tuple[PgSession, ...]:
    """Sessions from the activity query's rows (its JSON objects): active first, longest first."""
    sessions = [
        PgSession(
            pid=int(r["pid"]),
            user=r.get("user"),
            database=r.get("database"),
            application=r.get("application") or "",
            client=r.get("client"),
            backend_type=r.get("backend_type") or "",
            state=r.get("state"),
            wait_event_type=r.get("wait_event_type"),
            wait_event=r.get("wait_event"),
            query=redact_text(r.get("query") or ""),
            query_start=_timestamp(r.get("query_start")),
            xact_start=_timestamp(r.get("xact_start")),
            state_change=_timestamp(r.get("state_change")),
            query_seconds=_float(r.get("query_seconds")),
            xact_seconds=_float(r.get("xact_seconds")),
            blocked_by=tuple(int(p) for p in r.get("blocked_by") or ()),
            hidden=r.get("query") == HIDDEN_QUERY,
        )
        for r in raw or ()
    ]
    sessions.sort(key=lambda s: (s.state != "active", -(s.query_seconds or 0.0), s.pid))
    return tuple(sessions)


def _most_first(counts: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def as_utc(value: object) -> datetime | None:
    return value.astimezone(UTC) if isinstance(value, datetime) else None


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
