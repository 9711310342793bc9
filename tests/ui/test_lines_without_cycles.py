"""Lines drawn and then replaced are freed at once, not left to the cycle collector: Textual 8's Strip.divide
caches `[self]` in a strip cut at its own end, so nearly every line the compositor drew referred to itself
and waited for a full collection (bench.soak_bench: ~80% of the cyclic garbage; the RSS keeps the high-water
mark of what waits). tui.widgets.upstream gives a whole line back without caching it."""

from __future__ import annotations

import gc
from pathlib import Path

from rich.segment import Segment
from textual.strip import Strip

from tests.helpers import make_app, wait_for

TAB_KEYS = "1234567pa"  # every tab of the dashboard, the pods, back to the alerts
ROW_CACHE_LINES = 100  # lines the alerts table's row cache may drop in the rounds (20 seen; each poll adds 5)


async def test_lines_redrawn_on_every_tab_leave_no_cyclic_garbage(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: app.snapshot is not None and bool(app.snapshot.alerts), what="the alerts")
        for key in TAB_KEYS:  # each tab's first look (its widgets mounted, its first read) before counting
            await pilot.press(key)
        await pilot.pause(1.0)
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds unreachable is kept in gc.garbage to count
        try:
            for key in TAB_KEYS * 2:
                await pilot.press(key)
            await pilot.pause(0.5)
            gc.collect()
            strips = [obj for obj in gc.garbage if isinstance(obj, Strip)]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
    # Before: ~2,000 Strips (and ~14,000 of their caches) from these few seconds of drawing. Now only the
    # alerts table's row cache's: Textual's LRUCache is a ring of lists, so its cleared entries are cyclic
    # too (its 5 lines, each time it is cleared: 20 here, 2,401 before).
    assert len(strips) <= ROW_CACHE_LINES, [strip.text for strip in strips[:5]]


def test_a_line_cut_at_its_own_end_is_itself_and_cut_elsewhere_is_pieces() -> None:
    line = Strip([Segment("pod-0 "), Segment("Running")])
    assert line.divide([13]) == [line]
    assert line.divide([13, 20]) == [line]  # a cut past the end is no cut
    assert [piece.text for piece in line.divide([6, 13])] == ["pod-0 ", "Running"]
    assert [piece.text for piece in line.divide([3, 13])] == ["pod", "-0 Running"]
