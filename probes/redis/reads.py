"""The runbook's redis-cli reads (INFO, CONFIG GET, SLOWLOG GET, LATENCY LATEST, --scan, --bigkeys), each
answered live as a `Reading`, never raising."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import replace

import redis.exceptions as rexc

from probes.base import Reading
from probes.redis.client import NOT_CONFIGURED, SOURCE, Pending
from probes.redis.guard import WITH_SUBCOMMAND, CommandRefused, check_command
from probes.redis.parsing import (
    blocked_reason,
    config_pairs,
    describe_error,
    latency_from,
    parse_info,
    slowlog_from,
    text,
)
from probes.redis.sampler import SAMPLE_MAX_AGE, KeySampler, cursor_done, scan_reply

# Live triage reads (RedisProbe.read): `redis-cli --scan --pattern P | head -N` and `redis-cli --bigkeys`
SCAN_LIMIT = 100  # keys a SCAN read keeps when the runbook says no `head -N`

SCAN_COUNT = 200  # SCAN's COUNT hint per round trip, as the sampler's

SCAN_SECONDS = 1.0  # wall time of one SCAN read: it stops with what it found by then

BIGKEYS_TOP = 10  # the largest keys a BIGKEYS read lists


class TriageReads(KeySampler):
    """A runbook step's redis-cli command, read on the probe's own connection."""

    async def read(
        self, command: Sequence[str], *, limit: int | None = None, pattern: str | None = None
    ) -> Reading:
        """One runbook command read live, as a table: never raises, a failure is the Reading's problem.

        `command` is `("INFO",)`, `("INFO", section)`, `("CONFIG", "GET", name)`, `("SLOWLOG", "GET")`,
        `("SLOWLOG", "GET", n)`, `("LATENCY", "LATEST")`, `("SCAN",)` with `pattern` (`redis-cli --scan
        --pattern P | head -N`, at most `limit` keys, default SCAN_LIMIT) or `("BIGKEYS",)` (`redis-cli
        --bigkeys`: the key sampler, its `limit` largest keys). Each goes through the allowlist like every
        other command; values are kept as the server sent them (untrusted text, for the UI to clean).
        """
        words = [text(word) for word in command]
        name = words[0].upper() if words else ""
        what = _read_what(words, limit=limit, pattern=pattern)
        if not self.configured:
            return Reading.failed(SOURCE, what, NOT_CONFIGURED)
        if name == "BIGKEYS":
            return await self._read_bigkeys(words, what, limit)
        async with self._lock:
            try:
                if name == "SCAN" and len(words) == 1:
                    return await self._read_scan(what, limit, pattern)
                return await self._read_command(words, what, limit)
            except CommandRefused as refused:
                return Reading.failed(SOURCE, what, str(refused))
            except _CannotRead as cannot:
                return Reading.failed(SOURCE, what, str(cannot))
            except TimeoutError:
                await self._drop_client()  # replies may still be on their way: never reuse the connection
                return Reading.failed(
                    SOURCE, what, f"no answer from {self.endpoint} within {self.settings.timeout:g}s"
                )
            except (rexc.RedisError, OSError) as exc:
                if not isinstance(exc, rexc.ResponseError):
                    await self._drop_client()  # the connection itself failed; a refusal leaves it usable
                reason = blocked_reason(exc)
                return Reading.failed(
                    SOURCE, what, reason or describe_error(exc, self.endpoint, self.settings.timeout)
                )
            except Exception as exc:  # a bug here must not take the console down at 3 a.m.
                await self._drop_client()
                why = f"internal error while reading Redis: {type(exc).__name__}"
                return Reading.failed(SOURCE, what, why)

    async def _read_command(self, words: list[str], what: str, limit: int | None) -> Reading:
        name, sub = check_command(*words)  # a refusal, before anything is sent
        args = words[2 if sub else 1 :]
        if name == "INFO" and len(args) <= 1:
            fields = parse_info(await self._read_reply("INFO", *args))
            reading = self._read_table(what, ("field", "value"), list(fields.items()), limit)
            if not fields:
                section = args[0] if args else "default"
                reading = replace(reading, problem=f"INFO answered no fields for the section {section!r}")
            return reading
        if (name, sub) == ("CONFIG", "GET") and len(args) == 1:
            pairs = config_pairs(await self._read_reply("CONFIG", "GET", args[0]))
            reading = self._read_table(what, ("name", "value"), pairs, limit)
            if not pairs:
                reading = replace(reading, problem=f"the server has no setting named {args[0]!r}")
            return reading
        if (name, sub) == ("SLOWLOG", "GET") and len(args) <= 1:
            if args and not re.fullmatch(r"-?\d{1,9}", args[0].strip()):
                raise _CannotRead(f"SLOWLOG GET takes a number of entries, not {args[0]!r}")
            count = [int(args[0])] if args else []
            entries = slowlog_from(await self._read_reply("SLOWLOG", "GET", *count))
            rows = [
                (
                    e.id,
                    e.started_at.isoformat(),
                    f"{e.duration_us / 1000:.3f}",
                    " ".join(e.args),
                    e.client,
                    e.client_name,
                )
                for e in entries
            ]
            columns = ("id", "time", "duration ms", "command", "client", "name")
            return self._read_table(what, columns, rows, limit)
        if (name, sub) == ("LATENCY", "LATEST") and not args:
            events = latency_from(await self._read_reply("LATENCY", "LATEST"))
            latency_rows = [(e.name, e.latest_at.isoformat(), e.latest_ms, e.max_ms) for e in events]
            return self._read_table(what, ("event", "latest at", "latest ms", "max ms"), latency_rows, limit)
        shown = f"{name} {sub}" if sub else name
        raise _CannotRead(
            f"{shown} is on the Redis allowlist, but oncall has no live view of it in that form"
        )

    async def _read_reply(self, *args: object) -> object:
        """One command, one round trip (checked, recorded in `sent`), bounded by the read timeout."""
        pending = Pending()
        pending.add("read", *args)
        async with asyncio.timeout(self._read_deadline()):
            (reply,) = await self._round_trip(pending)
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def _read_deadline(self) -> float:
        return self.settings.connect_timeout + self.settings.timeout + 1.0

    def _read_table(
        self, what: str, columns: Sequence[str], rows: Sequence[Sequence[object]], limit: int | None
    ) -> Reading:
        return Reading.table(SOURCE, what, columns, rows, read_at=self._clock(), limit=limit)

    async def _read_scan(self, what: str, limit: int | None, pattern: str | None) -> Reading:
        """SCAN cursor [MATCH pattern] COUNT 200 until `limit` keys, the keyspace's end or SCAN_SECONDS."""
        wanted = max(1, limit if limit is not None else SCAN_LIMIT)
        match: tuple[str, ...] = ("MATCH", pattern) if pattern is not None else ()
        found: dict[str, None] = {}  # SCAN may return a key twice: kept once, in the order first seen
        cursor: object = 0
        started = time.perf_counter()
        round_trips = 0
        complete = False
        while True:
            reply = await self._read_reply("SCAN", cursor, *match, "COUNT", SCAN_COUNT)
            round_trips += 1
            cursor, keys = scan_reply(reply)
            found.update(dict.fromkeys(text(key) for key in keys))
            if cursor_done(cursor):
                complete = True
                break
            if len(found) >= wanted or time.perf_counter() - started >= SCAN_SECONDS:
                break
        self.round_trips = round_trips
        reading = self._read_table(what, ("key",), [(key,) for key in found], wanted)
        if not complete:
            reading = replace(reading, truncated=True)  # the keyspace goes on past what was read
            if len(found) < wanted:
                reading = replace(
                    reading,
                    problem=f"stopped by the time cap ({SCAN_SECONDS:g}s) after {len(found)} keys",
                )
        return reading

    async def _read_bigkeys(self, words: list[str], what: str, limit: int | None) -> Reading:
        """`redis-cli --bigkeys` as the key sampler's largest keys: BIGKEYS itself is never sent.

        The probe's shared sample answers while younger than SAMPLE_MAX_AGE (nothing sent; `read_at` is
        when it was taken, so the reading says how old it is); else this waits for the run under way, or
        starts one (bounded by the settings' key and time caps) that every other caller joins."""
        if len(words) > 1:
            return Reading.failed(SOURCE, what, "BIGKEYS takes no arguments here")
        try:
            sample = await self.sample_keys(top=max(1, limit or BIGKEYS_TOP), max_age=SAMPLE_MAX_AGE)
        except Exception as exc:  # the sampler keeps Redis errors to itself; anything else is a bug
            if isinstance(exc, CommandRefused):
                return Reading.failed(SOURCE, what, str(exc))
            return Reading.failed(SOURCE, what, f"internal error while reading Redis: {type(exc).__name__}")
        stopped_by = sample.stopped_by
        capped = stopped_by is None or re.fullmatch(r"the (key|time) cap \(.*\)", stopped_by) is not None
        if not sample.largest and not capped:
            return Reading.failed(SOURCE, what, stopped_by or "")  # blocked, or the server is down
        rows = [(k.key, k.type, k.bytes, k.ttl) for k in sample.largest]
        reading = Reading.table(SOURCE, what, ("key", "type", "size", "ttl"), rows, read_at=sample.taken_at)
        if not sample.complete:
            # a sample: larger keys may be in the part of the keyspace it didn't reach
            how = f"by {stopped_by}" if capped else f"on an error: {stopped_by}"
            reading = replace(reading, truncated=True, problem=f"stopped after {sample.scanned} keys {how}")
        return reading


class _CannotRead(Exception):
    """A live read oncall can't make in that form (an allowlisted command it has no table for)."""


def _read_what(words: Sequence[str], *, limit: int | None, pattern: str | None) -> str:
    """The read as the user would type it: "INFO memory", "SCAN MATCH session:* (at most 100)"."""
    name = words[0].upper() if words else ""
    if name == "SCAN" and len(words) == 1:
        at_most = f"(at most {max(1, limit if limit is not None else SCAN_LIMIT)})"
        return f"SCAN MATCH {pattern} {at_most}" if pattern is not None else f"SCAN {at_most}"
    if name == "BIGKEYS" and len(words) == 1:
        return f"redis-cli --bigkeys (largest {max(1, limit or BIGKEYS_TOP)})"
    rest = list(words[1:])
    if name in WITH_SUBCOMMAND and rest:
        rest[0] = rest[0].upper()
    return " ".join([name, *rest]) if words else "(an empty command)"
