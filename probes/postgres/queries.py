"""The SQL the PostgreSQL probe polls with, kept in sql/*.sql as pg_activity keeps its own: one file per
query, one per server version where the columns differ, chosen here by version. Values go as parameters
(`%(name)s`) and names by psycopg.sql composition (`{schema}`), never by string formatting."""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import LiteralString

from psycopg import sql


@functools.cache
def sql_text(name: str) -> LiteralString:
    """The text of sql/<name>: oncall's own file, shipped with the package, as trusted as a literal."""
    return resources.files("probes.postgres").joinpath("sql", name).read_text()


# reserved_connections (for roles granted pg_use_reserved_connections) exists from PostgreSQL 16
_RESERVED_16 = sql.SQL("current_setting('reserved_connections')::int")
_RESERVED_OLD = sql.SQL("0")


@functools.cache  # one text per server version: a refresh every 5 s doesn't build it again
def activity_sql(server_version: int) -> LiteralString:
    """Sessions, pressure, role and settings in one round trip, for a server_version_num (e.g. 150004).

    pg_stat_activity is read once per refresh (pg_activity reads it three times: its header, its list
    and pg_stat_replication); only a session waiting on a lock can be blocked, so pg_blocking_pids (which
    takes the lock manager's locks) runs for those alone.
    """
    reserved = _RESERVED_16 if server_version >= 160000 else _RESERVED_OLD
    return sql.SQL(sql_text("activity.sql")).format(reserved=reserved).as_string()


def _extension_version(extversion: str | None) -> tuple[int, int] | None:
    match = re.match(r"^(\d+)\.(\d+)", extversion or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def statements_sql(server_version: int, extversion: str | None = None) -> LiteralString:
    """Top statements by mean execution time, by the installed extension's version when known, else the
    server's: total_time/mean_time before 1.8 (PostgreSQL 13), `toplevel` from 1.9 (PostgreSQL 14).

    An upgraded server may still carry an old extension version until ALTER EXTENSION ... UPDATE,
    and the columns are the extension's. The text keeps a `{schema}` placeholder for psycopg.sql.
    """
    ext = _extension_version(extversion)
    new_names = ext >= (1, 8) if ext else server_version >= 130000
    has_toplevel = ext >= (1, 9) if ext else server_version >= 140000
    if has_toplevel:
        return sql_text("statements_140000.sql")
    return sql_text("statements_130000.sql" if new_names else "statements.sql")


# tables read mostly by sequential scans, or holding many dead tuples
TABLES_SQL = sql_text("tables.sql")
