"""A PostgreSQL outage mid-incident loses nothing the driver did: the server is stopped and restarted."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from tests.labs.postgres import SUPERUSER, PgLab
from tui.sessions.backend import open_store
from tui.sessions.store import StoreError

FIRED = datetime(2026, 11, 27, 3, 12, 5, tzinfo=UTC)


def _database(lab: PgLab) -> str:
    with psycopg.connect(lab.dsn(SUPERUSER, "postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE outage")
    return lab.dsn(SUPERUSER, "outage")


def _open(store, who: str = "alice"):
    return store.open_session(
        fingerprint="fp1",
        alertname="HighApiErrorRate",
        active_at=FIRED,
        section_slug="high-api-error-rate",
        summary="API 5xx error rate above 5%",
        labels=(("severity", "critical"),),
        who=who,
    )


def _until_shared(store, timeout: float = 20.0) -> None:
    """What the app's watch does: wait_change again and again; the queue replays once the server answers."""
    deadline = time.monotonic() + timeout
    while store.unshared() and time.monotonic() < deadline:
        store.wait_change(0.2)
    assert store.unshared() == 0


def test_changes_made_during_an_outage_are_queued_shown_and_replayed_in_order(
    pg_factory: Callable[[], PgLab], tmp_path: Path
) -> None:
    lab = pg_factory()
    url = _database(lab)
    driver = open_store(tmp_path / "alice.db", url, host="laptop-a")
    try:
        session = _open(driver)
        driver.set_step(session.id, 0, "done", "alice")
        assert driver.unshared() == 0

        lab.stop()
        second = driver.set_step(session.id, 1, "done", "alice")
        noted = driver.add_note(session.id, "rolled back the deploy", "alice", step_index=1)
        assert driver.unshared() == 2
        # the driver sees its own changes at once, over the last state it read
        assert second.step_state(0) == "done" and second.step_state(1) == "done"
        assert [n.text for n in noted.notes] == ["rolled back the deploy"]
        shown = driver.get(session.id)
        assert (shown.step_state(0), shown.step_state(1), shown.notes[0].text) == (
            "done",
            "done",
            "rolled back the deploy",
        )
        assert driver.notice is not None and "can't be reached" in driver.notice
        assert str(tmp_path / "alice.db") in driver.notice
        assert [e.detail for e in driver.timeline(session.id)][-2:] == [
            "step 2 done",
            "step 2: rolled back the deploy",
        ]

        with sqlite3.connect(tmp_path / "alice.db") as raw:
            queued = raw.execute("SELECT * FROM queued_event ORDER BY seq").fetchall()
        assert [row[4] for row in queued] == ["step", "note"]

        lab.start()
        _until_shared(driver)
        assert driver.notice is None

        # oncall killed between the server's commit and emptying its queue: the queue replays again
        with sqlite3.connect(tmp_path / "alice.db") as raw:
            marks = ", ".join("?" for _ in queued[0])
            raw.executemany(f"INSERT INTO queued_event VALUES ({marks})", queued)
        assert driver.unshared() == 2
        _until_shared(driver)

        with open_store(tmp_path / "bob.db", url, host="laptop-b") as other:  # another laptop
            seen = other.get(session.id)
            assert (seen.step_state(0), seen.step_state(1)) == ("done", "done")
            assert [(n.who, n.text) for n in seen.notes] == [("alice", "rolled back the deploy")]
            assert [e.detail for e in other.timeline(session.id)] == [
                "HighApiErrorRate fired",
                "checklist opened",
                "step 1 done",
                "step 2 done",
                "step 2: rolled back the deploy",
            ]
            assert other.unshared() == 0
        # and the replay twice added nothing twice
        with psycopg.connect(url, autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM oncall.event").fetchone() == (5,)
    finally:
        driver.close()


def test_opening_while_the_server_is_down_queues_and_says_so(
    pg_factory: Callable[[], PgLab], tmp_path: Path
) -> None:
    lab = pg_factory()
    url = _database(lab)
    lab.stop()
    with pytest.raises(StoreError, match="can't reach the session store"):
        open_store(tmp_path / "observer.db", url, read_only=True)  # an observer has nothing to show
    driver = open_store(tmp_path / "alice.db", url, host="laptop-a")
    try:
        assert driver.notice is not None
        assert "can't be reached" in driver.notice and "shared when it answers" in driver.notice
        assert "lab-super-pw" not in driver.notice
        session = _open(driver)
        driver.set_step(session.id, 0, "skipped", "alice")
        assert driver.unshared() == 3  # fired, opened, the step
        assert driver.latest_active() == driver.get(session.id)
        lab.start()
        _until_shared(driver)
        shared = driver.find("fp1", FIRED)
        assert shared is not None and shared.step_state(0) == "skipped"
        assert driver.get(session.id).id == shared.id  # the id it had offline still finds it
        driver.add_note(session.id, "back online", "alice")
        with open_store(tmp_path / "bob.db", url, read_only=True) as observer:
            latest = observer.latest_active()
            assert latest is not None and latest.step_state(0) == "skipped"
            assert [n.text for n in latest.notes] == ["back online"]
    finally:
        driver.close()


def test_the_queue_survives_a_restart_of_oncall_itself(
    pg_factory: Callable[[], PgLab], tmp_path: Path
) -> None:
    lab = pg_factory()
    url = _database(lab)
    with open_store(tmp_path / "alice.db", url) as driver:
        session = _open(driver)
    lab.stop()
    with open_store(tmp_path / "alice.db", url) as driver:
        _open(driver, who="bob")
        assert driver.unshared() >= 1
    lab.start()
    with open_store(tmp_path / "alice.db", url) as driver:  # opening replays it
        assert driver.unshared() == 0
        assert driver.get(session.id).driver == "bob"
