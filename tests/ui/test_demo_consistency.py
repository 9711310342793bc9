"""The demo's numbers agree with each other on screen: the keyspace INFO counts is the one the sampler walks,
and the PostgreSQL version is the image the cluster's events pulled."""

from __future__ import annotations

import re

from tests.helpers import make_app, screen_text, wait_for
from tests.ui.test_redis_tabs import show_tab


async def test_info_counts_the_keys_the_sampler_walks_through_the_whole_keyspace(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: app.redis_snapshot is not None, what="the demo cache")
        await show_tab(app, pilot, "tab-redis")
        await pilot.press("z")
        await pilot.press("x")
        await wait_for(lambda: "largest keys" in screen_text(app), what="the sampler's result")
        text = screen_text(app)
        info = re.search(r"keys db0 ([\d,]+) \(([\d,]+) with TTL", text)
        sampled = re.search(r"sampled ([\d,]+) keys", text)
        assert info is not None and sampled is not None, text
        assert "the whole keyspace" in text
        assert info.group(1) == sampled.group(1) == "2,843"
        without = re.search(r"without TTL: \d+% of the sampled keys \(([\d,]+) of ([\d,]+)\)", text)
        assert without is not None
        keys, with_ttl = (int(info.group(i).replace(",", "")) for i in (1, 2))
        assert int(without.group(1).replace(",", "")) == keys - with_ttl


async def test_the_postgresql_tab_names_the_version_the_events_pulled(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: app.pg_snapshot is not None, what="the demo database")
        await show_tab(app, pilot, "tab-postgresql")
        await pilot.press("z")
        tab = screen_text(app)
        await pilot.press("z")
        await show_tab(app, pilot, "tab-events")
        await pilot.press("z")
        await wait_for(lambda: "postgres:" in screen_text(app), what="the image in the events")
        events = screen_text(app)
    shown = re.search(r"PostgreSQL (\d+\.\d+)", tab)
    pulled = set(re.findall(r"postgres:(\d+\.\d+)", events))
    assert shown is not None and pulled == {shown.group(1)} == {"16.3"}, (tab, events)
