"""Redis's replies as oncall's snapshot types (also used by the demo), and its errors in plain words."""

from __future__ import annotations

import math
import re
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

import redis.exceptions as rexc

from probes.redact import MASK, redact_command, secret_name
from probes.redis.guard import SECRET_CONFIG
from probes.redis.snapshot import (
    DbKeys,
    Interval,
    LatencyEvent,
    Persistence,
    RedisInfo,
    Replication,
    SlowEntry,
)


def text(value: object) -> str:
    """A reply as text: bytes decoded as UTF-8, anything else kept visible as backslash escapes."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "backslashreplace")
    return "" if value is None else str(value)


def parse_info(raw: object) -> dict[str, str]:
    """INFO's text ("# Section" headers, "field:value" lines) as a flat dict of strings."""
    fields: dict[str, str] = {}
    for line in text(raw).splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        name, _, value = line.partition(":")
        fields[name] = value
    return fields


def _int(fields: Mapping[str, str], name: str, default: int = 0) -> int:
    try:
        return int(fields.get(name, default))
    except ValueError:
        try:
            return int(float(fields[name]))
        except (ValueError, OverflowError):
            return default


def _opt_int(fields: Mapping[str, str], name: str) -> int | None:
    return _int(fields, name) if name in fields else None


def _float(fields: Mapping[str, str], name: str) -> float | None:
    try:
        value = float(fields[name])
    except (KeyError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _keyspace(fields: Mapping[str, str]) -> tuple[DbKeys, ...]:
    databases = []
    for name, value in fields.items():
        if not (name.startswith("db") and name[2:].isdigit()):
            continue
        parts = dict(p.partition("=")[::2] for p in value.split(","))
        databases.append(
            DbKeys(
                db=int(name[2:]),
                keys=_int(parts, "keys"),
                expires=_int(parts, "expires"),
                avg_ttl_ms=_int(parts, "avg_ttl"),
            )
        )
    return tuple(sorted(databases, key=lambda d: d.db))


def info_from(fields: Mapping[str, str]) -> RedisInfo:
    """Typed INFO. Missing fields (old servers, managed Redis hiding some) read as zero or None."""
    save_time = _int(fields, "rdb_last_save_time")
    master_port = _opt_int(fields, "master_port")
    return RedisInfo(
        version=fields.get("redis_version", ""),
        mode=fields.get("redis_mode", "standalone"),
        run_id=fields.get("run_id", ""),
        uptime_seconds=_int(fields, "uptime_in_seconds"),
        connected_clients=_int(fields, "connected_clients"),
        blocked_clients=_int(fields, "blocked_clients"),
        maxclients=_opt_int(fields, "maxclients"),
        rejected_connections=_int(fields, "rejected_connections"),
        used_memory=_int(fields, "used_memory"),
        used_memory_rss=_int(fields, "used_memory_rss"),
        used_memory_peak=_int(fields, "used_memory_peak"),
        maxmemory=_int(fields, "maxmemory"),
        maxmemory_policy=fields.get("maxmemory_policy", ""),
        fragmentation_ratio=_float(fields, "mem_fragmentation_ratio"),
        keyspace_hits=_int(fields, "keyspace_hits"),
        keyspace_misses=_int(fields, "keyspace_misses"),
        evicted_keys=_int(fields, "evicted_keys"),
        expired_keys=_int(fields, "expired_keys"),
        total_commands=_int(fields, "total_commands_processed"),
        ops_per_sec=_int(fields, "instantaneous_ops_per_sec"),
        databases=_keyspace(fields),
        persistence=Persistence(
            rdb_bgsave_in_progress=fields.get("rdb_bgsave_in_progress") == "1",
            rdb_last_bgsave_status=fields.get("rdb_last_bgsave_status", ""),
            rdb_last_save_time=datetime.fromtimestamp(save_time, UTC) if save_time > 0 else None,
            rdb_changes_since_last_save=_int(fields, "rdb_changes_since_last_save"),
            aof_enabled=fields.get("aof_enabled") == "1",
            aof_rewrite_in_progress=fields.get("aof_rewrite_in_progress") == "1",
            aof_last_write_status=fields.get("aof_last_write_status", ""),
            latest_fork_usec=_int(fields, "latest_fork_usec"),
            loading=fields.get("loading") == "1",
        ),
        replication=Replication(
            role=fields.get("role", ""),
            master_host=fields.get("master_host"),
            master_port=master_port,
            master_link_status=fields.get("master_link_status"),
            master_last_io_seconds=_opt_int(fields, "master_last_io_seconds_ago"),
            link_down_seconds=_opt_int(fields, "master_link_down_since_seconds"),
            connected_replicas=_int(fields, "connected_slaves"),
        ),
    )


def interval_between(before: RedisInfo, after: RedisInfo, seconds: float) -> Interval | None:
    """The deltas between two reads; None when a counter went backwards (restart, CONFIG RESETSTAT)."""
    deltas = (
        after.keyspace_hits - before.keyspace_hits,
        after.keyspace_misses - before.keyspace_misses,
        after.total_commands - before.total_commands,
        after.evicted_keys - before.evicted_keys,
        after.expired_keys - before.expired_keys,
        after.rejected_connections - before.rejected_connections,
    )
    if restarted_between(before, after) or any(d < 0 for d in deltas):
        return None
    return Interval(seconds, *deltas)


def restarted_between(before: RedisInfo, after: RedisInfo) -> bool:
    """The server restarted (its run_id changed, or its uptime went backwards): the cache was emptied."""
    if before.run_id and after.run_id:
        return before.run_id != after.run_id
    return after.uptime_seconds < before.uptime_seconds


def slowlog_from(raw: object) -> tuple[SlowEntry, ...]:
    """SLOWLOG GET's reply: [id, unix time, microseconds, [args...], client addr, client name] per entry."""
    entries = []
    for item in raw if isinstance(raw, list | tuple) else ():
        if not isinstance(item, list | tuple) or len(item) < 4:
            continue
        try:
            entry_id, started, duration = int(item[0]), int(item[1]), int(item[2])
        except (TypeError, ValueError):
            continue
        args = item[3] if isinstance(item[3], list | tuple) else ()
        entries.append(
            SlowEntry(
                id=entry_id,
                started_at=datetime.fromtimestamp(started, UTC),
                duration_us=duration,
                args=redact_command([text(a) for a in args]),  # AUTH, CONFIG SET requirepass…: never shown
                client=text(item[4]) if len(item) > 4 else "",
                client_name=text(item[5]) if len(item) > 5 else "",
            )
        )
    entries.sort(key=lambda e: -e.id)
    return tuple(entries)


def latency_from(raw: object) -> tuple[LatencyEvent, ...]:
    """LATENCY LATEST's reply: [event, unix time, latest ms, max ms] per event."""
    events = []
    for item in raw if isinstance(raw, list | tuple) else ():
        if not isinstance(item, list | tuple) or len(item) < 4:
            continue
        try:
            events.append(
                LatencyEvent(
                    name=text(item[0]),
                    latest_at=datetime.fromtimestamp(int(item[1]), UTC),
                    latest_ms=int(item[2]),
                    max_ms=int(item[3]),
                )
            )
        except (TypeError, ValueError):
            continue
    events.sort(key=lambda e: -e.latest_ms)
    return tuple(events)


def config_pairs(raw: object) -> list[tuple[str, str]]:
    """CONFIG GET's flat [name, value, ...] reply (or a RESP3 map) as pairs: the settings that are secrets
    dropped, the value of any other whose name looks secret (tls-key-file-pass) masked."""
    if isinstance(raw, dict):
        items = [(text(k), text(v)) for k, v in raw.items()]
    elif isinstance(raw, list | tuple):
        flat = [text(x) for x in raw]
        items = list(zip(flat[0::2], flat[1::2], strict=False))
    else:
        items = []
    return [(k, MASK if v and secret_name(k) else v) for k, v in items if k.lower() not in SECRET_CONFIG]


def blocked_reason(exc: BaseException) -> str | None:
    """Why a reading was refused, when the refusal is the provider's or the ACL's; None for other errors."""
    message = text(exc.args[0] if exc.args else exc).strip()
    lowered = message.lower()
    if isinstance(exc, rexc.NoPermissionError) or lowered.startswith("noperm"):
        return f"blocked by ACL: {_one_line(message)}"
    if "unknown command" in lowered or "unknown subcommand" in lowered:
        return f"blocked by the provider: {_one_line(message)}"
    return None


def _one_line(message: str, limit: int = 160) -> str:
    flat = " ".join(message.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe_error(exc: BaseException, endpoint: str, timeout: float) -> str:
    """A redis-py error in plain words: what happened and where, never a password."""
    message = _one_line(text(exc.args[0] if exc.args else "") or type(exc).__name__, 200)
    lowered = message.lower()
    if "authentication required" in lowered or "noauth" in lowered:
        return f"{endpoint} wants a password: set REDISCLI_AUTH or [redis] password_file"
    if isinstance(exc, rexc.AuthenticationError) or "wrongpass" in lowered or "invalid password" in lowered:
        return f"authentication failed at {endpoint}: wrong user or password"
    if isinstance(exc, rexc.TimeoutError | TimeoutError):
        return f"no answer from {endpoint} within {timeout:g}s"
    if isinstance(exc, rexc.InvalidResponse) or "protocol error" in lowered:
        # a proxy, a TLS port or another server on Redis's port: say so, with the first bytes it sent
        said = re.sub(r"^protocol error:\s*", "", message, flags=re.I)
        return f"{endpoint} does not speak Redis's protocol (it answered {said})"
    if isinstance(exc, rexc.BusyLoadingError):
        return f"{endpoint} is loading its dataset (just restarted)"
    if "connection refused" in lowered or "connect call failed" in lowered or "error 111 " in lowered:
        return f"connection refused at {endpoint}"
    if "name or service not known" in lowered or "nodename nor servname" in lowered:
        return f"cannot resolve the host of {endpoint}"
    if isinstance(exc, ssl.SSLError) or "ssl" in lowered or "certificate" in lowered:
        # "Error 1 connecting to h:p. [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: ..."
        reason = re.sub(r"^.*?\[SSL[^\]]*\]\s*", "", message)
        reason = re.sub(r"\s*\(_ssl\.c:\d+\)\.?$", "", reason)
        hint = "; set [redis] ca_file to the server's CA" if "verify failed" in reason else ""
        return f"TLS failed with {endpoint}: {reason}{hint}"
    if isinstance(exc, rexc.ConnectionError | ConnectionError | OSError):
        if "closed" in lowered or "reset" in lowered or "eof" in lowered:
            return f"{endpoint} closed the connection"
        return f"cannot reach {endpoint}: {message}"
    return message


def endpoint_of(url: str | None) -> str:
    """host:port/db of a Redis URL, without credentials."""
    if not url:
        return "Redis"
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    db = parts.path.strip("/") or "0"
    scheme = "rediss://" if parts.scheme == "rediss" else ""
    return f"{scheme}{host}:{parts.port or 6379}/{db}"
