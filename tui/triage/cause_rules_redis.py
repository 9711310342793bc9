"""The stated rules for the causes Redis's own readings decide: INFO's sections and the key sampler."""

from __future__ import annotations

import re

from probes.base import Reading
from probes.format import format_bytes
from tui.triage.cause_rules import (
    BIG_KEY,
    FRAGMENTATION,
    FRAGMENTED_BYTES,
    NO_TTL_MIN_KEYS,
    NO_TTL_SHARE,
    RECENT_RESTART,
    SHORT_TTL,
    Judged,
    fields_of,
    human_bytes,
    integer,
    name,
    not_supported,
    number,
    plural,
    rows_of,
    seconds_words,
    supported,
    unknown,
)

_DB = re.compile(r"db\d+")


def redis_unavailable(reading: Reading) -> Judged:
    """Redis unavailable: Redis answering INFO rules it out."""
    if reading.ok:
        uptime = integer(fields_of(reading).get("uptime_in_seconds"))
        up = f" (up {seconds_words(uptime)})" if uptime else ""
        return not_supported(f"Redis answers{up}")
    problem = reading.problem or "no answer"
    if "not configured" in problem:
        return unknown("Redis is not configured here")
    return supported(f"Redis does not answer: {name(problem)}", 1, 1)


def _keyspace(reading: Reading) -> list[tuple[str, int, int, float]]:
    """INFO keyspace's databases: (db, keys, keys with a TTL, average TTL in seconds)."""
    databases = []
    for field, value in fields_of(reading).items():
        if not _DB.fullmatch(field):
            continue
        parts = dict(part.partition("=")[::2] for part in value.split(","))
        databases.append(
            (
                field,
                integer(parts.get("keys")),
                integer(parts.get("expires")),
                integer(parts.get("avg_ttl")) / 1000,
            )
        )
    return databases


def missing_ttls(reading: Reading) -> Judged:
    """Missing TTLs: the share of a database's keys that have no TTL (INFO keyspace: keys vs expires)."""
    databases = _keyspace(reading)
    if not databases:
        return not_supported("no keys in any database")
    db, keys, expires, _ = max(databases, key=lambda d: d[1] - d[2])
    without = keys - expires
    share = without / keys if keys else 0.0
    words = f"{without:,} of {keys:,} keys in {db} have no TTL ({share:.0%})"
    if keys >= NO_TTL_MIN_KEYS and share >= NO_TTL_SHARE:
        return supported(words, share, NO_TTL_SHARE)
    if keys < NO_TTL_MIN_KEYS:
        return not_supported(f"{words}: under {NO_TTL_MIN_KEYS} keys")
    return not_supported(words)


def short_ttls(reading: Reading) -> Judged:
    """TTL too short: the average TTL of the keys that have one (INFO keyspace's avg_ttl)."""
    databases = [d for d in _keyspace(reading) if d[2]]
    if not databases:
        return unknown("no key has a TTL: nothing to measure")
    db, _, expires, average = max(databases, key=lambda d: d[2])
    words = f"the {expires:,} keys with a TTL in {db} have {seconds_words(average)} left on average"
    if 0 < average < SHORT_TTL:
        return supported(words, SHORT_TTL, average)
    return not_supported(f"{words}, over {seconds_words(SHORT_TTL)}")


def fragmentation(reading: Reading) -> Judged:
    """Memory fragmentation: INFO memory's mem_fragmentation_ratio, past the allocator's fixed floor."""
    fields = fields_of(reading)
    ratio = number(fields.get("mem_fragmentation_ratio"))
    if ratio is None:
        return unknown("INFO memory has no mem_fragmentation_ratio")
    used = human_bytes(fields.get("used_memory_human"))
    rss = human_bytes(fields.get("used_memory_rss_human"))
    words = f"mem_fragmentation_ratio {ratio:.2f}"
    if used is not None and rss is not None:
        words += f" (RSS {format_bytes(rss)} for {format_bytes(used)} of data)"
    if ratio > FRAGMENTATION:
        if used is not None and rss is not None and rss - used < FRAGMENTED_BYTES:
            return not_supported(
                f"{words}: under {format_bytes(FRAGMENTED_BYTES)} lost, a small dataset's overhead"
            )
        return supported(words, ratio, FRAGMENTATION)
    return not_supported(f"{words}, under {FRAGMENTATION}")


def _largest(reading: Reading) -> tuple[str, str, int, int] | None:
    sized = [
        (r.get("key", ""), r.get("type", ""), integer(r.get("size")), integer(r.get("ttl")))
        for r in rows_of(reading)
    ]
    sized = [s for s in sized if s[2]]
    return max(sized, key=lambda s: s[2]) if sized else None


def _sampled(reading: Reading) -> str:
    return " in a sample" if reading.truncated else ""


def large_keys(reading: Reading) -> Judged:
    """Large hash/set operations: the largest sampled key against the runbook's 10 KB."""
    largest = _largest(reading)
    if largest is None:
        return not_supported("no key found" + _sampled(reading))
    key, kind, size, _ = largest
    words = f"{kind} {name(key)} holds {format_bytes(size)}"
    if size > BIG_KEY:
        return supported(f"{words}, over {format_bytes(BIG_KEY)}", size, BIG_KEY)
    return not_supported(f"the largest key{_sampled(reading)}, {words}, under {format_bytes(BIG_KEY)}")


def large_keys_not_expiring(reading: Reading) -> Judged:
    """Large keys not expiring: a sampled key over 10 KB that has no TTL."""
    rows = [
        (r.get("key", ""), integer(r.get("size")), integer(r.get("ttl")))
        for r in rows_of(reading)
        if integer(r.get("size"))
    ]
    if not rows:
        return not_supported("no key found" + _sampled(reading))
    big = [r for r in rows if r[1] > BIG_KEY and r[2] < 0]
    if big:
        key, size, _ = max(big, key=lambda r: r[1])
        more = f" and {plural(len(big) - 1, 'other')}" if len(big) > 1 else ""
        return supported(f"{name(key)} holds {format_bytes(size)} with no TTL{more}", size, BIG_KEY)
    key, size, ttl = max(rows, key=lambda r: r[1])
    if size <= BIG_KEY:
        return not_supported(
            f"the largest key{_sampled(reading)}, {name(key)}, holds {format_bytes(size)}, "
            f"under {format_bytes(BIG_KEY)}"
        )
    return not_supported(f"every key over {format_bytes(BIG_KEY)} has a TTL ({name(key)}: {ttl} s)")


def restart_or_flush(reading: Reading) -> Judged:
    """Recent restart or flush: FLUSHALL/FLUSHDB calls in INFO commandstats, or an uptime under an hour."""
    fields = fields_of(reading)
    if "uptime_in_seconds" not in fields:
        return unknown("INFO has no uptime_in_seconds")
    uptime = integer(fields.get("uptime_in_seconds"))
    flushes = {
        command: integer(dict(p.partition("=")[::2] for p in value.split(",")).get("calls"))
        for command, value in fields.items()
        if command in ("cmdstat_flushall", "cmdstat_flushdb")
    }
    calls = sum(flushes.values())
    up = f"up {seconds_words(uptime)}"
    if calls:
        which = " and ".join(
            f"{command.removeprefix('cmdstat_').upper()} {plural(n, 'time')}"
            for command, n in flushes.items()
            if n
        )
        return supported(f"{which} since the stats were reset ({up})", calls, 1)
    if uptime < RECENT_RESTART:
        return supported(
            f"Redis restarted {seconds_words(uptime)} ago: it came back empty", RECENT_RESTART, max(uptime, 1)
        )
    return not_supported(f"no FLUSHALL or FLUSHDB since the stats were reset, {up}")


def bgsave_running(reading: Reading) -> Judged:
    """BGSAVE during traffic: INFO persistence says whether a fork is saving now."""
    fields = fields_of(reading)
    if "rdb_bgsave_in_progress" not in fields:
        return unknown("INFO persistence has no rdb_bgsave_in_progress")
    if integer(fields.get("rdb_bgsave_in_progress")) or integer(fields.get("aof_rewrite_in_progress")):
        what = "a BGSAVE" if integer(fields.get("rdb_bgsave_in_progress")) else "an AOF rewrite"
        return supported(f"{what} is running now", 1, 1)
    return not_supported("no BGSAVE or AOF rewrite running")
