"""A checklist opened and closed again and again, as an SRE re-reads the evidence through a long incident,
leaves nothing behind: the closed checklist and its header are freed, not kept by the app's session signal
until the next session change (the leak the soak found, bench.soak_bench: every checklist ever opened, with
its steps, evidence and drawn lines, stayed in memory, ~30 MiB an hour of dashboard)."""

from __future__ import annotations

import gc
from pathlib import Path

from screens.checklist import ChecklistScreen, StepCard
from tests.helpers import make_app, wait_for
from tui.widgets.header import StatusHeader

CYCLES = 8


def _alive(cls: type) -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, cls))


async def test_checklists_opened_and_closed_again_and_again_are_freed(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: app.snapshot is not None and bool(app.snapshot.alerts), what="the alerts")
        headers_on_the_dashboard = _alive(StatusHeader)
        for _ in range(CYCLES):
            await pilot.press("enter")
            await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
            await pilot.press("r")
            await pilot.pause(0.2)
            await pilot.press("escape")
            await wait_for(lambda: not isinstance(app.screen, ChecklistScreen), what="back on the alerts")
        # every one within seconds: before, all 8 stayed; then the reads' cancelled timeouts held the last
        # few up to 15 s (their timers kept the checklist's worker's context until they fell due)
        # (a closed header leaves the app's watchers at the next tick of the clock or the next poll)
        await wait_for(
            lambda: (
                _alive(ChecklistScreen) == 0
                and _alive(StepCard) == 0
                and _alive(StatusHeader) <= headers_on_the_dashboard
            ),
            # a closed screen's stopped timers still hold it until they fall due (a second or so; longer on a
            # loaded machine): seconds, not the reads' 15 s
            timeout=10,
            what="the closed checklists, their steps and headers freed",
        )
        # and the dashboard still follows session changes once they are gone
        assert not isinstance(app.screen, ChecklistScreen)
        app.sessions_changed.publish(None)
        await pilot.pause()
