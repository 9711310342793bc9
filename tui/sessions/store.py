"""Incident sessions in SQLite (WAL): step states with who and when, notes and a timeline."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

StepState = Literal["pending", "done", "skipped"]
STEP_STATES: tuple[StepState, ...] = get_args(StepState)

SCHEMA_VERSION = 1
# Stamped into the database header so a random SQLite file is never mistaken for (or migrated into) a store.
APPLICATION_ID = 0x6F6E6361  # "onca"
BUSY_TIMEOUT_S = 5.0


class StoreError(Exception):
    """The session store can't be opened or written; plain words for the screen."""


@dataclass(frozen=True)
class StepRecord:
    index: int  # 0-based position of the step in its section
    state: StepState
    who: str
    at: datetime
    evidence: str = ""  # what the live evidence showed when the step was ticked, "" when none


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


_SCHEMA = (
    """CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE incident_session (
        id INTEGER PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        active_at TEXT NOT NULL,
        alertname TEXT NOT NULL,
        section_slug TEXT,
        summary TEXT NOT NULL,
        labels TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        opened_by TEXT NOT NULL,
        resolved_at TEXT,
        driver TEXT NOT NULL,
        last_change_at TEXT NOT NULL,
        UNIQUE (fingerprint, active_at)
    )""",
    "CREATE INDEX incident_session_by_change ON incident_session (last_change_at)",
    """CREATE TABLE step (
        session_id INTEGER NOT NULL REFERENCES incident_session (id) ON DELETE CASCADE,
        step_index INTEGER NOT NULL CHECK (step_index >= 0),
        state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'skipped')),
        who TEXT NOT NULL,
        at TEXT NOT NULL,
        evidence TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (session_id, step_index)
    ) WITHOUT ROWID""",
    """CREATE TABLE note (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES incident_session (id) ON DELETE CASCADE,
        step_index INTEGER CHECK (step_index IS NULL OR step_index >= 0),
        who TEXT NOT NULL,
        at TEXT NOT NULL,
        text TEXT NOT NULL CHECK (length(trim(text)) > 0)
    )""",
    "CREATE INDEX note_by_session ON note (session_id, at, id)",
    """CREATE TABLE timeline (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES incident_session (id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        who TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('fired', 'opened', 'step', 'note', 'resolved')),
        detail TEXT NOT NULL
    )""",
    "CREATE INDEX timeline_by_session ON timeline (session_id, at, id)",
)

# Migrations from version N to N+1 go here as _MIGRATIONS[N] = (statements...), applied in one transaction.
_MIGRATIONS: dict[int, tuple[str, ...]] = {}

_STEP_WORDS: dict[StepState, str] = {"done": "done", "skipped": "skipped", "pending": "back to pending"}

# sqlite3 primary result codes (the low byte of an extended code).
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 3, 5, 6, 8
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN = 10, 11, 13, 14
_SQLITE_AUTH, _SQLITE_NOTADB = 23, 26
# Extended READONLY codes a read-only connection gets when it can't set up the WAL index (-shm) itself.
_READONLY_RECOVERY, _READONLY_CANTLOCK, _READONLY_CANTINIT, _READONLY_DIRECTORY = 264, 520, 1288, 1544


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _to_text(moment: datetime) -> str:
    """Fixed-width UTC text, so text order is time order and equal instants give equal keys."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # naive values are taken as UTC, never as local time
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _from_text(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


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
        self._identity = _file_identity(path)

    # ----------------------------------------------------------------------------------------- opening

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        read_only: bool = False,
        clock: Callable[[], datetime] = _utc_now,
        busy_timeout: float = BUSY_TIMEOUT_S,
    ) -> SessionStore:
        """Open the store at ``path``: as the writer (creating it) or read-only for an observer."""
        path = Path(path).expanduser()
        if path.is_dir():
            raise StoreError(f"session store {path} is a directory, not a file")
        connection = _open_reader(path, busy_timeout) if read_only else _open_writer(path, busy_timeout)
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
            now = _to_text(self._clock())
            row = conn.execute(
                "SELECT id, driver FROM incident_session WHERE fingerprint = ? AND active_at = ?",
                (fingerprint, _to_text(active_at)),
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
                    _to_text(active_at),
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
            _record(conn, session_id, _to_text(active_at), "", "fired", f"{alertname} fired")
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
            now = _to_text(self._clock())
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
            now = _to_text(self._clock())
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
                (fingerprint, _to_text(active_at)),
            ).fetchone()
            if row is None:
                return None
            session_id, resolved_at, alertname = row
            if resolved_at is None:
                conn.execute(
                    "UPDATE incident_session SET resolved_at = ?, last_change_at = ? WHERE id = ?",
                    (_to_text(at), _to_text(self._clock()), session_id),
                )
                _record(conn, session_id, _to_text(at), "", "resolved", f"{alertname} resolved")
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
                (fingerprint, _to_text(active_at)),
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
            return [TimelineEntry(_from_text(at), who, kind, detail) for at, who, kind, detail in rows]

    def data_version(self) -> int:
        """A number that changes whenever another connection commits: poll it, reload only on change."""
        with self._lock:
            conn = self._live()
            try:
                return int(conn.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error as exc:
                raise _plain(exc, self.path, read_only=self.read_only) from exc

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
                raise _plain(exc, self.path, read_only=False) from exc

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
                raise _plain(exc, self.path, read_only=self.read_only) from exc


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


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
        index: StepRecord(index, state, who, _from_text(at), evidence)
        for index, state, who, at, evidence in conn.execute(
            "SELECT step_index, state, who, at, evidence FROM step WHERE session_id = ? ORDER BY step_index",
            (session_id,),
        )
    }
    notes = tuple(
        Note(note_id, step_index, who, _from_text(at), text)
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
        active_at=_from_text(active_at),
        opened_at=_from_text(opened_at),
        opened_by=opened_by,
        resolved_at=_from_text(resolved_at) if resolved_at else None,
        summary=summary,
        labels=tuple((str(k), str(v)) for k, v in json.loads(labels)),
        steps=steps,
        notes=notes,
        driver=driver,
        last_change_at=_from_text(changed),
    )


# --------------------------------------------------------------------------------------------- opening


def _connect(target: str | Path, busy_timeout: float, *, uri: bool) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, so each method is exactly one transaction.
    conn = sqlite3.connect(
        target, uri=uri, timeout=busy_timeout, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    return conn


def _identity(conn: sqlite3.Connection) -> tuple[int, int, int]:
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    user_version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    return application_id, user_version, tables


def _check_identity(path: Path, application_id: int, user_version: int, tables: int) -> None:
    """Refuse a SQLite file that some other program made, or a newer oncall did."""
    if application_id == 0 and user_version == 0 and tables == 0:
        return  # empty: the writer creates the schema
    if application_id != APPLICATION_ID:
        raise StoreError(f"{path} is not an oncall session store (it is some other SQLite database)")
    if user_version > SCHEMA_VERSION:
        raise StoreError(
            f"session store {path} was written by a newer oncall (schema {user_version}, "
            f"this one knows {SCHEMA_VERSION}): upgrade oncall"
        )


def _make_private_dirs(directory: Path) -> None:
    """Create `directory` and its missing parents 0700; an existing one keeps its mode (a shared path)."""
    missing: list[Path] = []
    while not directory.exists() and directory != directory.parent:
        missing.append(directory)
        directory = directory.parent
    for created in reversed(missing):
        with suppress(FileExistsError):  # another oncall made it first
            created.mkdir(mode=0o700)


def _create_private_file(path: Path) -> None:
    """Create the store 0600 before SQLite opens it: SQLite gives its -wal and -shm the same mode."""
    with suppress(FileExistsError):  # an existing store keeps the mode its owner gave it
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _open_writer(path: Path, busy_timeout: float) -> sqlite3.Connection:
    try:
        _make_private_dirs(path.parent)
    except OSError as exc:
        raise StoreError(
            f"can't create the directory {path.parent} for the session store: {exc.strerror}"
        ) from exc
    try:
        _create_private_file(path)
    except PermissionError as exc:
        raise StoreError(f"session store {path}: permission denied") from exc
    except OSError as exc:
        raise StoreError(f"can't create the session store {path}: {exc.strerror}") from exc
    conn: sqlite3.Connection | None = None
    try:
        conn = _connect(path, busy_timeout, uri=False)
        # Look before changing anything, so a foreign database is left exactly as it was.
        _check_identity(path, *_identity(conn))
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(
                f"session store {path}: this filesystem can't use SQLite's WAL mode (got {mode})"
            )
        # FULL: fsync the WAL at each commit, so an acknowledged change survives power loss, not just kill -9.
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA fullfsync = ON")  # macOS: fsync alone doesn't flush the drive's cache
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN IMMEDIATE")
        try:
            application_id, user_version, tables = _identity(conn)
            _check_identity(
                path, application_id, user_version, tables
            )  # another writer may have won the race
            if user_version == 0:
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            else:
                for version in range(user_version, SCHEMA_VERSION):
                    for statement in _MIGRATIONS[version]:
                        conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise
        return conn
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        raise _plain(exc, path, read_only=False) from exc
    except BaseException:
        if conn is not None:
            conn.close()
        raise


def _open_reader(path: Path, busy_timeout: float) -> sqlite3.Connection:
    if not path.exists():
        raise StoreError(f"no session store at {path} yet: start oncall (without --observe) first")
    conn: sqlite3.Connection | None = None
    try:
        # mode=ro: SQLite itself refuses every write, so an observer can't change the store by mistake.
        conn = _connect(path.resolve().as_uri() + "?mode=ro", busy_timeout, uri=True)
        conn.execute("PRAGMA query_only = ON")
        application_id, user_version, tables = _identity(conn)
        if application_id == 0 and user_version == 0 and tables == 0:
            raise StoreError(f"no session store at {path} yet: start oncall (without --observe) first")
        _check_identity(path, application_id, user_version, tables)
        if user_version < SCHEMA_VERSION:
            raise StoreError(
                f"session store {path} has an older schema ({user_version}): "
                "start oncall (without --observe) once to upgrade it"
            )
        return conn
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        raise _plain(exc, path, read_only=True) from exc
    except BaseException:
        if conn is not None:
            conn.close()
        raise


def _plain(exc: sqlite3.Error, path: Path, *, read_only: bool) -> StoreError:
    """Turn a sqlite3 error into words a paged SRE can act on."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return StoreError(
            f"session store {path}: database is locked (another oncall is writing it); try again in a moment"
        )
    if read_only and code in (
        _READONLY_DIRECTORY,
        _READONLY_CANTINIT,
        _READONLY_CANTLOCK,
        _READONLY_RECOVERY,
    ):
        # WAL needs its -shm index; with no writer running a reader must create it, and can't here.
        return StoreError(
            f"can't observe {path} while no oncall is writing it: permission denied creating "
            f"{path.name}-shm in {path.parent}; start oncall (without --observe) first, "
            "or make that directory writable for this user"
        )
    if primary in (_SQLITE_NOTADB, _SQLITE_CORRUPT):
        return StoreError(f"{path} is not an oncall session store (not a SQLite database, or damaged)")
    if primary in (_SQLITE_PERM, _SQLITE_AUTH, _SQLITE_READONLY) or (
        primary == _SQLITE_CANTOPEN and _permission_denied(path, read_only=read_only)
    ):
        return StoreError(f"session store {path}: permission denied")
    if primary == _SQLITE_CANTOPEN:
        return StoreError(f"can't open the session store {path}")
    if primary == _SQLITE_FULL:
        return StoreError(f"session store {path}: the disk is full; the last change was not saved")
    if primary == _SQLITE_IOERR:
        return StoreError(f"session store {path}: disk I/O error; the last change was not saved")
    return StoreError(f"session store {path}: {exc}")


def _permission_denied(path: Path, *, read_only: bool) -> bool:
    if path.exists():
        return not os.access(path, os.R_OK if read_only else os.R_OK | os.W_OK)
    return not os.access(path.parent, os.W_OK | os.X_OK)
