"""PostgreSQL probe: sessions, connection pressure, blocking, top statements and table health, read-only."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from probes.base import Backoff, SourceHealth, utc_now
from probes.postgres.errors import PgReadError, secs
from probes.postgres.queries import TABLES_SQL, activity_sql, statements_sql
from probes.postgres.session import SOURCE, short_version
from probes.postgres.snapshot import (
    PgCounts,
    PgRole,
    PgSession,
    PgSnapshot,
    PgStatement,
    PgTable,
    as_utc,
    counts_from_json,
    pressure_from,
    role_from,
    role_warnings,
    sessions_from_json,
)
from probes.postgres.statements import StatementRunner
from probes.redact import redact_text

if TYPE_CHECKING:
    from probes.postgres.settings import PostgresSettings

TOP_STATEMENTS = 10

TOP_TABLES = 10

IDLE_IN_TRANSACTION_SECONDS = 300.0  # the runbook's "idle in transaction for more than 5 minutes"

DEAD_TUPLES_MIN = 1000  # a table with at least this many dead tuples is listed even without seq scans

IDLE_LISTED = 200  # idle sessions listed (the most recently active); the rest are only counted


class PostgresProbe(StatementRunner):
    """Reads one PostgreSQL server over one long-lived, read-only session; never raises from poll()."""

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
        super().__init__(settings, clock=clock, backoff=backoff)
        self.idle_in_transaction_seconds = idle_in_transaction_seconds
        self.dead_tuples_min = dead_tuples_min
        self.idle_listed = idle_listed

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

    async def _poll_guarded(self) -> PgSnapshot:
        s = self.settings
        # each statement is bounded by the server's statement_timeout; this bounds the whole refresh
        # (a dead network where the server never answers), with room for a connect and three reads
        deadline = s.connect_timeout + 3 * s.statement_timeout + 2.0
        try:
            return await self._within(self._poll_once(), deadline)
        except TimeoutError:
            return self._failed(
                f"timed out: no answer from {self.endpoint} within {secs(deadline)} "
                f"(connect_timeout {secs(s.connect_timeout)} + 3 × statement_timeout "
                f"{secs(s.statement_timeout)} + 2s)"
            )
        except PgReadError as exc:
            if exc.connection_lost:
                await self._drop_connection()
            return self._failed(str(exc))

    async def _poll_once(self) -> PgSnapshot:
        started = time.perf_counter()
        self.round_trips = 0
        conn = await self._connection()
        version_num = conn.info.server_version
        row = await self._fetch_one(conn, activity_sql(version_num), {"idle_listed": self.idle_listed})
        role = role_from(row)
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
        except PgReadError as exc:
            if exc.connection_lost:
                raise
            tables = self._last.tables if self._last else ()
            notes.append(f"tables unreadable: {exc}")
        latency = time.perf_counter() - started

        # 2,000 sessions are ~1 MB of JSON and ~25 ms of Python to build: the text is parsed off the event
        # loop, so the screen keeps moving while they are read
        sessions, counts = await asyncio.to_thread(self._parse_activity, row)
        pressure = pressure_from(row, sessions, self.idle_in_transaction_seconds, counts)
        warnings = role_warnings(role)
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
            server_version=short_version(conn),
            role=role.name,
            superuser=role.superuser,
            can_write=role.can_write,
            pg_monitor=role.pg_monitor,
            warnings=warnings,
            health=health,
            fetched_at=now,
            read_only=role.read_only,
            database=role.database,
            unlisted_idle=max(0, counts.idle - sum(1 for x in sessions if x.state == "idle")),
        )

    def _statements_blocker(self, role: PgRole) -> str | None:
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
        self, conn: psycopg.AsyncConnection[Any], version_num: int, role: PgRole
    ) -> tuple[tuple[PgStatement, ...] | None, str | None]:
        text = statements_sql(version_num, role.pgss_version)
        query = sql.SQL(text).format(schema=sql.Identifier(role.pgss_schema or "public"))
        try:
            rows = await self._fetch_all(conn, query, {"limit": TOP_STATEMENTS})
        except PgReadError as exc:
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
                last_vacuum=as_utc(r["last_vacuum"]),
                last_autovacuum=as_utc(r["last_autovacuum"]),
                last_analyze=as_utc(r["last_analyze"]),
                last_autoanalyze=as_utc(r["last_autoanalyze"]),
            )
            for r in rows
        )

    @staticmethod
    def _parse_activity(row: Mapping[str, Any]) -> tuple[tuple[PgSession, ...], PgCounts]:
        now = row["now"]
        return sessions_from_json(row["sessions"], now), counts_from_json(row["counts"])

    def _empty(self, health: SourceHealth) -> PgSnapshot:
        return PgSnapshot.empty(health)
