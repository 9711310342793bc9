"""Redis: refresh latency and commands per refresh, event-loop stalls while the tabs draw INFO and 128 slow
log entries, and the key sampler's worst server-side blocking over 1,000,000 keys.

`.venv/bin/python -m bench.redis_bench [--keys 1000000] [--refreshes 20]` starts its own redis-server
(the lab's, from tests/labs/redis.py) and prints the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.timing import StallMonitor, report
from probes.redis import RedisProbe
from tests.helpers import make_app, wait_for
from tests.labs.redis import RedisLab
from tui.config.settings import RedisSettings, load_settings

SLOWLOG_FLOOR_US = 100  # the sampler run logs every command slower than this (0.1 ms) on the server


def _settings(lab: RedisLab, **overrides: Any) -> RedisSettings:
    settings = load_settings(env={"REDIS_URL": lab.url()}, cwd=lab.workdir, user_config_dir=lab.workdir).redis
    return replace(settings, **overrides)


async def refresh_latency(lab: RedisLab, refreshes: int) -> None:
    async with RedisProbe(_settings(lab)) as probe:
        await probe.poll()  # connect
        plain, with_config, commands = [], [], set()
        for _ in range(refreshes):
            started = time.perf_counter()
            snapshot = await probe.poll()
            elapsed = (time.perf_counter() - started) * 1000
            (with_config if snapshot.commands_sent > 3 else plain).append(elapsed)
            commands.add((snapshot.commands_sent, probe.round_trips))
    report("refresh (INFO, SLOWLOG GET 128, LATENCY)", plain)
    if with_config:
        report("refresh with the CONFIG GETs", with_config)
    shown = ", ".join(f"{n} commands in {r} round trip" for n, r in sorted(commands))
    print(f"{'commands per refresh':<42} {shown}")


async def stalls(lab: RedisLab, refreshes: int, workdir: Path) -> None:
    """The app polling every 0.5 s with INFO and a full slow log (128 entries) on the Redis, Slow log tabs."""
    admin = lab.admin()
    admin.config_set("slowlog-log-slower-than", 0)
    for i in range(200):  # more than slowlog-max-len: the log is full, 128 entries
        admin.set(f"bench:slow:{i}", "x" * 64)
    admin.config_set("slowlog-log-slower-than", 10_000)
    admin.close()
    probe = RedisProbe(_settings(lab, refresh=0.5))
    app = make_app(workdir, demo=False, redis=probe)
    monitor = StallMonitor()
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(
            lambda: app.redis_snapshot is not None and app.redis_snapshot.info is not None, 30, "a read"
        )
        results = []
        for tab in ("tab-redis", "tab-slowlog"):
            app.screen.query_one("#sources").active = tab
            await pilot.pause()
            await asyncio.sleep(0.5)  # switching tabs is a key press, not a refresh: not counted
            monitor.reset()
            monitor.start()
            seen, last = 0, None
            while seen < refreshes:
                await asyncio.sleep(0.05)
                if app.redis_snapshot is not last:
                    last, seen = app.redis_snapshot, seen + 1
            monitor.stop()
            results.append((tab, monitor.summary(), len(app.redis_snapshot.slowlog or ())))
    for tab, summary, entries in results:
        print(f"stalls, {tab:<11} {refreshes} refreshes, {entries} slow entries  {summary}")


async def sampler_blocking(lab: RedisLab, keys: int) -> None:
    """Fill `keys` keys, log every server command slower than 0.1 ms, run the sampler, read the log."""
    admin = lab.admin()
    admin.flushall()
    started = time.perf_counter()
    admin.execute_command("DEBUG", "POPULATE", keys, "key", 100)
    # a tenth with a TTL, and a few big keys among them
    with admin.pipeline(transaction=False) as pipe:
        for i in range(0, keys, 10):
            pipe.expire(f"key:{i}", 3600)
        pipe.execute()
    for i in range(5):
        admin.rpush(f"big:list:{i}", *([b"x" * 512] * 20_000))
    print(f"{'keys on the server':<42} {admin.dbsize()} (filled in {time.perf_counter() - started:.1f} s)")
    admin.config_set("slowlog-max-len", 100_000)
    for label, max_keys, max_seconds in (
        ("sampler, default caps (10,000 keys, 1 s)", None, None),
        (f"sampler, whole keyspace ({keys:,} keys)", keys + 10, 600.0),
    ):
        admin.slowlog_reset()
        admin.config_resetstat()
        admin.config_set("slowlog-log-slower-than", SLOWLOG_FLOOR_US)
        async with RedisProbe(_settings(lab)) as probe:
            sample = await probe.sample_keys(max_keys=max_keys, max_seconds=max_seconds)
        admin.config_set("slowlog-log-slower-than", 10_000)
        entries = admin.slowlog_get(100_000)
        stats = admin.info("commandstats")
        # Redis runs a pipelined batch's commands back to back: a batch blocks others for their sum
        batch_usec = sum(
            int(stats.get(f"cmdstat_{name}", {}).get("usec", 0))
            for name in ("scan", "type", "ttl", "memory|usage")
        )
        ours = [
            e
            for e in entries
            if (e["command"] or b"").split()[:1] in ([b"SCAN"], [b"TYPE"], [b"TTL"], [b"MEMORY"])
        ]
        worst = max((e["duration"] for e in ours), default=0)
        by_command: dict[str, int] = {}
        for e in ours:
            name = e["command"].split()[0].decode()
            by_command[name] = max(by_command.get(name, 0), e["duration"])
        worst_text = f"{worst} µs" if ours else f"under {SLOWLOG_FLOOR_US} µs (none logged)"
        print(f"{label}:")
        print(
            f"  {sample.scanned:,} keys in {sample.elapsed:.2f} s, {sample.round_trips} round trips, "
            f"stopped by {sample.stopped_by or 'the end of SCAN'}"
        )
        print(
            f"  worst server-side command {worst_text}; {len(ours)} commands over {SLOWLOG_FLOOR_US} µs, "
            f"worst by command (µs) {dict(sorted(by_command.items()))}"
        )
        per_trip = batch_usec / max(1, sample.round_trips)
        print(
            f"  server time per round trip (INFO commandstats) mean {per_trip:.0f} µs; "
            f"slowest round trip seen by the client {sample.slowest_round_trip * 1000:.1f} ms"
        )
    admin.close()


async def run(keys: int, refreshes: int, workdir: Path) -> None:
    lab = RedisLab(workdir / "redis", maxmemory="0").start()
    try:
        await refresh_latency(lab, refreshes)
        await stalls(lab, refreshes, workdir)
        await sampler_blocking(lab, keys)
    finally:
        lab.destroy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--refreshes", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args.keys, args.refreshes, Path(tmp)))


if __name__ == "__main__":
    main()
