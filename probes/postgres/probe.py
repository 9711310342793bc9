"""PostgreSQL probe: sessions, connection pressure, blocking, top statements and table health, read-only."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, LiteralString, TypeVar

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row, tuple_row
from psycopg.types.string import TextLoader

from probes.base import Backoff, PolledSource, Reading, SourceHealth
from probes.postgres.guard import (
    CATALOG_SQL,
    Allowlist,
    Reaches,
    catalog_params,
    check_sql,
    judge_catalog,
)
from probes.redact import redact_reading, redact_text

if TYPE_CHECKING:
    from psycopg.abc import Buffer

    from probes.postgres.settings import PostgresSettings

SOURCE = "postgresql"
_T = TypeVar("_T")
CANCEL_GRACE = 1.0  # seconds a cancelled caller waits for the server to cancel the statement
APPLICATION_NAME = "oncall"
NOT_CONFIGURED = "set ONCALL_POSTGRES, [postgres] dsn or libpq's PGHOST/PGSERVICE/PGDATABASE"
TOP_STATEMENTS = 10
TOP_TABLES = 10
IDLE_IN_TRANSACTION_SECONDS = 300.0  # the runbook's "idle in transaction for more than 5 minutes"
DEAD_TUPLES_MIN = 1000  # a table with at least this many dead tuples is listed even without seq scans
HIDDEN_QUERY = "<insufficient privilege>"
IDLE_LISTED = 200  # idle sessions listed (the most recently active); the rest are only counted
STATEMENT_ROWS = 50  # rows kept from a statement a runbook step runs (run_statement's max_rows)
STATEMENT_CURSOR = "oncall_statement"  # the server-side cursor run_statement reads a query through
# what DECLARE … CURSOR FOR doesn't take among the statements the guard allows (it allows them only first)
_NOT_DECLARABLE = re.compile(r"(?i)(?:show|explain)\b")

# --- the SQL this probe sends: three statements at most per refresh, all read-only -------------------

# 1) sessions, pressure, role and settings in one round trip. Only a session waiting on a lock can be
#    blocked, so pg_blocking_pids (which takes the lock manager's locks) runs for those alone.
_ACTIVITY_SQL = """\
WITH activity AS (
    SELECT a.pid,
           a.usename AS "user",
           a.datname AS database,
           a.application_name AS application,
           CASE WHEN a.client_port = -1 THEN 'local'
                ELSE host(a.client_addr) || ':' || a.client_port END AS client,
           a.backend_type,
           a.state,
           a.wait_event_type,
           a.wait_event,
           a.query,
           a.query_start,
           a.xact_start,
           a.state_change,
           extract(epoch FROM now() - a.query_start)::float8 AS query_seconds,
           extract(epoch FROM now() - a.xact_start)::float8 AS xact_seconds,
           CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid)
                ELSE '{}'::int[] END AS blocked_by
    FROM pg_stat_activity AS a
    WHERE a.pid <> pg_backend_pid()
),
clients AS (
    -- without pg_read_all_stats other users' sessions hide their backend type, not their database
    SELECT * FROM activity
    WHERE backend_type = 'client backend' OR (backend_type IS NULL AND database IS NOT NULL)
),
listed AS (
    -- every session doing something, and the most recently active of the idle ones: 2,000 idle
    -- connections are a count, not 2,000 rows to send, parse and draw every refresh
    SELECT * FROM activity WHERE state IS DISTINCT FROM 'idle'
    UNION ALL
    (SELECT * FROM activity WHERE state = 'idle' ORDER BY state_change DESC NULLS LAST LIMIT %(idle_listed)s)
),
user_tables AS (
    SELECT c.oid, c.relowner
    FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_toast%%'  -- doubled: the text is sent with parameters
)
SELECT (SELECT coalesce(json_agg(listed), '[]'::json) FROM listed)::text AS sessions,
       (SELECT count(*) FROM activity WHERE state = 'idle') AS idle_total,
       (SELECT coalesce(json_object_agg(state, n), '{}'::json)
          FROM (SELECT coalesce(state, 'unknown') AS state, count(*) AS n FROM clients GROUP BY 1) AS s
       )::text AS by_state,
       (SELECT coalesce(json_object_agg(application, n), '{}'::json)
          FROM (SELECT coalesce(application, '') AS application, count(*) AS n FROM clients GROUP BY 1) AS a
       )::text AS by_application,
       -- oncall's own session is left out of the lists, not out of the count
       (SELECT count(*) FROM pg_stat_activity
         WHERE backend_type = 'client backend'
            OR (backend_type IS NULL AND datid IS NOT NULL)) AS used,
       current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int AS superuser_reserved,
       {reserved} AS reserved,
       current_user AS role,
       current_database() AS database,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
       EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pg_monitor'
                 AND pg_has_role(oid, 'USAGE')) AS pg_monitor,
       EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pg_read_all_stats'
                 AND pg_has_role(oid, 'USAGE')) AS read_all_stats,
       EXISTS (SELECT 1 FROM user_tables WHERE pg_has_role(relowner, 'USAGE')) AS owns_tables,
       EXISTS (SELECT 1 FROM user_tables
                 WHERE has_table_privilege(oid, 'INSERT, UPDATE, DELETE, TRUNCATE')) AS writes_tables,
       EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pg_write_all_data'
                 AND pg_has_role(oid, 'USAGE')) AS write_all_data,
       (SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements') AS pgss_version,
       (SELECT n.nspname FROM pg_extension AS e JOIN pg_namespace AS n ON n.oid = e.extnamespace
         WHERE e.extname = 'pg_stat_statements') AS pgss_schema,
       current_setting('default_transaction_read_only') AS read_only
"""
# reserved_connections (for roles granted pg_use_reserved_connections) exists from PostgreSQL 16
_RESERVED_16 = "current_setting('reserved_connections')::int"
_RESERVED_OLD = "0"

# 2) top statements by mean execution time. Column names follow the extension's version:
#    total_time/mean_time before 1.8 (PostgreSQL 13), `toplevel` from 1.9 (PostgreSQL 14).
_STATEMENTS_SQL = """\
SELECT s.query, s.calls, s.{mean} AS mean_ms, s.{total} AS total_ms, s.rows
FROM {{schema}}.pg_stat_statements AS s
{where}ORDER BY s.{mean} DESC
LIMIT %(limit)s
"""

# 3) tables read mostly by sequential scans, or holding many dead tuples
_TABLES_SQL = """\
SELECT schemaname, relname, seq_scan, coalesce(idx_scan, 0) AS idx_scan,
       n_live_tup, n_dead_tup,
       last_vacuum, last_autovacuum, last_analyze, last_autoanalyze
FROM pg_stat_user_tables
WHERE seq_scan > coalesce(idx_scan, 0) OR n_dead_tup >= %(dead_tuples)s
ORDER BY n_dead_tup DESC, seq_scan - coalesce(idx_scan, 0) DESC, schemaname, relname
LIMIT %(limit)s
"""


def activity_sql(server_version: int) -> str:
    """The sessions/pressure/role query for a server_version_num (e.g. 150004)."""
    reserved = _RESERVED_16 if server_version >= 160000 else _RESERVED_OLD
    return _ACTIVITY_SQL.replace("{reserved}", reserved)


def _extension_version(extversion: str | None) -> tuple[int, int] | None:
    match = re.match(r"^(\d+)\.(\d+)", extversion or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def statements_sql(server_version: int, extversion: str | None = None) -> str:
    """The pg_stat_statements query, by the installed extension's version when known, else the server's.

    An upgraded server may still carry an old extension version until ALTER EXTENSION ... UPDATE,
    and the columns are the extension's. The text keeps a `{schema}` placeholder for psycopg.sql.
    """
    ext = _extension_version(extversion)
    new_names = ext >= (1, 8) if ext else server_version >= 130000
    has_toplevel = ext >= (1, 9) if ext else server_version >= 140000
    mean, total = ("mean_exec_time", "total_exec_time") if new_names else ("mean_time", "total_time")
    where = "WHERE s.toplevel\n" if has_toplevel else ""
    return _STATEMENTS_SQL.format(mean=mean, total=total, where=where)


TABLES_SQL = _TABLES_SQL

# --- snapshots ---------------------------------------------------------------------------------------


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

    @property
    def blocked(self) -> tuple[PgSession, ...]:
        return tuple(s for s in self.sessions if s.blocked_by)

    @property
    def active(self) -> tuple[PgSession, ...]:
        return tuple(s for s in self.sessions if s.state == "active")


def utc_now() -> datetime:
    return datetime.now(UTC)


class _PollError(Exception):
    """A failed read, in plain words; `connection_lost` when the connection can't be used again."""

    def __init__(self, message: str, *, connection_lost: bool = False) -> None:
        super().__init__(message)
        self.connection_lost = connection_lost


@dataclass(frozen=True)
class _Role:
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


class PostgresProbe(PolledSource[PgSnapshot]):
    """Reads one PostgreSQL server over one long-lived, read-only session; never raises from poll()."""

    SOURCE = SOURCE
    NAME = "PostgreSQL"
    NOT_CONFIGURED = NOT_CONFIGURED

    def __init__(
        self,
        settings: PostgresSettings,
        *,
        clock: Callable[[], datetime] = utc_now,
        backoff: Backoff | None = None,
        idle_in_transaction_seconds: float = IDLE_IN_TRANSACTION_SECONDS,
        dead_tuples_min: int = DEAD_TUPLES_MIN,
        idle_listed: int = IDLE_LISTED,
    ) -> None:
        super().__init__(
            backoff=backoff or Backoff.for_source(settings.refresh, settings.backoff_max),
            clock=clock,
            endpoint=_endpoint_from_settings(settings),
        )
        self.settings = settings
        self.idle_in_transaction_seconds = idle_in_transaction_seconds
        self.dead_tuples_min = dead_tuples_min
        self.idle_listed = idle_listed
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self.sent: list[str] = []  # every statement sent, in order: the tests prove it is only these reads
        self.round_trips = 0  # of the last poll

    @property
    def configured(self) -> bool:
        return self.settings.configured

    async def aclose(self) -> None:
        await self._drop_connection()

    async def _reset(self) -> None:
        await self._drop_connection()

    async def check(self) -> SourceHealth:
        """One poll, described for `oncall check`: version, role, pg_monitor, pg_stat_statements, guard."""
        snapshot = await self.poll()
        health = snapshot.health
        if not health.answering:
            return health
        yes = {True: "yes", False: "no"}
        detail = (
            f"PostgreSQL {snapshot.server_version} as {snapshot.role}, "
            f"pg_monitor {yes[snapshot.pg_monitor or snapshot.superuser]}, "
            f"pg_stat_statements {yes[snapshot.statements is not None]}, "
            f"read-only {'on' if snapshot.read_only else 'OFF'}"
        )
        said = health.last_error or ""
        notes = [n for n in (said, *snapshot.warnings) if n and (n is said or n not in said)]
        return SourceHealth(
            source=SOURCE,
            state=health.state,
            checked_at=health.checked_at,
            last_success=health.last_success,
            latency=health.latency,
            last_error="; ".join(dict.fromkeys(notes)) or None,
            detail=detail,
            endpoint=health.endpoint,
        )

    # --- one statement a runbook step names ----------------------------------------------------------

    async def run_statement(self, statement: str, *, max_rows: int = STATEMENT_ROWS) -> Reading:
        """Run one SQL statement a runbook step names, as live evidence; never raises.

        The guard checks the text again (with this probe's statement_timeout and allowlist): a refused
        statement is answered with the guard's reason and nothing is sent. An allowed one (the guard's
        normalized text: no trailing ';' or comment) runs on the probe's own read-only session, never
        overlapping a poll, inside BEGIN READ ONLY … ROLLBACK, once the guard's catalog check has found
        that every name in it reaches only what is allowed on this server (else it is refused unsent),
        bounded by the session's statement_timeout and an overall deadline. At most `max_rows` rows are
        kept, and the rest are never computed or sent: a query runs
        through a server-side cursor (DECLARE … NO SCROLL CURSOR, FETCH FORWARD max_rows + 1, as psql's
        FETCH_COUNT does); SHOW and EXPLAIN, which DECLARE doesn't take, are streamed and cancelled
        once one row too many has arrived. `truncated` says there was more.

        Every value is the server's own text output, as psql prints it, never parsed: NULL as "",
        booleans t/f, timestamps in the session's DateStyle (ISO by default: 2026-01-01 03:00:00.12+00),
        intervals 00:05:00, arrays {1,2}, numbers exactly as stored; 'infinity' or a BC date can't fail.
        `what` is the statement as given; `read_at` is the probe's clock when the rows were read.
        Failures (permission, statement timeout, server down) are a `Reading.failed` in plain words.
        """
        allow = self.allowlist
        verdict = check_sql(statement, statement_timeout_s=self.settings.statement_timeout, allow=allow)
        if not verdict.allowed:
            return Reading.failed(SOURCE, statement, verdict.reason)
        if not self.configured:
            return Reading.failed(SOURCE, statement, NOT_CONFIGURED)
        async with self._lock:
            try:
                # its rows may hold other sessions' query text: redacted before anything shows or stores it
                reading = await self._statement_guarded(
                    statement, verdict.statement, verdict.reaches, max(0, max_rows)
                )
                return redact_reading(reading)
            except Exception as exc:  # a bug here must not take the console down at 3 a.m.
                await self._drop_connection()
                return Reading.failed(
                    SOURCE, statement, f"internal error while running the statement: {type(exc).__name__}"
                )

    @property
    def allowlist(self) -> Allowlist:
        """What the config allows a runbook statement to reach beyond PostgreSQL's built-ins."""
        s = self.settings
        return Allowlist(functions=frozenset(s.allow_functions), relations=frozenset(s.allow_relations))

    async def _statement_guarded(self, what: str, statement: str, reaches: Reaches, max_rows: int) -> Reading:
        s = self.settings
        # each statement is bounded by the server's statement_timeout; this bounds the whole read (a dead
        # network where the server never answers), with room for a connect, the cursor's DECLARE and
        # FETCH (each its own statement, each its own timeout), BEGIN and ROLLBACK
        deadline = s.connect_timeout + 2 * s.statement_timeout + 2.0

        async def in_session() -> Reading:
            conn = await self._connection()
            return await self._statement_once(conn, what, statement, reaches, max_rows)

        try:
            return await self._within(in_session(), deadline)
        except TimeoutError:
            return Reading.failed(
                SOURCE,
                what,
                f"timed out: no answer from {self.endpoint} within {_secs(deadline)} "
                f"(connect_timeout {_secs(s.connect_timeout)} + 2 × statement_timeout "
                f"{_secs(s.statement_timeout)} + 2s)",
            )
        except _PollError as exc:
            if exc.connection_lost:
                await self._drop_connection()
            return Reading.failed(SOURCE, what, str(exc))
        finally:
            # whatever happened, a cancelled caller included: the next poll never runs inside this
            # transaction (its now() frozen, its snapshot old); a session left in one is closed instead
            if self._conn is not None and not _transaction_idle(self._conn):
                await self._drop_connection()

    async def _statement_once(
        self, conn: psycopg.AsyncConnection[Any], what: str, statement: str, reaches: Reaches, max_rows: int
    ) -> Reading:
        # default_transaction_read_only is on for the session already; this says so for the statement too
        await self._send(conn, "BEGIN READ ONLY")
        if reaches != Reaches():
            refusal = await self._catalog_refusal(conn, reaches)
            if refusal:
                await self._send(conn, "ROLLBACK")
                return Reading.failed(SOURCE, what, refusal)
        declared = _NOT_DECLARABLE.match(statement) is None
        cursor: psycopg.AsyncCursor[Any] | psycopg.AsyncServerCursor[Any] = (
            conn.cursor(STATEMENT_CURSOR, row_factory=tuple_row, scrollable=False)
            if declared
            else conn.cursor(row_factory=tuple_row)
        )
        _load_as_text(cursor)
        failure: _PollError | None = None
        try:
            try:
                if isinstance(cursor, psycopg.AsyncServerCursor):
                    columns, rows = await self._fetch_from_cursor(conn, cursor, statement, max_rows + 1)
                else:
                    columns, rows = await self._stream_rows(cursor, statement, max_rows + 1)
            except psycopg.Error as exc:
                failure = _PollError(self._describe(exc), connection_lost=_connection_lost(conn, exc))
            read_at = self._clock()
            if failure is None or not failure.connection_lost:
                await self._send(conn, "ROLLBACK")  # nothing to keep: a read, ended without a commit
        finally:
            with contextlib.suppress(psycopg.Error):
                await cursor.close()  # after ROLLBACK the server's cursor is gone: nothing is sent
        if failure is not None:
            raise failure
        return Reading.table(SOURCE, what, columns, rows, read_at=read_at, limit=max_rows)

    async def _catalog_refusal(self, conn: psycopg.AsyncConnection[Any], reaches: Reaches) -> str:
        """The guard's second step: which objects the statement's names reach on this server, in this
        session (same search_path), before the statement is sent; "" when all are allowed."""
        self.sent.append(CATALOG_SQL)
        try:
            async with conn.cursor(row_factory=tuple_row) as cur:
                await cur.execute(CATALOG_SQL, catalog_params(reaches))
                rows = await cur.fetchall()
        except psycopg.Error as exc:
            raise _PollError(self._describe(exc), connection_lost=_connection_lost(conn, exc)) from None
        return judge_catalog(rows, self.allowlist)

    async def _fetch_from_cursor(
        self,
        conn: psycopg.AsyncConnection[Any],
        cursor: psycopg.AsyncServerCursor[Any],
        statement: str,
        limit: int,
    ) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        """A query through a server-side cursor: the server computes only the rows fetched, and describes
        the columns even when there are none. psycopg sends the DECLARE over the extended protocol, which
        takes one statement only."""
        name = sql.Identifier(cursor.name).as_string(conn)
        self.sent.append(f"DECLARE {name} NO SCROLL CURSOR FOR {statement}")
        await cursor.execute(statement)  # type: ignore[arg-type]
        self.sent.append(f"FETCH FORWARD {limit} FROM {name}")
        rows = await cursor.fetchmany(limit)
        return _columns(cursor), rows

    async def _stream_rows(
        self, cursor: psycopg.AsyncCursor[Any], statement: str, limit: int
    ) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        """SHOW or EXPLAIN, one row at a time over the extended protocol (one statement only); leaving
        early cancels the statement instead of transferring the rest."""
        self.sent.append(statement)
        columns: tuple[str, ...] | None = None
        rows: list[tuple[Any, ...]] = []
        async with contextlib.aclosing(cursor.stream(statement)) as stream:  # type: ignore[arg-type]
            async for row in stream:
                if columns is None:
                    columns = _columns(cursor)
                rows.append(row)
                if len(rows) >= limit:
                    break
        return columns or (), rows

    async def _send(self, conn: psycopg.AsyncConnection[Any], text: LiteralString) -> None:
        """run_statement's transaction control, recorded in `sent` like every statement."""
        self.sent.append(text)
        try:
            await conn.execute(text)
        except psycopg.Error as exc:
            raise _PollError(self._describe(exc), connection_lost=_connection_lost(conn, exc)) from None

    # --- one poll ---------------------------------------------------------------------------------

    async def _poll_guarded(self) -> PgSnapshot:
        s = self.settings
        # each statement is bounded by the server's statement_timeout; this bounds the whole refresh
        # (a dead network where the server never answers), with room for a connect and three reads
        deadline = s.connect_timeout + 3 * s.statement_timeout + 2.0
        try:
            return await self._within(self._poll_once(), deadline)
        except TimeoutError:
            return self._failed(
                f"timed out: no answer from {self.endpoint} within {_secs(deadline)} "
                f"(connect_timeout {_secs(s.connect_timeout)} + 3 × statement_timeout "
                f"{_secs(s.statement_timeout)} + 2s)"
            )
        except _PollError as exc:
            if exc.connection_lost:
                await self._drop_connection()
            return self._failed(str(exc))

    async def _within(self, work: Awaitable[_T], deadline: float) -> _T:
        """`work` on the session, or TimeoutError after `deadline` seconds with the session ended."""
        task = asyncio.ensure_future(work)
        try:
            done, _ = await asyncio.wait({task}, timeout=deadline)
        except asyncio.CancelledError:
            # the caller gave up (a screen closed, the app quits): the statement is cancelled on the server
            await self._stop(task, grace=CANCEL_GRACE)
            raise
        if done:
            return task.result()
        await self._stop(task, grace=0.0)
        await self._drop_connection()  # a statement may still be in flight: never reuse the session
        raise TimeoutError

    async def _stop(self, task: asyncio.Future[Any], grace: float) -> None:
        """Cancel `task`; if its cancel is not through within `grace` seconds, end the session under it."""
        task.cancel()
        if grace > 0:
            await asyncio.wait({task}, timeout=grace)
        if not task.done():
            # psycopg answers a cancelled read with a cancel request down the same dead path and, before
            # libpq 17, waits for it without limit: end the session, so the read fails at once
            self._abandon_session()
            with contextlib.suppress(BaseException):
                await task

    def _abandon_session(self) -> None:
        """Close the session's socket without a word to the server (it is not answering)."""
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.pgconn.finish()

    async def _poll_once(self) -> PgSnapshot:
        started = time.perf_counter()
        self.round_trips = 0
        conn = await self._connection()
        version_num = conn.info.server_version
        row = await self._fetch_one(conn, activity_sql(version_num), {"idle_listed": self.idle_listed})
        role = _role(row)
        now = self._clock()

        notes: list[str] = []
        statements: tuple[PgStatement, ...] | None = None
        problem = self._statements_blocker(role)
        if problem is None:
            statements, problem = await self._read_statements(conn, version_num, role)
        if problem is not None:
            notes.append(problem)
        try:
            tables = await self._read_tables(conn)
        except _PollError as exc:
            if exc.connection_lost:
                raise
            tables = self._last.tables if self._last else ()
            notes.append(f"tables unreadable: {exc}")
        latency = time.perf_counter() - started

        # 2,000 sessions are ~1 MB of JSON and ~25 ms of Python to build: the text is parsed off the event
        # loop, so the screen keeps moving while they are read
        sessions = await asyncio.to_thread(_sessions_from_json, row["sessions"])
        pressure = self._pressure(row, sessions)
        warnings = _warnings(role)
        if not role.superuser and not role.pg_monitor:
            notes.append(warnings[-1])
        self.backoff.success()
        blocked = sum(1 for x in sessions if x.blocked_by)
        detail = (
            f"{pressure.used}/{pressure.max_connections} connections, "
            f"{sum(1 for x in sessions if x.state == 'active')} active, {blocked} blocked"
        )
        health = SourceHealth(
            source=SOURCE,
            state="degraded" if notes else "ok",
            checked_at=now,
            last_success=now,
            latency=latency,
            last_error="; ".join(dict.fromkeys(notes)) or None,
            detail=detail,
            endpoint=self.endpoint,
        )
        return PgSnapshot(
            sessions=sessions,
            pressure=pressure,
            statements=statements,
            statements_problem=problem,
            tables=tables,
            server_version=_short_version(conn),
            role=role.name,
            superuser=role.superuser,
            can_write=role.can_write,
            pg_monitor=role.pg_monitor,
            warnings=warnings,
            health=health,
            fetched_at=now,
            read_only=role.read_only,
            database=role.database,
            unlisted_idle=max(
                0, int(row.get("idle_total") or 0) - sum(1 for x in sessions if x.state == "idle")
            ),
        )

    def _statements_blocker(self, role: _Role) -> str | None:
        if role.pgss_version is None:
            return (
                f"pg_stat_statements is not installed in database {role.database}: "
                "CREATE EXTENSION pg_stat_statements (needs shared_preload_libraries)"
            )
        if not (role.superuser or role.read_all_stats):
            return (
                f"role {role.name} may not read other users' statements: "
                f"GRANT pg_read_all_stats TO {role.name} (pg_monitor includes it)"
            )
        return None

    async def _read_statements(
        self, conn: psycopg.AsyncConnection[Any], version_num: int, role: _Role
    ) -> tuple[tuple[PgStatement, ...] | None, str | None]:
        text = statements_sql(version_num, role.pgss_version)
        query = sql.SQL(text).format(schema=sql.Identifier(role.pgss_schema or "public"))  # type: ignore[arg-type]
        try:
            rows = await self._fetch_all(conn, query, {"limit": TOP_STATEMENTS})
        except _PollError as exc:
            if exc.connection_lost:
                raise
            message = str(exc)
            if "shared_preload_libraries" in message:
                return None, (
                    "pg_stat_statements is installed but not loaded: "
                    "add it to shared_preload_libraries and restart the server"
                )
            return None, f"pg_stat_statements unreadable: {message}"
        return (
            tuple(
                PgStatement(
                    query=redact_text(r["query"] or ""),
                    calls=int(r["calls"] or 0),
                    mean_ms=float(r["mean_ms"] or 0.0),
                    total_ms=float(r["total_ms"] or 0.0),
                    rows=int(r["rows"] or 0),
                )
                for r in rows
            ),
            None,
        )

    async def _read_tables(self, conn: psycopg.AsyncConnection[Any]) -> tuple[PgTable, ...]:
        params = {"dead_tuples": self.dead_tuples_min, "limit": TOP_TABLES}
        rows = await self._fetch_all(conn, TABLES_SQL, params)
        return tuple(
            PgTable(
                schema=r["schemaname"],
                name=r["relname"],
                seq_scan=int(r["seq_scan"] or 0),
                idx_scan=int(r["idx_scan"] or 0),
                live_tuples=int(r["n_live_tup"] or 0),
                dead_tuples=int(r["n_dead_tup"] or 0),
                last_vacuum=_utc(r["last_vacuum"]),
                last_autovacuum=_utc(r["last_autovacuum"]),
                last_analyze=_utc(r["last_analyze"]),
                last_autoanalyze=_utc(r["last_autoanalyze"]),
            )
            for r in rows
        )

    def _pressure(self, row: Mapping[str, Any], sessions: tuple[PgSession, ...]) -> PgPressure:
        return pressure_from(row, sessions, self.idle_in_transaction_seconds)

    # --- the connection -----------------------------------------------------------------------------

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        await self._drop_connection()
        s = self.settings
        base = conninfo_to_dict(s.dsn or "")
        own = f"-c default_transaction_read_only=on -c statement_timeout={int(s.statement_timeout * 1000)}"
        options = f"{base['options']} {own}" if base.get("options") else own
        extra: dict[str, Any] = {}
        if s.password is not None:
            extra["password"] = s.password.reveal()
        conninfo = make_conninfo(
            s.dsn or "",
            connect_timeout=max(1, round(s.connect_timeout)),  # libpq counts whole seconds
            application_name=APPLICATION_NAME,
            options=options,
            **extra,
        )
        try:
            conn = await psycopg.AsyncConnection.connect(
                conninfo,
                autocommit=True,  # every read its own transaction: never "idle in transaction" itself
                row_factory=dict_row,
                prepare_threshold=None,  # no server-side prepared statements: safe behind PgBouncer
            )
        except psycopg.Error as exc:
            raise _PollError(self._describe(exc), connection_lost=True) from None
        except OSError as exc:
            raise _PollError(
                f"cannot connect to {self.endpoint}: {exc.strerror or exc}", connection_lost=True
            ) from None
        self._conn = conn
        self.endpoint = _endpoint_from_connection(conn) or self.endpoint
        return conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _execute(
        self,
        conn: psycopg.AsyncConnection[Any],
        query: str | sql.Composable,
        params: Mapping[str, Any] | None,
    ) -> psycopg.AsyncCursor[Any]:
        text = query if isinstance(query, str) else query.as_string(conn)
        self.sent.append(text)
        self.round_trips += 1
        try:
            return await conn.execute(text, params)  # type: ignore[arg-type]
        except psycopg.Error as exc:
            raise _PollError(self._describe(exc), connection_lost=_connection_lost(conn, exc)) from None

    async def _fetch_one(
        self, conn: psycopg.AsyncConnection[Any], query: str, params: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        cursor = await self._execute(conn, query, params)
        row = await cursor.fetchone()
        if row is None:
            raise _PollError("the server returned no row for the activity query")
        return dict(row)

    async def _fetch_all(
        self,
        conn: psycopg.AsyncConnection[Any],
        query: str | sql.Composable,
        params: Mapping[str, Any] | None,
    ) -> list[dict[str, Any]]:
        cursor = await self._execute(conn, query, params)
        return [dict(r) for r in await cursor.fetchall()]

    def _describe(self, exc: psycopg.Error) -> str:
        return describe_error(
            exc,
            endpoint=self.endpoint,
            statement_timeout=self.settings.statement_timeout,
            connect_timeout=self.settings.connect_timeout,
        )

    # --- results ------------------------------------------------------------------------------------

    def _empty(self, health: SourceHealth) -> PgSnapshot:
        return PgSnapshot(
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


# --- helpers -------------------------------------------------------------------------------------------


def _connection_lost(conn: psycopg.AsyncConnection[Any], exc: psycopg.Error) -> bool:
    """The session can't be used again: closed, broken, or an operational error other than a timeout."""
    return bool(
        conn.closed
        or conn.broken
        or (isinstance(exc, psycopg.OperationalError) and not isinstance(exc, psycopg.errors.QueryCanceled))
    )


def _transaction_idle(conn: psycopg.AsyncConnection[Any]) -> bool:
    return not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE


class _PsqlText(TextLoader):
    """A value as the server wrote it, decoded and never parsed: what psql shows."""

    def load(self, data: Buffer) -> str:
        value = super().load(data)
        return value if isinstance(value, str) else bytes(value).decode("utf-8", "replace")


_UNKNOWN_OID = 0  # psycopg's loader for any type it has no other loader for


def _load_as_text(cursor: psycopg.AsyncCursor[Any] | psycopg.AsyncServerCursor[Any]) -> None:
    """Every column of this cursor's results as text: the known types, their arrays, and the rest."""
    adapters = cursor.adapters
    adapters.register_loader(_UNKNOWN_OID, _PsqlText)
    for info in adapters.types:
        adapters.register_loader(info.oid, _PsqlText)
        if info.array_oid:
            adapters.register_loader(info.array_oid, _PsqlText)


def _columns(cursor: psycopg.AsyncCursor[Any] | psycopg.AsyncServerCursor[Any]) -> tuple[str, ...]:
    return tuple(column.name for column in cursor.description or ())


def _role(row: Mapping[str, Any]) -> _Role:
    return _Role(
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


def _warnings(role: _Role) -> tuple[str, ...]:
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


def _sessions_from_json(text: str | None) -> tuple[PgSession, ...]:
    return sessions_from_rows(json.loads(text) if text else None)


def pressure_from(
    row: Mapping[str, Any], sessions: tuple[PgSession, ...], idle_in_transaction_seconds: float
) -> PgPressure:
    """Connection pressure from the activity query's row and its sessions.

    The counts by state and application come from the row (counted on the server over every client,
    listed or not) when it has them; else from the sessions themselves.
    """
    clients = [
        s for s in sessions if s.backend_type == "client backend" or (s.hidden and s.database is not None)
    ]
    if row.get("by_state") is not None:
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
        used=int(row["used"]),
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


def _utc(value: object) -> datetime | None:
    return value.astimezone(UTC) if isinstance(value, datetime) else None


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _short_version(conn: psycopg.AsyncConnection[Any]) -> str:
    """ "15.4" from "15.4 (Debian 15.4-1)"; the number from server_version_num if the text is missing."""
    text = conn.info.parameter_status("server_version") or ""
    if text:
        return text.split()[0]
    num = conn.info.server_version
    return f"{num // 10000}.{num % 10000}"


def _secs(seconds: float) -> str:
    return f"{seconds:g}s"


def _endpoint_from_settings(settings: PostgresSettings) -> str | None:
    """host:port/dbname from the DSN, never its password; None when libpq's environment decides."""
    try:
        params = conninfo_to_dict(settings.dsn or "")
    except psycopg.Error:
        return None
    host = str(params.get("host") or params.get("hostaddr") or "")
    if not host and not params.get("dbname") and not params.get("service"):
        return None
    where = host or "default host"
    if params.get("port"):
        where += f":{params['port']}"
    if params.get("dbname"):
        where += f"/{params['dbname']}"
    elif params.get("service"):
        where = f"service {params['service']}"
    return where


def _endpoint_from_connection(conn: psycopg.AsyncConnection[Any]) -> str | None:
    info = conn.info
    try:
        return f"{info.host}:{info.port}/{info.dbname}"
    except psycopg.Error:
        return None


_NOT_POSTGRES = (
    "invalid response to ssl negotiation",
    "expected authentication request",
    "lost synchronization with server",
    "unexpected message type",
    "invalid message format",
)
_SERVER_AT = re.compile(r'server at "([^"]+)"(?: \([^)]*\))?, port (\d+)')
_SOCKET_AT = re.compile(r'server on socket "([^"]+)"')


def describe_error(
    exc: BaseException,
    *,
    endpoint: str | None,
    statement_timeout: float,
    connect_timeout: float | None = None,
) -> str:
    """A psycopg/libpq error in plain words: what happened and where, never a password."""
    message = str(exc).strip()
    first = message.splitlines()[0] if message else type(exc).__name__
    lowered = message.lower()
    where = endpoint or "the server"
    if match := _SERVER_AT.search(message):
        where = f"{match.group(1)}:{match.group(2)}"
    elif match := _SOCKET_AT.search(message):
        where = f"socket {match.group(1)}"
    if isinstance(exc, psycopg.errors.QueryCanceled):
        if "statement timeout" in lowered:
            return f"statement timeout after {_secs(statement_timeout)}"
        return "the query was cancelled on the server"
    if isinstance(exc, psycopg.errors.AdminShutdown) or "terminating connection" in lowered:
        return "server closed the connection unexpectedly (it is shutting down or ended the session)"
    if "connection refused" in lowered:
        return f"connection refused at {where}"
    if match := re.search(r'password authentication failed for user "([^"]+)"', message):
        return f"password authentication failed for user {match.group(1)}"
    if "no password supplied" in lowered or "password is required" in lowered:
        return f"the server at {where} wants a password: use .pgpass, PGPASSWORD or [postgres] password"
    if "timeout expired" in lowered:
        if connect_timeout is None:
            return f"timed out connecting to {where}"
        # libpq counts whole seconds, and waits at least 2
        waited = max(2, round(connect_timeout))
        return f"timed out after {waited}s connecting to {where} (connect_timeout)"
    if "failed to resolve host" in lowered:
        return f"cannot resolve host of {where}"
    if any(m in lowered for m in _NOT_POSTGRES):
        # something else answers on the port: a proxy's page, an HTTP or TLS-only server
        said = first.removeprefix("connection failed:").strip()
        return f"{where} does not speak PostgreSQL's protocol ({said})"
    if "server closed the connection unexpectedly" in lowered or "consuming input failed" in lowered:
        return "server closed the connection unexpectedly"
    if match := re.search(r'(database "[^"]+" does not exist|role "[^"]+" does not exist)', message):
        return match.group(1).replace('"', "")
    if "no pg_hba.conf entry" in lowered:
        return f"the server at {where} refuses this host/user/database (no pg_hba.conf entry)"
    if "too many clients" in lowered or "connection slots are reserved" in lowered:
        return f"no free connection slots at {where} (max_connections reached)"
    if "could not translate host name" in lowered:
        return f"cannot resolve host of {where}"
    if "no such file or directory" in lowered and "socket" in lowered:
        return f"no server listening at {where}"
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return f"permission denied: {first.removeprefix('ERROR:').strip()}"[:200]
    text = first.removeprefix("connection failed:").strip()
    text = re.sub(r"^connection to server .*? failed: ", "", text)
    text = re.sub(r"^(FATAL|ERROR):\s+", "", text)  # the severity is the health's state already
    return (text or type(exc).__name__)[:200]


__all__ = [
    "DEAD_TUPLES_MIN",
    "HIDDEN_QUERY",
    "IDLE_IN_TRANSACTION_SECONDS",
    "SOURCE",
    "TABLES_SQL",
    "PgPressure",
    "PgSession",
    "PgSnapshot",
    "PgStatement",
    "PgTable",
    "PostgresProbe",
    "activity_sql",
    "describe_error",
    "statements_sql",
]
