"""`oncall store copy` between a SQLite file and a real PostgreSQL, and `oncall sessions` / `oncall export`
reading either store."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from tests.helpers import oncall
from tests.labs.postgres import SUPERUSER, SUPERUSER_PASSWORD, PgLab
from tui.sessions.backend import Store, open_store
from tui.sessions.store import SessionStore

FIRED = datetime(2026, 11, 27, 2, 46, tzinfo=UTC)
T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def pg_url(pg_server: PgLab) -> str:
    """A URL (as a user types it) to a new empty database on the suite's PostgreSQL."""
    name = f"copy_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.dsn(SUPERUSER, "postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"postgresql://{SUPERUSER}:{SUPERUSER_PASSWORD}@127.0.0.1:{pg_server.port}/{name}"


def _fill(path: Path) -> None:
    with SessionStore.open(path, clock=Clock(), host="bastion") as store:
        first = store.open_session(
            fingerprint="abc123",
            alertname="HighDatabaseConnections",
            active_at=FIRED,
            section_slug="high-database-connections",
            summary="connections at 87%",
            labels=(("alertname", "HighDatabaseConnections"), ("severity", "critical")),
            who="alice@bastion",
        )
        store.set_step(first.id, 0, "done", "alice@bastion", evidence="412 of 500")
        store.set_step(first.id, 1, "skipped", "alice@bastion")
        store.set_step(first.id, 1, "done", "bob@laptop")
        store.add_note(first.id, "412 of 500 used by api", "alice@bastion", step_index=0)
        store.mark_resolved("abc123", FIRED, FIRED + timedelta(minutes=30))
        second = store.open_session(
            fingerprint="def456",
            alertname="HighApiErrorRate",
            active_at=FIRED + timedelta(hours=1),
            section_slug="high-api-error-rate",
            summary="5xx above 5%",
            labels=(),
            who="bob@laptop",
        )
        store.add_note(second.id, "looking", "bob@laptop")


def _picture(store: Store) -> list[object]:
    """Everything a user can see of a store's sessions (ids aside: each store numbers its own)."""
    out: list[object] = []
    for session in sorted(store.sessions(), key=lambda s: s.fingerprint):
        out.append(
            (
                session.fingerprint,
                session.alertname,
                session.active_at,
                session.resolved_at,
                session.driver,
                session.last_change_at,
                [(r.index, r.state, r.who, r.at, r.evidence, r.host) for r in session.steps.values()],
                [(n.step_index, n.who, n.at, n.text) for n in session.notes],
                store.timeline(session.id),
                store.step_history(session.id, 1),
            )
        )
    return out


def test_sqlite_to_postgresql_to_sqlite_keeps_every_session_and_copies_nothing_twice(
    tmp_path: Path, pg_url: str, isolated_env: dict[str, str]
) -> None:
    source, back = tmp_path / "laptop.db", tmp_path / "archive.db"
    _fill(source)

    there = oncall("store", "copy", str(source), pg_url, env=isolated_env)
    assert there.returncode == 0, there.stderr
    assert "copied HighDatabaseConnections fired 2026-11-27 02:46Z (7 events)" in there.stdout
    assert "copied 2 of 2 sessions (10 events)" in there.stdout
    assert SUPERUSER_PASSWORD not in there.stdout + there.stderr
    again = oncall("store", "copy", str(source), pg_url, env=isolated_env)
    assert again.returncode == 0, again.stderr
    assert "nothing to copy" in again.stdout and "already has all 2 sessions" in again.stdout

    home = oncall("store", "copy", pg_url, str(back), env=isolated_env)
    assert home.returncode == 0, home.stderr
    with (
        SessionStore.open(source, read_only=True) as a,
        open_store(tmp_path / "q.db", pg_url, read_only=True) as b,
        SessionStore.open(back, read_only=True) as c,
    ):
        assert _picture(a) == _picture(b) == _picture(c)
        assert len(_picture(a)) == 2
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM oncall.event").fetchone() == (10,)


def test_sessions_and_export_read_the_postgresql_store(
    tmp_path: Path, pg_url: str, isolated_env: dict[str, str]
) -> None:
    _fill(tmp_path / "laptop.db")
    assert oncall("store", "copy", str(tmp_path / "laptop.db"), pg_url, env=isolated_env).returncode == 0
    listed = oncall("sessions", "--store", pg_url, env=isolated_env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert "HighApiErrorRate" in lines[0] and "active" in lines[0]
    assert (
        "HighDatabaseConnections" in lines[1] and "2 steps ticked" in lines[1] and "alice@bastion" in lines[1]
    )
    exported = oncall("export", "latest", "--store", pg_url, env=isolated_env)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith("# HighApiErrorRate")
    number = lines[1].split()[0]
    full = oncall("export", number, "--store", pg_url, env=isolated_env)
    assert full.returncode == 0, full.stderr
    assert "✓ done" in full.stdout and "412 of 500 used by api" in full.stdout
    assert "Check current connections" in full.stdout  # the runbook's step text


def test_copy_says_what_is_wrong_in_plain_words(tmp_path: Path, pg_server: PgLab, isolated_env) -> None:
    _fill(tmp_path / "laptop.db")
    missing = oncall("store", "copy", str(tmp_path / "nope.db"), str(tmp_path / "x.db"), env=isolated_env)
    assert missing.returncode == 1
    assert f"can't read {tmp_path / 'nope.db'}: no session store at" in missing.stderr
    bad = f"postgresql://postgres:wrong-pw@127.0.0.1:{pg_server.port}/postgres"
    refused = oncall("store", "copy", str(tmp_path / "laptop.db"), bad, env=isolated_env)
    assert refused.returncode == 1
    assert "password authentication failed" in refused.stderr
    assert "wrong-pw" not in refused.stderr and "Traceback" not in refused.stderr
    assert f"postgresql://postgres:••••@127.0.0.1:{pg_server.port}/postgres" in refused.stderr
    garbled = oncall("store", "copy", str(tmp_path / "laptop.db"), "postgresql://a:b@[oops", env=isolated_env)
    assert garbled.returncode == 1 and "Traceback" not in garbled.stderr
    assert "not a usable PostgreSQL URL" in garbled.stderr
    same = oncall("store", "copy", str(tmp_path / "laptop.db"), str(tmp_path / "laptop.db"), env=isolated_env)
    assert same.returncode == 2 and "the same store" in same.stderr
    down = "postgresql://postgres:pw@127.0.0.1:1/postgres"
    unreachable = oncall("sessions", "--store", down, env=isolated_env)
    assert unreachable.returncode == 1
    assert (
        "can't reach the session store postgresql://postgres:••••@127.0.0.1:1/postgres" in unreachable.stderr
    )
