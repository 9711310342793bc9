"""The demo's database: a connection leak at 87% of max_connections, read through the probe's own parsers.

Rows are shaped as the probe's activity query returns them, so the PostgreSQL tab, `oncall check` and the
runbook's HighDatabaseConnections steps see what they would see on a real server under that incident.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import astuple, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from probes.base import Backoff, PolledSource, Reading, SourceHealth
from probes.postgres.settings import PostgresSettings

if TYPE_CHECKING:
    # the model loads at the first read (after the alerts), with the PostgreSQL tab that draws it
    from probes.postgres.snapshot import PgSnapshot, PgStatement, PgTable

# probes.postgres's own words, without loading psycopg and pglast (the probe's session, statements and
# guard): the demo's first screen doesn't wait for them (tests/unit/test_demo_start.py checks they agree)
SOURCE = "postgresql"
NOT_CONFIGURED = "set ONCALL_POSTGRES, [postgres] dsn or libpq's PGHOST/PGSERVICE/PGDATABASE"
STATEMENT_ROWS = 50

MAX_CONNECTIONS = 100
SUPERUSER_RESERVED = 3
SERVER_VERSION = "16.3"  # the image the demo's events pulled: postgres:16.3
IDLE_IN_TRANSACTION = 300.0  # seconds: the runbook's five minutes


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


class DemoPostgres(PolledSource["PgSnapshot"]):
    """PostgreSQL for `oncall --demo`: the API leaks connections left idle in transaction."""

    SOURCE = SOURCE
    NAME = "PostgreSQL"
    NOT_CONFIGURED = NOT_CONFIGURED

    def __init__(self, anchor: datetime, clock: Callable[[], datetime]) -> None:
        self.settings = PostgresSettings(dsn="demo", refresh=2.0)
        super().__init__(
            backoff=Backoff.for_source(self.settings.refresh, self.settings.backoff_max),
            clock=clock,
            endpoint="demo database",
        )
        self.anchor = anchor

    @property
    def configured(self) -> bool:
        return True

    async def aclose(self) -> None:
        """Nothing to close: the demo database lives in memory."""

    async def run_statement(self, statement: str, *, max_rows: int = STATEMENT_ROWS) -> Reading:
        """A runbook step's SQL, through the real probe's guard, then run on the demo's rows (DuckDB)."""
        from probes.postgres.guard import check_sql
        from tui.demo.sql import run_sql

        verdict = check_sql(statement, statement_timeout_s=self.settings.statement_timeout)
        if not verdict.allowed:
            return Reading.failed(SOURCE, statement, verdict.reason)
        now = self._clock()
        # off the event loop: DuckDB builds the demo's tables for each statement (tens of ms)
        reading = await asyncio.to_thread(
            run_sql,
            verdict.statement,
            now=now,
            activity=self.rows(now),
            statements=[astuple(s) for s in self.statements()],
            tables=[astuple(t) for t in self.tables(now)],
            settings=self.server_settings(),
            max_rows=max(0, max_rows),
        )
        return replace(reading, what=statement)

    def _row(
        self,
        pid: int,
        app: str,
        state: str,
        query: str,
        started: datetime,
        now: datetime,
        *,
        wait: tuple[str | None, str | None] = ("Client", "ClientRead"),
        blocked_by: tuple[int, ...] = (),
    ) -> dict[str, Any]:
        return {
            "pid": pid,
            "user": "inmidst",
            "database": "inmidst",
            "application": app,
            "client": f"10.4.2.{pid % 200}:{40000 + pid}",
            "backend_type": "client backend",
            "state": state,
            "wait_event_type": wait[0],
            "wait_event": wait[1],
            "query": query,
            "query_start": _iso(started),
            "xact_start": _iso(started) if state != "idle" else None,
            "state_change": _iso(started),
            "query_seconds": (now - started).total_seconds(),
            "xact_seconds": (now - started).total_seconds() if state != "idle" else None,
            "blocked_by": list(blocked_by),
        }

    def rows(self, now: datetime) -> list[dict[str, Any]]:
        since = self.anchor - timedelta(minutes=14)  # when the leak started, as the alert says
        rows = []
        for i in range(62):  # the pool that never gives connections back
            rows.append(
                self._row(
                    3100 + i,
                    "inmidst-api",
                    "idle",
                    "SELECT id, status FROM orders WHERE customer = $1",
                    since + timedelta(seconds=7 * i),
                    now,
                )
            )
        for i in range(6):  # the leak: transactions opened and forgotten
            rows.append(
                self._row(
                    3200 + i,
                    "inmidst-api",
                    "idle in transaction",
                    "UPDATE carts SET touched_at = now() WHERE id = $1",
                    since + timedelta(seconds=31 * i),
                    now,
                )
            )
        for i in range(14):
            rows.append(
                self._row(3300 + i, "inmidst-worker", "idle", "COMMIT", since + timedelta(minutes=2), now)
            )
        rows.append(
            self._row(
                3400,
                "inmidst-worker",
                "active",
                "SELECT c.id, sum(o.total) FROM customers c JOIN orders o ON o.customer = c.id "
                "GROUP BY c.id ORDER BY 2 DESC",
                now - timedelta(seconds=48),
                now,
                wait=(None, None),
            )
        )
        rows.append(
            self._row(
                3401,
                "inmidst-api",
                "active",
                "UPDATE carts SET items = $1 WHERE id = $2",
                now - timedelta(seconds=9),
                now,
                wait=("Lock", "transactionid"),
                blocked_by=(3200,),
            )
        )
        for i in range(3):
            rows.append(
                self._row(3500 + i, "psql", "idle", "SHOW max_connections", now - timedelta(minutes=3), now)
            )
        return rows

    def server_settings(self) -> dict[str, str]:
        """What current_setting() reads: the same limits the tab's pressure is measured against."""
        return {
            "max_connections": str(MAX_CONNECTIONS),
            "superuser_reserved_connections": str(SUPERUSER_RESERVED),
            "server_version": SERVER_VERSION,
            "idle_in_transaction_session_timeout": "0",
            "TimeZone": "UTC",  # the demo's timestamps are UTC, as its SQL engine's session is
        }

    def statements(self) -> tuple[PgStatement, ...]:
        """What pg_stat_statements holds: the tab's slow queries."""
        from probes.postgres.snapshot import PgStatement

        return (
            PgStatement(
                "SELECT c.id, sum(o.total) FROM customers c JOIN orders o ON o.customer = c.id GROUP BY c.id "
                "ORDER BY 2 DESC",
                212,
                2841.5,
                602398.0,
                212000,
            ),
            PgStatement("UPDATE carts SET items = $1 WHERE id = $2", 90211, 612.4, 55245615.0, 90211),
            PgStatement(
                "SELECT id, status FROM orders WHERE customer = $1", 1203344, 3.1, 3730366.0, 4812000
            ),
        )

    def tables(self, now: datetime) -> tuple[PgTable, ...]:
        """What pg_stat_user_tables holds."""
        from probes.postgres.snapshot import PgTable

        return (
            PgTable(
                "public",
                "orders",
                48211,
                1203,
                4812000,
                95000,
                None,
                now - timedelta(days=3),
                None,
                now - timedelta(days=3),
            ),
            PgTable("public", "carts", 312, 90211, 120000, 61000, None, now - timedelta(hours=9), None, None),
        )

    async def _poll_guarded(self) -> PgSnapshot:
        from probes.postgres.snapshot import PgSnapshot, pressure_from, sessions_from_rows

        now = self._clock()
        sessions = sessions_from_rows(self.rows(now))
        row = {
            "used": len(sessions),
            "max_connections": MAX_CONNECTIONS,
            "superuser_reserved": SUPERUSER_RESERVED,
            "reserved": 0,
        }
        pressure = pressure_from(row, sessions, IDLE_IN_TRANSACTION)
        statements = self.statements()
        tables = self.tables(now)
        health = SourceHealth(
            "postgresql",
            "ok",
            checked_at=now,
            last_success=now,
            latency=0.004,
            detail="demo database",
            endpoint=self.endpoint,
        )
        return PgSnapshot(
            sessions=sessions,
            pressure=pressure,
            statements=statements,
            statements_problem=None,
            tables=tables,
            server_version=f"{SERVER_VERSION} (demo)",
            role="oncall_monitor",
            superuser=False,
            can_write=False,
            pg_monitor=True,
            warnings=(),
            health=health,
            fetched_at=now,
            read_only=True,
            database="inmidst",
        )

    def _empty(self, health: SourceHealth) -> PgSnapshot:
        from probes.postgres.snapshot import PgSnapshot

        return PgSnapshot.empty(health)
