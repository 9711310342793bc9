"""Live triage reads through the Redis probe against a real redis-server: what the user sees for each
runbook command, least privilege, what the provider or ACL blocks, a dead server, and MONITOR's proof
that only the allowlist reaches the server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from probes.base import Reading
from probes.redis import ALLOWED, RedisProbe, check_command
from tests.labs.redis import EVIL_KEY, RedisConditions, RedisLab, SilentServer, monitor_commands
from tui.config.settings import RedisSettings, load_settings

pytestmark = pytest.mark.integration

READ_AT = datetime(2024, 5, 1, 3, 0, tzinfo=UTC)


def probe_for(url: str, tmp_path: Path, **overrides: float) -> RedisProbe:
    """A probe as a user gets it from REDIS_URL; the lab's URL is the least-privilege `oncall` user."""
    settings = load_settings(env={"REDIS_URL": url}, cwd=tmp_path, user_config_dir=tmp_path).redis
    return RedisProbe(replace(settings, **overrides), clock=lambda: READ_AT)


def column(reading: Reading, name: str) -> list[str]:
    i = reading.columns.index(name)
    return [row[i] for row in reading.rows]


# --- each read, as the user sees it (the least-privilege user of the default lab URL) ---------------------


async def test_info_memory_is_the_sections_fields_in_infos_order(
    redis_conditions: RedisConditions, redis_server: RedisLab, tmp_path: Path
) -> None:
    async with probe_for(redis_server.url(), tmp_path) as probe:
        reading = await probe.read(("INFO", "memory"))
    assert reading.ok, reading.problem
    assert (reading.source, reading.what, reading.columns) == ("redis", "INFO memory", ("field", "value"))
    assert reading.read_at == READ_AT  # the probe's clock
    fields = dict(reading.rows)
    assert reading.rows[0][0] == "used_memory"  # INFO's own order, not sorted
    assert int(fields["maxmemory"]) == redis_conditions.maxmemory
    assert int(fields["used_memory"]) == pytest.approx(redis_conditions.used_memory, rel=0.1)
    assert int(fields["used_memory"]) >= 0.8 * redis_conditions.maxmemory
    assert fields["maxmemory_policy"] == "noeviction"
    assert probe.sent == [("INFO", "memory")]
    assert probe.round_trips == 1


async def test_info_keyspace_keeps_each_dbs_line_as_one_value(
    redis_conditions: RedisConditions, redis_server: RedisLab, tmp_path: Path
) -> None:
    async with probe_for(redis_server.url(), tmp_path) as probe:
        reading = await probe.read(["INFO", "keyspace"])
    assert reading.ok, reading.problem
    assert reading.what == "INFO keyspace"
    (db0,) = [row for row in reading.rows if row[0] == "db0"]
    assert db0[1].startswith(f"keys={redis_conditions.total_keys},expires={redis_conditions.keys_with_ttl},")


async def test_config_get_reads_one_setting_and_refuses_a_secret_without_sending_it(
    redis_conditions: RedisConditions, redis_server: RedisLab, tmp_path: Path
) -> None:
    async with probe_for(redis_server.url(), tmp_path) as probe:
        secret = await probe.read(("CONFIG", "GET", "requirepass"))
        pattern = await probe.read(("CONFIG", "GET", "*"))
        assert probe.sent == []  # refused before a byte was sent
        policy = await probe.read(("CONFIG", "GET", "maxmemory-policy"))
        unknown = await probe.read(("CONFIG", "GET", "maxmemory-polcy"))

    assert policy.ok, policy.problem
    assert policy.what == "CONFIG GET maxmemory-policy"
    assert policy.columns == ("name", "value")
    assert policy.rows == (("maxmemory-policy", "noeviction"),)
    for refused in (secret, pattern):
        assert not refused.ok and refused.read_at is None and refused.rows == ()
        assert (
            refused.problem == "CONFIG GET of a secret or a pattern (requirepass, masterauth, *) is refused"
        )
    assert secret.what == "CONFIG GET requirepass"
    assert unknown.rows == () and unknown.problem == "the server has no setting named 'maxmemory-polcy'"
    assert probe.sent == [("CONFIG", "GET", "maxmemory-policy"), ("CONFIG", "GET", "maxmemory-polcy")]


async def test_slowlog_get_lists_the_slow_commands_newest_first(
    redis_conditions: RedisConditions, redis_server: RedisLab, tmp_path: Path
) -> None:
    async with probe_for(redis_server.url(), tmp_path) as probe:
        reading = await probe.read(("SLOWLOG", "GET", "10"))
    assert reading.ok, reading.problem
    assert reading.what == "SLOWLOG GET 10"
    assert reading.columns == ("id", "time", "duration ms", "command", "client", "name")
    commands = column(reading, "command")
    assert "DEBUG SLEEP 0.03" in commands and "DEBUG SLEEP 0.015" in commands, commands
    ids = [int(i) for i in column(reading, "id")]
    assert ids == sorted(ids, reverse=True)
    sleep = reading.rows[commands.index("DEBUG SLEEP 0.03")]
    assert float(sleep[2]) >= 30.0
    assert datetime.fromisoformat(sleep[1]).tzinfo is not None
    assert sleep[4].startswith("127.0.0.1:")
    # the hostile key is kept as the server logged it: the UI, not the probe, makes it harmless
    assert any(c.startswith(f"SET {EVIL_KEY} ") for c in commands)
    assert probe.sent == [("SLOWLOG", "GET", "10")]


async def test_latency_latest_lists_the_events(
    redis_conditions: RedisConditions, redis_server: RedisLab, tmp_path: Path
) -> None:
    async with probe_for(redis_server.url(), tmp_path) as probe:
        reading = await probe.read(("LATENCY", "LATEST"))
    assert reading.ok, reading.problem
    assert reading.columns == ("event", "latest at", "latest ms", "max ms")
    events = {row[0]: row for row in reading.rows}
    assert int(events["command"][3]) >= 25


async def test_scan_with_a_pattern_stops_at_the_limit(
    redis_conditions: RedisConditions, redis_server: RedisLab, tmp_path: Path
) -> None:
    async with probe_for(redis_server.url(), tmp_path) as probe:
        reading = await probe.read(("SCAN",), pattern="session:*", limit=100)
        sent = list(probe.sent)
    assert reading.ok, reading.problem
    assert reading.what == "SCAN MATCH session:* (at most 100)"
    assert reading.columns == ("key",)
    keys = column(reading, "key")
    assert len(keys) == 100 and len(set(keys)) == 100
    assert all(key.startswith("session:") for key in keys)
    assert reading.truncated  # 1000 session keys: more than shown
    # a bounded walk, not all 3000+ keys: a few SCANs with the runbook's pattern
    assert 1 <= len(sent) < 10
    assert all(s[0] == "SCAN" and s[2:] == ("MATCH", "session:*", "COUNT", "200") for s in sent), sent
    assert sent[0][1] == "0"


async def test_scan_reads_to_the_end_when_fewer_keys_match(
    redis_conditions: RedisConditions, redis_server: RedisLab, tmp_path: Path
) -> None:
    async with probe_for(redis_server.url(), tmp_path) as probe:
        big = await probe.read(("SCAN",), pattern="big:*")
        none = await probe.read(("SCAN",), pattern="no-such-prefix:*", limit=5)
    assert big.ok and none.ok
    assert big.what == "SCAN MATCH big:* (at most 100)"
    assert sorted(column(big, "key")) == ["big:blob", "big:hash", "big:list"]
    assert not big.truncated
    assert none.rows == () and not none.truncated and none.problem is None


async def test_bigkeys_lists_the_largest_keys_first_and_is_never_sent(
    redis_conditions: RedisConditions, redis_server: RedisLab, tmp_path: Path
) -> None:
    # the sampler's own caps bound the read; room enough here for the whole lab keyspace
    async with probe_for(redis_server.url(), tmp_path, sample_max_seconds=10.0) as probe:
        reading = await probe.read(("BIGKEYS",), limit=5)
    assert reading.ok, reading.problem
    assert reading.what == "redis-cli --bigkeys (largest 5)"
    assert reading.columns == ("key", "type", "size", "ttl")
    assert len(reading.rows) == 5
    assert {row[0] for row in reading.rows[:3]} == {"big:blob", "big:list", "big:hash"}
    types = {row[0]: row[1] for row in reading.rows}
    assert (types["big:blob"], types["big:list"], types["big:hash"]) == ("string", "list", "hash")
    sizes = [int(size) for size in column(reading, "size")]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > 4 * 1024 * 1024
    assert column(reading, "ttl")[:3] == ["-1", "-1", "-1"]
    assert {s[0] for s in probe.sent} == {"SCAN", "TYPE", "TTL", "MEMORY"}  # BIGKEYS never sent


async def test_forms_oncall_does_not_read_fail_in_words_and_send_nothing(tmp_path: Path) -> None:
    probe = probe_for("redis://127.0.0.1:1/0", tmp_path)  # nothing listens: nothing must try to connect
    readings = {
        "FLUSHALL": await probe.read(("FLUSHALL",)),
        "DEBUG": await probe.read(("DEBUG", "SLEEP", "1")),
        "DBSIZE": await probe.read(("DBSIZE",)),
        "SLOWLOG": await probe.read(("SLOWLOG", "GET", "ten")),
        "BIGKEYS": await probe.read(("BIGKEYS", "extra")),
        "empty": await probe.read(()),
    }
    unconfigured = await RedisProbe(RedisSettings()).read(("INFO",))
    await probe.aclose()
    assert probe.sent == []
    assert all(not r.ok and r.read_at is None and r.rows == () for r in readings.values())
    assert readings["FLUSHALL"].problem == "FLUSHALL is not on oncall's read-only allowlist for Redis"
    assert readings["DEBUG"].problem == "DEBUG is not on oncall's read-only allowlist for Redis"
    assert readings["DEBUG"].what == "DEBUG SLEEP 1"
    assert "no live view" in (readings["DBSIZE"].problem or "")
    assert readings["SLOWLOG"].problem == "SLOWLOG GET takes a number of entries, not 'ten'"
    assert readings["BIGKEYS"].problem == "BIGKEYS takes no arguments here"
    assert readings["empty"].problem == "an empty command"
    assert unconfigured.problem == "set REDIS_URL, [redis] url or --redis"


# --- blocked, down ------------------------------------------------------------------------------------------


async def test_config_get_on_a_renamed_config_is_blocked_by_the_provider(
    redis_factory: Callable[..., RedisLab], tmp_path: Path
) -> None:
    lab = redis_factory(rename_config=True)
    async with probe_for(lab.url(), tmp_path) as probe:
        blocked = await probe.read(("CONFIG", "GET", "maxmemory-policy"))
        info = await probe.read(("INFO", "memory"))  # the connection is still good
    assert not blocked.ok and blocked.read_at is None
    assert (blocked.problem or "").startswith("blocked by the provider"), blocked.problem
    assert "unknown command" in (blocked.problem or "")
    assert info.ok and dict(info.rows)["maxmemory_policy"] == "noeviction"


async def test_reads_the_acl_refuses_are_blocked_by_acl(
    redis_factory: Callable[..., RedisLab], tmp_path: Path
) -> None:
    lab = redis_factory()
    admin = lab.admin()
    admin.execute_command("ACL", "SETUSER", "partial", "on", ">partial-pw", "~*", "-@all", "+info")
    admin.set("session:1", "x")
    admin.close()
    async with probe_for(lab.url(user="partial", password="partial-pw"), tmp_path) as probe:
        latency = await probe.read(("LATENCY", "LATEST"))
        scan = await probe.read(("SCAN",), pattern="session:*")
        bigkeys = await probe.read(("BIGKEYS",))
        info = await probe.read(("INFO", "server"))
    for refused in (latency, scan, bigkeys):
        assert not refused.ok
        assert (refused.problem or "").startswith("blocked by ACL"), (refused.what, refused.problem)
    assert info.ok


async def test_a_killed_server_gives_a_failed_reading_saying_so(
    redis_factory: Callable[..., RedisLab], tmp_path: Path
) -> None:
    lab = redis_factory()
    async with probe_for(lab.url(), tmp_path, timeout=1.0, connect_timeout=1.0) as probe:
        before = await probe.read(("INFO", "server"))
        lab.kill()
        during = await probe.read(("INFO", "server"))
        after = await probe.read(("SLOWLOG", "GET", "10"))
    assert before.ok
    endpoint = f"127.0.0.1:{lab.port}/0"
    assert not during.ok and during.read_at is None and during.rows == ()
    assert during.problem in (f"{endpoint} closed the connection", f"connection refused at {endpoint}")
    assert after.problem == f"connection refused at {endpoint}"


async def test_a_server_that_never_answers_fails_the_read_within_the_timeout(
    silent_redis: SilentServer, tmp_path: Path
) -> None:
    async with probe_for(silent_redis.url, tmp_path, timeout=0.3, connect_timeout=0.3) as probe:
        started = time.perf_counter()
        reading = await probe.read(("INFO", "memory"))
        elapsed = time.perf_counter() - started
    assert not reading.ok
    assert reading.problem == f"no answer from 127.0.0.1:{silent_redis.port}/0 within 0.3s"
    assert elapsed < 1.5


# --- what the server received: MONITOR, and INFO commandstats for what MONITOR hides ------------------------


def _allowed_stat(name: str, sub: str | None) -> str:
    """An allowlist entry as INFO commandstats names it: "info", "config|get"."""
    return f"{name}|{sub}".lower() if sub else name.lower()


async def test_the_reads_send_only_the_allowlist(
    redis_factory: Callable[..., RedisLab], tmp_path: Path
) -> None:
    """MONITOR shows every command the server ran, with its arguments, except the admin ones: Redis 7
    never shows CONFIG, SLOWLOG, LATENCY (nor CONFIG SET) to MONITOR. INFO commandstats counts those too,
    per subcommand, so between them nothing the server ran goes unseen."""
    lab = redis_factory()
    admin = lab.admin()
    for n in range(300):
        admin.set(f"session:{n}", "x", ex=600)
    admin.rpush("big:list", *(["e" * 100] * 100))
    admin.execute_command("DEBUG", "SLEEP", "0.02")
    seen: list[str] = []
    ready, stop = threading.Event(), threading.Event()
    watcher = threading.Thread(target=monitor_commands, args=(lab, seen, ready, stop), daemon=True)
    watcher.start()
    assert ready.wait(5)
    admin.config_resetstat()  # from here, commandstats counts the probe's commands (and this one)
    async with probe_for(lab.url(), tmp_path) as probe:
        readings = [
            await probe.read(("INFO",)),
            await probe.read(("INFO", "memory")),
            await probe.read(("CONFIG", "GET", "maxmemory-policy")),
            await probe.read(("CONFIG", "GET", "requirepass")),
            await probe.read(("SLOWLOG", "GET", "10")),
            await probe.read(("LATENCY", "LATEST")),
            await probe.read(("SCAN",), pattern="session:*", limit=50),
            await probe.read(("BIGKEYS",)),
            await probe.read(("FLUSHALL",)),
            await probe.read(("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")),
        ]
    stats = {name.removeprefix("cmdstat_"): stat for name, stat in admin.info("commandstats").items()}
    stop.set()
    admin.echo("MONITOR-END")
    watcher.join(5)
    admin.close()

    # the secret, FLUSHALL and CONFIG SET refused; the rest read
    assert [r.ok for r in readings] == [True] * 3 + [False] + [True] * 4 + [False] * 2, readings
    # MONITOR: the commands it shows, with their arguments
    names = [command.split()[0].upper() for command in seen if "MONITOR-END" not in command]
    assert {"AUTH", "INFO", "SCAN", "TYPE", "TTL", "MEMORY"} <= set(names), names
    allowed_names = {name for name, _ in ALLOWED} | {"AUTH"}
    assert set(names) <= allowed_names, sorted(set(names) - allowed_names)
    assert "SCAN 0 MATCH session:* COUNT 200" in seen
    for command in seen:
        lowered = command.lower()
        assert "requirepass" not in lowered and "bigkeys" not in lowered and "flushall" not in lowered
    # commandstats: every command the server ran since the reset, admin ones included, by subcommand
    assert stats.pop("config|resetstat")["calls"] == 1  # the test's own
    allowed_stats = {_allowed_stat(name, sub) for name, sub in ALLOWED} | {"auth"}
    assert set(stats) <= allowed_stats, sorted(set(stats) - allowed_stats)
    for expected in ("config|get", "slowlog|get", "latency|latest", "info", "scan", "memory|usage"):
        assert expected in stats, sorted(stats)
    assert stats["config|get"]["calls"] == 1  # maxmemory-policy; never requirepass
    assert all(stat["failed_calls"] == 0 and stat["rejected_calls"] == 0 for stat in stats.values())
    assert all(check_command(*sent) for sent in probe.sent)
