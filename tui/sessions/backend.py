"""The one interface every session store keeps (SQLite file, shared PostgreSQL), and how one is opened."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol

from probes.base import utc_now
from tui.sessions.store import IncidentSession, SessionStore, StepRecord, StepState, TimelineEntry


class Store(Protocol):
    """Sessions, steps, notes, evidence and timeline; every method is one transaction, safe in a thread."""

    read_only: bool
    notice: str | None  # something to tell the user about this store (opened read-only why, offline), or None

    @property
    def location(self) -> str:
        """Where the sessions are, safe to show: a path, or a URL without its password."""
        ...

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
    ) -> IncidentSession: ...

    def set_step(
        self, session_id: int, index: int, state: StepState, who: str, *, evidence: str = ""
    ) -> IncidentSession: ...

    def add_note(
        self, session_id: int, text: str, who: str, step_index: int | None = None
    ) -> IncidentSession: ...

    def mark_resolved(
        self, fingerprint: str, active_at: datetime, at: datetime
    ) -> IncidentSession | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def get_meta(self, key: str) -> str | None: ...

    def get(self, session_id: int) -> IncidentSession: ...

    def find(self, fingerprint: str, active_at: datetime) -> IncidentSession | None: ...

    def sessions(self, limit: int = 50) -> list[IncidentSession]: ...

    def latest_active(self) -> IncidentSession | None: ...

    def timeline(self, session_id: int) -> list[TimelineEntry]: ...

    def step_history(self, session_id: int, index: int) -> list[StepRecord]:
        """Every change of one step, oldest first: two drivers' ticks both kept."""
        ...

    def wait_change(self, timeout: float) -> int:
        """Block until another writer commits, or `timeout` seconds; return a number that differs whenever
        something changed since the last call (a follower reloads only then)."""
        ...

    def unshared(self) -> int:
        """How many of this user's changes wait locally, not yet in the shared store (0 for SQLite)."""
        ...

    def moved(self) -> str | None:
        """None while the store is where it was opened, else "deleted" or "replaced" (a SQLite file)."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Store: ...

    def __exit__(self, *exc_info: object) -> None: ...


def open_store(
    path: Path,
    url: str | None = None,
    *,
    read_only: bool = False,
    clock: Callable[[], datetime] = utc_now,
    host: str | None = None,
) -> Store:
    """The store at `url` (postgresql://…, with `path` keeping changes while it can't be reached), else the
    SQLite file at `path`. `host` names this machine in each change (default: its hostname)."""
    if url is not None:
        from tui.sessions.postgres import PostgresStore

        return PostgresStore.open(url, path, read_only=read_only, clock=clock, host=host)
    return SessionStore.open(path, read_only=read_only, clock=clock, host=host)
