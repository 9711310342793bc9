"""The Redis and Slow log tabs as an SRE sees them: the demo's slow cache, blocked readings, hostile keys."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

from textual import on
from textual.app import App, ComposeResult

from probes.base import SourceHealth
from probes.redis import KeySample, RedisSnapshot, SampledKey, SlowEntry, summarize_sample
from screens.modals import TextScreen
from tests.helpers import T0, FixedClock, make_app, mounted, screen_text, wait_for
from tui.demo.redis import DemoRedis
from tui.widgets.bindings import shown_bindings
from tui.widgets.dialogs import ShowText
from tui.widgets.redis_panel import RedisPanel
from tui.widgets.slowlog_panel import SlowlogPanel

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def slow_rows(panel: SlowlogPanel) -> list[str]:
    """The slow log table's lines as drawn (header first)."""
    return [panel.table.render_line(y).text.rstrip() for y in range(len(panel.table.view) + 1)]


def footer(app) -> list[str]:
    return [active.binding.description for active in shown_bindings(app.screen)]


async def show_tab(app, pilot, tab: str) -> None:
    app.screen.query_one("#sources").active = tab
    await pilot.pause()


# -- against the demo -------------------------------------------------------------------------------------


async def test_the_redis_tab_shows_memory_fragmentation_bgsave_and_the_hit_ratio(tmp_path):
    clock = FixedClock()
    app = make_app(tmp_path, clock=clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: app.redis_snapshot is not None, what="the demo cache")
        clock.advance(2)
        app.refresh_now()  # a second read, so there is an interval to take the hit ratio over
        await wait_for(lambda: app.redis_snapshot.interval is not None, what="a second read")
        await show_tab(app, pilot, "tab-redis")
        text = screen_text(app)
        assert "1.4 GiB / 2.0 GiB (71%)" in text
        assert "fragmentation 1.62 ⚠ above 1.5" in text
        assert "BGSAVE in progress" in text and "last fork 182 ms" in text
        assert re.search(r"hit ratio 9\d% over the last 2s", text)
        assert "since start 91%" in text
        assert "clients 184 connected of 10,000 maxclients" in text and "3 blocked" in text
        assert "eviction policy volatile-lru" in text
        assert "fork 182 ms (max 240 ms)" in text  # LATENCY LATEST
        assert "role master · 1 replica connected · up 41d" in text
        assert "The key sampler is off: press x to run it once" in text


async def test_the_slow_log_lists_the_demo_commands_with_their_durations(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: app.redis_snapshot is not None, what="the demo cache")
        await show_tab(app, pilot, "tab-slowlog")
        panel = app.screen.query_one(SlowlogPanel)
        rows = slow_rows(panel)
        assert rows[0].split() == ["NEW", "TIME", "DURATION", "CLIENT", "NAME", "COMMAND"]
        assert any("41.3 ms" in r and "inmidst-worker" in r and r.endswith("KEYS session:*") for r in rows)
        assert any("11.2 ms" in r and r.endswith("HGETALL cart:big:48213") for r in rows)
        assert "7 entries, newest first" in screen_text(app)
        assert not any("●" in r for r in rows)  # what was logged before oncall started is not news


async def test_enter_on_a_slow_entry_shows_every_argument_on_its_own_line(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: app.redis_snapshot is not None, what="the demo cache")
        await show_tab(app, pilot, "tab-slowlog")
        panel = app.screen.query_one(SlowlogPanel)
        panel.table.focus()
        await pilot.press("down")  # the second entry: ZRANGE leaderboard:weekly 0 -1 WITHSCORES
        await pilot.press("enter")
        await wait_for(lambda: mounted(app.screen, TextScreen), what="the full entry")
        text = screen_text(app)
        assert "slow log #6 · 12.9 ms" in text and "10.4.2.32:49211 inmidst-api" in text
        assert "ZRANGE\nleaderboard:weekly\n0\n-1\nWITHSCORES" in text
        await pilot.press("escape")
        assert type(app.screen).__name__ == "DashboardScreen"  # not the checklist


async def test_entries_new_since_the_last_look_are_marked_until_the_next_look(tmp_path):
    clock = FixedClock()
    app = make_app(tmp_path, clock=clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: app.redis_snapshot is not None, what="the demo cache")
        await show_tab(app, pilot, "tab-slowlog")
        panel = app.screen.query_one(SlowlogPanel)

        clock.advance(20)  # the demo logs another slow HGETALL every 20 s
        app.refresh_now()
        await wait_for(lambda: len(panel.table.view) == 8, what="a newer slow entry")
        await pilot.pause()
        rows = slow_rows(panel)
        assert rows[1].startswith("●") and rows[1].endswith("HGETALL cart:big:48213")
        assert not any("●" in r for r in rows[2:])
        assert "● 1 new since your last look" in screen_text(app)

        await show_tab(app, pilot, "tab-redis")
        clock.advance(20)  # logged while the user looks elsewhere: KEYS session:*
        app.refresh_now()
        await wait_for(lambda: len(panel.table.view) == 9, what="another slow entry")
        await show_tab(app, pilot, "tab-slowlog")
        await pilot.pause()
        rows = slow_rows(panel)
        assert rows[1].startswith("●") and rows[1].endswith("KEYS session:*")
        assert not rows[2].startswith("●")  # seen during the last look
        assert "● 1 new since your last look" in screen_text(app)


async def test_the_sampler_key_shows_the_largest_keys_and_the_share_without_ttl(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: app.redis_snapshot is not None, what="the demo cache")
        await show_tab(app, pilot, "tab-redis")
        await pilot.press("z")
        assert "Sample keys" in footer(app)  # on this tab, with the focus still on the alerts
        await pilot.press("x")
        await wait_for(lambda: "largest keys" in screen_text(app), what="the sampler's result")
        text = screen_text(app)
        assert "sampled 2,843 keys" in text and "the whole keyspace" in text
        assert "without TTL: 37% of the sampled keys (1,043 of 2,843)" in text
        largest = text.split("largest keys\n", 1)[1].splitlines()
        assert largest[0].split() == ["18.0", "MiB", "hash", "no", "TTL", "cart:big:48213"]
        assert re.search(r"601 keys +100% without TTL +cart:", text)


async def test_the_sampler_key_is_offered_on_the_redis_tab_only(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: app.redis_snapshot is not None, what="the demo cache")
        await show_tab(app, pilot, "tab-postgresql")
        assert "Sample keys" not in footer(app)
        await pilot.press("x")
        await pilot.pause()
        assert app.redis_snapshot.sample is None  # nothing was sampled from another tab


async def test_without_redis_both_tabs_say_how_to_configure_it(tmp_path):
    app = make_app(tmp_path, demo=False)
    async with app.run_test(size=(160, 48)):
        said = "Redis is not configured: set REDIS_URL, [redis] url or --redis."
        # the two tabs are built once the first alerts are drawn
        await wait_for(lambda: screen_text(app).count(said) == 2, what="both tabs saying so")
        assert not app.screen.query(RedisPanel) and not app.screen.query(SlowlogPanel)


# -- one snapshot at a time, drawn by the panels alone ------------------------------------------------------


class PanelsApp(App[None]):
    def compose(self) -> ComposeResult:
        yield RedisPanel(now=lambda: T0, id="redis")
        yield SlowlogPanel(now=lambda: T0, id="slowlog")

    @on(ShowText)
    def _show_text(self, event: ShowText) -> None:  # what the dashboard does with a panel's full text
        self.push_screen(TextScreen(event.title, event.text))


async def demo_snapshot() -> RedisSnapshot:
    probe = DemoRedis(T0, FixedClock())
    return await probe.poll()


def panel_text(app: App[None]) -> str:
    return "\n".join(str(w.render()) for w in app.query("Static"))


async def test_hostile_keys_and_arguments_render_literally_without_control_characters(tmp_path):
    hostile = "[bold red]boom[/] \x1b[31mred\x1b[0m\x07"
    entry = SlowEntry(
        id=99,
        started_at=T0,
        duration_us=55_000,
        args=("SET", hostile, "line one\nline two"),
        client="10.0.0.9:1234",
        client_name="[/name]",
    )
    sample = summarize_sample(
        [SampledKey(key=hostile, type="hash", bytes=1 << 20, ttl=-1)],
        taken_at=T0,
        elapsed=0.01,
        complete=True,
        stopped_by=None,
        round_trips=2,
        slowest_round_trip=0.001,
    )
    snapshot = replace(await demo_snapshot(), slowlog=(entry,), sample=sample)
    app = PanelsApp()
    async with app.run_test(size=(160, 60)) as pilot:
        app.query_one(RedisPanel).show(snapshot)
        panel = app.query_one(SlowlogPanel)
        panel.show(snapshot)
        await pilot.pause()
        row = slow_rows(panel)[1]
        assert "SET [bold red]boom[/] ␛[31mred␛[0m␇ line one line two" in row
        assert "[/name]" in row and "55.0 ms" in row
        text = panel_text(app)
        assert "[bold red]boom[/] ␛[31mred␛[0m␇" in text  # the sampler's largest key
        panel.table.focus()
        await pilot.press("enter")
        await wait_for(lambda: mounted(app.screen, TextScreen), what="the full entry")
        full = "\n".join(str(w.render()) for w in app.screen.query("Static"))
        assert "SET\n[bold red]boom[/] ␛[31mred␛[0m␇\nline one line two" in full
        for shown in (row, text, full):
            assert not CONTROL.search(shown)


async def test_blocked_readings_are_named_while_the_rest_keeps_working():
    base = await demo_snapshot()
    snapshot = replace(
        base,
        slowlog=None,
        config=None,
        blocked=(
            (
                "CONFIG GET",
                "blocked by the provider: unknown command 'CONFIG', with args beginning with: 'GET'",
            ),
            (
                "SLOWLOG GET",
                "blocked by ACL: NOPERM User oncall has no permissions to run the 'slowlog' command",
            ),
        ),
        health=replace(base.health, state="degraded"),
    )
    app = PanelsApp()
    async with app.run_test(size=(160, 60)) as pilot:
        app.query_one(RedisPanel).show(snapshot)
        slowlog = app.query_one(SlowlogPanel)
        slowlog.show(snapshot)
        await pilot.pause()
        text = panel_text(app)
        assert "⊘ CONFIG GET blocked by the provider — unknown command 'CONFIG'" in text
        assert "⊘ SLOWLOG GET blocked by ACL — NOPERM User oncall" in text
        assert "fragmentation 1.62" in text and "BGSAVE in progress" in text  # INFO still read
        assert not slowlog.table.display


async def test_a_down_redis_says_why_and_keeps_the_last_data_with_its_age():
    base = await demo_snapshot()
    snapshot = replace(
        base,
        fetched_at=T0 - timedelta(minutes=2),
        health=SourceHealth("redis", "down", checked_at=T0, last_error="connection refused at redis:6379/0"),
    )
    app = PanelsApp()
    async with app.run_test(size=(160, 60)) as pilot:
        app.query_one(RedisPanel).show(snapshot)
        app.query_one(SlowlogPanel).show(snapshot)
        await pilot.pause()
        text = panel_text(app)
        assert "Redis down: connection refused at redis:6379/0 — showing what was read 2m ago" in text
        assert "showing the slow log read 2m ago" in text
        assert "1.4 GiB / 2.0 GiB" in text  # the last data stays on screen


async def test_noeviction_near_the_limit_and_a_recent_restart_are_flagged():
    base = await demo_snapshot()
    assert base.info is not None
    info = replace(
        base.info,
        used_memory=int(base.info.maxmemory * 0.85),
        maxmemory_policy="noeviction",
        uptime_seconds=120,
    )
    snapshot = replace(
        base, info=info, restarted=True, sample=KeySample(T0, 0, (), 0, (), 0.0, True, None, 1, 0.0)
    )
    app = PanelsApp()
    async with app.run_test(size=(160, 60)) as pilot:
        app.query_one(RedisPanel).show(snapshot)
        await pilot.pause()
        text = panel_text(app)
        assert "(85%) ⚠ at or above the runbook's 80%" in text
        assert (
            "noeviction ⚠ writes fail with OOM when memory is full: the runbook recommends allkeys-lru"
            in text
        )
        assert "⚠ Redis restarted 2m ago: the cache was emptied" in text
        assert "sampled 0 keys" in text


async def test_number_keys_open_the_source_tabs_in_order(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        tabs = app.screen.query_one("#sources")
        for key, tab in (
            ("3", "tab-redis"),
            ("4", "tab-slowlog"),
            ("2", "tab-postgresql"),
            ("7", "tab-deploys"),
        ):
            await pilot.press(key)
            assert tabs.active == tab
        assert "Tabs" in footer(app)
