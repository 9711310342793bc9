"""A runbook step's SQL run by the PostgreSQL probe on the real lab: what the user sees, and what is sent."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg.pq import TransactionStatus

from probes.base import Reading
from probes.postgres import CATALOG_SQL, HIDDEN_QUERY, NOT_CONFIGURED, PostgresProbe
from tests.integration.test_postgres_probe import settings_for
from tests.labs import free_port
from tests.labs.postgres import APP_NAME, IDLE_CONNECTIONS, SEQ_SCAN_TABLE, PgConditions, PgLab
from tui.config.settings import PostgresSettings

pytestmark = pytest.mark.integration

# the runbook's own statements (examples/inmidst/RUNBOOK.md), the interval shortened to the lab's age
COUNT = "SELECT count(*) FROM pg_stat_activity;"
BY_APPLICATION = "SELECT application_name, count(*) FROM pg_stat_activity GROUP BY 1;"
IDLE_IN_TRANSACTION = (
    "SELECT * FROM pg_stat_activity WHERE state = 'idle in transaction' "
    "AND query_start < now() - interval '1 second';"
)
READ_AT = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)


def probe_for(lab: PgLab, role: str = "oncall_monitor", **kw: object) -> PostgresProbe:
    return PostgresProbe(settings_for(lab, role, **kw), clock=lambda: READ_AT)


@pytest.fixture
async def monitor(pg_server: PgLab, pg_conditions: PgConditions) -> AsyncIterator[PostgresProbe]:
    probe = probe_for(pg_server)
    try:
        yield probe
    finally:
        await probe.aclose()


def column(reading: Reading, name: str) -> list[str]:
    at = reading.columns.index(name)
    return [row[at] for row in reading.rows]


def sent_as(statement: str, max_rows: int = 50) -> list[str]:
    """What the probe sends for one allowed query: the guard's catalog check, then the guard's normalized
    text through a server-side cursor, inside a read-only transaction."""
    return [
        "BEGIN READ ONLY",
        CATALOG_SQL,
        f'DECLARE "oncall_statement" NO SCROLL CURSOR FOR {statement}',
        f'FETCH FORWARD {max_rows + 1} FROM "oncall_statement"',
        "ROLLBACK",
    ]


def session_is_clean(probe: PostgresProbe) -> bool:
    conn = probe._conn
    return conn is not None and conn.info.transaction_status == TransactionStatus.IDLE


# --- the runbook's reads, as the user sees them -----------------------------------------------------------


async def test_connection_count_is_one_row_with_at_least_the_labs_sessions(monitor: PostgresProbe) -> None:
    reading = await monitor.run_statement(COUNT)
    assert reading.ok, reading.problem
    assert reading.source == "postgresql" and reading.what == COUNT
    assert reading.columns == ("count",)
    assert len(reading.rows) == 1 and not reading.truncated
    # 5 idle + idle in transaction + lock holder + waiter + pg_sleep + oncall itself
    assert int(reading.rows[0][0]) >= IDLE_CONNECTIONS + 5
    assert reading.read_at == READ_AT
    assert monitor.sent == sent_as("SELECT count(*) FROM pg_stat_activity")  # the ';' is not sent
    assert session_is_clean(monitor)


async def test_connections_by_application_list_the_api_with_its_count(monitor: PostgresProbe) -> None:
    reading = await monitor.run_statement(BY_APPLICATION)
    assert reading.ok, reading.problem
    assert reading.columns == ("application_name", "count")
    counts = dict(reading.rows)
    assert counts[APP_NAME] == str(IDLE_CONNECTIONS)
    assert counts["oncall"] == "1"  # the probe's own session, running this
    assert counts["inmidst-worker"] == "1"


async def test_idle_in_transaction_query_finds_the_labs_session(
    monitor: PostgresProbe, pg_conditions: PgConditions
) -> None:
    reading = await monitor.run_statement(IDLE_IN_TRANSACTION)
    assert reading.ok, reading.problem
    # the worker's forgotten transaction, and the migration holding its lock on orders since
    pids = column(reading, "pid")
    assert sorted(pids) == sorted(
        str(p) for p in (pg_conditions.idle_in_transaction_pid, pg_conditions.lock_holder_pid)
    )
    assert {"datname", "usename", "application_name", "state", "query", "query_start"} <= set(reading.columns)
    row = dict(
        zip(
            reading.columns, reading.rows[pids.index(str(pg_conditions.idle_in_transaction_pid))], strict=True
        )
    )
    assert row["state"] == "idle in transaction"
    assert row["application_name"] == "inmidst-worker" and row["query"] == "SELECT 1"
    # as psql shows it: the server's ISO timestamp, NULL as an empty cell
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?[+-]\d\d(:\d\d)?", row["query_start"])
    assert row["backend_xid"] == ""  # a transaction that has written nothing has no xid


async def test_values_are_shown_as_psql_shows_them(monitor: PostgresProbe) -> None:
    shown = {
        "true AS yes": "t",
        "false AS no": "f",
        "NULL AS nothing": "",
        "1.50::numeric AS amount": "1.50",
        "'{1,2}'::int[] AS pids": "{1,2}",
        "interval '5 minutes' AS waited": "00:05:00",
        "'infinity'::timestamptz AS forever": "infinity",  # a value Python's datetime can't hold
        "'10.1.2.3'::inet AS client": "10.1.2.3",
        "ROW(1, 'x') AS pair": "(1,x)",
        """'{"a": 1}'::jsonb AS doc""": '{"a": 1}',
        "'2026-01-02 03:04:05.5+00'::timestamptz AS at": "",  # checked below: in the session's time zone
    }
    reading = await monitor.run_statement(f"SELECT {', '.join(shown)}")
    assert reading.ok, reading.problem
    assert reading.columns == tuple(expr.rsplit(" AS ", 1)[1] for expr in shown)
    values = dict(zip(reading.columns, reading.rows[0], strict=True))
    at = values.pop("at")
    assert values == {expr.rsplit(" AS ", 1)[1]: text for expr, text in shown.items() if "AS at" not in expr}
    assert re.fullmatch(r"2026-01-02 \d\d:\d\d:05\.5[+-]\d\d(:\d\d)?", at)  # ISO, as psql shows it


async def test_show_and_explain_run_too_streamed(monitor: PostgresProbe) -> None:
    shown = await monitor.run_statement("SHOW default_transaction_read_only;")
    assert shown.ok and shown.columns == ("default_transaction_read_only",) and shown.rows == (("on",),)
    # DECLARE takes no SHOW or EXPLAIN: they are sent as they are, inside the same transaction
    assert monitor.sent == ["BEGIN READ ONLY", "SHOW default_transaction_read_only", "ROLLBACK"]
    explained = await monitor.run_statement("EXPLAIN SELECT * FROM pg_stat_activity", max_rows=1)
    assert explained.ok and explained.columns == ("QUERY PLAN",)
    assert len(explained.rows) == 1 and explained.truncated  # the plan has more lines than one
    assert session_is_clean(monitor)
    assert (await monitor.run_statement(COUNT)).ok


async def test_an_empty_result_keeps_its_columns(monitor: PostgresProbe) -> None:
    reading = await monitor.run_statement("SELECT pid, state FROM pg_stat_activity WHERE false")
    assert reading.ok and reading.columns == ("pid", "state") and reading.rows == ()
    assert not reading.truncated


# --- at most max_rows -----------------------------------------------------------------------------------


async def test_rows_past_max_rows_are_cut_and_never_transferred(monitor: PostgresProbe) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    # ~400 catalog rows cubed: tens of millions of rows, of which the server computes four
    huge = "SELECT a.oid FROM pg_class AS a, pg_class AS b, pg_class AS c"
    reading = await monitor.run_statement(huge, max_rows=3)
    assert loop.time() - started < 1.0
    assert reading.ok, reading.problem
    assert len(reading.rows) == 3 and reading.truncated
    assert monitor.sent == sent_as(huge, max_rows=3)
    assert session_is_clean(monitor)
    again = await monitor.run_statement("SELECT g FROM generate_series(1, 3) AS g", max_rows=3)
    assert again.ok and len(again.rows) == 3 and not again.truncated  # exactly max_rows is everything
    default = await monitor.run_statement("SELECT g FROM generate_series(1, 60) AS g")
    assert len(default.rows) == 50 and default.truncated


async def test_a_statement_never_overlaps_a_poll_and_the_poll_still_works(monitor: PostgresProbe) -> None:
    snapshot, reading = await asyncio.gather(monitor.poll(), monitor.run_statement(COUNT))
    assert snapshot.health.state == "ok" and reading.ok
    at = monitor.sent.index("BEGIN READ ONLY")
    assert monitor.sent[at : at + 5] == sent_as("SELECT count(*) FROM pg_stat_activity")
    pid = monitor._conn.info.backend_pid if monitor._conn else None
    after = await monitor.poll()
    assert after.health.state == "ok"
    assert monitor._conn is not None and monitor._conn.info.backend_pid == pid  # one session throughout
    assert after.read_only


# --- refused, never sent ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ("DELETE FROM orders WHERE id = 1", "refused: DELETE writes data"),
        (
            "SELECT pg_terminate_backend(1)",
            "refused: pg_terminate_backend() terminates another session, even in a read-only transaction",
        ),
        ("SELECT 1; SELECT 2", "refused: more than one statement (something follows a ';')"),
    ],
)
async def test_a_refused_statement_says_why_and_never_reaches_the_server(
    pg_server: PgLab, statement: str, reason: str
) -> None:
    marker = f"oncall-test-{uuid.uuid4().hex}"
    marked = f"{statement} /* {marker} */ AND true" if "DELETE" in statement else f"{statement}, '{marker}'"
    probe = probe_for(pg_server)
    try:
        refused = await probe.run_statement(marked)
        assert probe.sent == [] and probe._conn is None  # nothing sent; not even a connection opened
        control = await probe.run_statement(f"SELECT '{marker}' AS control")
    finally:
        await probe.aclose()
    assert not refused.ok and refused.read_at is None and refused.rows == ()
    assert refused.problem is not None and refused.problem.startswith(reason)
    assert refused.what == marked
    assert control.ok and control.rows == ((marker,),)
    logged = [text for text in pg_server.statements_logged("oncall") if marker in text]
    # the server saw the allowed one only
    assert logged == [f"DECLARE \"oncall_statement\" NO SCROLL CURSOR FOR SELECT '{marker}' AS control"]


async def test_the_server_logged_the_statement_inside_a_read_only_transaction(pg_server: PgLab) -> None:
    marker = f"oncall-test-{uuid.uuid4().hex}"
    statement = f"SELECT /* {marker} */ count(*) FROM pg_stat_activity"
    probe = probe_for(pg_server)
    try:
        await probe.run_statement(f"{statement}; -- a trailing comment is left off too")
    finally:
        await probe.aclose()
    logged = pg_server.statements_logged("oncall")
    at = next(i for i, text in enumerate(logged) if marker in text)
    assert probe.sent == sent_as(statement)
    assert logged[at - 2 : at + 3] == [text.splitlines()[0] for text in probe.sent]  # the log's first lines


async def test_not_configured_says_so_without_connecting() -> None:
    probe = PostgresProbe(PostgresSettings())
    reading = await probe.run_statement(COUNT)
    assert reading.problem == NOT_CONFIGURED and probe.sent == []


# --- failures in plain words -----------------------------------------------------------------------------


async def test_statement_timeout_is_said_plainly_and_the_session_is_kept(
    pg_server: PgLab, pg_conditions: PgConditions
) -> None:
    probe = probe_for(pg_server, statement_timeout=1.0)
    try:
        # longer than the timeout on its face: the guard refuses it before anything is sent
        refused = await probe.run_statement("SELECT pg_sleep(10)")
        assert refused.problem == (
            "refused: pg_sleep() would sleep 10 s, longer than the 1 s statement timeout"
        )
        assert probe.sent == []
        # 4 x 0.5 s: the guard can't count rows, the server's statement_timeout stops it
        slept = await probe.run_statement("SELECT pg_sleep(0.5) FROM generate_series(1, 4)")
        assert slept.problem == "statement timeout after 1s"
        assert not slept.ok and slept.rows == ()
        pid = probe._conn.info.backend_pid if probe._conn else None
        assert pid is not None and session_is_clean(probe)  # rolled back, kept: no reconnect needed
        # the user's read waits behind the lab's ACCESS EXCLUSIVE lock on orders until the timeout
        blocked = await probe.run_statement(f"SELECT count(*) FROM {SEQ_SCAN_TABLE}")
        assert blocked.problem == "statement timeout after 1s"
        after = await probe.run_statement(COUNT)
        assert after.ok and probe._conn is not None and probe._conn.info.backend_pid == pid
    finally:
        await probe.aclose()


async def test_role_without_pg_monitor_sees_insufficient_privilege_not_a_failure(
    pg_server: PgLab, pg_conditions: PgConditions
) -> None:
    probe = probe_for(pg_server, "oncall_plain")
    try:
        reading = await probe.run_statement(
            f"SELECT pid, application_name, query FROM pg_stat_activity WHERE pid = {pg_conditions.slow_pid}"
        )
        denied = await probe.run_statement("SELECT * FROM pg_config()")  # the guard allows it, the server not
        after = await probe.run_statement(BY_APPLICATION)
    finally:
        await probe.aclose()
    assert reading.ok, reading.problem
    assert reading.rows == ((str(pg_conditions.slow_pid), "inmidst-batch", HIDDEN_QUERY),)
    assert denied.problem == "permission denied: permission denied for function pg_config"
    assert denied.read_at is None
    assert after.ok and dict(after.rows)[APP_NAME] == str(IDLE_CONNECTIONS)  # the session survived it


async def test_server_down_and_a_lost_session_are_said_plainly(pg_server: PgLab) -> None:
    port = free_port()
    nowhere = PostgresProbe(
        PostgresSettings(dsn=f"host=127.0.0.1 port={port} dbname=inmidst user=oncall_monitor")
    )
    try:
        down = await nowhere.run_statement(COUNT)
    finally:
        await nowhere.aclose()
    assert down.problem == f"connection refused at 127.0.0.1:{port}" and down.read_at is None

    probe = probe_for(pg_server)
    try:
        assert (await probe.run_statement(COUNT)).ok
        assert probe._conn is not None
        pid = probe._conn.info.backend_pid
        with psycopg.connect(pg_server.admin_dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        lost = await probe.run_statement(COUNT)
        assert lost.problem is not None and lost.problem.startswith("server closed the connection")
        assert probe._conn is None  # dropped: the next read connects again
        back = await probe.run_statement(COUNT)
        assert back.ok and probe._conn is not None and probe._conn.info.backend_pid != pid
    finally:
        await probe.aclose()


async def test_a_cancelled_caller_never_leaves_the_session_in_a_transaction(pg_server: PgLab) -> None:
    probe = probe_for(pg_server)
    try:
        assert (await probe.run_statement(COUNT)).ok
        task = asyncio.create_task(probe.run_statement("SELECT pg_sleep(3)"))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert probe._conn is None  # closed mid-transaction rather than reused
        snapshot = await probe.poll()
        assert snapshot.health.state == "ok", snapshot.health.last_error
        # and the statement was cancelled on the server, not left running there (the poll's own is hidden)
        assert [s.query for s in snapshot.sessions if s.application == "oncall" and s.state == "active"] == []
    finally:
        await probe.aclose()
