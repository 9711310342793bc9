"""Incident sessions in SQLite (WAL): every change an event (who, when, which host), the rest derived."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from probes.base import utc_now
from tui.sessions.database import (
    APPLICATION_ID,
    BUSY_TIMEOUT_S,
    SCHEMA_VERSION,
    StoreError,
    file_identity,
    open_reader,
    open_writer,
    plain,
    to_text,
)
from tui.sessions.events import (
    NOT_READ,
    STEP_STATES,
    EventStore,
    IncidentSession,
    Note,
    StepRecord,
    StepState,
    TimelineEntry,
)
from tui.sessions.filewatch import FileWatch
from tui.sessions.sql import EventCache, SqlTx

# After a file event data_version is looked at again after 2, 4, 8 ... ms, then every 64 ms until the wait's
# timeout: a commit's WAL write is the event, but it shows in data_version only once the wal-index (shared
# memory: no file event) is updated, after the WAL's fsync, which a busy disk can hold up for a while.
SETTLE_FIRST = 0.002
SETTLE_MAX = 0.064

__all__ = [
    "APPLICATION_ID",
    "BUSY_TIMEOUT_S",
    "NOT_READ",
    "SCHEMA_VERSION",
    "STEP_STATES",
    "IncidentSession",
    "Note",
    "SessionStore",
    "StepRecord",
    "StepState",
    "StoreError",
    "TimelineEntry",
]


class SessionStore(EventStore):
    """One connection to the session store; safe to hand between threads, used by one at a time."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        path: Path,
        *,
        read_only: bool,
        clock: Callable[[], datetime],
        host: str | None = None,
    ) -> None:
        super().__init__(read_only=read_only, clock=clock, host=host)
        self._conn: sqlite3.Connection | None = connection
        self._events = EventCache()  # rowids follow commit order here: later reads fetch only what's new
        self.path = path
        self.notice: str | None = None
        # which file the connection has open, whatever the path names later
        self._identity = file_identity(path)
        self._watch: FileWatch | None = None  # inotify on the store's directory, opened at the first wait
        self._watch_tried = False
        self._seen_version: int | None = None  # what wait_change returned last

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        read_only: bool = False,
        clock: Callable[[], datetime] = utc_now,
        busy_timeout: float = BUSY_TIMEOUT_S,
        host: str | None = None,
    ) -> SessionStore:
        """Open the store at ``path``: as the writer (creating it) or read-only for an observer."""
        path = Path(path).expanduser()
        if path.is_dir():
            raise StoreError(f"session store {path} is a directory, not a file")
        connection = open_reader(path, busy_timeout) if read_only else open_writer(path, busy_timeout)
        return cls(connection, path, read_only=read_only, clock=clock, host=host)

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()  # a wait in another thread returns at once
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def data_version(self) -> int:
        """A number that changes whenever another connection commits: poll it, reload only on change."""
        with self._lock:
            conn = self._live()
            try:
                return int(conn.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error as exc:
                raise plain(exc, self.path, read_only=self.read_only) from exc

    def moved(self) -> str | None:
        """None while `path` is still the file this connection reads, else "deleted" or "replaced".

        A connection keeps reading the file it opened even after it is deleted or another is renamed over
        it: its data_version never moves again, so a follower must look at the path itself and reopen.
        """
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            return "deleted"
        except OSError:
            return None  # can't look (a directory made unreadable): keep following what we have
        if self._identity is None:
            return None
        return None if (found.st_dev, found.st_ino) == self._identity else "replaced"

    @property
    def location(self) -> str:
        return str(self.path)

    def wait_change(self, timeout: float) -> int:
        """PRAGMA data_version (it changes when another connection commits), as soon as it changes or after
        `timeout` seconds. Nothing polls meanwhile: the wait is on the file system's events (inotify on the
        store's directory: each commit writes the -wal file); without inotify, a sleep of `timeout`."""
        current = self.data_version()
        if timeout <= 0 or current != self._seen_version:
            self._seen_version = current  # a change since the last wait (or the first look): at once
            return current
        watch = self._file_watch()
        if watch is None:
            time.sleep(timeout)
            current = self.data_version()
        else:
            current = self._wait_event(watch, current, time.monotonic() + timeout)
        self._seen_version = current
        return current

    def poll_only(self) -> None:
        """Wait as where inotify is missing: sleep the timeout, then look at data_version (a wait in another
        thread returns at once). The old observer's wait, which benchmarks time beside the file's events."""
        self._watch_tried = True
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.close()

    @property
    def watched(self) -> bool:
        """Whether waits end on the file's events (inotify), not after their timeout."""
        return self._file_watch() is not None

    @property
    def file_events(self) -> int:
        """How many waits a file event ended so far (0 without inotify)."""
        return self._watch.events if self._watch is not None else 0

    def _file_watch(self) -> FileWatch | None:
        if not self._watch_tried:
            self._watch_tried = True
            name = self.path.name
            names = (name, f"{name}-wal", f"{name}-journal")
            self._watch = FileWatch.open(self.path.parent, names)
        return self._watch

    def _wait_event(self, watch: FileWatch, version: int, deadline: float) -> int:
        """Block on the file's events until data_version moves from `version`, or until `deadline`."""
        if not watch.wait(deadline - time.monotonic()):
            return self.data_version()  # the timeout, or the store closed
        pause = SETTLE_FIRST
        while True:
            # the event may also be this connection's own commit or a checkpoint: only a new version counts
            current = self.data_version()
            left = deadline - time.monotonic()
            if current != version or left <= 0 or watch.closed:
                return current
            if not watch.wait(min(pause, left)):  # a further event looks again at once
                pause = min(pause * 2, SETTLE_MAX)

    def unshared(self) -> int:
        return 0

    # ----------------------------------------------------------------------------------------- plumbing

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"session store {self.path} is closed")
        return self._conn

    @contextmanager
    def _tx(self, write: bool) -> Iterator[SqlTx]:
        if write:
            self._refuse_read_only()
        with self._lock:
            conn = self._live()

            def run(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
                head, returning, _ = sql.partition(" RETURNING ")
                if not returning:
                    return conn.execute(sql, tuple(params)).fetchall()
                # RETURNING needs SQLite 3.35 (some LTS systems have older): the row's INTEGER PRIMARY
                # KEY is its rowid, and an insert skipped ON CONFLICT changes no row
                cursor = conn.execute(head, tuple(params))
                return [(cursor.lastrowid,)] if cursor.rowcount == 1 else []

            try:
                # IMMEDIATE locks up front: a second writer waits (busy_timeout), never deadlocks. A read is
                # one transaction too: a session and its events come from one snapshot.
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield SqlTx(run, to_text, self._events)
                    if write:
                        conn.execute("COMMIT")
                except BaseException:
                    self._events.clear()  # it may hold what this transaction read of its own changes
                    raise
                finally:
                    if conn.in_transaction:
                        conn.rollback()
            except sqlite3.Error as exc:
                raise plain(exc, self.path, read_only=self.read_only) from exc
