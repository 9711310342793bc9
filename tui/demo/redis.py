"""The demo's Redis: slow commands on big keys while a BGSAVE forks, answered through the probe's own path.

`DemoRedis` is the real `RedisProbe` with the network swapped for a model of one server: every command
still passes the allowlist, and the replies (INFO text, SLOWLOG arrays, SCAN pages) are parsed by the
probe exactly as a server's would be. So the Redis and Slow log tabs, the sampler and `oncall check`
see what they would see on a real server during SlowRedisOperations.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import redis.exceptions as rexc

from probes.redis import RedisProbe, RedisSettings, check_command, text
from tui.demo.scenario import DEMO_REDIS_URL

MAXMEMORY = 2 * 1024**3
UPTIME_AT_ANCHOR = 41 * 86400  # seconds: up for weeks, no recent restart
OPS_PER_SEC = 4800
HIT_RATIO = 0.91

# (seconds before the alert started, duration µs, client, name, args): the slow commands behind the alert
_SLOW = (
    (-540, 11_204, "10.4.2.31:50122", "inmidst-api", ("HGETALL", "cart:big:48213")),
    (-420, 38_911, "10.4.2.17:41873", "inmidst-worker", ("KEYS", "session:*")),
    (-300, 22_458, "10.4.2.31:50122", "inmidst-api", ("SMEMBERS", "feed:global")),
    (-240, 14_022, "10.4.2.33:50990", "inmidst-api", ("HGETALL", "cart:big:48213")),
    (-120, 41_307, "10.4.2.17:41873", "inmidst-worker", ("KEYS", "session:*")),
    (
        -60,
        12_871,
        "10.4.2.32:49211",
        "inmidst-api",
        ("ZRANGE", "leaderboard:weekly", "0", "-1", "WITHSCORES"),
    ),
    (-30, 19_940, "10.4.2.31:50122", "inmidst-api", ("SMEMBERS", "feed:global")),
)
_SLOW_EVERY = 20  # seconds: after the alert, the same offenders keep showing up
_OFFENDERS = (
    (15_206, "10.4.2.31:50122", "inmidst-api", ("HGETALL", "cart:big:48213")),
    (36_455, "10.4.2.17:41873", "inmidst-worker", ("KEYS", "session:*")),
    (21_877, "10.4.2.33:50990", "inmidst-api", ("SMEMBERS", "feed:global")),
)

# the keyspace the sampler walks: (prefix, how many, bytes each, share with a TTL)
_PATTERNS = (
    ("session:", 1400, 312, 1.0),
    ("cart:", 600, 2_100, 0.0),  # the carts never expire: the "missing TTLs" the runbook names
    ("user:", 500, 690, 0.2),
    ("rate:", 300, 96, 1.0),
    ("feed:", 40, 18_000, 0.0),
)
_BIG = (
    ("cart:big:48213", "hash", 18_874_368),
    ("feed:global", "set", 6_291_456),
    ("leaderboard:weekly", "zset", 2_402_112),
)


def _demo_keys() -> list[tuple[str, str, int, int]]:
    """(key, type, bytes, ttl) of the sampled keyspace, in a fixed scrambled order like a real SCAN."""
    keys = [(name, kind, size, -1) for name, kind, size in _BIG]
    for prefix, count, size, ttl_share in _PATTERNS:
        for i in range(count):
            ttl = 1800 - i % 1800 if i < count * ttl_share else -1
            kind = "hash" if prefix in ("cart:", "user:") else "string"
            keys.append((f"{prefix}{10_000 + i * 7}", kind, size + (i * 37) % 200, ttl))
    keys.sort(key=lambda k: hashlib.blake2b(k[0].encode(), digest_size=4).digest())
    return keys


class DemoRedis(RedisProbe):
    """Redis for `oncall --demo`: the real probe, answered by a model of the incident's server."""

    def __init__(self, anchor: datetime, clock: Callable[[], datetime]) -> None:
        super().__init__(RedisSettings(url=DEMO_REDIS_URL, refresh=2.0), clock=clock)
        self.anchor = anchor
        self.endpoint = "demo cache (inmidst-redis:6379/0)"
        self._keys = _demo_keys()
        self._by_key = {k: (kind, size, ttl) for k, kind, size, ttl in self._keys}

    def _keyspace_line(self) -> str:
        """INFO's db0 line counted from the keys SCAN walks, so INFO and the key sampler agree."""
        ttls = [ttl for *_, ttl in self._keys if ttl > 0]
        average = sum(ttls) * 1000 // len(ttls) if ttls else 0  # INFO says avg_ttl in milliseconds
        return f"keys={len(self._keys)},expires={len(ttls)},avg_ttl={average}"

    async def exchange(self, commands: Sequence[tuple[object, ...]]) -> list[object]:
        now = self._clock()
        return [self._answer(args, now) for args in commands]

    def _answer(self, args: tuple[object, ...], now: datetime) -> object:
        name, sub = check_command(*args)
        words = [text(a) for a in args]
        if name == "INFO":
            section = words[1].lower() if len(words) > 1 else "all"
            return self.info_text(now, section).encode()
        if (name, sub) == ("SLOWLOG", "GET"):
            return self.slowlog(now)[: int(words[2]) if len(words) > 2 else 10]
        if (name, sub) == ("LATENCY", "LATEST"):
            at = int((now - timedelta(seconds=14)).timestamp())
            return [[b"fork", at, 182, 240], [b"command", at - 25, 41, 41]]
        if (name, sub) == ("CONFIG", "GET"):
            value = self.config().get(words[2])
            return [words[2].encode(), value.encode()] if value is not None else []
        if name == "SCAN":
            start = int(words[1])
            options = {words[i].upper(): words[i + 1] for i in range(2, len(words) - 1, 2)}
            count = int(options.get("COUNT", 10))
            page = [k for k, *_ in self._keys[start : start + count]]
            if "MATCH" in options:
                page = [k for k in page if fnmatch.fnmatchcase(k, options["MATCH"])]
            cursor = start + count if start + count < len(self._keys) else 0
            return [str(cursor).encode(), [k.encode() for k in page]]
        found = self._by_key
        key = words[1] if name != "MEMORY" else words[2]
        if key not in found:
            return b"none" if name == "TYPE" else -2 if name == "TTL" else None
        kind, size, ttl = found[key]
        if name == "TYPE":
            return kind.encode()
        if name == "TTL":
            return ttl
        if (name, sub) == ("MEMORY", "USAGE"):
            return size
        raise rexc.ResponseError(f"unknown command '{name}' in the demo")

    def config(self) -> dict[str, str]:
        return {
            "maxmemory": str(MAXMEMORY),
            "maxmemory-policy": "volatile-lru",
            "maxclients": "10000",
            "save": "3600 1 300 100 60 10000",
            "appendonly": "no",
            "slowlog-log-slower-than": "10000",
            "slowlog-max-len": "128",
        }

    def slowlog(self, now: datetime) -> list[list[object]]:
        """Entries as SLOWLOG GET returns them, newest first."""
        entries = [(self.anchor + timedelta(seconds=at), us, c, n, a) for at, us, c, n, a in _SLOW]
        since = (now - self.anchor).total_seconds()
        for i in range(max(0, int(since // _SLOW_EVERY))):
            us, client, name, args = _OFFENDERS[i % len(_OFFENDERS)]
            entries.append(
                (self.anchor + timedelta(seconds=_SLOW_EVERY * (i + 1)), us + i * 13, client, name, args)
            )
        entries = [e for e in entries if e[0] <= now][-128:]
        return [
            [i + 1, int(at.timestamp()), us, [a.encode() for a in args], client.encode(), name.encode()]
            for i, (at, us, client, name, args) in reversed(list(enumerate(entries)))
        ]

    def info_text(self, now: datetime, section: str = "all") -> str:
        """INFO's text: every section, or the one asked for (as INFO memory answers)."""
        since = (now - self.anchor).total_seconds()
        uptime = UPTIME_AT_ANCHOR + int(since)
        lookups = int(uptime * OPS_PER_SEC * 0.6)
        # the ratio sags a little while the slow commands hold the server up
        ratio = HIT_RATIO - 0.04 * min(1.0, max(0.0, since) / 600)
        hits = int(lookups * HIT_RATIO) + int(max(0.0, since) * OPS_PER_SEC * 0.6 * (ratio - HIT_RATIO))
        used = int(MAXMEMORY * 0.71) + int(since) * 40_960 % (64 * 1024**2)
        fields = {
            "# Server": None,
            "redis_version": "7.2.4",
            "redis_mode": "standalone",
            "run_id": "5f1c0ab2d4e8b7c64f2a9e0d13b7a8c2e4f60d19",
            "uptime_in_seconds": uptime,
            "# Clients": None,
            "connected_clients": 184,
            "blocked_clients": 3,
            "maxclients": 10000,
            "# Memory": None,
            "used_memory": used,
            "used_memory_rss": int(used * 1.62),
            "used_memory_peak": int(MAXMEMORY * 0.78),
            "maxmemory": MAXMEMORY,
            "maxmemory_policy": "volatile-lru",
            "mem_fragmentation_ratio": "1.62",
            "# Persistence": None,
            "loading": 0,
            "rdb_changes_since_last_save": 48_211 + int(since) * 310,
            "rdb_bgsave_in_progress": 1,
            "rdb_last_save_time": int((now - timedelta(minutes=58)).timestamp()),
            "rdb_last_bgsave_status": "ok",
            "aof_enabled": 0,
            "aof_rewrite_in_progress": 0,
            "aof_last_write_status": "ok",
            "# Stats": None,
            "total_commands_processed": uptime * OPS_PER_SEC,
            "instantaneous_ops_per_sec": OPS_PER_SEC,
            "rejected_connections": 0,
            "expired_keys": uptime * 12,
            "evicted_keys": 0,
            "keyspace_hits": hits,
            "keyspace_misses": lookups - hits,
            "latest_fork_usec": 182_113,
            "# Replication": None,
            "role": "master",
            "connected_slaves": 1,
            "# Keyspace": None,
            "db0": self._keyspace_line(),
        }
        lines, shown = [], section in ("all", "everything", "default")
        for name, value in fields.items():
            if value is None:
                shown = section in ("all", "everything", "default") or name[2:].lower() == section
            if shown:
                lines.append(name if value is None else f"{name}:{value}")
        return "\r\n".join(lines) + "\r\n"
