"""The PostgreSQL probe against a real server holding real conditions: sessions, locks, stats, faults."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from probes.base import poll_until
from probes.postgres import HIDDEN_QUERY, PgSnapshot, PostgresProbe
from tests.helpers import oncall
from tests.labs.postgres import (
    APP_NAME,
    DEAD_TUPLE_TABLE,
    DEAD_TUPLES,
    IDLE_CONNECTIONS,
    NOSTATS_DB,
    SEQ_SCAN_TABLE,
    SLOW_QUERY,
    PgConditions,
    PgLab,
)
from tui.cli.snapshot import format_snapshot, take_snapshot
from tui.config.settings import PostgresSettings, Secret, load_settings

pytestmark = pytest.mark.integration

NOWHERE = Path("/nonexistent-oncall-config")  # no oncall.toml is read from the real user
# the lab's idle-in-transaction session is a little older than this when pg_conditions returns
IDLE_IN_TRANSACTION_THRESHOLD = 1.0


def settings_for(
    lab: PgLab, role: str = "oncall_monitor", database: str = "inmidst", **kw: object
) -> PostgresSettings:
    """Through the real config loader, as a user's ONCALL_POSTGRES would arrive."""
    env = {"ONCALL_POSTGRES": lab.dsn(role, database)}
    settings = load_settings(env=env, cwd=NOWHERE, user_config_dir=NOWHERE).postgres
    return replace(settings, **kw) if kw else settings  # type: ignore[arg-type]


def probe_for(
    lab: PgLab, role: str = "oncall_monitor", database: str = "inmidst", **kw: object
) -> PostgresProbe:
    return PostgresProbe(
        settings_for(lab, role, database, **kw), idle_in_transaction_seconds=IDLE_IN_TRANSACTION_THRESHOLD
    )


@pytest.fixture
async def monitor(pg_server: PgLab, pg_conditions: PgConditions) -> AsyncIterator[PostgresProbe]:
    probe = probe_for(pg_server)
    try:
        yield probe
    finally:
        await probe.aclose()


@pytest.fixture
async def snapshot(monitor: PostgresProbe) -> PgSnapshot:
    snap = await monitor.poll()
    assert snap.health.state == "ok", snap.health.last_error
    return snap


# --- each condition is read correctly -------------------------------------------------------------------


async def test_idle_connections_are_counted_by_application(snapshot: PgSnapshot) -> None:
    pressure = snapshot.pressure
    assert pressure is not None
    assert dict(pressure.by_application)[APP_NAME] == IDLE_CONNECTIONS
    assert pressure.by_application[0] == (APP_NAME, IDLE_CONNECTIONS)  # the most first
    assert dict(pressure.by_state)["idle"] >= IDLE_CONNECTIONS
    assert pressure.max_connections == 100
    assert pressure.reserved == 3  # superuser_reserved_connections' default on 15
    # 5 idle + idle in transaction + lock holder + waiter + pg_sleep + oncall itself
    assert pressure.used >= IDLE_CONNECTIONS + 5
    assert f"{pressure.used}/100 connections" in (snapshot.health.detail or "")


async def test_idle_sessions_past_the_listing_cap_are_counted_not_listed(
    pg_server: PgLab, pg_conditions: PgConditions
) -> None:
    probe = PostgresProbe(settings_for(pg_server), idle_listed=2)
    try:
        snapshot = await probe.poll()
    finally:
        await probe.aclose()
    assert snapshot.pressure is not None
    idle_listed = [s for s in snapshot.sessions if s.state == "idle"]
    assert len(idle_listed) == 2
    idle_counted = dict(snapshot.pressure.by_state)["idle"]
    assert idle_counted >= IDLE_CONNECTIONS  # counted on the server over every client, listed or not
    assert dict(snapshot.pressure.by_application)[APP_NAME] == IDLE_CONNECTIONS
    assert snapshot.unlisted_idle == idle_counted - 2
    # everything that is not idle is still listed: the lock waiter, the slow query, idle in transaction
    assert {pg_conditions.idle_in_transaction_pid, pg_conditions.waiter_pid} <= {
        s.pid for s in snapshot.sessions
    }


async def test_idle_in_transaction_session_is_listed_with_its_age(
    snapshot: PgSnapshot, pg_conditions: PgConditions
) -> None:
    assert snapshot.pressure is not None
    old = {s.pid: s for s in snapshot.pressure.idle_in_transaction}
    session = old[pg_conditions.idle_in_transaction_pid]
    assert session.state == "idle in transaction"
    assert session.xact_seconds is not None and session.xact_seconds >= IDLE_IN_TRANSACTION_THRESHOLD
    assert session.xact_start is not None and session.xact_start < snapshot.fetched_at  # type: ignore[operator]


async def test_idle_in_transaction_threshold_is_a_parameter(
    pg_server: PgLab, pg_conditions: PgConditions
) -> None:
    probe = PostgresProbe(settings_for(pg_server))  # the runbook's 5 minutes: the lab's sessions are younger
    try:
        snap = await probe.poll()
    finally:
        await probe.aclose()
    assert snap.pressure is not None and snap.pressure.idle_in_transaction == ()


async def test_blocked_session_shows_its_blockers_pid(
    snapshot: PgSnapshot, pg_conditions: PgConditions
) -> None:
    by_pid = {s.pid: s for s in snapshot.sessions}
    waiter = by_pid[pg_conditions.waiter_pid]
    assert waiter.blocked_by == (pg_conditions.lock_holder_pid,)
    assert waiter.wait_event_type == "Lock"
    assert [s.pid for s in snapshot.blocked] == [pg_conditions.waiter_pid]
    assert by_pid[pg_conditions.lock_holder_pid].query.startswith(f"LOCK TABLE {SEQ_SCAN_TABLE}")


async def test_pg_sleep_is_the_longest_running_active_query(
    snapshot: PgSnapshot, pg_conditions: PgConditions
) -> None:
    active = [s for s in snapshot.sessions if s.state == "active" and s.backend_type == "client backend"]
    assert active[0].pid == pg_conditions.slow_pid or active[0].pid == pg_conditions.waiter_pid
    slow = next(s for s in active if s.pid == pg_conditions.slow_pid)
    assert slow.query == SLOW_QUERY
    assert slow.query_seconds is not None and slow.query_seconds >= 1.0
    assert slow.application == "inmidst-batch" and slow.user == "inmidst" and slow.database == "inmidst"
    assert slow.client is not None and slow.client.startswith("127.0.0.1:")
    # sessions come longest first among the active ones
    seconds = [s.query_seconds or 0.0 for s in snapshot.active]
    assert seconds == sorted(seconds, reverse=True)


async def test_the_probes_own_session_is_hidden(monitor: PostgresProbe, snapshot: PgSnapshot) -> None:
    assert monitor._conn is not None
    own = monitor._conn.info.backend_pid
    assert own not in {s.pid for s in snapshot.sessions}
    assert all(s.application != "oncall" for s in snapshot.sessions)


async def test_sequentially_scanned_and_dead_tuple_tables_are_listed(snapshot: PgSnapshot) -> None:
    tables = {t.name: t for t in snapshot.tables}
    orders = tables[SEQ_SCAN_TABLE]
    assert orders.seq_scan > orders.idx_scan
    assert orders.live_tuples == 2000
    events = tables[DEAD_TUPLE_TABLE]
    assert events.dead_tuples == DEAD_TUPLES
    assert events.last_autovacuum is None and events.last_vacuum is None
    assert snapshot.tables[0].name == DEAD_TUPLE_TABLE  # most dead tuples first


async def test_top_statement_comes_from_pg_stat_statements(snapshot: PgSnapshot) -> None:
    assert snapshot.statements_problem is None
    assert snapshot.statements is not None
    top = snapshot.statements[0]
    assert "lab top statement" in top.query
    assert top.calls == 1 and top.mean_ms >= 250 and top.total_ms >= top.mean_ms and top.rows == 1
    means = [s.mean_ms for s in snapshot.statements]
    assert means == sorted(means, reverse=True) and len(means) <= 10


async def test_monitor_role_has_no_warnings_and_check_says_so(
    monitor: PostgresProbe, snapshot: PgSnapshot
) -> None:
    assert snapshot.warnings == ()
    assert snapshot.role == "oncall_monitor" and snapshot.pg_monitor and not snapshot.superuser
    assert not snapshot.can_write and snapshot.read_only
    assert snapshot.server_version.split(".")[0].isdigit()
    health = await monitor.check()
    major = snapshot.server_version
    assert health.state == "ok"
    assert health.detail == (
        f"PostgreSQL {major} as oncall_monitor, pg_monitor yes, pg_stat_statements yes, read-only on"
    )


# --- read-only -------------------------------------------------------------------------------------------


async def test_one_refresh_is_at_most_three_round_trips_and_only_reads(monitor: PostgresProbe) -> None:
    for _ in range(3):
        monitor.sent.clear()
        snap = await monitor.poll()
        assert snap.health.state == "ok"
        assert monitor.round_trips == len(monitor.sent) <= 3
        assert all(text.lstrip().upper().startswith(("SELECT", "WITH")) for text in monitor.sent)


async def test_the_session_refuses_writes(monitor: PostgresProbe, pg_server: PgLab) -> None:
    await monitor.poll()
    conn = monitor._conn
    assert conn is not None
    cursor = await conn.execute("SHOW default_transaction_read_only")
    assert await cursor.fetchone() == {"default_transaction_read_only": "on"}
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        await conn.execute("CREATE TABLE oncall_must_not_exist (id int)")
    cursor = await conn.execute("SHOW statement_timeout")
    assert await cursor.fetchone() == {"statement_timeout": "5s"}


# --- roles and missing pieces ------------------------------------------------------------------------------


async def test_role_without_pg_monitor_sees_insufficient_privilege_and_a_hint(
    pg_server: PgLab, pg_conditions: PgConditions
) -> None:
    probe = probe_for(pg_server, "oncall_plain")
    try:
        snap = await probe.poll()
    finally:
        await probe.aclose()
    assert snap.health.state == "degraded"
    others = [s for s in snap.sessions if s.pid == pg_conditions.slow_pid]
    assert others and others[0].hidden and others[0].query == HIDDEN_QUERY
    assert not snap.pg_monitor
    hint = (
        "role oncall_plain lacks pg_monitor: other users' queries show as <insufficient privilege>; "
        "GRANT pg_monitor TO oncall_plain"
    )
    assert hint in snap.warnings and hint in (snap.health.last_error or "")
    assert snap.statements is None
    assert snap.statements_problem is not None
    assert snap.statements_problem.startswith("role oncall_plain may not read other users' statements")
    assert "GRANT pg_read_all_stats" in snap.statements_problem
    # the counts still work: the database and application_name are visible without pg_monitor
    pressure = snap.pressure
    assert pressure is not None and pressure.used >= IDLE_CONNECTIONS + 5
    assert dict(pressure.by_application)[APP_NAME] == IDLE_CONNECTIONS
    assert dict(pressure.by_state)["unknown"] >= IDLE_CONNECTIONS + 4


async def test_database_without_pg_stat_statements_says_how_to_install_it(pg_server: PgLab) -> None:
    probe = probe_for(pg_server, database=NOSTATS_DB)
    try:
        snap = await probe.poll()
        health = await probe.check()
    finally:
        await probe.aclose()
    assert snap.statements is None
    assert snap.statements_problem == (
        f"pg_stat_statements is not installed in database {NOSTATS_DB}: "
        "CREATE EXTENSION pg_stat_statements (needs shared_preload_libraries)"
    )
    assert probe.round_trips == 2  # no statements query when there is nothing to read
    assert health.state == "degraded" and "pg_stat_statements no" in (health.detail or "")


async def test_superuser_and_writing_roles_are_warned_about(pg_server: PgLab) -> None:
    superuser = probe_for(pg_server, "postgres")
    owner = probe_for(pg_server, "inmidst")
    try:
        su, app = await superuser.poll(), await owner.poll()
    finally:
        await superuser.aclose()
        await owner.aclose()
    assert su.superuser and su.can_write
    assert any(w.startswith("connected as superuser postgres") for w in su.warnings)
    assert not app.superuser and app.can_write
    assert any(w.startswith("role inmidst can write (it owns tables)") for w in app.warnings)


async def test_not_configured_reports_so_without_connecting() -> None:
    probe = PostgresProbe(PostgresSettings())
    snap = await probe.poll()
    assert snap.health.state == "not-configured"
    assert probe.sent == []


# --- faults ------------------------------------------------------------------------------------------------


async def test_server_stopped_mid_session_goes_down_keeps_stale_data_and_recovers(
    pg_factory: Callable[[], PgLab],
) -> None:
    lab = pg_factory()
    clock_times = iter(datetime(2026, 1, 1, 3, 0, second, tzinfo=UTC) for second in range(60))
    probe = PostgresProbe(settings_for(lab), clock=lambda: next(clock_times))
    try:
        first = await probe.poll()
        assert first.health.state == "ok" and first.fetched_at is not None
        lab.stop()
        lost = await probe.poll()
        assert lost.health.state == "down"
        assert lost.health.last_error is not None and (
            "server closed the connection unexpectedly" in lost.health.last_error
            or lost.health.last_error == f"connection refused at 127.0.0.1:{lab.port}"
        )
        assert lost.fetched_at == first.fetched_at  # stale, with its real age
        assert lost.tables == first.tables and lost.pressure == first.pressure
        refused = await probe.poll()
        assert refused.health.last_error == f"connection refused at 127.0.0.1:{lab.port}"
        assert refused.health.last_success == first.fetched_at
        assert probe.next_delay() > probe.settings.refresh  # backing off
        lab.start()
        back = await probe.poll()
        assert back.health.state == "ok", back.health.last_error
        assert back.fetched_at is not None and back.fetched_at > first.fetched_at
        assert probe.next_delay() == probe.settings.refresh
    finally:
        await probe.aclose()


async def test_wrong_password_is_said_plainly(pg_server: PgLab) -> None:
    dsn = pg_server.dsn("oncall_monitor", password="not-the-password")
    settings = load_settings(env={"ONCALL_POSTGRES": dsn}, cwd=NOWHERE, user_config_dir=NOWHERE).postgres
    assert settings.password == Secret("not-the-password")
    probe = PostgresProbe(settings)
    try:
        snap = await probe.poll()
    finally:
        await probe.aclose()
    assert snap.health.state == "down"
    assert snap.health.last_error == "password authentication failed for user oncall_monitor"
    assert "not-the-password" not in repr(snap) and "not-the-password" not in repr(settings)


async def test_statement_timeout_is_said_plainly_and_the_session_is_kept(
    pg_factory: Callable[[], PgLab],
) -> None:
    lab = pg_factory()
    probe = PostgresProbe(settings_for(lab, statement_timeout=1.0))
    try:
        first = await probe.poll()
        assert first.health.state == "ok"
        pid = probe._conn.info.backend_pid if probe._conn else None
        # pg_stat_activity joins pg_database: holding it exclusively makes the activity read wait
        with psycopg.connect(lab.admin_dsn) as blocker:
            blocker.execute("LOCK TABLE pg_catalog.pg_database IN ACCESS EXCLUSIVE MODE")
            stuck = await probe.poll()
            blocker.rollback()
        assert stuck.health.state == "down"
        assert stuck.health.last_error == "statement timeout after 1s"
        assert stuck.fetched_at == first.fetched_at
        again = await probe.poll()
        assert again.health.state == "ok"
        assert probe._conn is not None and probe._conn.info.backend_pid == pid  # no reconnect needed
    finally:
        await probe.aclose()


# --- oncall check and oncall snapshot ---------------------------------------------------------------------


def _pg_env(isolated_env: dict[str, str], dsn: str) -> dict[str, str]:
    env = {k: v for k, v in isolated_env.items() if not k.startswith("PG")}  # libpq's own would apply too
    return {**env, "ONCALL_POSTGRES": dsn}


def test_oncall_check_reports_version_role_and_guard(
    pg_server: PgLab, isolated_env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "oncall.toml"
    config.write_text("[postgres]\nstatement_timeout = 5\n")
    result = oncall("--config", str(config), "check", env=_pg_env(isolated_env, pg_server.dsn()))
    line = next(x for x in result.stdout.splitlines() if x.startswith("postgresql"))
    pattern = (
        r"^postgresql\s+ok\s+PostgreSQL \d+\.\d+ as oncall_monitor, pg_monitor yes, pg_stat_statements yes, "
        rf"read-only on in \d+ ms from 127\.0\.0\.1:{pg_server.port}/inmidst$"
    )
    assert re.match(pattern, line), line
    assert "lab-monitor-pw" not in result.stdout + result.stderr


def test_oncall_check_with_a_plain_role_says_what_is_missing(
    pg_server: PgLab, isolated_env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "oncall.toml"
    config.write_text("")
    result = oncall(
        "--config", str(config), "check", env=_pg_env(isolated_env, pg_server.dsn("oncall_plain"))
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("postgresql"))
    assert re.match(r"^postgresql\s+degraded\s+PostgreSQL \S+ as oncall_plain, pg_monitor no,", line), line
    assert "GRANT pg_monitor TO oncall_plain" in line
    assert result.returncode == 1


async def test_snapshot_includes_the_connection_pressure(
    pg_server: PgLab, pg_conditions: PgConditions
) -> None:
    env = {"ONCALL_POSTGRES": pg_server.dsn()}
    settings = load_settings(env=env, cwd=NOWHERE, user_config_dir=NOWHERE)
    snap = await take_snapshot(settings, None)
    assert snap.postgres is not None and snap.postgres.health.state == "ok"
    now = snap.postgres.fetched_at
    assert now is not None
    text = format_snapshot(snap, None, fmt="text", now=now)
    line = next(x for x in text.splitlines() if x.startswith("PostgreSQL at"))
    assert re.match(
        rf"^PostgreSQL at 127\.0\.0\.1:{pg_server.port}/inmidst: \d+/100 connections \(\d+%, 3 reserved\); ",
        line,
    )
    assert f"by application: {APP_NAME} {IDLE_CONNECTIONS}" in text
    assert f"1 blocked: {pg_conditions.waiter_pid} by {pg_conditions.lock_holder_pid}" in text
    document = json.loads(format_snapshot(snap, None, fmt="json", now=now))
    pressure = document["postgresql"]["pressure"]
    assert pressure["by_application"][APP_NAME] == IDLE_CONNECTIONS
    assert pressure["blocked"] == [
        {"pid": pg_conditions.waiter_pid, "blocked_by": [pg_conditions.lock_holder_pid]}
    ]
    markdown = format_snapshot(snap, None, fmt="markdown", now=now)
    assert "### PostgreSQL at" in markdown


async def test_the_server_logged_only_oncalls_own_reads(pg_factory: Callable[[], PgLab]) -> None:
    lab = pg_factory()
    probe = probe_for(lab)
    try:
        for _ in range(3):
            assert (await probe.poll()).health.state == "ok"
        await probe.check()
    finally:
        await probe.aclose()
    logged = lab.statements_logged("oncall")
    assert len(logged) == len(probe.sent) == 4 * 3  # three round trips per refresh, nothing else
    assert all(text.lstrip().upper().startswith(("SELECT", "WITH")) for text in logged), logged


async def test_run_recovers_on_its_own_when_the_server_returns(pg_factory: Callable[[], PgLab]) -> None:
    lab = pg_factory()
    probe = PostgresProbe(settings_for(lab, refresh=0.1))
    probe.backoff.cap = 0.4  # keep the test short; the real cap is a minute
    states: list[str] = []
    stop = asyncio.Event()

    def seen(snapshot: PgSnapshot) -> None:
        states.append(snapshot.health.state)

    async def wait_for(state: str) -> None:
        async with asyncio.timeout(15):
            while not states or states[-1] != state:
                await asyncio.sleep(0.05)

    task = asyncio.create_task(poll_until(probe.poll, seen, probe.next_delay, stop=stop))
    try:
        await wait_for("ok")
        lab.stop()
        await wait_for("down")
        lab.start()
        await wait_for("ok")
    finally:
        stop.set()
        await task
        await probe.aclose()
    assert states[0] == "ok" and "down" in states and states[-1] == "ok"
