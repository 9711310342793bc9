"""The Redis and Slow log tabs against the lab's real redis-server and its conditions: what an SRE sees."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from probes.redis import RedisProbe
from tests.helpers import make_app, screen_text, wait_for
from tests.labs.redis import EVIL_KEY, RedisConditions, RedisLab
from tui.config.settings import load_settings
from tui.widgets.slowlog_panel import SlowlogPanel

pytestmark = pytest.mark.integration


def _probe(url: str, tmp_path: Path, **overrides: float) -> RedisProbe:
    settings = load_settings(env={"REDIS_URL": url}, cwd=tmp_path, user_config_dir=tmp_path).redis
    return RedisProbe(replace(settings, refresh=0.3, **overrides))


async def _open(app, pilot, tab: str) -> None:
    app.screen.query_one("#sources").active = tab
    await pilot.pause()


def _read(app) -> bool:
    return app.redis_snapshot is not None and app.redis_snapshot.info is not None


async def test_the_redis_tab_shows_memory_policy_hit_ratio_and_keys_as_the_lab_made_them(
    tmp_path: Path, redis_server: RedisLab, redis_conditions: RedisConditions
) -> None:
    app = make_app(tmp_path, demo=False, redis=_probe(redis_server.url(), tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: _read(app), timeout=10, what="the first Redis read")
        await _open(app, pilot, "tab-redis")
        await pilot.press("z")
        # a falling hit ratio: misses between two reads
        first = app.redis_snapshot
        redis_conditions.misses(900)
        redis_conditions.hits(100)
        await wait_for(
            lambda: (
                app.redis_snapshot is not first
                and app.redis_snapshot.interval is not None
                and (app.redis_snapshot.interval.misses or 0) >= 900
            ),
            timeout=10,
            what="a read after the misses",
        )
        await pilot.pause()
        text = screen_text(app)
        assert re.search(
            r"memory \S+ [\d.]+ MiB / 64\.0 MiB \((8\d|9\d)%\) ⚠ at or above the runbook's 80%", text
        ), text
        assert "eviction policy noeviction ⚠" in text and "allkeys-lru" in text
        assert re.search(r"hit ratio 10% over the last [\d.]+s ⚠ below 50%", text), text
        assert (
            f"keys db0 {redis_conditions.total_keys:,} ({redis_conditions.keys_with_ttl:,} with TTL, 30%)"
            in text
        )
        assert "latency events command" in text
        assert "blocked by" not in text  # the least-privilege ACL user reads everything the tab needs


async def test_the_slow_log_tab_lists_the_slow_commands_and_the_hostile_key_as_plain_text(
    tmp_path: Path, redis_server: RedisLab, redis_conditions: RedisConditions
) -> None:
    app = make_app(tmp_path, demo=False, redis=_probe(redis_server.url(), tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: _read(app), timeout=10, what="the first Redis read")
        await _open(app, pilot, "tab-slowlog")
        panel = app.screen.query_one(SlowlogPanel)
        await wait_for(lambda: len(panel.table.view) == 4, what="the lab's four slow entries")
        rows = [panel.table.render_line(y).text for y in range(1, 5)]
        assert rows[0].rstrip().endswith("DEBUG SLEEP 0.015")
        assert re.search(r"\b3\d\.\d ms\b", rows[2]) and rows[2].rstrip().endswith("DEBUG SLEEP 0.03")
        hostile = rows[3]
        assert "[bold red]pwn[/]" in hostile  # markup shown as the text it is
        assert "\x1b" not in hostile and "\x07" not in hostile
        panel.table.focus()
        panel.table.cursor = 3
        await pilot.press("enter")
        await pilot.pause()
        detail = screen_text(app)
        assert "[bold red]pwn[/]" in detail and "\x1b" not in detail
        assert EVIL_KEY not in detail  # the raw key, control characters and all, never reaches the screen


async def test_a_renamed_config_is_shown_as_blocked_by_the_provider_and_the_rest_still_shows(
    tmp_path: Path, redis_factory: Callable[..., RedisLab]
) -> None:
    lab = redis_factory(rename_config=True)
    app = make_app(tmp_path, demo=False, redis=_probe(lab.url(), tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: _read(app), timeout=10, what="the first Redis read")
        await _open(app, pilot, "tab-redis")
        text = screen_text(app)
        assert "CONFIG GET blocked by the provider" in text and "unknown command 'CONFIG'" in text
        assert "eviction policy noeviction" in text  # from INFO, without CONFIG
        assert re.search(r"memory \S+ [\d.]+ [KM]iB / 64\.0 MiB", text), text


async def test_a_killed_server_shows_down_with_its_last_data_then_recovers_on_its_own(
    tmp_path: Path, redis_factory: Callable[..., RedisLab]
) -> None:
    lab = redis_factory()
    app = make_app(tmp_path, demo=False, redis=_probe(lab.url(), tmp_path, timeout=1.0, connect_timeout=1.0))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: _read(app), timeout=10, what="the first Redis read")
        await _open(app, pilot, "tab-redis")
        lab.kill()
        await wait_for(lambda: app.redis_snapshot.health.state == "down", timeout=10, what="down")
        await pilot.pause()
        text = screen_text(app)
        assert re.search(r"Redis down: (connection refused|\S+ closed the connection)", text), text
        assert "showing what was read" in text
        assert "memory " in text  # the last reading stays on screen
        lab.restart()
        await wait_for(lambda: app.redis_snapshot.health.state == "ok", timeout=15, what="recovery")
        await pilot.pause()
        text = screen_text(app)
        assert "Redis down" not in text
        assert "restarted" in text and "the cache was emptied" in text
