"""Redis: the probe, its command guard, INFO and slow log parsing, the key sampler and triage reads.

probe.py polls (one pipelined round trip a refresh) on reads.py's redis-cli reads, on sampler.py's key
sampler, on client.py's one guarded connection; guard.py is the command allowlist; parsing.py turns replies
into snapshot.py's types and errors into plain words.

Names load their module on first use: importing the package (say, for its settings) must not import
the redis client library, which `oncall` without Redis never needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from probes.lazy import lazy_names

if TYPE_CHECKING:
    from probes.redis.client import NOT_CONFIGURED, SOURCE, connection_options
    from probes.redis.guard import ALLOWED, CommandRefused, GuardedConnection, check_command
    from probes.redis.parsing import (
        blocked_reason,
        config_pairs,
        describe_error,
        info_from,
        interval_between,
        latency_from,
        parse_info,
        slowlog_from,
        text,
    )
    from probes.redis.probe import CONFIG_NAMES, RedisProbe
    from probes.redis.sampler import summarize_sample
    from probes.redis.settings import RedisSettings
    from probes.redis.snapshot import (
        FRAGMENTATION_WARN,
        HIT_RATIO_WARN,
        MEMORY_WARN,
        DbKeys,
        Interval,
        KeyPattern,
        KeySample,
        LatencyEvent,
        Persistence,
        RedisConfig,
        RedisInfo,
        RedisSnapshot,
        Replication,
        SampledKey,
        SlowEntry,
    )

# each exported name and the module it lives in
_HOMES = {
    "client": (
        "NOT_CONFIGURED",
        "SOURCE",
        "connection_options",
    ),
    "guard": (
        "ALLOWED",
        "CommandRefused",
        "GuardedConnection",
        "check_command",
    ),
    "parsing": (
        "blocked_reason",
        "config_pairs",
        "describe_error",
        "info_from",
        "interval_between",
        "latency_from",
        "parse_info",
        "slowlog_from",
        "text",
    ),
    "probe": (
        "CONFIG_NAMES",
        "RedisProbe",
    ),
    "sampler": ("summarize_sample",),
    "settings": ("RedisSettings",),
    "snapshot": (
        "FRAGMENTATION_WARN",
        "HIT_RATIO_WARN",
        "MEMORY_WARN",
        "DbKeys",
        "Interval",
        "KeyPattern",
        "KeySample",
        "LatencyEvent",
        "Persistence",
        "RedisConfig",
        "RedisInfo",
        "RedisSnapshot",
        "Replication",
        "SampledKey",
        "SlowEntry",
    ),
}
__getattr__ = lazy_names(__name__, globals(), _HOMES)


__all__ = [
    "ALLOWED",
    "CONFIG_NAMES",
    "FRAGMENTATION_WARN",
    "HIT_RATIO_WARN",
    "MEMORY_WARN",
    "NOT_CONFIGURED",
    "SOURCE",
    "CommandRefused",
    "DbKeys",
    "GuardedConnection",
    "Interval",
    "KeyPattern",
    "KeySample",
    "LatencyEvent",
    "Persistence",
    "RedisConfig",
    "RedisInfo",
    "RedisProbe",
    "RedisSettings",
    "RedisSnapshot",
    "Replication",
    "SampledKey",
    "SlowEntry",
    "blocked_reason",
    "check_command",
    "config_pairs",
    "connection_options",
    "describe_error",
    "info_from",
    "interval_between",
    "latency_from",
    "parse_info",
    "slowlog_from",
    "summarize_sample",
    "text",
]
