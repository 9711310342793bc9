"""The Redis lab holds what it promises, checked with plain redis-py (never the product's probe): the
least-privilege user, the renamed CONFIG, the conditions, kill/restart and the silent server."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import redis

from tests.labs.redis import (
    ADMIN_PASSWORD,
    BASELINE_HITS,
    BASELINE_MISSES,
    BIG_BLOB_BYTES,
    EVIL_KEY,
    SLOWLOG_THRESHOLD_US,
    RedisConditions,
    RedisLab,
    SilentServer,
    no_retry,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def probe_client(redis_server: RedisLab) -> Iterator[redis.Redis]:
    """Connected as the `oncall` ACL user, the way the product's probe is."""
    client = redis.Redis.from_url(redis_server.url(), socket_timeout=5)
    yield client
    client.close()


def test_urls_authenticate_as_the_probe_user_and_the_default_user(redis_server: RedisLab) -> None:
    with redis.Redis.from_url(redis_server.url()) as client:
        assert client.ping()
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.acl_whoami()  # the default user could: this is `oncall`
    with redis.Redis.from_url(redis_server.url(user=None, password=ADMIN_PASSWORD)) as client:
        assert client.acl_whoami() in ("default", b"default")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(redis_server.url(password="wrong")).ping()


def test_the_probe_user_runs_every_allowlisted_command(
    redis_conditions: RedisConditions, probe_client: redis.Redis
) -> None:
    assert probe_client.ping()
    assert probe_client.info("memory")["maxmemory"] == redis_conditions.maxmemory
    assert probe_client.slowlog_len() >= 1
    assert probe_client.slowlog_get(10)
    assert int(probe_client.config_get("maxmemory")["maxmemory"]) == redis_conditions.maxmemory
    assert probe_client.execute_command("LATENCY", "LATEST") is not None
    assert probe_client.memory_stats()
    assert probe_client.memory_usage("big:blob") >= BIG_BLOB_BYTES
    assert probe_client.dbsize() == redis_conditions.total_keys
    _cursor, keys = probe_client.scan(0, count=100)
    assert keys
    assert probe_client.type("big:hash") == b"hash"
    assert probe_client.ttl("big:list") == -1


@pytest.mark.parametrize(
    "command",
    [
        ("SET", "x", "1"),
        ("GET", "cache:1"),
        ("FLUSHALL",),
        ("CONFIG", "SET", "maxmemory", "1gb"),
        ("CONFIG", "RESETSTAT"),
        ("KEYS", "*"),
        ("SLOWLOG", "RESET"),
        ("DEBUG", "SLEEP", "0"),
        ("CLIENT", "LIST"),
        ("EVAL", "return 1", "0"),
    ],
)
def test_the_probe_user_is_denied_everything_else(
    probe_client: redis.Redis, command: tuple[str, ...]
) -> None:
    with pytest.raises(redis.exceptions.NoPermissionError, match="no permissions"):
        probe_client.execute_command(*command)


def test_a_renamed_config_answers_unknown_command(redis_factory: Callable[..., RedisLab]) -> None:
    lab = redis_factory(rename_config=True)
    for client in (lab.admin(), redis.Redis.from_url(lab.url())):
        with client, pytest.raises(redis.ResponseError, match="unknown command"):
            client.config_get("maxmemory")
    # the conf file still set what CONFIG SET would have
    with lab.admin() as admin:
        assert admin.info("memory")["maxmemory"] == 64 * 1024 * 1024


def test_the_slow_log_holds_the_slow_commands_and_the_hostile_key(
    redis_conditions: RedisConditions, probe_client: redis.Redis
) -> None:
    entries = list(reversed(probe_client.slowlog_get(128)))  # oldest first, like slow_commands
    sent_count = len(redis_conditions.slow_commands)
    assert sent_count >= 4
    # the lab's own entries come first; a busy machine may add a late one after them
    evil, *slow = entries[:sent_count]
    assert evil["command"].startswith(b"SET " + EVIL_KEY.encode())
    assert b"more bytes)" in evil["command"]  # the server truncated the long value itself
    for entry, sent in zip(slow, redis_conditions.slow_commands[1:], strict=True):
        assert entry["command"].split(b" ")[0] == sent[0].encode()
        assert entry["duration"] >= SLOWLOG_THRESHOLD_US
    events = {row[0] for row in probe_client.execute_command("LATENCY", "LATEST")}
    assert b"command" in events


def test_memory_is_near_maxmemory_with_big_keys(
    redis_conditions: RedisConditions, probe_client: redis.Redis
) -> None:
    memory = probe_client.info("memory")
    assert 0.8 < memory["used_memory"] / memory["maxmemory"] < 0.95
    assert probe_client.memory_usage("big:blob") >= BIG_BLOB_BYTES
    assert redis_conditions.list_length > 10_000
    assert redis_conditions.hash_fields > 10_000
    for key in ("big:list", "big:hash"):
        assert probe_client.memory_usage(key) > 10 * 1024 * 1024


def test_the_ttl_counts_match_what_a_scan_finds(
    redis_conditions: RedisConditions, probe_client: redis.Redis
) -> None:
    keys = list(probe_client.scan_iter(count=1000))
    assert len(keys) == redis_conditions.total_keys
    with probe_client.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.ttl(key)
        ttls = pipe.execute()
    assert sum(ttl > 0 for ttl in ttls) == redis_conditions.keys_with_ttl == 900
    assert sum(ttl == -1 for ttl in ttls) == redis_conditions.keys_without_ttl
    keyspace = probe_client.info("keyspace")["db0"]
    assert (keyspace["keys"], keyspace["expires"]) == (len(keys), redis_conditions.keys_with_ttl)


def test_misses_make_the_hit_ratio_fall(redis_conditions: RedisConditions, probe_client: redis.Redis) -> None:
    def counters() -> tuple[int, int]:
        stats = probe_client.info("stats")
        return stats["keyspace_hits"], stats["keyspace_misses"]

    hits, misses = counters()
    assert hits >= BASELINE_HITS and misses >= BASELINE_MISSES
    redis_conditions.misses(2000)
    redis_conditions.hits(10)
    assert counters() == (hits + 10, misses + 2000)


def test_kill_and_restart_on_the_same_port(redis_factory: Callable[..., RedisLab]) -> None:
    lab = redis_factory()
    port = lab.port
    with lab.admin() as admin:
        admin.set("before", "crash")
        lab.kill()
        assert not lab.running
        with pytest.raises(redis.ConnectionError):
            admin.ping()
        lab.restart()
        assert lab.port == port and lab.running
        assert admin.ping()  # the client reconnects on its own
        assert admin.get("before") is None  # no persistence: the crash lost the data


def test_the_silent_server_accepts_and_never_answers(silent_redis: SilentServer) -> None:
    client = redis.Redis(
        port=silent_redis.port, socket_connect_timeout=0.5, socket_timeout=0.5, retry=no_retry()
    )
    started = time.monotonic()
    with pytest.raises(redis.TimeoutError):
        client.ping()
    assert time.monotonic() - started < 3
    assert str(silent_redis.port) in silent_redis.url
