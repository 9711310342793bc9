"""One transaction's reads and writes of sessions and events, in SQL both SQLite and PostgreSQL run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from tui.sessions.events import Event, Facts, Loaded, labels_from_json, utc, when

Run = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]

_EVENT_COLUMNS = "seq, event_id, kind, at, logged_at, who, host, step_index, state, text, evidence"


def event_from_row(row: Sequence[Any]) -> Event:
    seq, event_id, kind, at, logged_at, who, host, step_index, state, text, evidence = row
    return Event(
        kind=str(kind),
        at=when(at),
        logged_at=when(logged_at),
        who=str(who),
        host=str(host or ""),
        step_index=None if step_index is None else int(step_index),
        state=None if state is None else str(state),
        text=str(text or ""),
        evidence=str(evidence or ""),
        event_id=str(event_id),
        seq=int(seq),
    )


class EventCache:
    """Sessions' facts and events already read, for a backend whose event numbers (`seq`) follow commit
    order (SQLite: one writer at a time): a later read fetches only the events after the last one seen.
    Facts and events are never changed once written, so what is kept here stays true."""

    def __init__(self) -> None:
        self.facts: dict[int, Facts] = {}
        self.events: dict[int, tuple[Event, ...]] = {}

    def clear(self) -> None:
        self.facts.clear()
        self.events.clear()


class SqlTx:
    """`run(sql, params)` executes one statement (`?` placeholders) and returns its rows; `time` turns a
    datetime into what the backend stores (fixed-width text for SQLite, the datetime for PostgreSQL)."""

    def __init__(self, run: Run, time: Callable[[datetime], Any], cache: EventCache | None = None) -> None:
        self._run = run
        self._time = time
        self._cache = cache
        self.wrote = False

    def load(self, session_id: int) -> Loaded | None:
        found = self.load_many([session_id])
        return found[0] if found else None

    def load_many(self, session_ids: list[int]) -> list[Loaded]:
        """The sessions, in the order asked: read whole in two statements whatever their number, or (with a
        cache) only their events not read yet."""
        cache = self._cache
        if cache is None:
            return self._read(session_ids)
        for loaded in self._read([i for i in session_ids if i not in cache.facts]):
            cache.facts[loaded.id], cache.events[loaded.id] = loaded.facts, loaded.events
        out = []
        for session_id in session_ids:
            if session_id not in cache.facts:
                continue
            known = cache.events[session_id]
            newer = self._run(
                f"SELECT {_EVENT_COLUMNS} FROM event WHERE session_id = ? AND seq > ? ORDER BY seq",
                (session_id, known[-1].seq if known else 0),
            )
            if newer:
                known = cache.events[session_id] = (*known, *(event_from_row(row) for row in newer))
            out.append(Loaded(session_id, cache.facts[session_id], known))
        return out

    def _read(self, session_ids: list[int]) -> list[Loaded]:
        if not session_ids:
            return []
        marks = ", ".join("?" for _ in session_ids)
        rows = self._run(
            "SELECT id, fingerprint, active_at, alertname, section_slug, summary, labels"
            f" FROM incident_session WHERE id IN ({marks})",
            session_ids,
        )
        events: dict[int, list[Event]] = {int(row[0]): [] for row in rows}
        for row in self._run(
            f"SELECT session_id, {_EVENT_COLUMNS} FROM event WHERE session_id IN ({marks}) ORDER BY seq",
            session_ids,
        ):
            events[int(row[0])].append(event_from_row(row[1:]))
        loaded = {}
        for session_id, fingerprint, active_at, alertname, slug, summary, labels in rows:
            facts = Facts(fingerprint, when(active_at), alertname, slug, summary, labels_from_json(labels))
            loaded[int(session_id)] = Loaded(int(session_id), facts, tuple(events[int(session_id)]))
        return [loaded[i] for i in session_ids if i in loaded]

    def find(self, fingerprint: str, active_at: datetime) -> int | None:
        rows = self._run(
            "SELECT id FROM incident_session WHERE fingerprint = ? AND active_at = ?",
            (fingerprint, self._time(utc(active_at))),
        )
        return int(rows[0][0]) if rows else None

    def recent(self, limit: int, *, active_only: bool) -> list[int]:
        where = (
            " WHERE NOT EXISTS (SELECT 1 FROM event r WHERE r.session_id = s.id AND r.kind = 'resolved')"
            if active_only
            else ""
        )
        rows = self._run(
            "SELECT s.id FROM incident_session s JOIN event e ON e.session_id = s.id"
            f"{where} GROUP BY s.id ORDER BY max(e.logged_at) DESC, s.id DESC LIMIT ?",
            (limit,),
        )
        return [int(row[0]) for row in rows]

    def add_session(self, facts: Facts) -> tuple[int, bool]:
        rows = self._run(
            """INSERT INTO incident_session (fingerprint, active_at, alertname, section_slug, summary, labels)
               VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (fingerprint, active_at) DO NOTHING RETURNING id""",
            (
                facts.fingerprint,
                self._time(utc(facts.active_at)),
                facts.alertname,
                facts.section_slug,
                facts.summary,
                facts.labels_json(),
            ),
        )
        if rows:
            self.wrote = True
            return int(rows[0][0]), True
        found = self.find(facts.fingerprint, facts.active_at)
        assert found is not None
        return found, False

    def add_events(self, session_id: int, facts: Facts, events: list[Event]) -> list[Event]:
        """Append the events this store lacks; those appended, with their place in it (`seq`)."""
        added = []
        for event in events:
            rows = self._run(
                """INSERT INTO event (event_id, session_id, kind, at, logged_at, who, host, step_index, state,
                       text, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (event_id) DO NOTHING RETURNING seq""",
                (
                    event.event_id,
                    session_id,
                    event.kind,
                    self._time(event.at),
                    self._time(event.logged_at),
                    event.who,
                    event.host,
                    event.step_index,
                    event.state,
                    event.text,
                    event.evidence,
                ),
            )
            if rows:
                added.append(replace(event, seq=int(rows[0][0])))
        self.wrote = self.wrote or bool(added)
        return added

    def get_meta(self, key: str) -> str | None:
        rows = self._run("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._run(
            """INSERT INTO meta (key, value) VALUES (?, ?)
               ON CONFLICT (key) DO UPDATE SET value = excluded.value""",
            (key, value),
        )
        self.wrote = True
