"""The demo database's SQL engine: a runbook step's statement runs on DuckDB over the demo's scripted rows.

The tables hold what the PostgreSQL tab shows (the same sessions, statements and tables), and now() is
the demo's clock, so `SELECT count(*) FROM pg_stat_activity` says what the tab counts. DuckDB is imported
only when a statement runs, so a run against a real server never loads it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from probes.base import Reading
from probes.postgres import SOURCE

_CALL = re.compile(r"^(\w+)\(.*\)$")

CANNOT_ANSWER = "the demo's SQL engine can't answer this statement"

_ACTIVITY = (
    "CREATE TABLE pg_stat_activity (datid INTEGER, datname VARCHAR, pid INTEGER, usename VARCHAR, "
    "application_name VARCHAR, client_addr VARCHAR, client_port INTEGER, backend_start TIMESTAMPTZ, "
    "xact_start TIMESTAMPTZ, query_start TIMESTAMPTZ, state_change TIMESTAMPTZ, wait_event_type VARCHAR, "
    "wait_event VARCHAR, state VARCHAR, query VARCHAR, backend_type VARCHAR)"
)
_STATEMENTS = (
    "CREATE TABLE pg_stat_statements (query VARCHAR, calls BIGINT, mean_exec_time DOUBLE, "
    "total_exec_time DOUBLE, rows BIGINT, shared_blks_hit BIGINT, shared_blks_read BIGINT, dbid BIGINT)"
)
# the demo's buffer counts: a statement slower than a second scans a table's 40,000 pages a call, others read
# an index's 4
_SCAN_MS, _SCAN_PAGES, _INDEX_PAGES = 1000.0, 40_000, 4
_TABLES = (
    "CREATE TABLE pg_stat_user_tables (schemaname VARCHAR, relname VARCHAR, seq_scan BIGINT, "
    "idx_scan BIGINT, n_live_tup BIGINT, n_dead_tup BIGINT, last_vacuum TIMESTAMPTZ, "
    "last_autovacuum TIMESTAMPTZ, last_analyze TIMESTAMPTZ, last_autoanalyze TIMESTAMPTZ)"
)


def _pages(statement: Sequence[object]) -> int:
    """Pages one call reads: a slow statement scans, a fast one uses an index."""
    mean_ms = statement[2]
    return _SCAN_PAGES if isinstance(mean_ms, float) and mean_ms > _SCAN_MS else _INDEX_PAGES


def _stamp(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _text(value: object) -> str:
    """A value as psql prints it: NULL as "", booleans t/f, timestamps with a space."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        stamp = value.isoformat(sep=" ")
        return stamp[:-3] if stamp.endswith("+00:00") else stamp
    return str(value)


def _column(name: str) -> str:
    """A result column as PostgreSQL names it: count(*) is "count", a function call its function's name."""
    if name == "count_star()":
        return "count"
    call = _CALL.match(name)
    return call.group(1) if call else name


# what SHOW ALL says of each setting the demo has, in PostgreSQL's own words
_DESCRIPTIONS = {
    "idle_in_transaction_session_timeout": (
        "Sets the maximum allowed idle time between queries, when in a transaction."
    ),
    "max_connections": "Sets the maximum number of concurrent connections.",
    "server_version": "Shows the server version.",
    "superuser_reserved_connections": "Sets the number of connection slots reserved for superusers.",
    "TimeZone": "Sets the time zone for displaying and interpreting time stamps.",
}


def shown_setting(statement: str) -> str | None:
    """The setting a SHOW statement reads ("all" for SHOW ALL), as PostgreSQL's own parser reads it;
    None for any other statement."""
    import pglast  # the guard's parser: PostgreSQL's grammar, not a match on the statement's text

    try:
        parsed = pglast.parse_sql(statement)
    except pglast.parser.ParseError:
        return None
    if len(parsed) != 1 or not isinstance(parsed[0].stmt, pglast.ast.VariableShowStmt):
        return None
    return str(parsed[0].stmt.name)


def show(
    name: str, settings: Mapping[str, str], *, statement: str, now: datetime, max_rows: int | None = None
) -> Reading:
    """SHOW as PostgreSQL answers it: one column named after the setting, SHOW ALL's name, setting and
    description, or its error for a setting it doesn't have (names are matched case-insensitively)."""
    if name.lower() == "all":
        rows = [[key, value, _DESCRIPTIONS.get(key, "")] for key, value in sorted(settings.items())]
        columns = ["name", "setting", "description"]
        return Reading.table(SOURCE, statement, columns, rows, read_at=now, limit=max_rows)
    key = next((key for key in settings if key.lower() == name.lower()), None)
    if key is None:
        return Reading.failed(
            SOURCE, statement, f'unrecognized configuration parameter "{name}"', read_at=now
        )
    return Reading.table(SOURCE, statement, [key], [[settings[key]]], read_at=now)


def _insert(con: Any, table: str, row: str, rows: Sequence[Sequence[object]]) -> None:
    """All `rows` in one INSERT (one statement, not one a row: a row at a time cost ~1 ms each in DuckDB,
    a quarter of a second a statement, on the demo's event loop)."""
    if rows:
        values = ", ".join(f"({row})" for _ in rows)
        con.execute(f"INSERT INTO {table} VALUES {values}", [value for r in rows for value in r])


def run_sql(
    statement: str,
    *,
    now: datetime,
    activity: Sequence[dict[str, Any]],
    statements: Sequence[Sequence[object]],
    tables: Sequence[Sequence[object]],
    settings: Mapping[str, str],
    max_rows: int,
) -> Reading:
    """Run one guarded statement on a fresh in-memory DuckDB filled with the demo's rows; never raises.
    A SHOW reads the demo's settings, as PostgreSQL's SHOW reads its own."""
    name = shown_setting(statement)
    if name is not None:
        return show(name, settings, statement=statement, now=now, max_rows=max_rows)
    import duckdb  # the demo's engine: loaded only when the demo's database answers a statement

    try:
        con = duckdb.connect(config={"enable_external_access": False, "threads": 1})  # no files, no network
    except Exception:  # the engine itself failed to start: say so, never a traceback
        return Reading.failed(SOURCE, statement, CANNOT_ANSWER, read_at=now)
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE MACRO now() AS TIMESTAMPTZ '{now.isoformat()}'")
        con.execute("CREATE TABLE pg_settings (name VARCHAR, setting VARCHAR)")
        _insert(con, "pg_settings", "?, ?", [list(item) for item in settings.items()])
        con.execute(
            "CREATE MACRO current_setting(setting_name) AS "
            "(SELECT setting FROM pg_settings WHERE name = setting_name)"
        )
        con.execute(_ACTIVITY)
        con.execute("CREATE TABLE _blocking (pid INTEGER, blocked_by INTEGER[])")
        con.execute("CREATE MACRO pg_blocking_pids(p) AS (SELECT blocked_by FROM _blocking WHERE pid = p)")
        sessions, blocking = [], []
        for row in activity:
            host, _, port = str(row["client"]).rpartition(":")
            sessions.append(
                [
                    row["database"],
                    row["pid"],
                    row["user"],
                    row["application"],
                    host,
                    int(port),
                    _stamp(row["query_start"]),
                    _stamp(row["xact_start"]),
                    _stamp(row["query_start"]),
                    _stamp(row["state_change"]),
                    row["wait_event_type"],
                    row["wait_event"],
                    row["state"],
                    row["query"],
                    row["backend_type"],
                ]
            )
            blocking.append([row["pid"], list(row["blocked_by"])])
        _insert(con, "pg_stat_activity", "1, " + ", ".join("?" * 15), sessions)
        _insert(con, "_blocking", "?, ?", blocking)
        con.execute(_STATEMENTS)
        _insert(
            con,
            "pg_stat_statements",
            "?, ?, ?, ?, ?, ?, 0, (SELECT oid FROM pg_database WHERE datname = current_database())",
            [[*s, _pages(s) * s[1]] for s in statements],  # type: ignore[operator]
        )
        con.execute(_TABLES)
        _insert(con, "pg_stat_user_tables", ", ".join("?" * 10), [list(t) for t in tables])
        try:
            cursor = con.execute(statement)
            columns = [_column(d[0]) for d in cursor.description or ()]
            fetched = cursor.fetchmany(max_rows + 1)
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return Reading.failed(SOURCE, statement, f"{CANNOT_ANSWER} ({first})", read_at=now)
        rows = [[_text(v) for v in row] for row in fetched]
        return Reading.table(SOURCE, statement, columns, rows, read_at=now, limit=max_rows)
    except Exception:  # a bug here must not take the demo down
        return Reading.failed(SOURCE, statement, CANNOT_ANSWER, read_at=now)
    finally:
        con.close()
