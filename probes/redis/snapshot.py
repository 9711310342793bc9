"""What one Redis poll read: INFO's fields, the interval since the last poll, the slow log, latency events,
the config, and the key sampler's last run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from probes.base import SourceHealth

# the thresholds the Redis tab flags (here, not in probe.py: the tab draws without the redis client library)
MEMORY_WARN = 0.8  # the runbook's HighRedisMemory threshold: 80% of maxmemory

FRAGMENTATION_WARN = 1.5

HIT_RATIO_WARN = 0.5


@dataclass(frozen=True)
class DbKeys:
    db: int
    keys: int
    expires: int  # keys with a TTL
    avg_ttl_ms: int


@dataclass(frozen=True)
class Persistence:
    rdb_bgsave_in_progress: bool
    rdb_last_bgsave_status: str  # "ok", "err"
    rdb_last_save_time: datetime | None
    rdb_changes_since_last_save: int
    aof_enabled: bool
    aof_rewrite_in_progress: bool
    aof_last_write_status: str
    latest_fork_usec: int  # how long the last fork (BGSAVE, AOF rewrite) blocked the server
    loading: bool  # still loading the dataset after a restart


@dataclass(frozen=True)
class Replication:
    role: str  # "master", "slave"
    master_host: str | None
    master_port: int | None
    master_link_status: str | None  # "up", "down"; None on a primary
    master_last_io_seconds: int | None
    link_down_seconds: int | None
    connected_replicas: int


@dataclass(frozen=True)
class RedisInfo:
    """One INFO reply, typed."""

    version: str
    mode: str  # "standalone", "cluster", "sentinel"
    run_id: str  # new at every start of the server
    uptime_seconds: int
    connected_clients: int
    blocked_clients: int
    maxclients: int | None  # INFO clients has it from 7.0; else CONFIG GET maxclients, if allowed
    rejected_connections: int
    used_memory: int
    used_memory_rss: int
    used_memory_peak: int
    maxmemory: int  # 0: no limit
    maxmemory_policy: str
    fragmentation_ratio: float | None
    keyspace_hits: int
    keyspace_misses: int
    evicted_keys: int
    expired_keys: int
    total_commands: int
    ops_per_sec: int  # the server's instantaneous_ops_per_sec
    databases: tuple[DbKeys, ...]
    persistence: Persistence
    replication: Replication

    @property
    def memory_share(self) -> float | None:
        """used_memory / maxmemory, or None without a limit."""
        return self.used_memory / self.maxmemory if self.maxmemory > 0 else None

    @property
    def hit_ratio(self) -> float | None:
        """Since the server started (or the last CONFIG RESETSTAT)."""
        lookups = self.keyspace_hits + self.keyspace_misses
        return self.keyspace_hits / lookups if lookups else None

    @property
    def keys(self) -> int:
        return sum(d.keys for d in self.databases)

    @property
    def keys_with_ttl(self) -> int:
        return sum(d.expires for d in self.databases)


@dataclass(frozen=True)
class Interval:
    """What changed between two successful reads."""

    seconds: float
    hits: int
    misses: int
    commands: int
    evicted: int
    expired: int
    rejected: int

    @property
    def hit_ratio(self) -> float | None:
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else None

    @property
    def ops_per_sec(self) -> float:
        return self.commands / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class SlowEntry:
    id: int
    started_at: datetime
    duration_us: int
    args: tuple[str, ...]  # the command and its arguments as the server logged them; untrusted text
    client: str  # "10.0.0.5:51234"; "" before Redis 4
    client_name: str

    @property
    def duration_ms(self) -> float:
        return self.duration_us / 1000.0

    @property
    def command(self) -> str:
        return self.args[0].upper() if self.args else ""


@dataclass(frozen=True)
class LatencyEvent:
    name: str  # "command", "fast-command", "fork", "aof-fsync-always", ...
    latest_at: datetime
    latest_ms: int
    max_ms: int


@dataclass(frozen=True)
class RedisConfig:
    values: tuple[tuple[str, str], ...]  # (name, value) as CONFIG GET answered; secrets never asked
    read_at: datetime

    def get(self, name: str) -> str | None:
        return dict(self.values).get(name)


@dataclass(frozen=True)
class SampledKey:
    key: str  # untrusted text, decoded with backslash escapes for bytes that are not UTF-8
    type: str
    bytes: int | None  # MEMORY USAGE; None when it answered nil (the key expired meanwhile)
    ttl: int  # seconds; -1 without TTL


@dataclass(frozen=True)
class KeyPattern:
    prefix: str  # the key up to its first ":" ("session:"), or the whole key when it has none
    keys: int
    bytes: int
    without_ttl: int


@dataclass(frozen=True)
class KeySample:
    taken_at: datetime
    scanned: int  # keys SCAN returned
    largest: tuple[SampledKey, ...]  # by MEMORY USAGE, largest first
    without_ttl: int
    patterns: tuple[KeyPattern, ...]  # by bytes, largest first
    elapsed: float  # seconds of wall time
    complete: bool  # SCAN went all the way round
    stopped_by: str | None  # "the key cap (10000)", "the time cap (1s)", or an error
    round_trips: int
    slowest_round_trip: float  # seconds, as seen by the client: a ceiling on the server's blocking

    @property
    def without_ttl_share(self) -> float | None:
        return self.without_ttl / self.scanned if self.scanned else None


@dataclass(frozen=True)
class RedisSnapshot:
    info: RedisInfo | None  # None until the first successful read (or when INFO itself is blocked)
    interval: Interval | None  # None on the first read, and after a restart or a stats reset
    hit_ratio_history: tuple[float | None, ...]  # per interval, oldest first, at most HISTORY
    slowlog: tuple[SlowEntry, ...] | None  # newest first; None: see blocked
    latency: tuple[LatencyEvent, ...] | None  # None: see blocked
    config: RedisConfig | None  # the last CONFIG GET read; None when blocked or not read yet
    blocked: tuple[tuple[str, str], ...]  # (reading, why): "CONFIG GET" -> "blocked by the provider ..."
    restarted: bool  # uptime went down since the last read: the cache was emptied
    sample: KeySample | None
    health: SourceHealth
    fetched_at: datetime | None  # when the data was read; older than health.checked_at when stale
    commands_sent: int = 0  # in the last refresh, all in one round trip

    @property
    def maxmemory_policy(self) -> str | None:
        if self.info is not None and self.info.maxmemory_policy:
            return self.info.maxmemory_policy
        return self.config.get("maxmemory-policy") if self.config else None

    @property
    def maxclients(self) -> int | None:
        if self.info is not None and self.info.maxclients is not None:
            return self.info.maxclients
        value = self.config.get("maxclients") if self.config else None
        return int(value) if value and value.isdigit() else None

    def blocked_reason(self, reading: str) -> str | None:
        return dict(self.blocked).get(reading)
