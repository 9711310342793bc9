"""The guard on a real PostgreSQL: what it allows runs read-only; what it refuses would act anyway."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from probes.postgres import check_sql
from tests.labs.postgres import SEQ_SCAN_TABLE, PgLab
from tests.unit.test_sql_guard import RUNBOOK_READS

pytestmark = pytest.mark.integration

# the probe's own session settings: every transaction read-only, a short statement timeout
READ_ONLY_OPTIONS = "-c default_transaction_read_only=on -c statement_timeout=5s"

MORE_READS = [
    "SELECT 'pg_terminate_backend(1)'",
    'SELECT 1 AS "my;col"',
    "SELECT $$;$$",
    "SELECT 1 -- ; DROP TABLE x",
    "select pg_sleep(0.1)",
    f"TABLE {SEQ_SCAN_TABLE}",
    "VALUES (1), (2)",
    "EXPLAIN (FORMAT JSON, COSTS off) SELECT * FROM pg_class",
    "SELECT pid, pg_blocking_pids(pid) FROM pg_stat_activity",
    "SELECT pg_current_xact_id_if_assigned()",
]


@pytest.fixture
def read_only(pg_server: PgLab) -> Iterator[psycopg.Connection]:
    with psycopg.connect(pg_server.dsn("oncall_monitor"), options=READ_ONLY_OPTIONS) as conn:
        yield conn


@pytest.fixture
def superuser_read_only(pg_server: PgLab) -> Iterator[psycopg.Connection]:
    """The worst case the guard exists for: a superuser DSN, where only the guard stands in the way."""
    with psycopg.connect(pg_server.admin_dsn, options=READ_ONLY_OPTIONS) as conn:
        yield conn


@pytest.mark.parametrize("sql", RUNBOOK_READS + MORE_READS)
def test_allowed_statements_run_in_a_read_only_transaction(read_only: psycopg.Connection, sql: str) -> None:
    verdict = check_sql(sql)
    assert verdict.allowed, verdict.reason
    with read_only.transaction(), read_only.cursor() as cur:
        cur.execute(verdict.statement)  # type: ignore[arg-type]  # the guard's output is the query
        cur.fetchall()
        cur.execute("SHOW transaction_read_only")
        assert cur.fetchone() == ("on",)


def test_set_config_would_lift_read_only_mode_from_inside_a_read_only_transaction(
    superuser_read_only: psycopg.Connection,
) -> None:
    sql = "SELECT set_config('default_transaction_read_only', 'off', false)"
    assert not check_sql(sql).allowed
    with superuser_read_only.cursor() as cur:
        cur.execute(sql)  # type: ignore[arg-type]
        superuser_read_only.commit()
        cur.execute("SHOW transaction_read_only")
        assert cur.fetchone() == ("off",)  # the next transaction could write: why the guard refuses it


def test_txid_current_assigns_a_transaction_id_in_a_read_only_transaction(
    superuser_read_only: psycopg.Connection,
) -> None:
    assert not check_sql("SELECT txid_current()").allowed
    with superuser_read_only.transaction(), superuser_read_only.cursor() as cur:
        cur.execute("SELECT pg_current_xact_id_if_assigned()")
        assert cur.fetchone() == (None,)
        cur.execute("SELECT txid_current()")
        cur.execute("SELECT pg_current_xact_id_if_assigned()")
        row = cur.fetchone()
        assert row is not None and row[0] is not None


def test_advisory_locks_are_taken_in_a_read_only_transaction(superuser_read_only: psycopg.Connection) -> None:
    assert not check_sql("SELECT pg_advisory_xact_lock(4242)").allowed
    with superuser_read_only.transaction(), superuser_read_only.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(4242)")
        cur.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242")
        assert cur.fetchone() == (1,)


def test_pg_terminate_backend_ends_a_session_from_a_read_only_transaction(
    pg_server: PgLab, superuser_read_only: psycopg.Connection
) -> None:
    with psycopg.connect(pg_server.dsn("inmidst"), autocommit=True) as victim:
        sql = f"SELECT pg_terminate_backend({victim.info.backend_pid})"
        assert not check_sql(sql).allowed
        with superuser_read_only.transaction(), superuser_read_only.cursor() as cur:
            cur.execute(sql)  # type: ignore[arg-type]
            assert cur.fetchone() == (True,)
        with pytest.raises(psycopg.OperationalError):
            victim.execute("SELECT 1")
