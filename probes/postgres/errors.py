"""PostgreSQL's errors in plain words: what happened and where, never a password."""

from __future__ import annotations

import re
from typing import Any

import psycopg


class PgReadError(Exception):
    """A failed read, in plain words; `connection_lost` when the connection can't be used again."""

    def __init__(self, message: str, *, connection_lost: bool = False) -> None:
        super().__init__(message)
        self.connection_lost = connection_lost


def connection_lost(conn: psycopg.AsyncConnection[Any], exc: psycopg.Error) -> bool:
    """The session can't be used again: closed, broken, or an operational error other than a timeout."""
    return bool(
        conn.closed
        or conn.broken
        or (isinstance(exc, psycopg.OperationalError) and not isinstance(exc, psycopg.errors.QueryCanceled))
    )


def secs(seconds: float) -> str:
    return f"{seconds:g}s"


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
            return f"statement timeout after {secs(statement_timeout)}"
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
