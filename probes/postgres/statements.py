"""A runbook step's SQL statement, run live as evidence: guarded, read-only, bounded, never raising."""

from __future__ import annotations

import contextlib
import functools
import re
from typing import TYPE_CHECKING, Any, cast

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row
from psycopg.types.string import TextLoader

from probes.base import Reading
from probes.postgres.errors import PgReadError, connection_lost, secs
from probes.postgres.guard import Allowlist, Reaches, check_sql
from probes.postgres.guard_catalog import CATALOG_SQL, catalog_params, judge_catalog
from probes.postgres.session import NOT_CONFIGURED, SOURCE, ReadOnlySession, transaction_idle
from probes.redact import redact_reading

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

    from psycopg.abc import Buffer

STATEMENT_ROWS = 50  # rows kept from a statement a runbook step runs (run_statement's max_rows)

STATEMENT_CURSOR = "oncall_statement"  # the server-side cursor run_statement reads a query through

# what DECLARE … CURSOR FOR doesn't take among the statements the guard allows (it allows them only first)
_NOT_DECLARABLE = re.compile(r"(?i)(?:show|explain)\b")


# the guard's first step is a function of the text, the timeout and the allowlist alone: a checklist that
# re-reads the same statements every 5 s parses each once (the catalog, its second step, is read every time)
_checked = functools.lru_cache(maxsize=256)(check_sql)


class StatementRunner(ReadOnlySession):
    """Runs a runbook step's statement on the probe's own session, between two polls."""

    _statement_cursor: psycopg.AsyncCursor[Any] | None = None  # the session's, for statements

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
        once one row too many has arrived. `truncated` says there was more. A query takes two round trips,
        the statements of each pipelined: one write, one wait.

        Every value is the server's own text output, as psql prints it, never parsed: NULL as "",
        booleans t/f, timestamps in the session's DateStyle (ISO by default: 2026-01-01 03:00:00.12+00),
        intervals 00:05:00, arrays {1,2}, numbers exactly as stored; 'infinity' or a BC date can't fail.
        `what` is the statement as given; `read_at` is the probe's clock when the rows were read.
        Failures (permission, statement timeout, server down) are a `Reading.failed` in plain words.
        """
        allow = self.allowlist
        verdict = _checked(statement, statement_timeout_s=self.settings.statement_timeout, allow=allow)
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
                f"timed out: no answer from {self.endpoint} within {secs(deadline)} "
                f"(connect_timeout {secs(s.connect_timeout)} + 2 × statement_timeout "
                f"{secs(s.statement_timeout)} + 2s)",
            )
        except PgReadError as exc:
            if exc.connection_lost:
                await self._drop_connection()
            return Reading.failed(SOURCE, what, str(exc))
        finally:
            # whatever happened, a cancelled caller included: the next poll never runs inside this
            # transaction (its now() frozen, its snapshot old); a session left in one is closed instead
            if self._conn is not None and not transaction_idle(self._conn):
                await self._drop_connection()

    async def _statement_once(
        self, conn: psycopg.AsyncConnection[Any], what: str, statement: str, reaches: Reaches, max_rows: int
    ) -> Reading:
        """Two round trips for a query, each one pipeline (one write, one Sync, one wait): BEGIN READ ONLY
        with the guard's catalog check, then — only when the catalog allowed it — DECLARE, FETCH and
        ROLLBACK. Without names to check (a statement of literals) the first is folded into the second."""
        begun = False
        if reaches != Reaches():
            refusal = await self._begin_and_check(conn, reaches)
            begun = True
            if refusal:
                await self._send(conn, "ROLLBACK")
                return Reading.failed(SOURCE, what, refusal)
        failure: PgReadError | None = None
        columns: tuple[str, ...] = ()
        rows: list[tuple[Any, ...]] = []
        try:
            if _NOT_DECLARABLE.match(statement) is None:
                columns, rows = await self._read_through_cursor(conn, statement, max_rows + 1, begun)
            else:
                if not begun:
                    await self._send(conn, "BEGIN READ ONLY")
                columns, rows = await self._stream_rows(conn, statement, max_rows + 1)
                await self._send(conn, "ROLLBACK")  # nothing to keep: a read, ended without a commit
        except psycopg.Error as exc:
            failure = PgReadError(self._describe(exc), connection_lost=connection_lost(conn, exc))
        except PgReadError as exc:
            failure = exc
        read_at = self._clock()
        if failure is not None:
            if not failure.connection_lost and not conn.closed and not transaction_idle(conn):
                with contextlib.suppress(PgReadError):
                    await self._send(conn, "ROLLBACK")  # the pipeline stopped at the error: end it here
            raise failure
        return Reading.table(SOURCE, what, columns, rows, read_at=read_at, limit=max_rows)

    async def _begin_and_check(self, conn: psycopg.AsyncConnection[Any], reaches: Reaches) -> str:
        """BEGIN READ ONLY and the guard's second step in one round trip: which objects the statement's
        names reach on this server, in this session (same search_path), before the statement is sent;
        "" when all are allowed."""
        # default_transaction_read_only is on for the session already; this says so for the statement too
        self.sent.extend(["BEGIN READ ONLY", CATALOG_SQL])
        try:
            async with conn.pipeline():
                await conn.execute("BEGIN READ ONLY")
                cur = conn.cursor(row_factory=tuple_row)
                await cur.execute(CATALOG_SQL, catalog_params(reaches))
            rows = await cur.fetchall()
        except psycopg.Error as exc:
            raise PgReadError(self._describe(exc), connection_lost=connection_lost(conn, exc)) from None
        return judge_catalog(rows, self.allowlist)

    async def _read_through_cursor(
        self, conn: psycopg.AsyncConnection[Any], statement: str, limit: int, begun: bool
    ) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        """A query through a server-side cursor, in one round trip: the server computes only the rows
        fetched, and the FETCH describes the columns even when there are none. Each statement goes over
        the extended protocol (a pipeline is nothing else), which takes one statement per message."""
        name = sql.Identifier(STATEMENT_CURSOR).as_string(conn)
        declare = f"DECLARE {name} NO SCROLL CURSOR FOR {statement}"
        fetch = f"FETCH FORWARD {limit} FROM {name}"
        self.sent.extend([*([] if begun else ["BEGIN READ ONLY"]), declare, fetch, "ROLLBACK"])
        cursor = self._text_cursor(conn)
        async with conn.pipeline():
            if not begun:
                await conn.execute("BEGIN READ ONLY")
            await conn.execute(declare)
            await cursor.execute(fetch)
            await conn.execute("ROLLBACK")  # nothing to keep: a read, ended without a commit
        return _columns(cursor), await cursor.fetchall()

    async def _stream_rows(
        self, conn: psycopg.AsyncConnection[Any], statement: str, limit: int
    ) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        """SHOW or EXPLAIN (DECLARE takes neither), one row at a time over the extended protocol (one
        statement only); leaving early cancels the statement instead of transferring the rest."""
        self.sent.append(statement)
        cursor = self._text_cursor(conn)
        columns: tuple[str, ...] | None = None
        rows: list[tuple[Any, ...]] = []
        # psycopg's stream() is an async generator, typed as the iterator it is used as
        rows_of = cast("AsyncGenerator[Any, None]", cursor.stream(statement))
        async with contextlib.aclosing(rows_of) as stream:
            async for row in stream:
                if columns is None:
                    columns = _columns(cursor)
                rows.append(row)
                if len(rows) >= limit:
                    break
        return columns or (), rows

    def _text_cursor(self, conn: psycopg.AsyncConnection[Any]) -> psycopg.AsyncCursor[Any]:
        """The session's cursor for statements, every column loaded as text: made once per session (its
        loaders are ~150 registrations), each read's results replacing the last's."""
        cursor = self._statement_cursor
        if cursor is None or cursor.connection is not conn or cursor.closed:
            cursor = conn.cursor(row_factory=tuple_row)
            _load_as_text(cursor)
            self._statement_cursor = cursor
        return cursor


class _PsqlText(TextLoader):
    """A value as the server wrote it, decoded and never parsed: what psql shows."""

    def load(self, data: Buffer) -> str:
        value = super().load(data)
        return value if isinstance(value, str) else bytes(value).decode("utf-8", "replace")


_UNKNOWN_OID = 0  # psycopg's loader for any type it has no other loader for


def _load_as_text(cursor: psycopg.AsyncCursor[Any]) -> None:
    """Every column of this cursor's results as text: the known types, their arrays, and the rest."""
    adapters = cursor.adapters
    adapters.register_loader(_UNKNOWN_OID, _PsqlText)
    for info in adapters.types:
        adapters.register_loader(info.oid, _PsqlText)
        if info.array_oid:
            adapters.register_loader(info.array_oid, _PsqlText)


def _columns(cursor: psycopg.AsyncCursor[Any]) -> tuple[str, ...]:
    return tuple(column.name for column in cursor.description or ())
