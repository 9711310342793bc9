"""The stated rules that judge a common cause from the reading that bears on it: supported, not supported or
unknown, with the numbers that decided it.

Each rule reads one `Reading` (the shape the probes answer, after the registry's shaping) and says what
it found in words a user reads at 3 a.m. A rule never guesses: where its reading can't decide, it says
"unknown" and why. Thresholds are named constants, each with the reason for its value.

Weight: how strongly a supported reading passes its rule's threshold (reading / threshold, at most
WEIGHT_MAX). A reading that only coincides with the cause in time (a deploy shortly before) weighs less
than 1, under any reading that shows the cause's own mechanism.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from probes.base import Reading
from probes.format import clean, format_age, format_bytes

Verdict = Literal["supported", "not supported", "unknown"]
VERDICTS: tuple[Verdict, ...] = ("supported", "unknown", "not supported")  # the ranking's order

WEIGHT_MAX = 10.0  # ten times past its threshold a reading is as clear as it gets; beyond, runbook order
COINCIDENCE = 0.5  # a reading that only coincides in time (a deploy) ranks under one showing the mechanism

# --- thresholds ------------------------------------------------------------------------------------------

RECENT_DEPLOY = 3600.0  # s: a release deployed within the hour is recent enough to be what changed
LEAK_SHARE = 0.25  # of connections idle in a transaction: a healthy app holds one for milliseconds
LEAK_AGE = 300  # s: nobody keeps a transaction open and idle for 5 min on purpose (the runbook's query)
LEAK_OLD_MIN = 3  # sessions idle in transaction past LEAK_AGE: one can be a person in psql; three, an app
LONG_TRANSACTION = 300  # s: an active transaction older than 5 min holds its connection and its locks
SLOW_QUERY = 1.0  # s: a query running longer than a second is slow for an API request
SLOW_SESSIONS_MIN = 2  # sessions running a slow query at once: one can be a report, two is a pattern
POOL_BUSY = 0.8  # of max_connections in use: the alert's own line for "exhausted"
POOL_IDLE = 0.5  # of max_connections held idle by pools: pools sized too large for the server
SCAN_PAGES = 1000  # pages (8 KB) one call reads: 8 MB per call, for an API's query, is a table scan
INEFFICIENT = 0.5  # the same scan reading weighs half for "inefficient queries": first suspect is an index
DEAD_SHARE = 0.2  # of a table's tuples dead: autovacuum's own default scale factor
DEAD_MIN = 10_000  # dead tuples: under that, bloat can't slow a query measurably
LOCK_WAITERS = 2  # sessions waiting on a lock at once: one wait is ordinary on a busy table
BIG_KEY = 10 * 1024  # bytes: the runbook's ">10KB values"
NO_TTL_SHARE = 0.5  # of a database's keys without a TTL: most of the data would never leave
NO_TTL_MIN_KEYS = 100  # keys: a handful of config keys without a TTL is normal
SHORT_TTL = 60.0  # s: a cache entry that lives under a minute is gone before it is read again
FRAGMENTATION = 1.5  # mem_fragmentation_ratio: the runbook's own line
FRAGMENTED_BYTES = 16 * 1024**2  # RSS over used: under 16 MB the ratio is the allocator's fixed overhead
RECENT_RESTART = 3600  # s: Redis up for under an hour restarted recently, and came back empty
DISK_FULL = 0.9  # of a volume used: writes start failing soon after
SLOW_RESPONSES = 1.0  # s of p95 latency over 2 min: each request holds its connection that long
RETRY_ERRORS = 0.05  # of requests failing: the API alert's own line; retries follow failures
OOM_REASON = "OOMKilled"


@dataclass(frozen=True)
class Judged:
    """A rule's answer: the verdict, the reading in words, and how strongly it passed (supported only)."""

    verdict: Verdict
    reason: str
    weight: float = 0.0


def supported(reason: str, value: float, threshold: float, *, scale: float = 1.0) -> Judged:
    return Judged("supported", reason, scale * min(WEIGHT_MAX, value / threshold if threshold else 1.0))


def coincides(reason: str, strength: float) -> Judged:
    """Supported by a coincidence in time only: weighs under 1 (strength in 0..1)."""
    return Judged("supported", reason, COINCIDENCE * max(0.0, min(1.0, strength)))


def not_supported(reason: str) -> Judged:
    return Judged("not supported", reason)


def by_share(words: str, share: float, threshold: float, *, lead: str = "") -> Judged:
    """A share (0..1) against its threshold: supported at or over it, else not supported, saying so."""
    if share >= threshold:
        return supported(words, share, threshold)
    return not_supported(f"{lead}{words}, under {threshold:.0%}")


def unknown(reason: str) -> Judged:
    return Judged("unknown", reason)


# --- reading helpers -------------------------------------------------------------------------------------


def rows_of(reading: Reading) -> list[dict[str, str]]:
    """The reading's table, a dict per row keyed by column."""
    return [dict(zip(reading.columns, row, strict=False)) for row in reading.rows]


def fields_of(reading: Reading) -> dict[str, str]:
    """INFO's (field, value) rows as a dict."""
    return {row[0]: row[1] for row in reading.rows if len(row) >= 2}


def number(text: str | None) -> float | None:
    try:
        return float(str(text).strip().rstrip("%"))
    except (TypeError, ValueError):
        return None


def integer(text: str | None) -> int:
    value = number(text)
    return int(value) if value is not None else 0


_HUMAN = {"B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def human_bytes(text: str | None) -> float | None:
    """Redis's used_memory_human ("1.23M", "512.00K", "920B") in bytes."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([BKMGT])?i?B?\s*", text or "", re.I)
    if not match:
        return None
    return float(match.group(1)) * _HUMAN[(match.group(2) or "B").upper()]


def plural(count: int, noun: str, many: str | None = None) -> str:
    return f"{count} {noun if count == 1 else (many or noun + 's')}"


def seconds_words(seconds: float) -> str:
    """An age as a user says it: "45 s", "12 min", then oncall's short ages ("3h5m", "2d4h")."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min"
    return format_age(whole)


def name(text: str) -> str:
    """A server's string (an application, a key) made safe to show, in one line."""
    return clean(text) or "(none)"


# --- PostgreSQL ------------------------------------------------------------------------------------------


def database_failures(reading: Reading) -> Judged:
    """Database connection failures: PostgreSQL answering a query rules them out."""
    if reading.ok:
        return not_supported("PostgreSQL answers queries")
    problem = reading.problem or "no answer"
    if "not configured" in problem:
        return unknown("PostgreSQL is not configured here")
    return supported(f"PostgreSQL does not answer: {name(problem)}", 1, 1)


def connection_leak(reading: Reading) -> Judged:
    """Connection leak: sessions left idle in a transaction, per application (the leak query)."""
    rows = rows_of(reading)
    total = sum(integer(r.get("connections")) for r in rows)
    idle = sum(integer(r.get("idle_in_transaction")) for r in rows)
    old = sum(integer(r.get("over_5_min")) for r in rows)
    if not rows or not total:
        return unknown("no client connections read")
    top = max(rows, key=lambda r: integer(r.get("idle_in_transaction")))
    top_count = integer(top.get("idle_in_transaction"))
    oldest = max((number(r.get("oldest_s")) or 0.0) for r in rows)
    share = idle / total
    words = f"{idle} of {total} sessions idle in transaction"
    if idle:
        words += (
            f" (oldest {seconds_words(oldest)}), {top_count} from {name(top.get('application_name', ''))}"
        )
    if share >= LEAK_SHARE:
        return supported(words, share, LEAK_SHARE)
    if old >= LEAK_OLD_MIN:
        oldwords = f"{old} sessions idle in transaction for more than {seconds_words(LEAK_AGE)}"
        return supported(
            f"{oldwords}, {top_count} from {name(top.get('application_name', ''))}", old, LEAK_OLD_MIN
        )
    return not_supported(words)


def long_transactions(reading: Reading) -> Judged:
    rows = rows_of(reading)
    if not rows:
        return unknown("no transactions read")
    row = rows[0]
    old, count, oldest = (
        integer(row.get("over_5_min")),
        integer(row.get("transactions")),
        number(row.get("oldest_s")),
    )
    limit = seconds_words(LONG_TRANSACTION)
    if old:
        return supported(
            f"{plural(old, 'active transaction')} older than {limit} (oldest {seconds_words(oldest or 0)})",
            old,
            1,
        )
    longest = f", the oldest {seconds_words(oldest)}" if count and oldest is not None else ""
    return not_supported(f"no active transaction older than {limit} ({count} active{longest})")


def slow_queries(reading: Reading) -> Judged:
    """Slow database queries: sessions running one query for more than SLOW_QUERY, by application."""
    rows = rows_of(reading)
    count = sum(integer(r.get("sessions")) for r in rows)
    if not count:
        return not_supported(f"no session has run a query for more than {SLOW_QUERY:g} s")
    top = max(rows, key=lambda r: integer(r.get("sessions")))
    longest = max((number(r.get("longest_s")) or 0.0) for r in rows)
    words = (
        f"{plural(count, 'session')} running a query for more than {SLOW_QUERY:g} s, "
        f"{integer(top.get('sessions'))} from {name(top.get('application_name', ''))} "
        f"(longest {longest:.1f} s)"
    )
    if count >= SLOW_SESSIONS_MIN:
        return supported(words, count, SLOW_SESSIONS_MIN)
    return not_supported(words + f": under {SLOW_SESSIONS_MIN} at once")


def _connections(reading: Reading) -> tuple[int, int, int] | None:
    rows = rows_of(reading)
    if not rows:
        return None
    row = rows[0]
    maximum = integer(row.get("max_connections"))
    return integer(row.get("connections")), integer(row.get("idle")), maximum


def pool_exhaustion(reading: Reading) -> Judged:
    counts = _connections(reading)
    if counts is None or not counts[2]:
        return unknown("connections or max_connections not read")
    used, _, maximum = counts
    return by_share(
        f"{used} of {maximum} connections in use ({used / maximum:.0%})", used / maximum, POOL_BUSY
    )


def pool_size(reading: Reading) -> Judged:
    counts = _connections(reading)
    if counts is None or not counts[2]:
        return unknown("connections or max_connections not read")
    _, idle, maximum = counts
    words = f"{idle} of {maximum} connection slots held idle by pools ({idle / maximum:.0%})"
    return by_share(words, idle / maximum, POOL_IDLE)


_QUERY = re.compile(r"\s*(select|with|update|delete)\b", re.I)  # a query, not a load or maintenance


def seq_scans(reading: Reading, *, scale: float = 1.0) -> Judged:
    """Missing indexes: of the statements taking the most time, one reading SCAN_PAGES pages per call to
    return fewer rows than that (pg_stat_statements)."""
    rows = rows_of(reading)
    if not rows:
        return unknown("pg_stat_statements has no statement for this database")
    queries = [r for r in rows if _QUERY.match(r.get("query", ""))]  # not a load: INSERT … SELECT
    scanning = [
        r
        for r in queries
        if integer(r.get("pages_per_call")) >= SCAN_PAGES
        and integer(r.get("rows_per_call")) < integer(r.get("pages_per_call"))
    ]
    if scanning:
        top = scanning[0]  # the one taking the most time
        pages = integer(top.get("pages_per_call"))
        words = (
            f"{name(top.get('query', ''))} reads {pages:,} pages ({format_bytes(pages * 8192)}) per call "
            f"for {integer(top.get('rows_per_call')):,} rows, {integer(top.get('calls')):,} calls "
            f"of {number(top.get('mean_ms')) or 0:,.0f} ms"
        )
        return supported(words, pages, SCAN_PAGES, scale=scale)
    most = max((integer(r.get("pages_per_call")) for r in queries), default=0)
    return not_supported(
        f"the {plural(len(queries), 'query', 'queries')} taking the most time read at most {most:,} pages "
        "per call"
    )


def inefficient_queries(reading: Reading) -> Judged:
    return seq_scans(reading, scale=INEFFICIENT)


def table_bloat(reading: Reading) -> Judged:
    rows = rows_of(reading)
    if not rows:
        return unknown("no user tables read")
    worst = max(rows, key=lambda r: integer(r.get("n_dead_tup")))
    dead, live = integer(worst.get("n_dead_tup")), integer(worst.get("n_live_tup"))
    share = dead / (dead + live) if dead + live else 0.0
    words = f"{name(worst.get('relname', ''))}: {dead:,} dead tuples ({share:.0%})"
    if dead >= DEAD_MIN and share >= DEAD_SHARE:
        return supported(words, share, DEAD_SHARE)
    return not_supported(f"the most, {words}")


def lock_contention(reading: Reading) -> Judged:
    rows = rows_of(reading)
    if not rows:
        return unknown("no sessions read")
    waiting = integer(rows[0].get("waiting_on_locks"))
    words = f"{plural(waiting, 'session')} waiting on a lock"
    if waiting >= LOCK_WAITERS:
        return supported(words, waiting, LOCK_WAITERS)
    return not_supported(words)
