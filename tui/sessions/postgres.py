"""The team's shared session store on PostgreSQL: the same sessions and events as the SQLite file, in the
`oncall` schema the tool creates and migrates itself; every commit NOTIFYs, so followers wait on LISTEN
instead of polling; a driver that can't reach the server keeps each change queued in its local SQLite file
and replays the queue, in order and idempotently, when the server answers again."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext, suppress
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from probes.base import utc_now
from tui.sessions.database import BUSY_TIMEOUT_S, StoreError, open_writer, plain, to_text
from tui.sessions.events import Event, EventStore, Facts, Loaded, derive, utc, when
from tui.sessions.sql import SqlTx

SCHEMA = "oncall"
PG_SCHEMA_VERSION = 1
CHANNEL = "oncall_sessions"
CONNECT_TIMEOUT_S = 3
RETRY_FIRST_S, RETRY_MAX_S = 0.25, 5.0
_LOCK_KEY = 0x6F6E6361  # advisory lock: one oncall creates or migrates the schema at a time

_DDL = (
    f"""CREATE TABLE {SCHEMA}.schema_version (
        version integer NOT NULL
    )""",
    f"""CREATE TABLE {SCHEMA}.meta (
        key text PRIMARY KEY,
        value text NOT NULL
    )""",
    f"""CREATE TABLE {SCHEMA}.incident_session (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        fingerprint text NOT NULL,
        active_at timestamptz NOT NULL,
        alertname text NOT NULL,
        section_slug text,
        summary text NOT NULL,
        labels text NOT NULL,
        UNIQUE (fingerprint, active_at)
    )""",
    f"""CREATE TABLE {SCHEMA}.event (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id text NOT NULL UNIQUE,
        session_id bigint NOT NULL REFERENCES {SCHEMA}.incident_session (id),
        kind text NOT NULL CHECK (kind IN ('fired', 'opened', 'resumed', 'step', 'note', 'resolved')),
        at timestamptz NOT NULL,
        logged_at timestamptz NOT NULL,
        who text NOT NULL,
        host text NOT NULL DEFAULT '',
        step_index integer CHECK (step_index IS NULL OR step_index >= 0),
        state text CHECK (state IS NULL OR state IN ('pending', 'done', 'skipped')),
        text text NOT NULL DEFAULT '',
        evidence text NOT NULL DEFAULT ''
    )""",
    f"CREATE INDEX event_by_session ON {SCHEMA}.event (session_id, seq)",
    f"INSERT INTO {SCHEMA}.schema_version (version) VALUES ({PG_SCHEMA_VERSION})",
)
# Migrations from version N to N+1 go here as _MIGRATIONS[N] = (statements...), applied in one transaction.
_MIGRATIONS: dict[int, tuple[str, ...]] = {}


def is_postgres_url(value: str) -> bool:
    return value.strip().lower().startswith(("postgresql://", "postgres://"))


def safe_url(url: str) -> str:
    """Where the store is, safe to print: the URL (or conninfo) without its password."""
    if not is_postgres_url(url):
        try:
            params = conninfo_to_dict(url)
        except psycopg.ProgrammingError:
            return "(an unreadable PostgreSQL address)"
        user = f"{params['user']}@" if params.get("user") else ""
        port = f":{params['port']}" if params.get("port") else ""
        return f"postgresql://{user}{params.get('host', '')}{port}/{params.get('dbname', '')}"
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "(an unreadable PostgreSQL URL)"
    if password is None:
        return url.split("?", 1)[0] if "password" in url.lower() else url
    user, host = parts.netloc.rsplit("@", 1)
    name = user.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{name}:••••@{host}", query=""))


_URL_SECRET = re.compile(r"(://[^:/@\s\"']*):[^@\s\"']*@")
_KEY_SECRET = re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.I)


def scrub(text: str) -> str:
    """Text that may quote a connection string (libpq's errors do), with any password masked."""
    return _KEY_SECRET.sub(r"\1••••", _URL_SECRET.sub(r"\1:••••@", text))


def _reason(exc: BaseException) -> str:
    """The server's or libpq's words, first meaningful line, without the connection string's password."""
    text = scrub(str(exc)).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else type(exc).__name__
    if first.startswith("connection failed: "):
        first = first.removeprefix("connection failed: ")
    if "failed: " in first:
        first = first.rsplit("failed: ", 1)[1]
    return first


class _Offline(Exception):
    """The server can't be reached now (refused, down, dropped the connection)."""


def plain_pg(exc: BaseException, where: str) -> StoreError:
    if isinstance(exc, pg_errors.InsufficientPrivilege):
        return StoreError(f"session store {where}: permission denied ({_reason(exc)})")
    if isinstance(exc, pg_errors.ReadOnlySqlTransaction):
        return StoreError(f"session store {where} is open read-only: nothing was changed")
    if isinstance(exc, psycopg.OperationalError):
        return StoreError(f"can't reach the session store {where}: {_reason(exc)}")
    return StoreError(f"session store {where}: {_reason(exc)}")


class PostgresStore(EventStore):
    """Sessions in a shared PostgreSQL; `path` is the local SQLite file that queues unshared changes."""

    def __init__(
        self,
        url: str,
        path: Path | None,
        *,
        read_only: bool = False,
        clock: Callable[[], datetime] = utc_now,
        host: str | None = None,
    ) -> None:
        super().__init__(read_only=read_only, clock=clock, host=host)
        self.url = url
        self.path = path
        self.notice: str | None = None
        self._shown = safe_url(url)
        self._conn: psycopg.Connection[Any] | None = None
        self._listen: psycopg.Connection[Any] | None = None
        self._listen_lock = threading.Lock()
        self._queue: sqlite3.Connection | None = None
        self._queue_lock = threading.Lock()
        self._changes = 0
        self._count_lock = threading.Lock()
        self._retry_at = 0.0
        self._retry_wait = RETRY_FIRST_S
        self._closed = False
        # what was last read, so a driver cut off from the server still sees its session (plus its queue)
        self._cache: dict[int, Loaded] = {}
        self._meta: dict[str, str] = {}
        self._provisional: dict[int, Facts] = {}  # negative ids for sessions opened while offline

    # ----------------------------------------------------------------------------------------- opening

    @classmethod
    def open(
        cls,
        url: str,
        path: Path | None,
        *,
        read_only: bool = False,
        clock: Callable[[], datetime] = utc_now,
        host: str | None = None,
    ) -> PostgresStore:
        store = cls(url, path, read_only=read_only, clock=clock, host=host)
        try:
            store._conninfo()  # a malformed URL is said so now, not at each retry
            if not read_only and path is not None:
                store._queue = open_writer(Path(path).expanduser(), BUSY_TIMEOUT_S)
            try:
                store._connect()
            except _Offline as exc:
                if read_only or store._queue is None:
                    raise StoreError(f"can't reach the session store {store._shown}: {exc}") from None
                store._offline(str(exc))
            else:
                try:
                    store._flush()
                except StoreError as error:
                    store.notice = f"{error}; {store.unshared()} changes wait in {path}"
        except BaseException:
            store.close()
            raise
        return store

    def _conninfo(self, *, listen: bool = False) -> str:
        try:
            params = conninfo_to_dict(self.url)
        except psycopg.ProgrammingError as exc:
            raise StoreError(f"not a usable PostgreSQL URL: {self._shown} ({_reason(exc)})") from None
        options = str(params.pop("options", "") or "")
        options += f" -c search_path={SCHEMA} -c TimeZone=UTC"
        if self.read_only:
            # PostgreSQL itself refuses writes on an observer's connections (the role's GRANTs too)
            options += " -c default_transaction_read_only=on"
        params.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
        # a server that vanishes without closing the connection (a network cut) is noticed in seconds,
        # not at TCP's retry limit many minutes later: the driver's changes go to the queue instead
        for key, value in (
            ("keepalives", 1),
            ("keepalives_idle", 5),
            ("keepalives_interval", 2),
            ("keepalives_count", 3),
            ("tcp_user_timeout", 10_000),
        ):
            params.setdefault(key, value)
        params.setdefault("application_name", "oncall-observer" if self.read_only else "oncall")
        params["options"] = options.strip()
        return make_conninfo("", **params)

    def _connect(self) -> None:
        """Open the main connection, create or check the schema; _Offline when the server can't be reached."""
        try:
            conn = psycopg.connect(self._conninfo(), autocommit=True)
        except psycopg.OperationalError as exc:
            if _is_refusal(exc):
                raise plain_pg(exc, self._shown) from None
            raise _Offline(_reason(exc)) from None
        except psycopg.Error as exc:
            raise plain_pg(exc, self._shown) from None
        try:
            self._schema(conn)
        except psycopg.OperationalError as exc:
            conn.close()
            raise _Offline(_reason(exc)) from None
        except psycopg.Error as exc:
            conn.close()
            raise plain_pg(exc, self._shown) from None
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._retry_wait = RETRY_FIRST_S
        if self.notice and "can't be reached" in self.notice:
            self.notice = None

    def _schema(self, conn: psycopg.Connection[Any]) -> None:
        version = _version(conn)
        if version is None and self.read_only:
            raise StoreError(f"no session store at {self._shown} yet: start oncall (without --observe) first")
        if version is None or version < PG_SCHEMA_VERSION:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
                version = _version(conn)  # another oncall may have made it meanwhile
                if version is None:
                    exists = conn.execute(
                        "SELECT 1 FROM pg_namespace WHERE nspname = %s", (SCHEMA,)
                    ).fetchone()
                    if exists is None:
                        conn.execute(f"CREATE SCHEMA {SCHEMA}")
                    for statement in _DDL:
                        conn.execute(statement)
                else:
                    for step in range(version, PG_SCHEMA_VERSION):
                        for statement in _MIGRATIONS[step]:
                            conn.execute(statement)
                        conn.execute(f"UPDATE {SCHEMA}.schema_version SET version = %s", (step + 1,))
            version = PG_SCHEMA_VERSION
        if version > PG_SCHEMA_VERSION:
            self.read_only = True
            self.notice = (
                f"session store {self._shown} was made by a newer oncall (schema {version}, this one "
                f"knows {PG_SCHEMA_VERSION}): opened read-only, upgrade oncall to change it"
            )

    def _offline(self, why: str) -> None:
        if self._conn is not None:
            with suppress(Exception):
                self._conn.close()
            self._conn = None
        self._retry_at = time.monotonic() + self._retry_wait
        self._retry_wait = min(self._retry_wait * 2, RETRY_MAX_S)
        if self._queue is None:
            then = "showing what was last read; retrying"
        else:
            then = f"your changes are kept in {self.path} and shared when it answers"
        self.notice = f"the shared session store {self._shown} can't be reached ({why}): {then}"

    def _online(self) -> bool:
        """Whether the server answers now; retried with backoff while it doesn't; the queue replayed."""
        if self._closed:
            raise StoreError(f"session store {self._shown} is closed")
        if self._conn is not None and not self._conn.closed:
            return True
        if time.monotonic() < self._retry_at:
            return False
        try:
            self._connect()
        except _Offline as exc:
            self._offline(str(exc))
            return False
        self._bump()  # what others did meanwhile was never notified to us: reload
        self._flush()
        return self._conn is not None

    def _bump(self) -> None:
        with self._count_lock:
            self._changes += 1

    # ----------------------------------------------------------------------------------------- Store

    @property
    def location(self) -> str:
        return self._shown

    def moved(self) -> str | None:
        return None

    def unshared(self) -> int:
        if self._queue is None:
            return 0
        rows = self._local(
            lambda q: q.execute(
                "SELECT count(*) FROM queued_event WHERE store = ?", (self._shown,)
            ).fetchall()
        )
        return int(rows[0][0])

    def wait_change(self, timeout: float) -> int:
        """Block on LISTEN until a commit is notified or `timeout` passes; a counter that moves on each."""
        with self._lock:
            online = self._online() if self._conn is None else True
            if online and self._queue is not None and self.unshared():
                self._flush()
        with self._listen_lock:
            if self._listen is None and online:
                self._open_listen()
            listen = self._listen
            if listen is None:
                time.sleep(timeout)
                return self._changes
            try:
                for _ in listen.notifies(timeout=max(timeout, 0.0), stop_after=1):
                    self._bump()
                # whatever else arrived meanwhile, without waiting again
                for _ in listen.notifies(timeout=0.0):
                    self._bump()
            except psycopg.Error:
                with suppress(Exception):
                    listen.close()
                self._listen = None
                self._bump()
                with self._lock:
                    self._offline("the connection was lost")
        return self._changes

    def _open_listen(self) -> None:
        try:
            listen = psycopg.connect(self._conninfo(listen=True), autocommit=True)
            listen.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error:
            return
        self._listen = listen
        self._bump()  # anything committed before we listened

    def close(self) -> None:
        self._closed = True
        with self._listen_lock:
            if self._listen is not None:
                with suppress(Exception):
                    self._listen.close()
                self._listen = None
        with self._lock:
            if self._conn is not None:
                with suppress(Exception):
                    self._conn.close()
                self._conn = None
            with self._queue_lock:
                if self._queue is not None:
                    self._queue.close()
                    self._queue = None

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------------------- plumbing

    def _transact(self, write: bool, body: Callable[[Any], Any]) -> Any:
        if write:
            self._refuse_read_only()
        with self._lock:
            if self._online():
                assert self._conn is not None
                conn = self._conn
                try:
                    # a read is its statements alone (autocommit): two round trips fewer for a follower;
                    # events are only ever appended, so a later statement can only see a newer state
                    with conn.transaction() if write else nullcontext():
                        tx = _CachingTx(self, SqlTx(_runner(conn), lambda moment: moment))
                        result = body(tx)
                        if tx.sql.wrote:
                            conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))
                    return result
                except psycopg.OperationalError as exc:
                    if not conn.closed and not conn.broken:
                        raise plain_pg(exc, self._shown) from None
                    self._offline(_reason(exc))
                except psycopg.Error as exc:
                    raise plain_pg(exc, self._shown) from None
            if write and self._queue is None:
                raise StoreError(f"can't reach the session store {self._shown}: nothing was changed")
            return body(_OfflineTx(self))

    # ----------------------------------------------------------------------------------------- queue

    def _enqueue(self, facts: Facts, events: list[Event]) -> None:
        assert self._queue is not None
        rows = [
            (
                e.event_id,
                self._shown,
                facts.to_json(),
                e.kind,
                to_text(e.at),
                to_text(e.logged_at),
                e.who,
                e.host,
                e.step_index,
                e.state,
                e.text,
                e.evidence,
            )
            for e in events
        ]
        self._local(
            lambda q: q.executemany(
                """INSERT INTO queued_event (event_id, store, facts, kind, at, logged_at, who, host,
                       step_index, state, text, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (event_id) DO NOTHING""",
                rows,
            ).fetchall(),
            write=True,
        )

    def queued(self) -> list[tuple[Facts, Event]]:
        if self._queue is None:
            return []
        rows = self._local(
            lambda q: q.execute(
                """SELECT seq, event_id, kind, at, logged_at, who, host, step_index, state, text, evidence,
                          facts FROM queued_event WHERE store = ? ORDER BY seq""",
                (self._shown,),
            ).fetchall()
        )
        out = []
        for seq, event_id, kind, at, logged_at, who, host, index, state, text, evidence, facts in rows:
            event = Event(kind, when(at), when(logged_at), who, host, index, state, text, evidence, event_id)
            out.append((Facts.from_json(facts), replace(event, seq=10**12 + int(seq))))
        return out

    def _flush(self) -> None:
        """Replay the queue in order, in one transaction; events already there (by id) are skipped."""
        queued = self.queued()
        if not queued or self._conn is None or self.read_only:
            return  # read-only (a newer oncall's schema): the queue waits for an oncall that can write it
        conn = self._conn
        try:
            with conn.transaction():
                sql = SqlTx(_runner(conn), lambda moment: moment)
                for facts, event in queued:
                    session_id, _ = sql.add_session(facts)
                    if event.kind in ("fired", "opened"):
                        have = sql.load(session_id)
                        if have and any(e.kind == event.kind for e in have.events):
                            if event.kind == "fired":
                                continue  # the session was opened elsewhere meanwhile: keep its firing
                            event = replace(event, kind="resumed")  # and this driver took it over
                    sql.add_events(session_id, facts, [replace(event, seq=0)])
                conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))
        except psycopg.OperationalError as exc:
            self._offline(_reason(exc))
            return
        except psycopg.Error as exc:
            raise plain_pg(exc, self._shown) from None
        self._local(
            lambda q: q.executemany(
                "DELETE FROM queued_event WHERE event_id = ?", [(e.event_id,) for _, e in queued]
            ).fetchall(),
            write=True,
        )
        self._bump()

    def _local(self, action: Callable[[sqlite3.Connection], list[Any]], *, write: bool = False) -> list[Any]:
        """One transaction on the local SQLite file that keeps the queue (its own lock: never waits for
        the server, so `unshared()` answers at once even while a reconnect is under way)."""
        with self._queue_lock:
            queue = self._queue
            if queue is None:
                raise StoreError(f"session store {self._shown} is closed")
            try:
                queue.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    result = action(queue)
                    queue.execute("COMMIT")
                finally:
                    if queue.in_transaction:
                        queue.rollback()
            except sqlite3.Error as exc:
                raise plain(exc, Path(self.path or ""), read_only=False) from exc
            return result


def _runner(conn: psycopg.Connection[Any]) -> Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]:
    def run(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        cursor = conn.execute(sql.replace("?", "%s"), tuple(params))
        return list(cursor.fetchall()) if cursor.description else []

    return run


def _version(conn: psycopg.Connection[Any]) -> int | None:
    row = conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.schema_version",)).fetchone()
    if row is None or row[0] is None:
        return None
    found = conn.execute(f"SELECT max(version) FROM {SCHEMA}.schema_version").fetchone()
    return int(found[0]) if found and found[0] is not None else 0


def _is_refusal(exc: psycopg.OperationalError) -> bool:
    """The server answered and said no (bad password, no such database or role): not an outage."""
    text = str(exc)
    return any(
        words in text
        for words in ("authentication failed", "does not exist", "no password supplied", "not permitted")
    )


class _CachingTx:
    """The online transaction, keeping what it reads for when the server can't be reached."""

    def __init__(self, store: PostgresStore, sql: SqlTx) -> None:
        self.store = store
        self.sql = sql

    def _real(self, session_id: int) -> int | None:
        facts = self.store._provisional.get(session_id)
        if facts is None:
            return session_id
        return self.sql.find(*facts.key)

    def load(self, session_id: int) -> Loaded | None:
        real = self._real(session_id)
        loaded = self.sql.load(real) if real is not None else None
        if loaded is not None:
            self.store._cache[loaded.id] = loaded
        return loaded

    def load_many(self, session_ids: list[int]) -> list[Loaded]:
        found = self.sql.load_many(session_ids)
        for loaded in found:
            self.store._cache[loaded.id] = loaded
        return found

    def find(self, fingerprint: str, active_at: datetime) -> int | None:
        return self.sql.find(fingerprint, active_at)

    def recent(self, limit: int, *, active_only: bool) -> list[int]:
        return self.sql.recent(limit, active_only=active_only)

    def add_session(self, facts: Facts) -> tuple[int, bool]:
        return self.sql.add_session(facts)

    def add_events(self, session_id: int, facts: Facts, events: list[Event]) -> list[Event]:
        real = self._real(session_id)
        assert real is not None
        added = self.sql.add_events(real, facts, events)
        cached = self.store._cache.get(real)
        if cached is not None:  # what an outage would show next is this change too
            self.store._cache[real] = Loaded(real, cached.facts, (*cached.events, *added))
        return added

    def get_meta(self, key: str) -> str | None:
        value = self.sql.get_meta(key)
        if value is not None:
            self.store._meta[key] = value
        return value

    def set_meta(self, key: str, value: str) -> None:
        self.sql.set_meta(key, value)
        self.store._meta[key] = value


class _OfflineTx:
    """While the server can't be reached: the last state read, plus this driver's queued changes."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self.queued = store.queued()

    def _sessions(self) -> dict[int, Loaded]:
        store = self.store
        by_key: dict[tuple[str, datetime], Loaded] = {
            loaded.facts.key: loaded for loaded in store._cache.values()
        }
        for facts, event in self.queued:
            if facts.key not in by_key:
                by_key[facts.key] = Loaded(self._provisional(facts), facts, ())
            base = by_key[facts.key]
            by_key[facts.key] = Loaded(base.id, base.facts, (*base.events, event))
        return {loaded.id: loaded for loaded in by_key.values()}

    def _provisional(self, facts: Facts) -> int:
        for session_id, known in self.store._provisional.items():
            if known.key == facts.key:
                return session_id
        session_id = -(len(self.store._provisional) + 1)
        self.store._provisional[session_id] = facts
        return session_id

    def load(self, session_id: int) -> Loaded | None:
        sessions = self._sessions()
        if session_id in sessions:
            return sessions[session_id]
        facts = self.store._provisional.get(session_id)  # a session opened offline, shared since
        if facts is not None:
            return next((s for s in sessions.values() if s.facts.key == facts.key), None)
        return None

    def find(self, fingerprint: str, active_at: datetime) -> int | None:
        key = (fingerprint, utc(active_at))
        return next((i for i, s in self._sessions().items() if s.facts.key == key), None)

    def recent(self, limit: int, *, active_only: bool) -> list[int]:
        derived = [derive(loaded) for loaded in self._sessions().values() if loaded.events]
        if active_only:
            derived = [s for s in derived if s.resolved_at is None]
        derived.sort(key=lambda s: (s.last_change_at, s.id), reverse=True)
        return [s.id for s in derived[:limit]]

    def add_session(self, facts: Facts) -> tuple[int, bool]:
        found = self.find(*facts.key)
        if found is not None:
            return found, False
        return self._provisional(facts), True

    def load_many(self, session_ids: list[int]) -> list[Loaded]:
        sessions = self._sessions()
        return [sessions[i] for i in session_ids if i in sessions]

    def add_events(self, session_id: int, facts: Facts, events: list[Event]) -> list[Event]:
        self.store._enqueue(facts, events)
        self.queued = self.store.queued()
        ids = {e.event_id for e in events}
        return [e for _, e in self.queued if e.event_id in ids]

    def get_meta(self, key: str) -> str | None:
        return self.store._meta.get(key)

    def set_meta(self, key: str, value: str) -> None:
        raise StoreError(f"can't reach the session store {self.store._shown}: {key} was not saved")
