"""Closed checklists are reference cycles only a full collection frees: the dashboard asks for one soon after
a screen closes, so a long incident's closed checklists don't pile up between the collector's rare full
passes and leave the process at their high-water mark (bench.soak_bench: RSS rising in steps for hours)."""

from __future__ import annotations

import gc
from pathlib import Path

from screens.checklist import ChecklistScreen, StepCard
from tests.helpers import make_app, wait_for

CYCLES = 5


def _tracked(cls: type) -> int:
    """Objects of `cls` the collector still holds, garbage included: this test never collects itself."""
    return sum(1 for obj in gc.get_objects() if isinstance(obj, cls))


async def test_closed_checklists_are_collected_soon_after_without_waiting_for_the_collector(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: app.snapshot is not None and bool(app.snapshot.alerts), what="the alerts")
        await wait_for(gc.isenabled, timeout=10, what="the collector on after the first pod list")
        thresholds = gc.get_threshold()
        gc.set_threshold(10**9)  # the collector's own passes would hide whether the dashboard asked for one
        try:
            for _ in range(CYCLES):
                await pilot.press("enter")
                await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
                await pilot.pause(0.3)
                await pilot.press("escape")
                await wait_for(lambda: not isinstance(app.screen, ChecklistScreen), what="the alerts again")
            # the last one or two are still let go of (an evidence round ending); the others were garbage
            await wait_for(lambda: _tracked(ChecklistScreen) <= 2, timeout=6, what="the closed ones freed")
            assert _tracked(StepCard) <= 2 * 3  # the demo's section has three steps
        finally:
            gc.set_threshold(*thresholds)
