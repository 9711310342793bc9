"""Sessions as events: every change (opened, step, note, resolved) is one appended row, and the session a
screen shows (its steps, notes, driver, last change and timeline) is derived from those rows. The same
rules serve every backend: a backend only stores sessions' facts and their events (`Tx`)."""

from __future__ import annotations

import json
import re
import socket
import threading
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol, TypeVar, get_args

from tui.sessions.database import StoreError, from_text

_T = TypeVar("_T")
StepState = Literal["pending", "done", "skipped"]
STEP_STATES: tuple[StepState, ...] = get_args(StepState)
EVENT_KINDS = ("fired", "opened", "resumed", "step", "note", "resolved")
# a line of stored evidence that says what could not be read (never the error shown as if it were evidence)
NOT_READ = "not read — "
_STEP_WORDS: dict[str, str] = {"done": "done", "skipped": "skipped", "pending": "back to pending"}
STEP_DETAIL = re.compile(r"^step (\d+) (done|skipped|back to pending)$")


@dataclass(frozen=True)
class StepRecord:
    index: int  # 0-based position of the step in its section
    state: StepState
    who: str
    at: datetime
    evidence: str = ""  # what the live evidence showed when the step was ticked, "" when none
    host: str = ""  # the machine the change was made on ("" when not known: an older store)

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
    host: str = ""


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


@dataclass(frozen=True)
class Facts:
    """What a session is, whatever happens in it: the alert firing it was opened for."""

    fingerprint: str
    active_at: datetime
    alertname: str
    section_slug: str | None
    summary: str
    labels: tuple[tuple[str, str], ...]

    @property
    def key(self) -> tuple[str, datetime]:
        return self.fingerprint, utc(self.active_at)

    def labels_json(self) -> str:
        return json.dumps([[str(k), str(v)] for k, v in self.labels])

    def to_json(self) -> str:
        return json.dumps(
            {
                "fingerprint": self.fingerprint,
                "active_at": utc(self.active_at).isoformat(),
                "alertname": self.alertname,
                "section_slug": self.section_slug,
                "summary": self.summary,
                "labels": [[k, v] for k, v in self.labels],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Facts:
        data = json.loads(text)
        return cls(
            data["fingerprint"],
            from_text(data["active_at"]),
            data["alertname"],
            data["section_slug"],
            data["summary"],
            labels_from_json(json.dumps(data["labels"])),
        )


@dataclass(frozen=True)
class Event:
    """One change, as appended: `event_id` makes replaying or copying it twice harmless."""

    kind: str
    at: datetime  # when it happened (Prometheus' time for fired/resolved)
    logged_at: datetime  # when oncall recorded it: the session's last change
    who: str
    host: str
    step_index: int | None = None
    state: str | None = None
    text: str = ""
    evidence: str = ""
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    seq: int = 0  # insertion order in the store it was read from (0: not stored yet)


@dataclass(frozen=True)
class Loaded:
    id: int
    facts: Facts
    events: tuple[Event, ...]  # in insertion order


def utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def when(value: object) -> datetime:
    """A stored time (text from SQLite, a datetime from PostgreSQL) as an aware UTC datetime."""
    if isinstance(value, datetime):
        return utc(value)
    return from_text(str(value))


def labels_from_json(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((str(k), str(v)) for k, v in json.loads(text))


def ordered(events: tuple[Event, ...] | list[Event]) -> list[Event]:
    """By when they happened, then in the order they were stored."""
    return sorted(events, key=lambda e: (e.at, e.seq))


def derive(loaded: Loaded) -> IncidentSession:
    """The session as its events leave it: each step's latest change wins, both drivers' kept."""
    facts, events = loaded.facts, ordered(loaded.events)
    steps: dict[int, StepRecord] = {}
    notes: list[Note] = []
    opened = next((e for e in events if e.kind == "opened"), None)
    resolved = next((e for e in events if e.kind == "resolved"), None)
    for event in events:
        if event.kind == "step" and event.step_index is not None:
            state: StepState = event.state if event.state in STEP_STATES else "pending"  # type: ignore[assignment]
            steps[event.step_index] = StepRecord(
                event.step_index, state, event.who, event.at, event.evidence, event.host
            )
        elif event.kind == "note":
            notes.append(Note(event.seq, event.step_index, event.who, event.at, event.text))
    changes = sorted(events, key=lambda e: (e.logged_at, e.seq))
    drivers = [e for e in changes if e.who and e.kind != "fired"]
    first = events[0] if events else None
    return IncidentSession(
        id=loaded.id,
        fingerprint=facts.fingerprint,
        alertname=facts.alertname,
        section_slug=facts.section_slug,
        active_at=utc(facts.active_at),
        opened_at=opened.at if opened else (first.at if first else utc(facts.active_at)),
        opened_by=opened.who if opened else "",
        resolved_at=resolved.at if resolved else None,
        summary=facts.summary,
        labels=facts.labels,
        steps=dict(sorted(steps.items())),
        notes=tuple(notes),
        driver=drivers[-1].who if drivers else "",
        last_change_at=changes[-1].logged_at if changes else utc(facts.active_at),
    )


def detail(facts: Facts, event: Event) -> str:
    if event.kind == "fired":
        return f"{facts.alertname} fired"
    if event.kind == "opened":
        return "checklist opened"
    if event.kind == "resolved":
        return f"{facts.alertname} resolved"
    if event.kind == "step":
        return f"step {(event.step_index or 0) + 1} {_STEP_WORDS.get(event.state or '', event.state or '')}"
    if event.kind == "note":
        return event.text if event.step_index is None else f"step {event.step_index + 1}: {event.text}"
    return event.kind


def timeline(loaded: Loaded) -> list[TimelineEntry]:
    return [
        TimelineEntry(e.at, e.who, e.kind, detail(loaded.facts, e), e.host)
        for e in ordered(loaded.events)
        if e.kind != "resumed"  # a driver taking over is the session's driver, not an incident event
    ]


def history(loaded: Loaded, index: int) -> list[StepRecord]:
    return [
        StepRecord(index, e.state, e.who, e.at, e.evidence, e.host)  # type: ignore[arg-type]
        for e in ordered(loaded.events)
        if e.kind == "step" and e.step_index == index
    ]


def _plus(loaded: Loaded, added: list[Event]) -> Loaded:
    return Loaded(loaded.id, loaded.facts, (*loaded.events, *added))


class Tx(Protocol):
    """One transaction on a backend: sessions' facts and events, and the meta values."""

    def load(self, session_id: int) -> Loaded | None: ...

    def load_many(self, session_ids: list[int]) -> list[Loaded]: ...

    def find(self, fingerprint: str, active_at: datetime) -> int | None: ...

    def recent(self, limit: int, *, active_only: bool) -> list[int]: ...

    def add_session(self, facts: Facts) -> tuple[int, bool]:
        """The session's id, and whether it was created now (False: it was there)."""
        ...

    def add_events(self, session_id: int, facts: Facts, events: list[Event]) -> list[Event]:
        """Append the events the store lacks (by id); those appended, with their `seq`."""
        ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...


class EventStore:
    """The store's rules, backend-free: subclasses give `_tx(write)` and `location`."""

    read_only: bool
    notice: str | None = None  # something the user should know about this store (read-only why, offline)

    def __init__(self, *, read_only: bool, clock: Callable[[], datetime], host: str | None = None) -> None:
        self.read_only = read_only
        self._clock = clock
        self.host = host if host is not None else socket.gethostname()
        self._lock = threading.RLock()

    @property
    def location(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _tx(self, write: bool) -> AbstractContextManager[Tx]:
        raise NotImplementedError

    def _refuse_read_only(self) -> None:
        if self.read_only:
            why = f" ({self.notice})" if self.notice else " (observer mode)"
            raise StoreError(f"session store {self.location} is open read-only{why}: nothing was changed")

    def _now(self) -> datetime:
        return utc(self._clock())

    def _event(
        self,
        kind: str,
        who: str,
        *,
        at: datetime | None = None,
        now: datetime | None = None,
        **fields: object,
    ) -> Event:
        now = now or self._now()
        return Event(kind, utc(at) if at else now, now, who, self.host, **fields)  # type: ignore[arg-type]

    def _loaded(self, tx: Tx, session_id: int) -> Loaded:
        loaded = tx.load(session_id)
        if loaded is None:
            raise StoreError(f"no incident session #{session_id} in the store")
        return loaded

    def _transact(self, write: bool, body: Callable[[Tx], _T]) -> _T:
        with self._tx(write) as tx:
            return body(tx)

    # ------------------------------------------------------------------------------------- writing

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
        self._refuse_read_only()
        facts = Facts(fingerprint, utc(active_at), alertname, section_slug, summary, tuple(labels))

        def body(tx: Tx) -> IncidentSession:
            session_id, created = tx.add_session(facts)
            if created:
                now = self._now()
                fired = self._event("fired", "", at=facts.active_at, now=now)
                tx.add_events(session_id, facts, [fired, self._event("opened", who, now=now)])
            else:
                loaded = self._loaded(tx, session_id)
                if derive(loaded).driver != who:
                    tx.add_events(loaded.id, loaded.facts, [self._event("resumed", who)])
            return derive(self._loaded(tx, session_id))

        return self._transact(True, body)

    def set_step(
        self, session_id: int, index: int, state: StepState, who: str, *, evidence: str = ""
    ) -> IncidentSession:
        """Record a step's new state; the same state again changes nothing and adds no timeline entry."""
        if state not in STEP_STATES:
            raise StoreError(f"unknown step state {state!r}: expected one of {', '.join(STEP_STATES)}")
        if index < 0:
            raise StoreError(f"step index {index} is negative")
        self._refuse_read_only()

        def body(tx: Tx) -> IncidentSession:
            loaded = self._loaded(tx, session_id)
            current = derive(loaded)
            if current.step_state(index) == state:
                return current
            event = self._event("step", who, step_index=index, state=state, evidence=evidence)
            return derive(_plus(loaded, tx.add_events(loaded.id, loaded.facts, [event])))

        return self._transact(True, body)

    def add_note(
        self, session_id: int, text: str, who: str, step_index: int | None = None
    ) -> IncidentSession:
        """Add a note to the session (or to one of its steps); an empty note is refused."""
        text = text.strip()
        if not text:
            raise StoreError("the note is empty: nothing was saved")
        if step_index is not None and step_index < 0:
            raise StoreError(f"step index {step_index} is negative")
        self._refuse_read_only()

        def body(tx: Tx) -> IncidentSession:
            loaded = self._loaded(tx, session_id)
            event = self._event("note", who, step_index=step_index, text=text)
            return derive(_plus(loaded, tx.add_events(loaded.id, loaded.facts, [event])))

        return self._transact(True, body)

    def mark_resolved(self, fingerprint: str, active_at: datetime, at: datetime) -> IncidentSession | None:
        """Record that Prometheus resolved the alert; None when it has no session, a no-op if done."""
        self._refuse_read_only()

        def body(tx: Tx) -> IncidentSession | None:
            session_id = tx.find(fingerprint, utc(active_at))
            if session_id is None:
                return None
            loaded = self._loaded(tx, session_id)
            if derive(loaded).resolved_at is None:
                resolved = self._event("resolved", "", at=at)
                loaded = _plus(loaded, tx.add_events(loaded.id, loaded.facts, [resolved]))
            return derive(loaded)

        return self._transact(True, body)

    def set_meta(self, key: str, value: str) -> None:
        self._refuse_read_only()
        self._transact(True, lambda tx: tx.set_meta(key, value))

    # ------------------------------------------------------------------------------------- reading

    def get_meta(self, key: str) -> str | None:
        return self._transact(False, lambda tx: tx.get_meta(key))

    def get(self, session_id: int) -> IncidentSession:
        return self._transact(False, lambda tx: derive(self._loaded(tx, session_id)))

    def find(self, fingerprint: str, active_at: datetime) -> IncidentSession | None:
        def body(tx: Tx) -> IncidentSession | None:
            session_id = tx.find(fingerprint, utc(active_at))
            return derive(self._loaded(tx, session_id)) if session_id is not None else None

        return self._transact(False, body)

    def sessions(self, limit: int = 50) -> list[IncidentSession]:
        """The sessions, most recently changed first."""
        return self._transact(
            False, lambda tx: [derive(s) for s in tx.load_many(tx.recent(limit, active_only=False))]
        )

    def latest_active(self) -> IncidentSession | None:
        """The most recently changed session whose alert is not resolved: what an observer follows."""

        def body(tx: Tx) -> IncidentSession | None:
            found = tx.recent(1, active_only=True)
            return derive(self._loaded(tx, found[0])) if found else None

        return self._transact(False, body)

    def timeline(self, session_id: int) -> list[TimelineEntry]:
        """The session's events, oldest first."""
        return self._transact(False, lambda tx: timeline(self._loaded(tx, session_id)))

    def step_history(self, session_id: int, index: int) -> list[StepRecord]:
        """Every change of one step, oldest first: two drivers' ticks both kept."""
        return self._transact(False, lambda tx: history(self._loaded(tx, session_id), index))

    def export_sessions(self) -> list[Loaded]:
        """Every session with all its events, oldest first (what `oncall store copy` moves)."""

        def body(tx: Tx) -> list[Loaded]:
            return tx.load_many(sorted(tx.recent(10**9, active_only=False)))

        return self._transact(False, body)

    def import_session(self, loaded: Loaded) -> int:
        """Add a session's events that this store lacks (by event id); how many were added."""
        self._refuse_read_only()

        def body(tx: Tx) -> int:
            session_id, _ = tx.add_session(loaded.facts)
            have = tx.load(session_id)
            known = {e.event_id for e in have.events} if have else set()
            missing = [e for e in loaded.events if e.event_id not in known]
            if missing:
                tx.add_events(session_id, loaded.facts, missing)
            return len(missing)

        return self._transact(True, body)
