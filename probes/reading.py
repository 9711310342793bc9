"""One read a runbook step asked for, as evidence: a small table or a few lines, when it was read, from where.

Every probe answers a live triage read with a `Reading`, whatever the source, so the checklist draws them
all the same way and the session stores them as they were shown. Everything in it came from a server:
untrusted text, to be drawn as text (never markup) with control characters removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Reading:
    source: str  # "postgresql", "redis", "kubernetes", "prometheus"
    what: str  # what was read, in the source's own words: "INFO memory", "pods -l app=inmidst-api"
    columns: tuple[str, ...] = ()  # a table's header; empty when the reading is lines of text
    rows: tuple[tuple[str, ...], ...] = ()  # each as long as `columns`
    lines: tuple[str, ...] = ()  # text output (logs, describe) when there is no table
    read_at: datetime | None = None  # None when nothing could be read
    truncated: bool = False  # more rows or lines than kept
    problem: str | None = None  # why there is nothing, or only part: refused, blocked, forbidden, down

    @classmethod
    def failed(cls, source: str, what: str, problem: str, read_at: datetime | None = None) -> Reading:
        return cls(source=source, what=what, read_at=read_at, problem=problem)

    @classmethod
    def table(
        cls,
        source: str,
        what: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[object]],
        *,
        read_at: datetime,
        limit: int | None = None,
    ) -> Reading:
        """A table, every value as text ("" for None), at most `limit` rows."""
        kept = rows if limit is None else rows[:limit]
        return cls(
            source=source,
            what=what,
            columns=tuple(columns),
            rows=tuple(tuple("" if v is None else str(v) for v in row) for row in kept),
            read_at=read_at,
            truncated=limit is not None and len(rows) > limit,
        )

    @classmethod
    def text(
        cls, source: str, what: str, lines: Sequence[str], *, read_at: datetime, limit: int | None = None
    ) -> Reading:
        kept = lines if limit is None else lines[-limit:]  # the newest end, as tail does
        return cls(
            source=source,
            what=what,
            lines=tuple(kept),
            read_at=read_at,
            truncated=limit is not None and len(lines) > limit,
        )

    @property
    def ok(self) -> bool:
        return self.read_at is not None and self.problem is None
