"""`oncall check` and `oncall snapshot` against the lab's real Redis, run as a user runs them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from tests.helpers import oncall
from tests.labs.prometheus import PrometheusLab
from tests.labs.redis import EVIL_KEY, PROBE_PASSWORD, RedisConditions, RedisLab

pytestmark = pytest.mark.integration


def line_of(output: str, source: str) -> str:
    lines = [line for line in output.splitlines() if line.split(" ", 1)[0] == source]
    assert len(lines) == 1, output
    return lines[0]


def test_check_reports_version_role_and_nothing_blocked(
    isolated_env: dict[str, str], redis_conditions: RedisConditions, redis_server: RedisLab
) -> None:
    result = oncall("check", env={**isolated_env, "REDIS_URL": redis_server.url()})
    assert result.returncode == 0, result.stdout + result.stderr
    line = line_of(result.stdout, "redis")
    pattern = (
        rf"^redis\s+ok\s+Redis 7\.\d+\.\d+ \(standalone\), role master, {redis_conditions.total_keys} keys; "
        rf"blocked readings: none in \d+ ms from 127\.0\.0\.1:{redis_server.port}/0$"
    )
    assert re.match(pattern, line), line
    assert PROBE_PASSWORD not in result.stdout + result.stderr


def test_check_says_which_readings_the_provider_blocks_and_exits_1(
    isolated_env: dict[str, str], redis_factory: Callable[..., RedisLab]
) -> None:
    lab = redis_factory(rename_config=True)
    result = oncall("check", "--redis", lab.url(), env=isolated_env)
    assert result.returncode == 1, result.stdout + result.stderr
    line = line_of(result.stdout, "redis")
    assert re.match(
        r"^redis\s+degraded\s+Redis 7\.\S+ \(standalone\), role master, 0 keys; blocked readings: CONFIG GET",
        line,
    ), line
    assert "CONFIG GET blocked by the provider: unknown command 'CONFIG'" in line
    assert PROBE_PASSWORD not in result.stdout + result.stderr


def test_check_of_a_dead_redis_says_refused(
    isolated_env: dict[str, str], redis_factory: Callable[..., RedisLab]
) -> None:
    lab = redis_factory()
    lab.kill()
    result = oncall("check", "--redis", lab.url(), env=isolated_env)
    assert result.returncode == 1
    assert re.match(
        rf"^redis\s+down\s+connection refused at 127\.0\.0\.1:{lab.port}/0$", line_of(result.stdout, "redis")
    )


def test_snapshot_has_memory_hit_ratio_clients_and_the_newest_slow_entries(
    isolated_env: dict[str, str],
    prometheus_server: PrometheusLab,
    redis_conditions: RedisConditions,
    redis_server: RedisLab,
) -> None:
    env = {**isolated_env, "PROMETHEUS_URL": prometheus_server.url, "REDIS_URL": redis_server.url()}
    result = oncall("snapshot", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    text = result.stdout
    heading = next(line for line in text.splitlines() if line.startswith("Redis at "))
    assert re.match(
        rf"^Redis at 127\.0\.0\.1:{redis_server.port}/0: memory [\d.]+ MiB of 64\.0 MiB \((8\d|9\d)%\), "
        r"hit ratio (\d+% over the last 1s \()?\d+% since start\)?, clients \d+/10000$",
        heading,
    ), heading
    assert "newest slow log entries:" in text
    assert re.search(r"^\s+3\d\.\d ms \d+s ago: DEBUG SLEEP 0\.03$", text, re.MULTILINE), text
    # the key from the server is text: its escape and bell never reach the terminal
    assert "\x1b" not in text and "\x07" not in text
    assert "[bold red]pwn[/]" in text

    as_json = json.loads(oncall("snapshot", "--json", env=env).stdout)
    redis = as_json["redis"]
    assert redis["state"] == "ok"
    assert redis["memory"]["maxmemory"] == 64 * 1024 * 1024 and redis["memory"]["share"] >= 0.8
    assert redis["memory"]["policy"] == "noeviction"
    assert redis["hit_ratio"]["interval_seconds"] == pytest.approx(1.0, abs=0.5)
    assert [e["args"][0] for e in redis["slowlog"]][:1] == ["DEBUG"]
    # JSON carries the key exactly as the server has it; escaping is JSON's job there
    assert EVIL_KEY in [arg for e in redis["slowlog"] for arg in e["args"]]
