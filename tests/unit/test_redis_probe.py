"""The Redis probe without a server: the allowlist, and the parsers every reply goes through."""

from __future__ import annotations

import asyncio
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.exceptions as rexc

from probes.redis import (
    CommandRefused,
    GuardedConnection,
    RedisProbe,
    SampledKey,
    blocked_reason,
    check_command,
    config_pairs,
    connection_options,
    describe_error,
    info_from,
    interval_between,
    latency_from,
    parse_info,
    slowlog_from,
    summarize_sample,
)
from tui.config.settings import ConfigError, RedisSettings, Secret, load_settings

ALLOWED_COMMANDS = [
    ("PING",),
    ("INFO",),
    ("INFO", "all"),
    ("info", "memory"),
    ("SLOWLOG", "GET", 128),
    ("SLOWLOG", "LEN"),
    ("slowlog get",),
    ("CONFIG", "GET", "maxmemory-policy"),
    ("CONFIG GET", "save"),
    ("LATENCY", "LATEST"),
    ("MEMORY", "STATS"),
    ("DBSIZE",),
    ("SCAN", 0, "COUNT", 100),
    ("TYPE", b"session:1"),
    ("TTL", b"session:1"),
    ("MEMORY", "USAGE", b"big:blob", "SAMPLES", 5),
]

# writes, admin commands, and reads outside the list (KEYS blocks the server; MONITOR streams everything)
REFUSED_COMMANDS = [
    ("FLUSHALL",),
    ("FLUSHDB", "ASYNC"),
    ("DEL", "session:1"),
    ("UNLINK", "session:1"),
    ("SET", "k", "v"),
    ("EXPIRE", "k", "1"),
    ("CONFIG", "SET", "maxmemory-policy", "allkeys-lru"),
    ("CONFIG SET", "save", ""),
    ("CONFIG", "REWRITE"),
    ("CONFIG", "RESETSTAT"),
    ("SLOWLOG", "RESET"),
    ("LATENCY", "RESET"),
    ("MEMORY", "PURGE"),
    ("DEBUG", "SLEEP", "1"),
    ("SHUTDOWN", "NOSAVE"),
    ("EVAL", "return 1", "0"),
    ("KEYS", "*"),
    ("MONITOR",),
    ("CLIENT", "KILL", "ID", "1"),
    ("SCRIPT", "FLUSH"),
    ("BGSAVE",),
    ("SAVE",),
    ("BGREWRITEAOF",),
    ("REPLICAOF", "10.0.0.1", "6379"),
    ("SLAVEOF", "NO", "ONE"),
    ("ACL", "SETUSER", "x", "on"),
    ("MODULE", "LOAD", "/tmp/x.so"),
    ("MIGRATE", "h", "6379", "k", "0", "1000"),
    ("GET", "k"),
    ("SLOWLOG",),
    ("CONFIG",),
    ("",),
]


@pytest.mark.parametrize("args", ALLOWED_COMMANDS, ids=lambda a: " ".join(map(str, a)))
def test_the_allowlist_accepts_the_readings(args: tuple[object, ...]) -> None:
    check_command(*args)


@pytest.mark.parametrize("args", REFUSED_COMMANDS, ids=lambda a: " ".join(map(str, a)) or "empty")
def test_everything_else_is_refused_with_the_reason(args: tuple[object, ...]) -> None:
    with pytest.raises(CommandRefused, match=r"allowlist|empty"):
        check_command(*args)


@pytest.mark.parametrize("name", ["requirepass", "masterauth", "*", "require*", "masteruser", "REQUIREPASS"])
def test_config_get_never_asks_for_a_secret_or_a_pattern(name: str) -> None:
    with pytest.raises(CommandRefused, match="secret"):
        check_command("CONFIG", "GET", name)
    with pytest.raises(CommandRefused):
        check_command("CONFIG", "GET", "maxmemory", name)  # hidden behind an allowed one


class _Recorder:
    """A TCP server that records every byte it gets and never answers."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received = bytearray()
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(4096):
                self.received += data

    def close(self) -> None:
        self.server.close()


async def test_a_refused_command_raises_before_a_byte_is_sent() -> None:
    recorder = _Recorder()
    try:
        settings = RedisSettings(url=f"redis://127.0.0.1:{recorder.port}/0", timeout=0.5)
        options = connection_options(settings)
        connection = options.pop("connection_class")(**options)
        assert isinstance(connection, GuardedConnection)
        await connection.connect()
        with pytest.raises(CommandRefused):
            await connection.send_command("FLUSHALL")
        with pytest.raises(CommandRefused):
            await connection.send_packed_command(
                connection.pack_commands([("INFO",), ("CONFIG", "SET", "x", "y")])
            )
        probe = RedisProbe(settings)
        with pytest.raises(CommandRefused):
            await probe.exchange([("INFO",), ("DEL", "session:1")])  # the probe's own send path
        await asyncio.sleep(0.1)
        assert recorder.connections >= 1  # it did connect: refusing is not just a failed connection
        assert bytes(recorder.received) == b""
        await connection.disconnect()
        await probe.aclose()
    finally:
        recorder.close()


INFO_TEXT = (
    "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\nrun_id:abc\r\nuptime_in_seconds:120\r\n"
    "# Clients\r\nconnected_clients:12\r\nblocked_clients:2\r\nmaxclients:10000\r\n"
    "# Memory\r\nused_memory:900\r\nused_memory_rss:1800\r\nused_memory_peak:950\r\nmaxmemory:1000\r\n"
    "maxmemory_policy:noeviction\r\nmem_fragmentation_ratio:2.00\r\n"
    "# Persistence\r\nloading:0\r\nrdb_bgsave_in_progress:1\r\nrdb_last_save_time:1700000000\r\n"
    "rdb_last_bgsave_status:err\r\naof_enabled:1\r\naof_last_write_status:ok\r\n"
    "# Stats\r\ntotal_commands_processed:5000\r\ninstantaneous_ops_per_sec:42\r\nrejected_connections:3\r\n"
    "expired_keys:7\r\nevicted_keys:1\r\nkeyspace_hits:300\r\nkeyspace_misses:100\r\nlatest_fork_usec:1500\r\n"
    "# Replication\r\nrole:slave\r\nmaster_host:10.0.0.9\r\nmaster_port:6379\r\nmaster_link_status:down\r\n"
    "master_link_down_since_seconds:42\r\nconnected_slaves:0\r\n"
    "# Keyspace\r\ndb0:keys=10,expires=4,avg_ttl=1000\r\ndb3:keys=5,expires=0,avg_ttl=0\r\n"
)


def test_info_is_typed_with_its_derived_figures() -> None:
    info = info_from(parse_info(INFO_TEXT.encode()))
    assert info.version == "7.0.15"
    assert info.memory_share == pytest.approx(0.9)
    assert info.fragmentation_ratio == 2.0
    assert info.hit_ratio == pytest.approx(0.75)
    assert (info.connected_clients, info.blocked_clients, info.maxclients) == (12, 2, 10000)
    assert info.keys == 15 and info.keys_with_ttl == 4
    assert [d.db for d in info.databases] == [0, 3]
    persistence = info.persistence
    assert persistence.rdb_bgsave_in_progress and persistence.rdb_last_bgsave_status == "err"
    assert persistence.rdb_last_save_time == datetime.fromtimestamp(1700000000, UTC)
    assert persistence.aof_enabled and persistence.latest_fork_usec == 1500
    replication = info.replication
    assert (replication.role, replication.master_host, replication.master_link_status) == (
        "slave",
        "10.0.0.9",
        "down",
    )
    assert replication.link_down_seconds == 42


def test_info_with_missing_or_garbage_fields_reads_as_unknown_not_a_crash() -> None:
    info = info_from(
        parse_info(b"redis_version:6.0\nused_memory:lots\nmaxmemory:0\nmem_fragmentation_ratio:nan\n")
    )
    assert info.used_memory == 0
    assert info.memory_share is None  # no maxmemory: no percentage
    assert info.fragmentation_ratio is None
    assert info.maxclients is None
    assert info.hit_ratio is None
    assert info_from(parse_info(None)).version == ""


def test_the_interval_is_the_difference_and_a_restart_voids_it() -> None:
    before = info_from(parse_info(INFO_TEXT))
    after = info_from(
        parse_info(
            INFO_TEXT.replace("keyspace_hits:300", "keyspace_hits:310").replace("misses:100", "misses:130")
        )
    )
    interval = interval_between(before, after, 2.0)
    assert interval is not None
    assert (interval.hits, interval.misses) == (10, 30)
    assert interval.hit_ratio == pytest.approx(0.25)
    restarted = info_from(parse_info(INFO_TEXT.replace("run_id:abc", "run_id:def")))
    assert interval_between(before, restarted, 2.0) is None
    reset = info_from(parse_info(INFO_TEXT.replace("keyspace_hits:300", "keyspace_hits:0")))
    assert interval_between(before, reset, 2.0) is None  # CONFIG RESETSTAT


def test_slowlog_entries_keep_untrusted_bytes_visible_and_skip_garbage() -> None:
    raw = [
        [7, 1700000000, 15000, [b"SET", b"\xff\xfe[bold]x", b"v"], b"10.0.0.1:5000", b"api"],
        [9, 1700000005, 20000, [b"KEYS", b"*"]],  # Redis 3: no client fields
        ["garbage"],
        [b"x", b"y", b"z", []],
        "not a list",
    ]
    entries = slowlog_from(raw)
    assert [e.id for e in entries] == [9, 7]  # newest first
    assert entries[1].args == ("SET", "\\xff\\xfe[bold]x", "v")
    assert entries[1].duration_ms == 15.0
    assert (entries[1].client, entries[1].client_name) == ("10.0.0.1:5000", "api")
    assert entries[0].client == ""
    assert slowlog_from(b"nonsense") == ()


def test_latency_events_and_config_pairs() -> None:
    events = latency_from([[b"command", 1700000000, 12, 40], [b"fork", 1700000001, 180, 180], [b"bad"]])
    assert [(e.name, e.latest_ms, e.max_ms) for e in events] == [("fork", 180, 180), ("command", 12, 40)]
    pairs = config_pairs([b"maxmemory", b"100", b"requirepass", b"hunter2"])
    assert pairs == [("maxmemory", "100")]  # a secret is dropped even if a server volunteers it
    assert config_pairs({b"save": b""}) == [("save", "")]


def test_refusals_are_told_apart_from_failures() -> None:
    assert blocked_reason(
        rexc.ResponseError("unknown command 'CONFIG', with args beginning with: 'GET'")
    ) == ("blocked by the provider: unknown command 'CONFIG', with args beginning with: 'GET'")
    noperm = rexc.NoPermissionError("this user has no permissions to run the 'latency|latest' command")
    assert (blocked_reason(noperm) or "").startswith("blocked by ACL: this user has no permissions")
    assert blocked_reason(rexc.ResponseError("LOADING Redis is loading the dataset in memory")) is None


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (
            rexc.ConnectionError("Error 111 connecting to 127.0.0.1:6399. Connection refused."),
            "connection refused",
        ),
        (
            rexc.AuthenticationError("invalid username-password pair or user is disabled."),
            "authentication failed",
        ),
        (rexc.AuthenticationError("Authentication required."), "wants a password"),
        (rexc.TimeoutError("Timeout reading from socket"), "no answer from cache:6379/0 within 3s"),
        (rexc.BusyLoadingError("Redis is loading the dataset in memory"), "loading its dataset"),
        (rexc.ConnectionError("Connection closed by server."), "closed the connection"),
    ],
)
def test_errors_are_described_in_plain_words(error: Exception, says: str) -> None:
    assert says in describe_error(error, "cache:6379/0", 3.0)


def test_the_sample_summary_groups_keys_by_prefix() -> None:
    keys = [
        SampledKey("session:1", "string", 100, 60),
        SampledKey("session:2", "string", 120, -1),
        SampledKey("big:blob", "string", 5000, -1),
        SampledKey("plain", "string", 10, -1),
        SampledKey("gone:1", "string", None, -1),
    ]
    sample = summarize_sample(
        keys,
        taken_at=datetime(2026, 1, 1, tzinfo=UTC),
        elapsed=0.1,
        complete=True,
        stopped_by=None,
        round_trips=2,
        slowest_round_trip=0.01,
    )
    assert [k.key for k in sample.largest[:2]] == ["big:blob", "session:2"]
    assert sample.without_ttl == 4 and sample.without_ttl_share == pytest.approx(0.8)
    by_prefix = {p.prefix: p for p in sample.patterns}
    assert (by_prefix["session:"].keys, by_prefix["session:"].bytes, by_prefix["session:"].without_ttl) == (
        2,
        220,
        1,
    )
    assert sample.patterns[0].prefix == "big:"
    assert "plain" in by_prefix  # a key without ":" is its own pattern


def _load(tmp_path: Path, text: str = "", **env: str) -> RedisSettings:
    if text:
        (tmp_path / "oncall.toml").write_text(text, encoding="utf-8")
    return load_settings(env=env, cwd=tmp_path, user_config_dir=tmp_path / "none").redis


def test_redis_settings_from_the_file_env_and_flag(tmp_path: Path) -> None:
    settings = _load(
        tmp_path, '[redis]\nurl = "rediss://cache.internal:6380/2"\nusername = "oncall"\ntimeout = 1.5\n'
    )
    assert settings.url == "rediss://cache.internal:6380/2"
    assert (settings.username, settings.timeout, settings.sample_keys) == ("oncall", 1.5, False)
    (tmp_path / "oncall.toml").unlink()
    from_env = _load(tmp_path, REDIS_URL="redis://ro:s3cret@10.0.0.5:6379/0")
    assert from_env.url == "redis://10.0.0.5:6379/0"
    assert from_env.username == "ro" and from_env.password == Secret("s3cret")
    assert "s3cret" not in repr(from_env)
    with_auth = _load(tmp_path, REDIS_URL="redis://10.0.0.5:6379/0", REDISCLI_AUTH="other")
    assert with_auth.password == Secret("other")
    flagged = load_settings(env={}, cwd=tmp_path, flags={"redis": "redis://flag:6379/1"}).redis
    assert flagged.url == "redis://flag:6379/1"


@pytest.mark.parametrize(
    ("toml", "key", "problem"),
    [
        ('[redis]\nurl = "http://cache:6379"\n', "redis.url", "redis:// or rediss://"),
        ('[redis]\nurl = "redis://cache:6379/zero"\n', "redis.url", "must be a number"),
        ("[redis]\nsample_keys = 1\n", "redis.sample_keys", "true or false"),
        ("[redis]\nsample_max_keys = 0\n", "redis.sample_max_keys", "whole number"),
        ("[redis]\ntimeout = -1\n", "redis.timeout", "more than 0"),
        ('[redis]\npasword = "x"\n', "redis.pasword", "did you mean 'password'"),
        ('[redis]\npassword = "a"\npassword_env = "B"\n', "redis.password_env", "only one"),
    ],
)
def test_a_bad_redis_setting_names_the_key(tmp_path: Path, toml: str, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, toml)
    assert caught.value.key == key
    assert problem in caught.value.problem
