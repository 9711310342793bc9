"""The session store's SQLite file: its schema and migrations, opened private and checked (never some other
program's database), times stored as fixed-width UTC text, and sqlite errors in plain words."""

from __future__ import annotations

import os
import re
import sqlite3
import uuid
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

SCHEMA_VERSION = 2
# Stamped into the database header so a random SQLite file is never mistaken for (or migrated into) a store.
APPLICATION_ID = 0x6F6E6361  # "onca"
BUSY_TIMEOUT_S = 5.0


class StoreError(Exception):
    """The session store can't be opened or written; plain words for the screen."""


# Version 1 kept each step's latest state and a timeline beside it; version 2 keeps every change as an event
# (who, when, from which host) and derives the rest, and queues changes a shared store could not take yet.
_SCHEMA_V1 = (
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

_SESSION_V2 = """CREATE TABLE incident_session (
        id INTEGER PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        active_at TEXT NOT NULL,
        alertname TEXT NOT NULL,
        section_slug TEXT,
        summary TEXT NOT NULL,
        labels TEXT NOT NULL,
        UNIQUE (fingerprint, active_at)
    )"""
_EVENT_V2 = (
    """CREATE TABLE event (
        seq INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        session_id INTEGER NOT NULL REFERENCES incident_session (id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('fired', 'opened', 'resumed', 'step', 'note', 'resolved')),
        at TEXT NOT NULL,
        logged_at TEXT NOT NULL,
        who TEXT NOT NULL,
        host TEXT NOT NULL DEFAULT '',
        step_index INTEGER CHECK (step_index IS NULL OR step_index >= 0),
        state TEXT CHECK (state IS NULL OR state IN ('pending', 'done', 'skipped')),
        text TEXT NOT NULL DEFAULT '',
        evidence TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX event_by_session ON event (session_id, seq)",
    # changes made while a shared (PostgreSQL) store could not be reached, replayed in order when it can
    """CREATE TABLE queued_event (
        seq INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        store TEXT NOT NULL,
        facts TEXT NOT NULL,
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        logged_at TEXT NOT NULL,
        who TEXT NOT NULL,
        host TEXT NOT NULL,
        step_index INTEGER,
        state TEXT,
        text TEXT NOT NULL DEFAULT '',
        evidence TEXT NOT NULL DEFAULT ''
    )""",
)
_SCHEMA = (_SCHEMA_V1[0], _SESSION_V2, *_EVENT_V2)

_STEP_DETAIL = re.compile(r"^step (\d+) (done|skipped|back to pending)$")
_STEP_STATE = {"done": "done", "skipped": "skipped", "back to pending": "pending"}


def _migrate_1_to_2(conn: sqlite3.Connection) -> None:
    """Every v1 session, step, note and timeline line becomes events; nothing a user saw is lost."""
    conn.execute("ALTER TABLE incident_session RENAME TO incident_session_v1")
    conn.execute(_SESSION_V2)
    for statement in _EVENT_V2:
        conn.execute(statement)
    conn.execute(
        """INSERT INTO incident_session (id, fingerprint, active_at, alertname, section_slug, summary,
               labels)
           SELECT id, fingerprint, active_at, alertname, section_slug, summary, labels
           FROM incident_session_v1"""
    )
    latest = {
        (sid, index): (state, who, at, evidence)
        for sid, index, state, who, at, evidence in conn.execute(
            "SELECT session_id, step_index, state, who, at, evidence FROM step"
        )
    }
    events: list[tuple[object, ...]] = []  # (session, kind, at, logged_at, who, step, state, text, evidence)
    for sid, at, who, kind, detail in conn.execute(
        "SELECT session_id, at, who, kind, detail FROM timeline WHERE kind != 'note' ORDER BY at, id"
    ).fetchall():
        if kind == "step":
            found = _STEP_DETAIL.match(detail)
            if found is None:
                continue
            index, state = int(found.group(1)) - 1, _STEP_STATE[found.group(2)]
            kept = latest.get((sid, index))
            evidence = kept[3] if kept is not None and kept[2] == at and kept[0] == state else ""
            if kept is not None and kept[2] == at:
                latest.pop((sid, index))
            events.append((sid, "step", at, at, who, index, state, "", evidence))
        else:
            events.append((sid, kind, at, at, who, None, None, "", ""))
    for (sid, index), (state, who, at, evidence) in latest.items():  # a step with no timeline line
        events.append((sid, "step", at, at, who, index, state, "", evidence))
    for sid, index, who, at, text in conn.execute(
        "SELECT session_id, step_index, who, at, text FROM note ORDER BY at, id"
    ).fetchall():
        events.append((sid, "note", at, at, who, index, None, text, ""))
    for sid, driver, changed in conn.execute(
        "SELECT id, driver, last_change_at FROM incident_session_v1"
    ).fetchall():
        mine = [e for e in events if e[0] == sid and e[4]]
        last_who = max(mine, key=lambda e: str(e[3]))[4] if mine else ""
        if driver and driver != last_who:  # a driver who resumed it and changed nothing yet
            events.append((sid, "resumed", changed, changed, driver, None, None, "", ""))
    events.sort(key=lambda e: (str(e[2]), EVENT_ORDER.get(str(e[1]), 9)))
    conn.executemany(
        """INSERT INTO event (event_id, session_id, kind, at, logged_at, who, host, step_index, state, text,
               evidence) VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?)""",
        [(str(uuid.uuid4()), *event) for event in events],
    )
    for table in ("timeline", "note", "step", "incident_session_v1"):
        conn.execute(f"DROP TABLE {table}")


EVENT_ORDER = {"fired": 0, "opened": 1}

# Migrations from version N to N+1, applied in the writer's one transaction.
_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _migrate_1_to_2}

# sqlite3 primary result codes (the low byte of an extended code).
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 3, 5, 6, 8
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN = 10, 11, 13, 14
_SQLITE_AUTH, _SQLITE_NOTADB = 23, 26
# Extended READONLY codes a read-only connection gets when it can't set up the WAL index (-shm) itself.
_READONLY_RECOVERY, _READONLY_CANTLOCK, _READONLY_CANTINIT, _READONLY_DIRECTORY = 264, 520, 1288, 1544


def to_text(moment: datetime) -> str:
    """Fixed-width UTC text, so text order is time order and equal instants give equal keys."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # naive values are taken as UTC, never as local time
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_text(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def file_identity(path: Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


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


def open_writer(path: Path, busy_timeout: float) -> sqlite3.Connection:
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
                    _MIGRATIONS[version](conn)
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
        raise plain(exc, path, read_only=False) from exc
    except BaseException:
        if conn is not None:
            conn.close()
        raise


def open_reader(path: Path, busy_timeout: float) -> sqlite3.Connection:
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
        raise plain(exc, path, read_only=True) from exc
    except BaseException:
        if conn is not None:
            conn.close()
        raise


def plain(exc: sqlite3.Error, path: Path, *, read_only: bool) -> StoreError:
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
