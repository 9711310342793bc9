"""The session store: durable step states, notes and timeline; read-only observers; plain-word errors."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.helpers import FIRED, SteppingClock, open_test_session
from tui.sessions.store import APPLICATION_ID, SCHEMA_VERSION, SessionStore, StoreError

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 27, 3, 14, 0, tzinfo=UTC)


class Clock(SteppingClock):
    def __init__(self, start: datetime = T0) -> None:
        super().__init__(start)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state" / "sessions.db"


@pytest.fixture
def store(db: Path) -> Iterator[SessionStore]:
    with SessionStore.open(db, clock=Clock()) as opened:
        yield opened


_open = open_test_session


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------------------ the writer


def test_writer_creates_parent_dirs_and_a_wal_store_with_a_schema_version(db: Path) -> None:
    SessionStore.open(db).close()
    raw = sqlite3.connect(db)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert raw.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    finally:
        raw.close()


def test_writer_commits_with_full_sync_foreign_keys_and_a_busy_timeout(store: SessionStore) -> None:
    conn = store._conn
    assert conn is not None
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_opening_a_session_records_fired_then_opened(store: SessionStore) -> None:
    session = _open(store)
    assert (session.alertname, session.opened_by, session.driver) == ("HighApiErrorRate", "alice", "alice")
    assert session.active_at == FIRED
    assert session.opened_at == T0
    assert session.resolved_at is None
    assert session.labels == (("severity", "critical"), ("service", "inmidst-api"))
    assert session.steps == {}
    assert [(e.kind, e.at, e.who, e.detail) for e in store.timeline(session.id)] == [
        ("fired", FIRED, "", "HighApiErrorRate fired"),
        ("opened", T0, "alice", "checklist opened"),
    ]


def test_reopening_the_same_alert_resumes_its_session_and_only_changes_the_driver(
    store: SessionStore,
) -> None:
    first = _open(store, who="alice")
    store.set_step(first.id, 0, "done", "alice")
    resumed = _open(store, who="bob")
    assert resumed.id == first.id
    assert resumed.opened_by == "alice"
    assert resumed.driver == "bob"
    assert resumed.step_state(0) == "done"
    assert [e.kind for e in store.timeline(first.id)] == ["fired", "opened", "step"]


def test_the_same_instant_in_another_timezone_is_the_same_session(store: SessionStore) -> None:
    first = _open(store)
    paris = FIRED.astimezone(timezone(timedelta(hours=1)))
    assert _open(store, active_at=paris).id == first.id
    assert store.find("fp1", paris) == store.get(first.id)


def test_a_new_firing_of_the_same_alert_is_a_new_session(store: SessionStore) -> None:
    first = _open(store)
    again = _open(store, active_at=FIRED + timedelta(hours=2))
    assert again.id != first.id


def test_ticking_a_step_records_its_state_who_and_when_and_a_timeline_line(store: SessionStore) -> None:
    session = _open(store)
    ticked = store.set_step(session.id, 1, "done", "alice", evidence="inmidst-api-7f9c 3 restarts")
    record = ticked.steps[1]
    assert (record.state, record.who, record.evidence) == ("done", "alice", "inmidst-api-7f9c 3 restarts")
    assert record.at.tzinfo is not None and record.at.utcoffset() == timedelta(0)
    assert ticked.step_state(1) == "done" and ticked.step_state(0) == "pending"
    assert ticked.last_change_at == record.at
    last = store.timeline(session.id)[-1]
    assert (last.kind, last.who, last.detail, last.at) == ("step", "alice", "step 2 done", record.at)


def test_skipping_and_reopening_a_step_are_each_recorded(store: SessionStore) -> None:
    session = _open(store)
    store.set_step(session.id, 0, "skipped", "alice")
    reopened = store.set_step(session.id, 0, "pending", "bob")
    assert reopened.steps[0].state == "pending" and reopened.steps[0].who == "bob"
    assert [e.detail for e in store.timeline(session.id)][-2:] == ["step 1 skipped", "step 1 back to pending"]


def test_setting_the_same_state_again_changes_nothing(store: SessionStore) -> None:
    session = _open(store)
    ticked = store.set_step(session.id, 2, "done", "alice")
    again = store.set_step(session.id, 2, "done", "bob")
    assert again == ticked
    assert len(store.timeline(session.id)) == 3
    untouched = store.set_step(session.id, 5, "pending", "bob")  # pending is every step's starting state
    assert 5 not in untouched.steps and untouched.driver == "alice"


@pytest.mark.parametrize(
    ("index", "state", "message"),
    [(0, "finished", "unknown step state 'finished'"), (-1, "done", "step index -1 is negative")],
)
def test_a_bad_step_change_is_refused_in_plain_words(store: SessionStore, index, state, message) -> None:
    session = _open(store)
    with pytest.raises(StoreError, match=message):
        store.set_step(session.id, index, state, "alice")


def test_changing_a_missing_session_is_refused(store: SessionStore) -> None:
    with pytest.raises(StoreError, match="no incident session #42"):
        store.set_step(42, 0, "done", "alice")
    with pytest.raises(StoreError, match="no incident session #42"):
        store.get(42)


def test_notes_are_kept_in_order_with_their_step_and_timeline_line(store: SessionStore) -> None:
    session = _open(store)
    store.add_note(session.id, "  502s come from the ingress only \n", "alice", step_index=1)
    noted = store.add_note(session.id, "paged the DB team", "bob")
    assert [(n.step_index, n.who, n.text) for n in noted.notes] == [
        (1, "alice", "502s come from the ingress only"),
        (None, "bob", "paged the DB team"),
    ]
    assert noted.driver == "bob"
    assert [(e.kind, e.detail) for e in store.timeline(session.id)][-2:] == [
        ("note", "step 2: 502s come from the ingress only"),
        ("note", "paged the DB team"),
    ]


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_an_empty_note_is_refused_and_nothing_is_saved(store: SessionStore, text: str) -> None:
    session = _open(store)
    with pytest.raises(StoreError, match="the note is empty"):
        store.add_note(session.id, text, "alice")
    assert store.get(session.id).notes == ()
    assert len(store.timeline(session.id)) == 2


def test_resolution_is_recorded_once_at_prometheus_time(store: SessionStore) -> None:
    session = _open(store)
    resolved_at = FIRED + timedelta(minutes=28)
    resolved = store.mark_resolved("fp1", FIRED, resolved_at)
    assert resolved is not None and resolved.resolved_at == resolved_at
    assert store.mark_resolved("fp1", FIRED, resolved_at + timedelta(minutes=5)) == resolved
    entries = store.timeline(session.id)
    assert [(e.kind, e.at, e.who) for e in entries if e.kind == "resolved"] == [("resolved", resolved_at, "")]
    assert store.mark_resolved("unknown", FIRED, resolved_at) is None


def test_sessions_are_listed_newest_change_first_and_the_observer_follows_the_latest_active(
    store: SessionStore,
) -> None:
    older = _open(store, fingerprint="fp-old")
    newer = _open(store, fingerprint="fp-new")
    assert [s.id for s in store.sessions()] == [newer.id, older.id]
    store.set_step(older.id, 0, "done", "alice")
    assert [s.id for s in store.sessions()] == [older.id, newer.id]
    assert [s.id for s in store.sessions(limit=1)] == [older.id]
    assert store.latest_active() == store.get(older.id)
    store.mark_resolved("fp-old", FIRED, FIRED + timedelta(minutes=1))
    latest = store.latest_active()
    assert latest is not None and latest.id == newer.id
    store.mark_resolved("fp-new", FIRED, FIRED + timedelta(minutes=1))
    assert store.latest_active() is None


def test_meta_values_are_kept_and_replaced(store: SessionStore) -> None:
    assert store.get_meta("demo_anchor") is None
    store.set_meta("demo_anchor", "2026-11-27T03:00:00Z")
    store.set_meta("demo_anchor", "2026-11-27T04:00:00Z")
    assert store.get_meta("demo_anchor") == "2026-11-27T04:00:00Z"


def test_untrusted_who_and_text_are_stored_verbatim(store: SessionStore) -> None:
    who = "mallory\x1b[31m|[/b]"
    session = store.open_session(
        fingerprint="fp|'\";--",
        alertname="X",
        active_at=FIRED,
        section_slug=None,
        summary="s\x1b]0;owned\x07",
        labels=(("a|b", "c\nd"),),
        who=who,
    )
    store.add_note(session.id, "DROP TABLE note; --", who)
    reloaded = store.find("fp|'\";--", FIRED)
    assert reloaded is not None
    assert (reloaded.opened_by, reloaded.summary, reloaded.labels) == (
        who,
        "s\x1b]0;owned\x07",
        (("a|b", "c\nd"),),
    )
    assert reloaded.notes[0].text == "DROP TABLE note; --"


def test_a_store_made_in_one_thread_is_usable_from_another(store: SessionStore) -> None:
    session = _open(store)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda i: store.set_step(session.id, i, "done", f"w{i}"), range(8)))
    assert all(r.id == session.id for r in results)
    assert sorted(store.get(session.id).steps) == list(range(8))


def test_a_closed_store_says_so(db: Path) -> None:
    opened = SessionStore.open(db)
    opened.close()
    opened.close()
    with pytest.raises(StoreError, match="is closed"):
        opened.sessions()


def test_a_step_survives_kill_9_right_after_it_was_acknowledged(db: Path) -> None:
    script = (
        "import sys, time\n"
        "from datetime import datetime, UTC\n"
        "from pathlib import Path\n"
        "from tui.sessions.store import SessionStore\n"
        "store = SessionStore.open(Path(sys.argv[1]))\n"
        "s = store.open_session(fingerprint='fp1', alertname='A',\n"
        "    active_at=datetime(2026, 11, 27, tzinfo=UTC), section_slug=None, summary='', labels=(),\n"
        "    who='alice')\n"
        "store.set_step(s.id, 2, 'done', 'alice')\n"
        "print('committed', flush=True)\n"
        "time.sleep(60)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(db)], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "committed"
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=10)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert db.with_name(db.name + "-wal").exists()  # the change is in the WAL, never checkpointed
    with SessionStore.open(db, read_only=True) as observer:
        latest = observer.latest_active()
        assert latest is not None and latest.step_state(2) == "done"
    with SessionStore.open(db) as reopened:
        session = reopened.find("fp1", datetime(2026, 11, 27, tzinfo=UTC))
        assert session is not None and session.steps[2].who == "alice"


def test_a_busy_store_says_database_is_locked(db: Path) -> None:
    with SessionStore.open(db, busy_timeout=0.1) as store:
        session = _open(store)
        other = sqlite3.connect(db, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreError, match="database is locked"):
                store.set_step(session.id, 0, "done", "alice")
            other.execute("ROLLBACK")
        finally:
            other.close()
        assert store.set_step(session.id, 0, "done", "alice").step_state(0) == "done"


def test_a_newer_schema_is_refused(db: Path) -> None:
    SessionStore.open(db).close()
    raw = sqlite3.connect(db)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.commit()
    raw.close()
    for read_only in (False, True):
        with pytest.raises(StoreError, match="written by a newer oncall"):
            SessionStore.open(db, read_only=read_only)


# ------------------------------------------------------------------------------------------ foreign files


@pytest.mark.parametrize("read_only", [False, True])
def test_a_random_file_is_not_an_oncall_store_and_is_left_untouched(tmp_path: Path, read_only: bool) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"just some notes, not a database\n" * 200)
    before = _digest(path)
    with pytest.raises(StoreError, match="is not an oncall session store") as caught:
        SessionStore.open(path, read_only=read_only)
    assert str(path) in str(caught.value)
    assert _digest(path) == before


@pytest.mark.parametrize("read_only", [False, True])
def test_another_programs_sqlite_database_is_refused_and_left_untouched(
    tmp_path: Path, read_only: bool
) -> None:
    path = tmp_path / "other.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE t (x)")
    raw.commit()
    raw.close()
    before = _digest(path)
    with pytest.raises(StoreError, match="some other SQLite database"):
        SessionStore.open(path, read_only=read_only)
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_a_directory_is_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        SessionStore.open(tmp_path)


# ------------------------------------------------------------------------------------------ observers


def test_an_observer_needs_a_store_to_exist_and_never_creates_one(db: Path) -> None:
    with pytest.raises(StoreError) as caught:
        SessionStore.open(db, read_only=True)
    assert str(caught.value) == f"no session store at {db} yet: start oncall (without --observe) first"
    assert not db.parent.exists()
    db.parent.mkdir(parents=True)
    db.touch()  # an empty file, as a writer's first instant would leave it
    with pytest.raises(StoreError, match=r"no session store at .* yet"):
        SessionStore.open(db, read_only=True)
    assert db.stat().st_size == 0


def test_an_observer_refuses_every_change_and_leaves_the_file_as_it_was(db: Path) -> None:
    with SessionStore.open(db, clock=Clock()) as writer:
        session = _open(writer)
    before = _digest(db)
    with SessionStore.open(db, read_only=True) as observer:
        attempts = [
            lambda: observer.set_step(session.id, 0, "done", "eve"),
            lambda: observer.add_note(session.id, "hi", "eve"),
            lambda: _open(observer, who="eve"),
            lambda: observer.mark_resolved("fp1", FIRED, FIRED),
            lambda: observer.set_meta("k", "v"),
        ]
        for attempt in attempts:
            with pytest.raises(StoreError, match="read-only"):
                attempt()
        assert observer.get(session.id).driver == "alice"
        # Even a raw write on its connection is refused by SQLite itself (mode=ro and query_only).
        assert observer._conn is not None
        with pytest.raises(sqlite3.OperationalError):
            observer._conn.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')")
    assert _digest(db) == before


def test_an_observer_opens_a_store_whose_writer_has_exited(db: Path) -> None:
    with SessionStore.open(db, clock=Clock()) as writer:
        session = _open(writer)
        writer.set_step(session.id, 0, "done", "alice")
    assert not db.with_name(db.name + "-shm").exists()  # a clean close removes the WAL index
    with SessionStore.open(db, read_only=True) as observer:
        assert observer.get(session.id).step_state(0) == "done"
        assert observer.timeline(session.id)[-1].detail == "step 1 done"


def test_an_observer_sees_the_drivers_change_through_data_version(db: Path) -> None:
    with SessionStore.open(db, clock=Clock()) as writer:
        session = _open(writer)
        with SessionStore.open(db, read_only=True) as observer:
            before = observer.data_version()
            assert observer.data_version() == before  # nothing committed: no reload needed
            writer.set_step(session.id, 3, "skipped", "alice")
            assert observer.data_version() != before
            seen = observer.get(session.id)
            assert seen.step_state(3) == "skipped" and seen.driver == "alice"
            after = observer.data_version()
            observer.sessions()
            assert observer.data_version() == after  # reading never moves it


def test_a_second_writers_commit_changes_data_version(db: Path) -> None:
    with SessionStore.open(db, clock=Clock()) as first, SessionStore.open(db, clock=Clock()) as second:
        session = _open(first)
        version = first.data_version()
        second.add_note(session.id, "joined", "bob")
        assert first.data_version() != version
        assert [n.text for n in first.get(session.id).notes] == ["joined"]


def test_an_observer_follows_from_another_thread(db: Path) -> None:
    with SessionStore.open(db, clock=Clock()) as writer:
        session = _open(writer)
        observer = SessionStore.open(db, read_only=True)
        try:
            seen: list[str] = []
            worker = threading.Thread(target=lambda: seen.append(observer.get(session.id).driver))
            worker.start()
            worker.join()
            assert seen == ["alice"]
        finally:
            observer.close()


# ------------------------------------------------------------------------------------------ permissions


def _unprivileged_python() -> tuple[str, int | None] | None:
    """An interpreter and uid to run as someone the test files don't belong to (None when impossible)."""
    if os.geteuid() != 0:
        return sys.executable, None  # already unprivileged: a read-only directory stops us
    for candidate in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        if not os.path.exists(candidate):
            continue
        try:
            probe = subprocess.run(
                [candidate, "-c", "import sqlite3, tui.sessions.store"],
                user=65534,
                env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                cwd="/",
                capture_output=True,
            )
        except OSError:  # that user can't even reach this interpreter
            continue
        if probe.returncode == 0:
            return candidate, 65534
    return None


@pytest.fixture
def foreign_dir() -> Iterator[tuple[Path, str, int | None]]:
    """A directory the test user can read but not write, and the interpreter to run as that user."""
    runner = _unprivileged_python()
    if runner is None:
        pytest.skip("no interpreter can run as an unprivileged user here")
    base = Path(tempfile.mkdtemp(prefix="oncall-store-"))
    base.chmod(0o755)
    try:
        yield base, *runner
    finally:
        base.chmod(0o755)
        shutil.rmtree(base)


def _run_as(python: str, uid: int | None, base: Path, code: str) -> str:
    if uid is None:
        base.chmod(0o555)
    try:
        done = subprocess.run(
            [python, "-c", code, str(base)],
            user=uid,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
            cwd="/",
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        base.chmod(0o755)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


_TRY = (
    "import sys\n"
    "from pathlib import Path\n"
    "from tui.sessions.store import SessionStore, StoreError\n"
    "try:\n"
    "    SessionStore.open(Path(sys.argv[1]) / {name!r}, read_only={read_only}).sessions()\n"
    "    print('opened')\n"
    "except StoreError as exc:\n"
    "    print(exc)\n"
)


def test_an_observer_without_a_running_writer_or_write_access_gets_a_clear_error(foreign_dir) -> None:
    base, python, uid = foreign_dir
    db = base / "sessions.db"
    with SessionStore.open(db, clock=Clock()) as writer:
        _open(writer)
    db.chmod(0o644)
    before = _digest(db)
    message = _run_as(python, uid, base, _TRY.format(name="sessions.db", read_only=True))
    assert message.startswith(f"can't observe {db} while no oncall is writing it: permission denied")
    assert "sessions.db-shm" in message and "start oncall (without --observe) first" in message
    assert _digest(db) == before


def test_an_observer_without_write_access_follows_a_running_writer(foreign_dir) -> None:
    base, python, uid = foreign_dir
    db = base / "sessions.db"
    with SessionStore.open(db, clock=Clock()) as writer:
        _open(writer)
        for suffix in ("", "-wal", "-shm"):  # its owner shares it: oncall creates all three 0600
            db.with_name(db.name + suffix).chmod(0o644)
        assert _run_as(python, uid, base, _TRY.format(name="sessions.db", read_only=True)) == "opened"


def test_a_writer_without_write_access_says_permission_denied(foreign_dir) -> None:
    base, python, uid = foreign_dir
    message = _run_as(python, uid, base, _TRY.format(name="sessions.db", read_only=False))
    assert message == f"session store {base / 'sessions.db'}: permission denied"
    assert not (base / "sessions.db").exists()


# ------------------------------------------------------------------------------------------ schema 1 → 2


def test_a_version_1_store_is_migrated_with_every_session_step_note_and_timeline_line(db: Path) -> None:
    from tui.sessions.database import _SCHEMA_V1

    db.parent.mkdir(parents=True)
    raw = sqlite3.connect(db)
    for statement in _SCHEMA_V1:
        raw.execute(statement)
    t = "2026-11-27T03:1{}:00.000000Z".format
    raw.execute(
        "INSERT INTO incident_session VALUES (7, 'fp1', ?, 'HighApiErrorRate', 'high-api-error-rate',"
        " 'API 5xx', '[[\"severity\", \"critical\"]]', ?, 'alice', ?, 'bob', ?)",
        ("2026-11-27T03:12:05.000000Z", t(3), t(9), t(8)),
    )
    raw.executemany(
        "INSERT INTO timeline (session_id, at, who, kind, detail) VALUES (7, ?, ?, ?, ?)",
        [
            ("2026-11-27T03:12:05.000000Z", "", "fired", "HighApiErrorRate fired"),
            (t(3), "alice", "opened", "checklist opened"),
            (t(4), "alice", "step", "step 1 done"),
            (t(5), "alice", "note", "step 1: 412 of 500 used"),
            (t(6), "alice", "step", "step 2 skipped"),
            (t(7), "bob", "step", "step 2 back to pending"),
            (t(9), "", "resolved", "HighApiErrorRate resolved"),
        ],
    )
    raw.executemany(
        "INSERT INTO step VALUES (7, ?, ?, ?, ?, ?)",
        [(0, "done", "alice", t(4), "3 restarts"), (1, "pending", "bob", t(7), "")],
    )
    raw.execute(
        "INSERT INTO note (session_id, step_index, who, at, text) VALUES (7, 0, 'alice', ?, ?)",
        (t(5), "412 of 500 used"),
    )
    raw.execute("INSERT INTO meta VALUES ('demo_anchor', 'x')")
    raw.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    raw.execute("PRAGMA user_version = 1")
    raw.commit()
    raw.close()

    with SessionStore.open(db) as store:
        session = store.get(7)
        assert (session.alertname, session.opened_by, session.driver) == ("HighApiErrorRate", "alice", "bob")
        assert session.labels == (("severity", "critical"),)
        assert session.resolved_at == datetime(2026, 11, 27, 3, 19, tzinfo=UTC)
        assert (session.steps[0].state, session.steps[0].who, session.steps[0].evidence) == (
            "done",
            "alice",
            "3 restarts",
        )
        assert (session.steps[1].state, session.steps[1].who) == ("pending", "bob")
        assert [(n.step_index, n.who, n.text) for n in session.notes] == [(0, "alice", "412 of 500 used")]
        assert [(e.kind, e.who, e.detail) for e in store.timeline(7)] == [
            ("fired", "", "HighApiErrorRate fired"),
            ("opened", "alice", "checklist opened"),
            ("step", "alice", "step 1 done"),
            ("note", "alice", "step 1: 412 of 500 used"),
            ("step", "alice", "step 2 skipped"),
            ("step", "bob", "step 2 back to pending"),
            ("resolved", "", "HighApiErrorRate resolved"),
        ]
        assert [r.state for r in store.step_history(7, 1)] == ["skipped", "pending"]
        assert store.get_meta("demo_anchor") == "x"
        store.set_step(7, 2, "done", "carol")  # and it takes new changes
    raw = sqlite3.connect(db)
    try:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        tables = {name for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"event", "incident_session", "meta", "queued_event"} <= tables
        assert not tables & {"step", "note", "timeline"}
    finally:
        raw.close()


def test_each_change_is_an_event_with_its_host(db: Path) -> None:
    with SessionStore.open(db, clock=Clock(), host="bastion-1") as store:
        session = _open(store)
        store.set_step(session.id, 0, "done", "alice")
        assert store.get(session.id).steps[0].host == "bastion-1"
        assert {e.host for e in store.timeline(session.id)} == {"bastion-1"}
    raw = sqlite3.connect(db)
    try:
        kinds = [k for (k,) in raw.execute("SELECT kind FROM event ORDER BY seq")]
        assert kinds == ["fired", "opened", "step"]
        assert len({i for (i,) in raw.execute("SELECT event_id FROM event")}) == 3
    finally:
        raw.close()
