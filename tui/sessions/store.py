"""Incident sessions in SQLite (WAL): step states with who and when, notes and a timeline."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, get_args

from probes.base import utc_now
from tui.sessions.database import (
    APPLICATION_ID,
    BUSY_TIMEOUT_S,
    SCHEMA_VERSION,
    StoreError,
    file_identity,
    from_text,
    open_reader,
    open_writer,
    plain,
    to_text,
)

__all__ = [
    "APPLICATION_ID",
    "BUSY_TIMEOUT_S",
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

StepState = Literal["pending", "done", "skipped"]
STEP_STATES: tuple[StepState, ...] = get_args(StepState)
# a line of stored evidence that says what could not be read (never the error shown as if it were evidence)
NOT_READ = "not read — "


@dataclass(frozen=True)
class StepRecord:
    index: int  # 0-based position of the step in its section
    state: StepState
    who: str
    at: datetime
    evidence: str = ""  # what the live evidence showed when the step was ticked, "" when none

    @property
    def missing(self) -> list[str]:
        """Why each read of the step gave nothing, as stored: the `NOT_READ` lines."""
        return [line[len(NOT_READ) :] for line in self.evidence.split("\n") if line.startswith(NOT_READ)]

    @property
    def read(self) -> str:
        """The evidence that was read, without the lines saying what was not."""
        return "\n".join(line for line in self.evidence.split("\n") if not line.startswith(NOT_READ))


@dataclass(frozen=True)
class Note:
    id: int
    step_index: int | None  # None: a note on the whole session
    who: str
    at: datetime
    text: str


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    who: str  # "" for events from Prometheus
    kind: str  # "opened", "fired", "resolved", "step", "note"
    detail: str


@dataclass(frozen=True)
class IncidentSession:
    id: int
    fingerprint: str
    alertname: str
    section_slug: str | None
    active_at: datetime  # the alert's activeAt: with the fingerprint, the session's key
    opened_at: datetime
    opened_by: str
    resolved_at: datetime | None
    summary: str
    labels: tuple[tuple[str, str], ...]
    steps: dict[int, StepRecord]  # only the steps that were ever changed
    notes: tuple[Note, ...]
    driver: str  # who made the latest change (or opened it)
    last_change_at: datetime

    def step_state(self, index: int) -> StepState:
        record = self.steps.get(index)
        return record.state if record else "pending"


_STEP_WORDS: dict[StepState, str] = {"done": "done", "skipped": "skipped", "pending": "back to pending"}


class SessionStore:
    """One connection to the session store; safe to hand between threads, used by one at a time."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        path: Path,
        *,
        read_only: bool,
        clock: Callable[[], datetime],
    ) -> None:
        self._conn: sqlite3.Connection | None = connection
        self._lock = threading.Lock()
        self.path = path
        self.read_only = read_only
        self._clock = clock
        # which file the connection has open, whatever the path names later
        self._identity = file_identity(path)

    # ----------------------------------------------------------------------------------------- opening

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        read_only: bool = False,
        clock: Callable[[], datetime] = utc_now,
        busy_timeout: float = BUSY_TIMEOUT_S,
    ) -> SessionStore:
        """Open the store at ``path``: as the writer (creating it) or read-only for an observer."""
        path = Path(path).expanduser()
        if path.is_dir():
            raise StoreError(f"session store {path} is a directory, not a file")
        connection = open_reader(path, busy_timeout) if read_only else open_writer(path, busy_timeout)
        return cls(connection, path, read_only=read_only, clock=clock)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------------------- writing

    def open_session(
        self,
        *,
        fingerprint: str,
        alertname: str,
        active_at: datetime,
        section_slug: str | None,
        summary: str,
        labels: tuple[tuple[str, str], ...],
        who: str,
    ) -> IncidentSession:
        """Create the session for this alert firing, or resume it (then only ``driver`` changes)."""
        with self._write() as conn:
            now = to_text(self._clock())
            row = conn.execute(
                "SELECT id, driver FROM incident_session WHERE fingerprint = ? AND active_at = ?",
                (fingerprint, to_text(active_at)),
            ).fetchone()
            if row is not None:
                session_id, driver = row
                if driver != who:
                    conn.execute(
                        "UPDATE incident_session SET driver = ?, last_change_at = ? WHERE id = ?",
                        (who, now, session_id),
                    )
                return _load(conn, session_id)
            session_id = conn.execute(
                """INSERT INTO incident_session (fingerprint, active_at, alertname, section_slug, summary,
                       labels, opened_at, opened_by, resolved_at, driver, last_change_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)""",
                (
                    fingerprint,
                    to_text(active_at),
                    alertname,
                    section_slug,
                    summary,
                    json.dumps([[str(k), str(v)] for k, v in labels]),
                    now,
                    who,
                    who,
                    now,
                ),
            ).lastrowid
            assert session_id is not None
            _record(conn, session_id, to_text(active_at), "", "fired", f"{alertname} fired")
            _record(conn, session_id, now, who, "opened", "checklist opened")
            return _load(conn, session_id)

    def set_step(
        self, session_id: int, index: int, state: StepState, who: str, *, evidence: str = ""
    ) -> IncidentSession:
        """Record a step's new state; the same state again changes nothing and adds no timeline entry."""
        if state not in STEP_STATES:
            raise StoreError(f"unknown step state {state!r}: expected one of {', '.join(STEP_STATES)}")
        if index < 0:
            raise StoreError(f"step index {index} is negative")
        with self._write() as conn:
            _require_session(conn, session_id)
            row = conn.execute(
                "SELECT state FROM step WHERE session_id = ? AND step_index = ?", (session_id, index)
            ).fetchone()
            if (row[0] if row else "pending") == state:
                return _load(conn, session_id)
            now = to_text(self._clock())
            conn.execute(
                """INSERT INTO step (session_id, step_index, state, who, at, evidence)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (session_id, step_index)
                   DO UPDATE SET state = excluded.state, who = excluded.who, at = excluded.at,
                                 evidence = excluded.evidence""",
                (session_id, index, state, who, now, evidence),
            )
            _record(conn, session_id, now, who, "step", f"step {index + 1} {_STEP_WORDS[state]}")
            _touch(conn, session_id, who, now)
            return _load(conn, session_id)

    def add_note(
        self, session_id: int, text: str, who: str, step_index: int | None = None
    ) -> IncidentSession:
        """Add a note to the session (or to one of its steps); an empty note is refused."""
        text = text.strip()
        if not text:
            raise StoreError("the note is empty: nothing was saved")
        if step_index is not None and step_index < 0:
            raise StoreError(f"step index {step_index} is negative")
        with self._write() as conn:
            _require_session(conn, session_id)
            now = to_text(self._clock())
            conn.execute(
                "INSERT INTO note (session_id, step_index, who, at, text) VALUES (?, ?, ?, ?, ?)",
                (session_id, step_index, who, now, text),
            )
            detail = text if step_index is None else f"step {step_index + 1}: {text}"
            _record(conn, session_id, now, who, "note", detail)
            _touch(conn, session_id, who, now)
            return _load(conn, session_id)

    def mark_resolved(self, fingerprint: str, active_at: datetime, at: datetime) -> IncidentSession | None:
        """Record that Prometheus resolved the alert; None when it has no session, a no-op if done."""
        with self._write() as conn:
            row = conn.execute(
                """SELECT id, resolved_at, alertname FROM incident_session
                   WHERE fingerprint = ? AND active_at = ?""",
                (fingerprint, to_text(active_at)),
            ).fetchone()
            if row is None:
                return None
            session_id, resolved_at, alertname = row
            if resolved_at is None:
                conn.execute(
                    "UPDATE incident_session SET resolved_at = ?, last_change_at = ? WHERE id = ?",
                    (to_text(at), to_text(self._clock()), session_id),
                )
                _record(conn, session_id, to_text(at), "", "resolved", f"{alertname} resolved")
            return _load(conn, session_id)

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as conn:
            conn.execute(
                """INSERT INTO meta (key, value) VALUES (?, ?)
                   ON CONFLICT (key) DO UPDATE SET value = excluded.value""",
                (key, value),
            )

    # ----------------------------------------------------------------------------------------- reading

    def get_meta(self, key: str) -> str | None:
        with self._read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            return row[0] if row else None

    def get(self, session_id: int) -> IncidentSession:
        with self._read() as conn:
            _require_session(conn, session_id)
            return _load(conn, session_id)

    def find(self, fingerprint: str, active_at: datetime) -> IncidentSession | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT id FROM incident_session WHERE fingerprint = ? AND active_at = ?",
                (fingerprint, to_text(active_at)),
            ).fetchone()
            return _load(conn, row[0]) if row else None

    def sessions(self, limit: int = 50) -> list[IncidentSession]:
        """The sessions, most recently changed first."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id FROM incident_session ORDER BY last_change_at DESC, id DESC LIMIT ?", (limit,)
            ).fetchall()
            return [_load(conn, session_id) for (session_id,) in rows]

    def latest_active(self) -> IncidentSession | None:
        """The most recently changed session whose alert is not resolved: what an observer follows."""
        with self._read() as conn:
            row = conn.execute(
                """SELECT id FROM incident_session WHERE resolved_at IS NULL
                   ORDER BY last_change_at DESC, id DESC LIMIT 1"""
            ).fetchone()
            return _load(conn, row[0]) if row else None

    def timeline(self, session_id: int) -> list[TimelineEntry]:
        """The session's events, oldest first."""
        with self._read() as conn:
            _require_session(conn, session_id)
            rows = conn.execute(
                "SELECT at, who, kind, detail FROM timeline WHERE session_id = ? ORDER BY at, id",
                (session_id,),
            ).fetchall()
            return [TimelineEntry(from_text(at), who, kind, detail) for at, who, kind, detail in rows]

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

    def step_history(self, session_id: int, index: int) -> list[StepRecord]:
        """Every change of one step, oldest first (here: the one kept; the event log comes later)."""
        record = self.get(session_id).steps.get(index)
        return [record] if record else []

    def wait_change(self, timeout: float) -> int:
        """Wait `timeout` seconds, then PRAGMA data_version (changes when another connection commits)."""
        time.sleep(timeout)
        return self.data_version()

    def unshared(self) -> int:
        return 0

    # ----------------------------------------------------------------------------------------- plumbing

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"session store {self.path} is closed")
        return self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise StoreError(
                f"session store {self.path} is open read-only (observer mode): nothing was changed"
            )
        with self._lock:
            conn = self._live()
            try:
                # IMMEDIATE locks up front: a second writer waits (busy_timeout), never deadlocks.
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.rollback()
                    raise
            except sqlite3.Error as exc:
                raise plain(exc, self.path, read_only=False) from exc

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._live()
            try:
                # One read transaction per call: a session, its steps and notes come from one snapshot.
                conn.execute("BEGIN")
                try:
                    yield conn
                finally:
                    if conn.in_transaction:
                        conn.rollback()
            except sqlite3.Error as exc:
                raise plain(exc, self.path, read_only=self.read_only) from exc


def _record(conn: sqlite3.Connection, session_id: int, at: str, who: str, kind: str, detail: str) -> None:
    conn.execute(
        "INSERT INTO timeline (session_id, at, who, kind, detail) VALUES (?, ?, ?, ?, ?)",
        (session_id, at, who, kind, detail),
    )


def _touch(conn: sqlite3.Connection, session_id: int, who: str, now: str) -> None:
    conn.execute(
        "UPDATE incident_session SET driver = ?, last_change_at = ? WHERE id = ?", (who, now, session_id)
    )


def _require_session(conn: sqlite3.Connection, session_id: int) -> None:
    if conn.execute("SELECT 1 FROM incident_session WHERE id = ?", (session_id,)).fetchone() is None:
        raise StoreError(f"no incident session #{session_id} in the store")


def _load(conn: sqlite3.Connection, session_id: int) -> IncidentSession:
    row = conn.execute(
        """SELECT fingerprint, alertname, section_slug, active_at, opened_at, opened_by, resolved_at,
                  summary, labels, driver, last_change_at
           FROM incident_session WHERE id = ?""",
        (session_id,),
    ).fetchone()
    if row is None:
        raise StoreError(f"no incident session #{session_id} in the store")
    (
        fingerprint,
        alertname,
        slug,
        active_at,
        opened_at,
        opened_by,
        resolved_at,
        summary,
        labels,
        driver,
        changed,
    ) = row
    steps = {
        index: StepRecord(index, state, who, from_text(at), evidence)
        for index, state, who, at, evidence in conn.execute(
            "SELECT step_index, state, who, at, evidence FROM step WHERE session_id = ? ORDER BY step_index",
            (session_id,),
        )
    }
    notes = tuple(
        Note(note_id, step_index, who, from_text(at), text)
        for note_id, step_index, who, at, text in conn.execute(
            "SELECT id, step_index, who, at, text FROM note WHERE session_id = ? ORDER BY at, id",
            (session_id,),
        )
    )
    return IncidentSession(
        id=session_id,
        fingerprint=fingerprint,
        alertname=alertname,
        section_slug=slug,
        active_at=from_text(active_at),
        opened_at=from_text(opened_at),
        opened_by=opened_by,
        resolved_at=from_text(resolved_at) if resolved_at else None,
        summary=summary,
        labels=tuple((str(k), str(v)) for k, v in json.loads(labels)),
        steps=steps,
        notes=notes,
        driver=driver,
        last_change_at=from_text(changed),
    )
