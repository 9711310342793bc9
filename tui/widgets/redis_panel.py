"""The Redis tab: memory against maxmemory, hit ratio, clients, persistence, latency and the key sampler."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from probes.format import clean, format_age, format_bytes
from probes.redis import (
    FRAGMENTATION_WARN,
    HIT_RATIO_WARN,
    MEMORY_WARN,
    KeySample,
    RedisInfo,
    RedisSettings,
    RedisSnapshot,
)
from tui.widgets import styles
from tui.widgets.render import set_text, since

RECENT_RESTART = 600  # seconds of uptime under which a restart is flagged: the cache is still cold
CLIENTS_WARN = 0.8  # connected / maxclients
FORK_WARN_MS = 10  # a fork stops every command for its length: as long as a slow command, it shows
SPARK = "▁▂▃▄▅▆▇█"


def sparkline(ratios: Sequence[float | None]) -> Text:
    """One cell per interval, 0 to 100%; an interval without lookups is a dot. Red below the warning."""
    line = Text()
    for ratio in ratios:
        if ratio is None:
            line.append("·", style=styles.MUTED)
        else:
            index = min(len(SPARK) - 1, max(0, round(ratio * (len(SPARK) - 1))))
            line.append(SPARK[index], style=styles.FIRING if ratio < HIT_RATIO_WARN else styles.OK)
    return line


def blocked_line(reading: str, why: str) -> Text:
    """A refused reading: ⊘ CONFIG GET blocked by the provider — unknown command 'CONFIG'."""
    head, _, detail = clean(why).partition(": ")
    text = Text.assemble(("⊘ ", styles.WARNING), (clean(reading), styles.STRONG), " ", (head, styles.WARNING))
    if detail:
        text.append(f" — {detail}")
    return text


def status_text(snapshot: RedisSnapshot, now: datetime) -> Text:
    health = snapshot.health
    info = snapshot.info
    text = Text()
    if health.answering and info is not None:
        text.append(f"Redis {clean(info.version)} {clean(info.mode)}", style=styles.STRONG)
        text.append(f" at {clean(health.endpoint or '')}" if health.endpoint else "")
        if snapshot.fetched_at:
            text.append(f" · read {since(snapshot.fetched_at, now)} ago", style=styles.MUTED)
        return text
    label = "down" if health.state == "down" else "readings refused" if health.state == "forbidden" else ""
    text.append(f"Redis {label or clean(health.state)}: ", style=styles.FIRING)
    text.append(clean(health.last_error or ""))
    if snapshot.fetched_at and info is not None:
        text.append(f" — showing what was read {since(snapshot.fetched_at, now)} ago", style=styles.WARNING)
    return text


def problems_text(snapshot: RedisSnapshot) -> Text:
    """Readings the provider or the ACL refused, then any other reading that failed; the rest still works."""
    lines = [blocked_line(reading, why) for reading, why in snapshot.blocked]
    health = snapshot.health
    if health.state == "degraded" and health.last_error:
        known = {f"{reading} {why}" for reading, why in snapshot.blocked}
        for note in health.last_error.split("; "):
            if note not in known:
                lines.append(Text.assemble(("⚠ ", styles.WARNING), (clean(note), styles.WARNING)))
    return Text("\n").join(lines)


def restart_text(snapshot: RedisSnapshot, now: datetime) -> Text:
    info = snapshot.info
    if info is None or not (snapshot.restarted or info.uptime_seconds < RECENT_RESTART):
        return Text()
    return Text.assemble(
        ("⚠ Redis restarted ", styles.FIRING),
        (f"{format_age(info.uptime_seconds)} ago", styles.FIRING),
        ": the cache was emptied; expect misses and load on the database until it warms up",
    )


def memory_text(snapshot: RedisSnapshot) -> Text:
    info = snapshot.info
    assert info is not None
    share = info.memory_share
    text = Text("memory ", style=styles.STRONG)
    if share is None:
        text.append(f"{format_bytes(info.used_memory)} used", style=styles.STRONG)
        text.append(" · no maxmemory limit set", style=styles.WARNING)
    else:
        style = styles.FIRING if share >= MEMORY_WARN else styles.OK
        filled = min(20, round(share * 20))
        text.append("▰" * filled + "▱" * (20 - filled), style=style)
        text.append(
            f" {format_bytes(info.used_memory)} / {format_bytes(info.maxmemory)} ({share:.0%})", style=style
        )
        if share >= MEMORY_WARN:
            text.append(f" ⚠ at or above the runbook's {MEMORY_WARN:.0%}", style=styles.FIRING)
    text.append(f"  peak {format_bytes(info.used_memory_peak)}", style=styles.MUTED)
    text.append("\nRSS ")
    text.append(format_bytes(info.used_memory_rss))
    text.append(" · fragmentation ")
    ratio = info.fragmentation_ratio
    if ratio is None:
        text.append("?", style=styles.MUTED)
    elif ratio > FRAGMENTATION_WARN:
        text.append(f"{ratio:.2f} ⚠ above {FRAGMENTATION_WARN}", style=styles.FIRING)
    else:
        text.append(f"{ratio:.2f}")
    text.append(" · eviction policy ")
    policy = snapshot.maxmemory_policy
    if policy is None:
        why = snapshot.blocked_reason("CONFIG GET")
        text.append("unknown" + (" (CONFIG GET blocked)" if why else ""), style=styles.MUTED)
    elif policy == "noeviction" and share is not None and share >= MEMORY_WARN:
        text.append("noeviction", style=styles.FIRING)
        text.append(
            " ⚠ writes fail with OOM when memory is full: the runbook recommends allkeys-lru",
            style=styles.FIRING,
        )
    else:
        text.append(clean(policy))
    return text


def span(seconds: float) -> str:
    """An interval's length: 0.3s, 5s, 2m."""
    if seconds < 10:
        return f"{seconds:.1f}s".replace(".0s", "s")
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.0f}m"


def traffic_text(snapshot: RedisSnapshot) -> Text:
    info = snapshot.info
    assert info is not None
    interval = snapshot.interval
    text = Text("hit ratio ", style=styles.STRONG)
    recent = interval.hit_ratio if interval is not None else None
    if interval is None:
        text.append("— (needs two reads)", style=styles.MUTED)
    elif recent is None:
        text.append(f"— no lookups in the last {span(interval.seconds)}", style=styles.MUTED)
    else:
        low = recent < HIT_RATIO_WARN
        text.append(f"{recent:.0%}", style=styles.FIRING if low else styles.OK)
        text.append(f" over the last {span(interval.seconds)}")
        if low:
            text.append(f" ⚠ below {HIT_RATIO_WARN:.0%}", style=styles.FIRING)
    if snapshot.hit_ratio_history:
        text.append("  ")
        text.append_text(sparkline(snapshot.hit_ratio_history))
    overall = info.hit_ratio
    text.append(" · since start ", style=styles.MUTED)
    text.append(
        "—" if overall is None else f"{overall:.0%}",
        style=styles.FIRING if overall is not None and overall < HIT_RATIO_WARN else styles.PLAIN,
    )
    text.append(f" · {info.ops_per_sec:,} ops/s")
    if interval is not None:
        text.append(f"\nlast {span(interval.seconds)}: ", style=styles.MUTED)
        text.append(
            f"{interval.evicted:,} evicted", style=styles.WARNING if interval.evicted else styles.PLAIN
        )
        text.append(f", {interval.expired:,} expired keys")
        if interval.rejected:
            text.append(f", {interval.rejected:,} connections rejected", style=styles.FIRING)
    return text


def clients_text(snapshot: RedisSnapshot) -> Text:
    info = snapshot.info
    assert info is not None
    text = Text("clients ", style=styles.STRONG)
    maxclients = snapshot.maxclients
    if maxclients:
        share = info.connected_clients / maxclients
        style = styles.FIRING if share >= CLIENTS_WARN else styles.PLAIN
        text.append(
            f"{info.connected_clients:,} connected of {maxclients:,} maxclients ({share:.0%})", style=style
        )
    else:
        text.append(f"{info.connected_clients:,} connected", style=styles.PLAIN)
        text.append(" (maxclients unknown)", style=styles.MUTED)
    text.append(" · ")
    text.append(
        f"{info.blocked_clients:,} blocked", style=styles.WARNING if info.blocked_clients else styles.PLAIN
    )
    text.append(" · ")
    rejected = info.rejected_connections
    text.append(
        f"{rejected:,} rejected connections since start", style=styles.FIRING if rejected else styles.PLAIN
    )
    return text


def keys_text(info: RedisInfo) -> Text:
    text = Text("keys ", style=styles.STRONG)
    if not info.databases:
        text.append("none", style=styles.MUTED)
        return text
    parts = []
    for db in info.databases:
        share = f", {db.expires / db.keys:.0%}" if db.keys else ""
        parts.append(f"db{db.db} {db.keys:,} ({db.expires:,} with TTL{share})")
    text.append(" · ".join(parts))
    return text


def persistence_text(snapshot: RedisSnapshot, now: datetime) -> Text:
    info = snapshot.info
    assert info is not None
    p = info.persistence
    text = Text("persistence ", style=styles.STRONG)
    if p.loading:
        text.append("loading the dataset ", style=styles.FIRING)
        text.append("· ")
    if p.rdb_bgsave_in_progress:
        text.append("BGSAVE in progress", style=styles.WARNING_STRONG)
        text.append(" · ")
    status = clean(p.rdb_last_bgsave_status) or "?"
    text.append("last bgsave ")
    text.append(status, style=styles.OK if status == "ok" else styles.FIRING)
    text.append(" · last save ")
    if p.rdb_last_save_time is None:
        text.append("never", style=styles.MUTED)
    else:
        text.append(f"{since(p.rdb_last_save_time, now)} ago")
    text.append(f", {p.rdb_changes_since_last_save:,} changes since", style=styles.MUTED)
    text.append(" · AOF ")
    if not p.aof_enabled:
        text.append("off")
    else:
        write = clean(p.aof_last_write_status) or "?"
        text.append("on, last write ")
        text.append(write, style=styles.OK if write == "ok" else styles.FIRING)
        if p.aof_rewrite_in_progress:
            text.append(", rewrite in progress", style=styles.WARNING_STRONG)
    fork_ms = p.latest_fork_usec / 1000
    text.append(" · last fork ")
    text.append(f"{fork_ms:.0f} ms", style=styles.WARNING if fork_ms >= FORK_WARN_MS else styles.PLAIN)
    return text


def replication_text(snapshot: RedisSnapshot) -> Text:
    info = snapshot.info
    assert info is not None
    r = info.replication
    text = Text("role ", style=styles.STRONG)
    if r.role == "slave":
        where = f"{clean(r.master_host or '?')}:{r.master_port or '?'}"
        text.append(f"replica of {where}")
        text.append(" · link ")
        if r.master_link_status == "up":
            text.append("up", style=styles.OK)
            if r.master_last_io_seconds is not None:
                text.append(f", last I/O {r.master_last_io_seconds}s ago", style=styles.MUTED)
        else:
            text.append(clean(r.master_link_status or "?").upper(), style=styles.FIRING)
            if r.link_down_seconds is not None:
                text.append(f" for {format_age(r.link_down_seconds)}", style=styles.FIRING)
    else:
        text.append(clean(r.role) or "?")
        replicas = r.connected_replicas
        text.append(f" · {replicas} replica{'s' if replicas != 1 else ''} connected")
    text.append(" · up ")
    recent = snapshot.restarted or info.uptime_seconds < RECENT_RESTART
    text.append(
        format_age(info.uptime_seconds), style=styles.FIRING if recent else styles.PLAIN
    )  # restart_text says why
    return text


def latency_text(snapshot: RedisSnapshot, now: datetime) -> Text:
    text = Text("latency events ", style=styles.STRONG)
    events = snapshot.latency
    if events is None:
        why = snapshot.blocked_reason("LATENCY LATEST")
        if why:
            head, _, detail = clean(why).partition(": ")
            text.append(f"LATENCY LATEST {head}", style=styles.WARNING)
            text.append(f" — {detail}" if detail else "")
        else:
            text.append("not read", style=styles.MUTED)
        return text
    if not events:
        text.append(
            "none recorded (LATENCY LATEST; the monitor is off when latency-monitor-threshold is 0)",
            style=styles.MUTED,
        )
        return text
    parts = Text(" · ").join(
        Text.assemble(
            (clean(e.name), styles.STRONG),
            (f" {e.latest_ms} ms", styles.WARNING if e.latest_ms >= FORK_WARN_MS else styles.PLAIN),
            (f" (max {e.max_ms} ms) {since(e.latest_at, now)} ago", styles.MUTED),
        )
        for e in events
    )
    text.append_text(parts)
    return text


def sampler_off_text(settings: RedisSettings | None) -> Text:
    limits = ""
    if settings is not None:
        keys, seconds = settings.sample_max_keys, settings.sample_max_seconds
        limits = f" (SCAN + MEMORY USAGE, at most {keys:,} keys or {seconds:g}s)"
    if settings is not None and settings.sample_keys:
        return Text(
            f"The key sampler runs on a schedule ([redis] sample_keys); press x to run it now{limits}.",
            style=styles.MUTED,
        )
    return Text(f"The key sampler is off: press x to run it once{limits}.", style=styles.MUTED)


def sample_text(sample: KeySample, now: datetime) -> Text:
    text = Text(
        f"sampled {sample.scanned:,} keys in {sample.elapsed:.2f}s, {since(sample.taken_at, now)} ago · "
    )
    if sample.complete:
        text.append("the whole keyspace", style=styles.OK)
    else:
        text.append(f"stopped by {clean(sample.stopped_by or '?')}", style=styles.WARNING)
    text.append(
        f" · {sample.round_trips} round trips, slowest {sample.slowest_round_trip * 1000:.0f} ms",
        style=styles.MUTED,
    )
    share = sample.without_ttl_share
    text.append("\nwithout TTL: ", style=styles.STRONG)
    if share is None:
        text.append("—", style=styles.MUTED)
    else:
        text.append(f"{share:.0%}", style=styles.WARNING if share >= 0.5 else styles.PLAIN)
        text.append(f" of the sampled keys ({sample.without_ttl:,} of {sample.scanned:,})")
    if sample.largest:
        text.append("\nlargest keys", style=styles.STRONG)
        for key in sample.largest:
            ttl = "no TTL" if key.ttl == -1 else f"TTL {format_age(key.ttl)}"
            text.append(f"\n  {format_bytes(key.bytes):>10}  {clean(key.type):<6}  ")
            text.append(f"{ttl:<10}  ", style=styles.WARNING if key.ttl == -1 else styles.MUTED)
            text.append(clean(key.key))
    if sample.patterns:
        text.append("\nkey patterns, by bytes", style=styles.STRONG)
        for pattern in sample.patterns:
            unit = "key " if pattern.keys == 1 else "keys"
            text.append(f"\n  {format_bytes(pattern.bytes):>10}  {pattern.keys:>7,} {unit}  ")
            share = pattern.without_ttl / pattern.keys if pattern.keys else 0.0
            text.append(f"{share:>4.0%} without TTL  ", style=styles.WARNING if share == 1 else styles.MUTED)
            text.append(clean(pattern.prefix))
    return text


class RedisPanel(VerticalScroll):
    """What the Redis alerts ask first (memory, hits, clients), then why (persistence, latency, big keys)."""

    class SampleRequested(Message):
        """`x`: the screen asks the app for one key sampler run; its result comes with the next snapshot."""

    DEFAULT_CSS = """
    RedisPanel { padding: 0 1; }
    RedisPanel > Static { height: auto; }
    RedisPanel > .redis-heading { text-style: bold underline; margin-top: 1; }
    """
    SECTIONS = (
        "redis-memory",
        "redis-traffic",
        "redis-clients",
        "redis-keys",
        "redis-persistence",
        "redis-replication",
        "redis-latency",
    )

    def __init__(
        self, now: Callable[[], datetime], settings: RedisSettings | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.now = now
        self.settings = settings  # the sampler's limits, for the hint
        self._sample: KeySample | None = None
        self._sampling = False

    def compose(self) -> ComposeResult:
        yield Static(Text("connecting to Redis…", style=styles.MUTED), id="redis-status")
        for name in ("redis-problems", "redis-restart", *self.SECTIONS):
            blank = Static(id=name)
            blank.display = False  # until there is something to say
            yield blank
        yield Static("Key sampler (largest keys, keys without TTL, key patterns)", classes="redis-heading")
        yield Static(sampler_off_text(self.settings), id="redis-sample")

    def _set(self, name: str, text: Text) -> None:
        """Update a Static only when its text changed: an unchanged line costs no layout."""
        widget = self.query_one(f"#{name}", Static)
        set_text(widget, text)
        widget.display = bool(text.plain)

    def show(self, snapshot: RedisSnapshot) -> None:
        now = self.now()
        self._set("redis-status", status_text(snapshot, now))
        self._set("redis-problems", problems_text(snapshot))
        self._set("redis-restart", restart_text(snapshot, now))
        info = snapshot.info
        if info is None:
            for name in self.SECTIONS:
                self._set(name, Text())
        else:
            self._set("redis-memory", memory_text(snapshot))
            self._set("redis-traffic", traffic_text(snapshot))
            self._set("redis-clients", clients_text(snapshot))
            self._set("redis-keys", keys_text(info))
            self._set("redis-persistence", persistence_text(snapshot, now))
            self._set("redis-replication", replication_text(snapshot))
            self._set("redis-latency", latency_text(snapshot, now))
        if snapshot.sample is not self._sample:
            self._sample = snapshot.sample
            self._sampling = False
        self._show_sample(now)

    def _show_sample(self, now: datetime) -> None:
        if self._sampling:
            text = Text("sampling keys…", style=styles.STRONG)
            if self._sample is not None:  # the last run stays readable meanwhile
                text.append("\n")
                text.append_text(sample_text(self._sample, now))
        elif self._sample is None:
            text = sampler_off_text(self.settings)
        else:
            text = sample_text(self._sample, now)
        self._set("redis-sample", text)

    def action_sample_keys(self) -> None:
        """One bounded sampler run; its result comes back with the snapshot the app publishes after it."""
        self._sampling = True
        self._show_sample(self.now())
        self.post_message(self.SampleRequested())
