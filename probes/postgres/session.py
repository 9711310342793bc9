"""The PostgreSQL probe's one read-only session: connecting, sending a statement, bounding it in time, and
ending the session when a statement can't be trusted to have finished."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, LiteralString, TypeVar

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from probes.base import Backoff, PolledSource, SentLog
from probes.postgres.errors import PgReadError, connection_lost, describe_error
from probes.postgres.snapshot import PgSnapshot

if TYPE_CHECKING:
    from probes.postgres.settings import PostgresSettings

SOURCE = "postgresql"
NOT_CONFIGURED = "set ONCALL_POSTGRES, [postgres] dsn or libpq's PGHOST/PGSERVICE/PGDATABASE"
_T = TypeVar("_T")
CANCEL_GRACE = 1.0  # seconds a cancelled caller waits for the server to cancel the statement
APPLICATION_NAME = "oncall"


class ReadOnlySession(PolledSource[PgSnapshot]):
    """One long-lived, read-only session to one server, used by one statement at a time."""

    SOURCE = SOURCE
    NAME = "PostgreSQL"
    NOT_CONFIGURED = NOT_CONFIGURED

    def __init__(
        self, settings: PostgresSettings, *, clock: Callable[[], datetime], backoff: Backoff | None
    ) -> None:
        super().__init__(
            backoff=backoff or Backoff.for_source(settings.refresh, settings.backoff_max),
            clock=clock,
            endpoint=endpoint_from_settings(settings),
        )
        self.settings = settings
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self.sent: SentLog[str] = SentLog()  # the statements sent, in order: tests prove only these reads
        self.round_trips = 0  # of the last poll

    @property
    def configured(self) -> bool:
        return self.settings.configured

    async def aclose(self) -> None:
        await self._drop_connection()

    async def _reset(self) -> None:
        await self._drop_connection()

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
            raise PgReadError(self._describe(exc), connection_lost=True) from None
        except OSError as exc:
            raise PgReadError(
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
            return await conn.execute(text, params)
        except psycopg.Error as exc:
            raise PgReadError(self._describe(exc), connection_lost=connection_lost(conn, exc)) from None

    async def _fetch_one(
        self, conn: psycopg.AsyncConnection[Any], query: str, params: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        cursor = await self._execute(conn, query, params)
        row = await cursor.fetchone()
        if row is None:
            raise PgReadError("the server returned no row for the activity query")
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

    async def _send(self, conn: psycopg.AsyncConnection[Any], text: LiteralString) -> None:
        """run_statement's transaction control, recorded in `sent` like every statement."""
        self.sent.append(text)
        try:
            await conn.execute(text)
        except psycopg.Error as exc:
            raise PgReadError(self._describe(exc), connection_lost=connection_lost(conn, exc)) from None


def transaction_idle(conn: psycopg.AsyncConnection[Any]) -> bool:
    return not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE


def short_version(conn: psycopg.AsyncConnection[Any]) -> str:
    """ "15.4" from "15.4 (Debian 15.4-1)"; the number from server_version_num if the text is missing."""
    text = conn.info.parameter_status("server_version") or ""
    if text:
        return text.split()[0]
    num = conn.info.server_version
    return f"{num // 10000}.{num % 10000}"


def endpoint_from_settings(settings: PostgresSettings) -> str | None:
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
