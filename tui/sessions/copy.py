"""`oncall store copy`: every session with all its events, from one store (SQLite or PostgreSQL) to another;
events the target already has (by event id) are skipped, so a copy can be run again."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tui.sessions.events import EventStore, derive
from tui.sessions.postgres import PostgresStore, is_postgres_url, safe_url
from tui.sessions.store import SessionStore, StoreError


@dataclass(frozen=True)
class Copied:
    alertname: str
    fingerprint: str
    active_at: str
    events: int  # events added to the target (0: it had them all)


def shown(target: str) -> str:
    return safe_url(target) if is_postgres_url(target) else target


def open_target(target: str, *, read_only: bool) -> EventStore:
    """A store named by a path or a postgresql:// URL (no offline queue: a copy needs both ends up)."""
    if is_postgres_url(target) or (target.strip() and "=" in target and " " in target.strip()):
        return PostgresStore.open(target, None, read_only=read_only)
    path = Path(target).expanduser()
    if read_only and not path.exists():
        raise StoreError(f"no session store at {path}")
    return SessionStore.open(path, read_only=read_only)


def copy_sessions(source: EventStore, target: EventStore) -> list[Copied]:
    out = []
    for loaded in source.export_sessions():
        added = target.import_session(loaded)
        session = derive(loaded)
        out.append(
            Copied(
                session.alertname,
                session.fingerprint,
                session.active_at.strftime("%Y-%m-%d %H:%MZ"),
                added,
            )
        )
    return out
