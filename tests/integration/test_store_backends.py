"""One suite for every session store: the SQLite file and a real PostgreSQL behave the same to a user (events
kept, state derived, two drivers' changes both kept, observers refused every write, changes pushed)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.helpers import FIRED, SteppingClock, open_test_session
from tests.labs.postgres import SUPERUSER, PgLab
from tui.sessions.backend import Store, open_store
from tui.sessions.postgres import PG_SCHEMA_VERSION, PostgresStore
from tui.sessions.store import StoreError

T0 = datetime(2026, 11, 27, 3, 14, 0, tzinfo=UTC)


class Clock(SteppingClock):
    def __init__(self, start: datetime = T0) -> None:
        super().__init__(start)


def fresh_database(lab: PgLab) -> str:
    """A new empty database on the suite's PostgreSQL; its superuser URL."""
    name = f"store_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(lab.dsn(SUPERUSER, "postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return lab.dsn(SUPERUSER, name)


Opener = Callable[..., Store]


@pytest.fixture(params=["sqlite", "postgresql"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Open a store on this test's backend: every call reaches the same sessions (another laptop)."""
    url = fresh_database(request.getfixturevalue("pg_server")) if request.param == "postgresql" else None
    opened: list[Store] = []
    count = iter(range(1000))

    def open_one(*, read_only: bool = False, clock: Any = None, host: str = "laptop-a") -> Store:
        # each PostgreSQL client has its own local queue file; SQLite clients share the one file
        path = tmp_path / ("sessions.db" if url is None else f"queue-{next(count)}.db")
        store = open_store(path, url, read_only=read_only, clock=clock or Clock(), host=host)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()


@pytest.fixture
def store(opener: Opener) -> Store:
    return opener()


_open = open_test_session


def test_opening_a_session_records_fired_then_opened_with_the_host(store: Store) -> None:
    session = _open(store)
    assert (session.alertname, session.opened_by, session.driver) == ("HighApiErrorRate", "alice", "alice")
    assert (session.active_at, session.opened_at, session.resolved_at) == (FIRED, T0, None)
    assert session.labels == (("severity", "critical"), ("service", "inmidst-api"))
    assert [(e.kind, e.at, e.who, e.detail, e.host) for e in store.timeline(session.id)] == [
        ("fired", FIRED, "", "HighApiErrorRate fired", "laptop-a"),
        ("opened", T0, "alice", "checklist opened", "laptop-a"),
    ]


def test_reopening_resumes_the_session_and_only_changes_the_driver(store: Store) -> None:
    first = _open(store, who="alice")
    store.set_step(first.id, 0, "done", "alice")
    resumed = _open(store, who="bob")
    assert (resumed.id, resumed.opened_by, resumed.driver) == (first.id, "alice", "bob")
    assert resumed.step_state(0) == "done"
    assert [e.kind for e in store.timeline(first.id)] == ["fired", "opened", "step"]
    assert _open(store, active_at=FIRED + timedelta(hours=2)).id != first.id


def test_steps_notes_and_resolution_are_recorded_and_shown(store: Store) -> None:
    session = _open(store)
    ticked = store.set_step(session.id, 1, "done", "alice", evidence="inmidst-api-7f9c 3 restarts")
    record = ticked.steps[1]
    assert (record.state, record.who, record.evidence, record.host) == (
        "done",
        "alice",
        "inmidst-api-7f9c 3 restarts",
        "laptop-a",
    )
    assert ticked.last_change_at == record.at
    assert store.set_step(session.id, 1, "done", "bob") == ticked  # the same state again: nothing changes
    store.set_step(session.id, 1, "pending", "bob")
    store.add_note(session.id, "  502s come from the ingress only \n", "alice", step_index=1)
    noted = store.add_note(session.id, "paged the DB team", "bob")
    assert [(n.step_index, n.who, n.text) for n in noted.notes] == [
        (1, "alice", "502s come from the ingress only"),
        (None, "bob", "paged the DB team"),
    ]
    with pytest.raises(StoreError, match="the note is empty"):
        store.add_note(session.id, "  ", "alice")
    resolved_at = FIRED + timedelta(minutes=28)
    resolved = store.mark_resolved("fp1", FIRED, resolved_at)
    assert resolved is not None and resolved.resolved_at == resolved_at
    assert store.mark_resolved("fp1", FIRED, resolved_at + timedelta(minutes=5)) == resolved
    assert store.mark_resolved("unknown", FIRED, resolved_at) is None
    assert [e.detail for e in store.timeline(session.id)] == [
        "HighApiErrorRate fired",
        "checklist opened",
        "step 2 done",
        "step 2 back to pending",
        "step 2: 502s come from the ingress only",
        "paged the DB team",
        "HighApiErrorRate resolved",
    ]


def test_sessions_are_listed_newest_change_first_and_the_latest_active_is_followed(store: Store) -> None:
    older = _open(store, fingerprint="fp-old")
    newer = _open(store, fingerprint="fp-new")
    assert [s.id for s in store.sessions()] == [newer.id, older.id]
    store.set_step(older.id, 0, "done", "alice")
    assert [s.id for s in store.sessions()] == [older.id, newer.id]
    assert [s.id for s in store.sessions(limit=1)] == [older.id]
    store.mark_resolved("fp-old", FIRED, FIRED + timedelta(minutes=1))
    latest = store.latest_active()
    assert latest is not None and latest.id == newer.id


def test_meta_and_untrusted_text_are_kept_verbatim(store: Store) -> None:
    assert store.get_meta("demo_anchor") is None
    store.set_meta("demo_anchor", "a")
    store.set_meta("demo_anchor", "b")
    assert store.get_meta("demo_anchor") == "b"
    who = "mallory\x1b[31m|[/b]'; --"
    session = store.open_session(
        fingerprint="fp|'\";--",
        alertname="X",
        active_at=FIRED,
        section_slug=None,
        summary="s\x1b]0;owned\x07",
        labels=(("a|b", "c\nd"),),
        who=who,
    )
    store.add_note(session.id, "DROP TABLE event; --", who)
    found = store.find("fp|'\";--", FIRED)
    assert found is not None
    assert (found.opened_by, found.summary, found.labels) == (who, "s\x1b]0;owned\x07", (("a|b", "c\nd"),))
    assert found.notes[0].text == "DROP TABLE event; --"


def test_a_missing_session_and_a_bad_step_are_refused_in_plain_words(store: Store) -> None:
    session = _open(store)
    with pytest.raises(StoreError, match="no incident session #4242"):
        store.set_step(4242, 0, "done", "alice")
    with pytest.raises(StoreError, match="unknown step state 'finished'"):
        store.set_step(session.id, 0, "finished", "alice")  # type: ignore[arg-type]


def test_two_drivers_ticks_are_both_kept_the_later_shown_and_the_history_has_both(opener: Opener) -> None:
    clock = Clock()
    alice = opener(clock=clock, host="laptop-a")
    bob = opener(clock=clock, host="laptop-b")
    session = _open(alice)
    alice.set_step(session.id, 2, "done", "alice")
    bob.set_step(session.id, 2, "skipped", "bob")
    for store in (alice, bob):
        seen = store.get(session.id)
        assert (seen.steps[2].state, seen.steps[2].who, seen.steps[2].host) == ("skipped", "bob", "laptop-b")
        assert seen.driver == "bob"
    history = alice.step_history(session.id, 2)
    assert [(r.state, r.who, r.host) for r in history] == [
        ("done", "alice", "laptop-a"),
        ("skipped", "bob", "laptop-b"),
    ]
    assert history[0].at < history[1].at
    assert [(e.who, e.detail) for e in bob.timeline(session.id)][-2:] == [
        ("alice", "step 3 done"),
        ("bob", "step 3 skipped"),
    ]


def test_an_observer_sees_changes_and_every_write_is_refused(opener: Opener) -> None:
    writer = opener()
    session = _open(writer)
    observer = opener(read_only=True)
    for attempt in (
        lambda: observer.set_step(session.id, 0, "done", "eve"),
        lambda: observer.add_note(session.id, "hi", "eve"),
        lambda: _open(observer, who="eve"),
        lambda: observer.mark_resolved("fp1", FIRED, FIRED),
        lambda: observer.set_meta("k", "v"),
    ):
        with pytest.raises(StoreError, match="read-only"):
            attempt()
    writer.set_step(session.id, 3, "skipped", "alice")
    assert observer.get(session.id).step_state(3) == "skipped"
    assert writer.get(session.id).driver == "alice"
    assert observer.unshared() == 0 and observer.moved() is None


def test_another_writers_commit_moves_wait_change(opener: Opener) -> None:
    writer = opener()
    session = _open(writer)
    observer = opener(read_only=True)
    before = observer.wait_change(0)
    assert observer.wait_change(0) == before  # nothing committed: no reload
    writer.add_note(session.id, "joined", "bob")
    after = observer.wait_change(0.3)
    assert after != before
    assert [n.text for n in observer.get(session.id).notes] == ["joined"]


def test_a_store_is_usable_from_many_threads(store: Store) -> None:
    session = _open(store)
    workers = [
        threading.Thread(target=lambda i=i: store.set_step(session.id, i, "done", f"w{i}")) for i in range(6)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(store.get(session.id).steps) == list(range(6))


# ---------------------------------------------------------------------------------- PostgreSQL only


@pytest.fixture
def pg_url(pg_server: PgLab) -> str:
    return fresh_database(pg_server)


def test_postgres_blocks_on_listen_and_wakes_on_a_commit(pg_url: str, tmp_path: Path) -> None:
    with (
        PostgresStore.open(pg_url, tmp_path / "a.db") as writer,
        PostgresStore.open(pg_url, None, read_only=True) as observer,
    ):
        session = _open(writer)
        version = observer.wait_change(0)
        start = time.monotonic()
        assert observer.wait_change(0.5) == version  # nothing happened: it waited the whole time
        assert time.monotonic() - start >= 0.45
        timer = threading.Timer(0.2, lambda: writer.set_step(session.id, 0, "done", "alice"))
        timer.start()
        start = time.monotonic()
        woke = observer.wait_change(10)
        waited = time.monotonic() - start
        timer.join()
        assert woke != version
        assert 0.15 < waited < 2.0  # woken by the NOTIFY, long before the timeout
        assert observer.get(session.id).step_state(0) == "done"


def test_postgres_schema_has_a_version_and_a_newer_one_opens_read_only(pg_url: str, tmp_path: Path) -> None:
    PostgresStore.open(pg_url, tmp_path / "a.db").close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT version FROM oncall.schema_version").fetchone() == (PG_SCHEMA_VERSION,)
        conn.execute("UPDATE oncall.schema_version SET version = version + 1")
    with PostgresStore.open(pg_url, tmp_path / "a.db") as newer:
        assert newer.read_only
        assert newer.notice is not None and "made by a newer oncall" in newer.notice
        assert "opened read-only" in newer.notice
        assert newer.sessions() == []
        with pytest.raises(StoreError, match="read-only"):
            _open(newer)


def test_postgres_observer_before_any_driver_is_told_to_start_one(pg_url: str) -> None:
    with pytest.raises(StoreError, match=r"no session store at postgresql://.* yet: start oncall"):
        PostgresStore.open(pg_url, None, read_only=True)


def test_postgres_errors_are_plain_and_never_show_the_password(pg_server: PgLab, tmp_path: Path) -> None:
    secret = "s3cr3t-not-shown"
    url = f"postgresql://oncall_plain:{secret}@127.0.0.1:{pg_server.port}/postgres"
    with pytest.raises(StoreError) as caught:
        open_store(tmp_path / "q.db", url)
    message = str(caught.value)
    assert secret not in message and "Traceback" not in message
    assert "password authentication failed" in message
    assert f"postgresql://oncall_plain:••••@127.0.0.1:{pg_server.port}/postgres" in message
    with pytest.raises(StoreError, match="not a usable PostgreSQL URL"):
        open_store(tmp_path / "q.db", "postgresql://a:b@[broken")


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        (
            "postgresql://alice:pw-9@db.internal:5432/oncall",
            "postgresql://alice:••••@db.internal:5432/oncall",
        ),
        ("postgresql://alice@db.internal/oncall", "postgresql://alice@db.internal/oncall"),
        ("postgresql://db.internal/oncall?password=pw-9&sslmode=require", "postgresql://db.internal/oncall"),
        (
            "host=db.internal port=5432 dbname=oncall user=bob password=pw-9",
            "postgresql://bob@db.internal:5432/oncall",
        ),
    ],
)
def test_the_store_is_named_without_its_password(given: str, shown: str) -> None:
    store = PostgresStore(given, None, read_only=True)
    assert store.location == shown and "pw-9" not in store.location


@pytest.mark.parametrize(
    "given",
    [
        "postgresql://alice:pw-9@[broken",
        "postgresql://alice:pw-9@db/x?bogus=1",
        "host=db password=pw-9 bogus",
    ],
)
def test_a_malformed_address_is_refused_in_plain_words_without_its_password(
    given: str, tmp_path: Path
) -> None:
    with pytest.raises(StoreError, match="not a usable PostgreSQL URL") as caught:
        open_store(tmp_path / "q.db", given)
    assert "pw-9" not in str(caught.value)


def test_postgres_observer_connections_are_read_only_even_for_a_role_that_may_write(
    pg_url: str, tmp_path: Path
) -> None:
    PostgresStore.open(pg_url, tmp_path / "a.db").close()  # a driver made the schema
    with PostgresStore.open(pg_url, None, read_only=True) as observer:  # pg_url's role is the superuser
        assert observer._conn is not None
        assert observer._conn.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            observer._conn.execute("INSERT INTO oncall.meta (key, value) VALUES ('k', 'v')")
