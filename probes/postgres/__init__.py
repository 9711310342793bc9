"""PostgreSQL: the probe, its SQL (sql/*.sql), runbook statements, the read-only guard and error explanations.

probe.py polls; session.py holds the one read-only session; statements.py runs a runbook step's statement;
queries.py picks the SQL by server version; snapshot.py is what a poll read; guard.py, guard_functions.py
and guard_catalog.py decide which SQL may run; errors.py says what went wrong in plain words.

Names load their module on first use: importing the package (say, for its settings) must not import
psycopg or pglast, which `oncall` without PostgreSQL never needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from probes.lazy import lazy_names

if TYPE_CHECKING:
    from probes.postgres.errors import describe_error
    from probes.postgres.guard import GuardVerdict, check_sql
    from probes.postgres.guard_allow import NOTHING_ALLOWED, Allowlist, Reaches
    from probes.postgres.guard_catalog import CATALOG_SQL, catalog_params, judge_catalog
    from probes.postgres.probe import DEAD_TUPLES_MIN, IDLE_IN_TRANSACTION_SECONDS, PostgresProbe
    from probes.postgres.queries import TABLES_SQL, activity_sql, statements_sql
    from probes.postgres.session import NOT_CONFIGURED, SOURCE
    from probes.postgres.settings import PostgresSettings
    from probes.postgres.snapshot import (
        HIDDEN_QUERY,
        PgPressure,
        PgSession,
        PgSnapshot,
        PgStatement,
        PgTable,
        pressure_from,
        sessions_from_rows,
    )
    from probes.postgres.statements import STATEMENT_ROWS

# each exported name and the module it lives in
_HOMES = {
    "errors": ("describe_error",),
    "guard": (
        "GuardVerdict",
        "check_sql",
    ),
    "guard_allow": (
        "NOTHING_ALLOWED",
        "Allowlist",
        "Reaches",
    ),
    "guard_catalog": (
        "CATALOG_SQL",
        "catalog_params",
        "judge_catalog",
    ),
    "probe": (
        "DEAD_TUPLES_MIN",
        "IDLE_IN_TRANSACTION_SECONDS",
        "PostgresProbe",
    ),
    "queries": (
        "TABLES_SQL",
        "activity_sql",
        "statements_sql",
    ),
    "session": (
        "NOT_CONFIGURED",
        "SOURCE",
    ),
    "settings": ("PostgresSettings",),
    "snapshot": (
        "HIDDEN_QUERY",
        "PgPressure",
        "PgSession",
        "PgSnapshot",
        "PgStatement",
        "PgTable",
        "pressure_from",
        "sessions_from_rows",
    ),
    "statements": ("STATEMENT_ROWS",),
}
__getattr__ = lazy_names(__name__, globals(), _HOMES)


__all__ = [
    "CATALOG_SQL",
    "DEAD_TUPLES_MIN",
    "HIDDEN_QUERY",
    "IDLE_IN_TRANSACTION_SECONDS",
    "NOTHING_ALLOWED",
    "NOT_CONFIGURED",
    "SOURCE",
    "STATEMENT_ROWS",
    "TABLES_SQL",
    "Allowlist",
    "GuardVerdict",
    "PgPressure",
    "PgSession",
    "PgSnapshot",
    "PgStatement",
    "PgTable",
    "PostgresProbe",
    "PostgresSettings",
    "Reaches",
    "activity_sql",
    "catalog_params",
    "check_sql",
    "describe_error",
    "judge_catalog",
    "pressure_from",
    "sessions_from_rows",
    "statements_sql",
]
