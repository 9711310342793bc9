"""The SQLite store's wait for another writer's commit: it ends at the file's event (inotify on the
store's directory), not at its timeout; closing the store ends a wait at once; without inotify it sleeps."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.helpers import open_test_session
from tui.sessions import store as store_module
from tui.sessions.store import SessionStore, StoreError

ROOT = Path(__file__).resolve().parents[2]
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")

# another process's commit, made once the observer is blocked in its wait
COMMIT = """
import sys, time
from pathlib import Path
from tests.helpers import open_test_session
from tui.sessions.store import SessionStore
time.sleep(float(sys.argv[2]))
with SessionStore.open(Path(sys.argv[1])) as store:
    store.set_step(open_test_session(store).id, 0, "done", "alice")
"""


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "sessions.db"
    with SessionStore.open(path) as store:
        open_test_session(store)
    return path


@linux_only
def test_a_wait_ends_at_another_processs_commit_not_at_its_timeout(db: Path) -> None:
    with SessionStore.open(db, read_only=True) as observer:
        assert observer.watched
        before = observer.wait_change(0)
        writer = subprocess.Popen([sys.executable, "-c", COMMIT, str(db), "0.3"], cwd=ROOT)
        try:
            started = time.monotonic()
            after = observer.wait_change(30.0)  # a timer would hold it the whole 30 s
            waited = time.monotonic() - started
        finally:
            assert writer.wait(timeout=30) == 0
        assert after != before
        assert observer.file_events >= 1  # the wait ended at the -wal file's event
        assert waited < 15.0, waited  # generous: the other process starts Python on a busy machine
        latest = observer.latest_active()
        assert latest is not None and latest.step_state(0) == "done"


@linux_only
def test_a_wait_returns_at_once_when_a_commit_came_since_the_last_one(db: Path) -> None:
    with SessionStore.open(db, read_only=True) as observer, SessionStore.open(db) as writer:
        before = observer.wait_change(0)
        writer.set_step(open_test_session(writer).id, 0, "done", "alice")  # between two waits
        started = time.monotonic()
        assert observer.wait_change(30.0) != before
        assert time.monotonic() - started < 5.0


@linux_only
def test_its_own_connections_commits_do_not_end_the_wait_early(db: Path) -> None:
    with SessionStore.open(db) as driver:
        session = open_test_session(driver)
        version = driver.wait_change(0)
        timer = threading.Timer(0.05, lambda: driver.set_step(session.id, 1, "done", "alice"))
        timer.start()
        started = time.monotonic()
        # data_version moves only for other connections' commits: this one's own is no change to follow
        assert driver.wait_change(0.6) == version
        timer.join()
        assert time.monotonic() - started >= 0.55


@linux_only
def test_closing_the_store_ends_a_wait_in_another_thread_at_once(db: Path) -> None:
    observer = SessionStore.open(db, read_only=True)
    observer.wait_change(0)
    outcome: list[object] = []

    def wait() -> None:
        try:
            outcome.append(observer.wait_change(30.0))
        except StoreError as error:
            outcome.append(error)

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.1)
    started = time.monotonic()
    observer.close()  # as the app does when it quits
    waiter.join(timeout=10)
    assert not waiter.is_alive()
    assert time.monotonic() - started < 5.0
    assert isinstance(outcome[0], StoreError)  # "closed": the watch does not pretend a change


def test_without_inotify_the_wait_sleeps_its_timeout_then_looks(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a platform without inotify (macOS, BSD): FileWatch.open has nothing to offer
    monkeypatch.setattr(store_module.FileWatch, "open", classmethod(lambda cls, directory, names: None))
    with SessionStore.open(db, read_only=True) as observer, SessionStore.open(db) as writer:
        assert not observer.watched
        before = observer.wait_change(0)
        timer = threading.Timer(0.05, lambda: writer.set_step(open_test_session(writer).id, 0, "done", "a"))
        timer.start()
        started = time.monotonic()
        after = observer.wait_change(0.4)
        timer.join()
        assert time.monotonic() - started >= 0.35  # the poll: the change is seen after the sleep
        assert after != before and observer.file_events == 0


@linux_only
def test_poll_only_ends_the_watch_and_waits_as_without_inotify(db: Path) -> None:
    # what bench.app_bench times as the old observer: a store that watched its file, told to poll instead
    with SessionStore.open(db, read_only=True) as observer, SessionStore.open(db) as writer:
        assert observer.watched
        before = observer.wait_change(0)
        observer.poll_only()
        assert not observer.watched
        timer = threading.Timer(0.05, lambda: writer.set_step(open_test_session(writer).id, 0, "done", "a"))
        timer.start()
        started = time.monotonic()
        after = observer.wait_change(0.4)
        timer.join()
        assert time.monotonic() - started >= 0.35  # the commit came at 0.05 s: seen only after the sleep
        assert after != before and observer.file_events == 0
