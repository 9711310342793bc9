"""The Redis probe against a real redis-server: each lab condition read back, least privilege, faults."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from probes.redis import ALLOWED, CONFIG_NAMES, RedisProbe, check_command
from tests.labs.redis import (
    ADMIN_PASSWORD,
    EVIL_KEY,
    PROBE_USER,
    SLOW_COMMANDS,
    RedisConditions,
    RedisLab,
    SilentServer,
    monitor_commands,
)
from tui.config.settings import RedisSettings, load_settings

pytestmark = pytest.mark.integration


def settings_for(url: str, tmp_path: Path, **env: str) -> RedisSettings:
    """Settings as a user gets them from REDIS_URL (the password moved out of the URL into a Secret)."""
    loaded = load_settings(env={"REDIS_URL": url, **env}, cwd=tmp_path, user_config_dir=tmp_path)
    return loaded.redis


def probe_for(url: str, tmp_path: Path, **overrides: float) -> RedisProbe:
    return RedisProbe(replace(settings_for(url, tmp_path), **overrides))


async def test_the_least_privilege_user_reads_every_condition_in_one_round_trip(
    redis_conditions: RedisConditions, redis_server: RedisLab, tmp_path: Path
) -> None:
    async with probe_for(redis_server.url(), tmp_path) as probe:
        snapshot = await probe.poll()

    assert snapshot.health.state == "ok", snapshot.health.last_error
    assert snapshot.blocked == ()
    info = snapshot.info
    assert info is not None
    assert info.version.startswith("7.")
    assert info.replication.role == "master"
    # memory near the small maxmemory, as the lab filled it
    assert info.maxmemory == redis_conditions.maxmemory
    assert info.memory_share is not None and info.memory_share >= 0.8
    assert snapshot.maxmemory_policy == "noeviction"
    # keys and TTLs per db, as the lab made them
    db0 = next(d for d in info.databases if d.db == 0)
    assert db0.keys == redis_conditions.total_keys
    assert db0.expires == redis_conditions.keys_with_ttl
    # the slow log, newest first, with the real durations and the untrusted key kept exactly
    assert snapshot.slowlog is not None
    logged = [e.args for e in snapshot.slowlog]
    for command in SLOW_COMMANDS:
        assert tuple(command) in logged, logged
    sleep = next(e for e in snapshot.slowlog if e.args == ("DEBUG", "SLEEP", "0.03"))
    assert sleep.duration_ms >= 30
    evil = next(e for e in snapshot.slowlog if e.command == "SET")
    assert evil.args[1] == EVIL_KEY
    assert [e.id for e in snapshot.slowlog] == sorted((e.id for e in snapshot.slowlog), reverse=True)
    # latency monitor saw the slow commands
    assert snapshot.latency is not None
    assert any(e.name == "command" and e.max_ms >= 25 for e in snapshot.latency)
    # the config reads, never a secret
    assert snapshot.config is not None
    assert snapshot.config.get("maxmemory-policy") == "noeviction"
    assert snapshot.config.get("slowlog-log-slower-than") == "10000"
    assert all(name not in ("requirepass", "masterauth") for name, _ in snapshot.config.values)
    # one pipelined round trip: INFO, SLOWLOG GET, LATENCY LATEST and the CONFIG GETs
    assert probe.round_trips == 1
    assert snapshot.commands_sent == 3 + len(CONFIG_NAMES)
    assert all(check_command(*sent) for sent in probe.sent)


async def test_config_is_read_every_few_refreshes_not_every_one(
    redis_conditions: RedisConditions, redis_server: RedisLab, tmp_path: Path
) -> None:
    async with probe_for(redis_server.url(), tmp_path) as probe:
        first = await probe.poll()
        second = await probe.poll()
    assert first.commands_sent == 3 + len(CONFIG_NAMES)
    assert second.commands_sent == 3
    assert second.config == first.config  # kept from the last read


async def test_the_hit_ratio_of_the_interval_falls_with_misses_and_recovers_with_hits(
    redis_conditions: RedisConditions, redis_server: RedisLab, tmp_path: Path
) -> None:
    async with probe_for(redis_server.url(), tmp_path) as probe:
        await probe.poll()
        redis_conditions.misses(400)
        redis_conditions.hits(100)
        falling = await probe.poll()
        redis_conditions.hits(900)
        redis_conditions.misses(100)
        recovered = await probe.poll()
    assert falling.interval is not None and recovered.interval is not None
    assert falling.interval.misses == 400 and falling.interval.hits == 100
    assert falling.interval.hit_ratio == pytest.approx(0.2)
    assert recovered.interval.hit_ratio == pytest.approx(0.9)
    assert recovered.hit_ratio_history[-2:] == (pytest.approx(0.2), pytest.approx(0.9))
    assert recovered.interval.ops_per_sec > 0


async def test_the_sampler_finds_the_big_keys_the_missing_ttls_and_the_patterns(
    redis_conditions: RedisConditions, redis_server: RedisLab, tmp_path: Path
) -> None:
    async with probe_for(redis_server.url(), tmp_path) as probe:
        sample = await probe.sample_keys(max_keys=100_000, max_seconds=30)
        snapshot = await probe.poll()

    assert sample.complete and sample.stopped_by is None
    assert sample.scanned == redis_conditions.total_keys
    assert {k.key for k in sample.largest[:3]} == {"big:blob", "big:list", "big:hash"}
    assert sample.largest[0].bytes is not None and sample.largest[0].bytes > 4 * 1024 * 1024
    assert sample.without_ttl == redis_conditions.keys_without_ttl
    assert sample.without_ttl_share == pytest.approx(
        redis_conditions.keys_without_ttl / redis_conditions.total_keys
    )
    by_prefix = {p.prefix: p for p in sample.patterns}
    assert by_prefix["session:"].keys == 1000
    assert by_prefix["session:"].without_ttl == 700
    assert by_prefix["big:"].bytes > by_prefix["session:"].bytes
    assert snapshot.sample == sample  # the next refresh carries the last sample
    assert all(check_command(*sent) for sent in probe.sent)


async def test_the_sampler_stops_at_its_key_cap(
    redis_conditions: RedisConditions, redis_server: RedisLab, tmp_path: Path
) -> None:
    async with probe_for(redis_server.url(), tmp_path) as probe:
        sample = await probe.sample_keys(max_keys=150, max_seconds=30, count=100)
    assert sample.scanned == 150
    assert not sample.complete
    assert sample.stopped_by == "the key cap (150)"


async def test_the_server_receives_nothing_but_the_allowlist(
    redis_factory: Callable[..., RedisLab], tmp_path: Path
) -> None:
    """MONITOR on the server side: every command the probe's connection sent, handshake included."""
    lab = redis_factory()
    admin = lab.admin()
    admin.set("session:1", "x", ex=60)
    admin.hset("cart:1", mapping={"a": "1"})
    seen: list[str] = []
    ready, stop = threading.Event(), threading.Event()
    watcher = threading.Thread(target=monitor_commands, args=(lab, seen, ready, stop), daemon=True)
    watcher.start()
    assert ready.wait(5)
    admin.config_resetstat()  # from here, commandstats counts the probe's commands (and this one)
    async with probe_for(lab.url(), tmp_path) as probe:
        await probe.poll()
        await probe.poll()
        await probe.sample_keys(max_keys=100, max_seconds=5)
    stats = {name.removeprefix("cmdstat_"): stat for name, stat in admin.info("commandstats").items()}
    stop.set()
    admin.echo("MONITOR-END")
    watcher.join(5)
    admin.close()

    names = [command.split()[0].upper() for command in seen if "MONITOR-END" not in command]
    assert "INFO" in names and "SCAN" in names and "MEMORY" in names
    allowed_names = {name for name, _ in ALLOWED} | {"AUTH"}
    assert set(names) <= allowed_names, sorted(set(names) - allowed_names)
    # Redis 7 hides CONFIG, SLOWLOG and LATENCY from MONITOR; commandstats counts every command the server
    # ran since the reset, admin ones included, per subcommand
    assert stats.pop("config|resetstat")["calls"] == 1  # the test's own
    allowed_stats = {f"{name}|{sub}".lower() if sub else name.lower() for name, sub in ALLOWED} | {"auth"}
    assert set(stats) <= allowed_stats, sorted(set(stats) - allowed_stats)
    assert stats["config|get"]["calls"] == len(CONFIG_NAMES)  # the first refresh reads them; the second not
    assert {"slowlog|get", "latency|latest", "info", "scan", "memory|usage"} <= set(stats)
    assert all(stat["failed_calls"] == 0 and stat["rejected_calls"] == 0 for stat in stats.values())


async def test_a_renamed_config_is_blocked_by_the_provider_and_the_rest_keeps_working(
    redis_factory: Callable[..., RedisLab], tmp_path: Path
) -> None:
    lab = redis_factory(rename_config=True)
    async with probe_for(lab.url(), tmp_path) as probe:
        snapshot = await probe.poll()
    assert snapshot.health.state == "degraded"
    reason = snapshot.blocked_reason("CONFIG GET")
    assert reason is not None and reason.startswith("blocked by the provider"), reason
    assert "unknown command" in reason
    assert snapshot.config is None
    assert snapshot.info is not None and snapshot.slowlog is not None and snapshot.latency is not None
    # INFO memory still says the policy: the tab doesn't need CONFIG for it
    assert snapshot.maxmemory_policy == "noeviction"
    assert "CONFIG GET blocked by the provider" in (snapshot.health.last_error or "")


async def test_readings_the_acl_refuses_are_marked_blocked_by_acl(
    redis_factory: Callable[..., RedisLab], tmp_path: Path
) -> None:
    lab = redis_factory()
    admin = lab.admin()
    admin.execute_command(
        "ACL", "SETUSER", "partial", "on", ">partial-pw", "~*", "-@all", "+info", "+slowlog|get"
    )
    admin.close()
    url = lab.url(user="partial", password="partial-pw")
    async with probe_for(url, tmp_path) as probe:
        snapshot = await probe.poll()
    assert snapshot.health.state == "degraded"
    assert snapshot.info is not None and snapshot.slowlog is not None
    assert snapshot.latency is None and snapshot.config is None
    for reading in ("LATENCY LATEST", "CONFIG GET"):
        reason = snapshot.blocked_reason(reading)
        assert reason is not None and reason.startswith("blocked by ACL"), (reading, reason)


async def test_a_killed_server_shows_down_with_stale_data_and_recovers_on_its_own(
    redis_factory: Callable[..., RedisLab], tmp_path: Path
) -> None:
    lab = redis_factory()
    async with probe_for(lab.url(), tmp_path, timeout=1.0, connect_timeout=1.0) as probe:
        good = await probe.poll()
        lab.kill()
        down = await probe.poll()
        lab.restart()
        back = await probe.poll()
    assert good.health.state == "ok"
    assert down.health.state == "down"
    assert "closed the connection" in (down.health.last_error or "") or "refused" in (
        down.health.last_error or ""
    )
    assert down.info == good.info and down.fetched_at == good.fetched_at  # stale, with its real age
    assert back.health.state == "ok"
    assert back.restarted  # uptime went backwards: the cache was emptied
    assert back.interval is None


async def test_a_server_that_never_answers_is_down_within_the_timeout(
    silent_redis: SilentServer, tmp_path: Path
) -> None:
    async with probe_for(silent_redis.url, tmp_path, timeout=0.5, connect_timeout=0.5) as probe:
        started = time.perf_counter()
        snapshot = await probe.poll()
        elapsed = time.perf_counter() - started
    assert snapshot.health.state == "down"
    assert "no answer" in (snapshot.health.last_error or "")
    assert elapsed < 2.0


async def test_a_wrong_password_says_so_and_never_shows_it(redis_server: RedisLab, tmp_path: Path) -> None:
    async with probe_for(redis_server.url(password="not-the-password"), tmp_path) as probe:
        wrong = await probe.poll()
    async with probe_for(redis_server.url(user=None, password=None), tmp_path) as probe:
        missing = await probe.poll()
    assert wrong.health.state == "down"
    assert (
        wrong.health.last_error == f"authentication failed at {wrong.health.endpoint}: wrong user or password"
    )
    assert "not-the-password" not in repr(wrong)
    assert missing.health.state == "down"
    assert "wants a password" in (missing.health.last_error or "")


async def test_rediscli_auth_supplies_the_password(redis_server: RedisLab, tmp_path: Path) -> None:
    url = redis_server.url(user=None, password=None)
    settings = settings_for(url, tmp_path, REDISCLI_AUTH=ADMIN_PASSWORD)
    async with RedisProbe(settings) as probe:
        snapshot = await probe.poll()
    assert snapshot.health.state == "ok", snapshot.health.last_error


def test_settings_keep_the_password_out_of_the_url(redis_server: RedisLab, tmp_path: Path) -> None:
    settings = settings_for(redis_server.url(), tmp_path)
    assert settings.username == PROBE_USER
    assert settings.url is not None and "@" not in settings.url
    assert "lab-redis" not in repr(settings)


async def test_rediss_with_the_servers_ca_reads_and_without_it_says_why(
    redis_factory: Callable[..., RedisLab], tmp_path: Path
) -> None:
    lab = redis_factory(tls=True)
    settings = replace(settings_for(lab.url(), tmp_path), ca_file=lab.ca_path)
    async with RedisProbe(settings) as probe:
        trusted = await probe.poll()
    async with RedisProbe(replace(settings, ca_file=None)) as probe:
        untrusted = await probe.poll()
    assert trusted.health.state == "ok", trusted.health.last_error
    assert trusted.health.endpoint == f"rediss://127.0.0.1:{lab.port}/0"
    assert untrusted.health.state == "down"
    assert untrusted.health.last_error == (
        f"TLS failed with rediss://127.0.0.1:{lab.port}/0: certificate verify failed: "
        "self-signed certificate in certificate chain; set [redis] ca_file to the server's CA"
    )
