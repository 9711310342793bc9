"""The drawn lines of a closed checklist's widgets are freed with them: Textual 8 keeps every widget's
StylesCache (its drawn lines) in a process-wide lru_cache keyed by the cache itself
(Textualize/textual#6665), so each checklist opened and closed left ~25 of them behind, up to 1,024, with
their lines (bench.soak_bench: Strips held by no widget). tui.widgets.upstream caches by the colors alone."""

from __future__ import annotations

import gc
from pathlib import Path

from textual._styles_cache import StylesCache
from textual.widget import Widget

from screens.checklist import ChecklistScreen
from tests.helpers import make_app, wait_for

CYCLES = 6


def _orphans() -> int:
    """StylesCaches alive that no live widget owns."""
    gc.collect()
    owned = {id(w._styles_cache) for w in gc.get_objects() if isinstance(w, Widget)}
    return sum(1 for obj in gc.get_objects() if isinstance(obj, StylesCache) and id(obj) not in owned)


async def test_closed_checklists_leave_no_drawn_lines_behind(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: app.snapshot is not None and bool(app.snapshot.alerts), what="the alerts")
        for _ in range(CYCLES):
            await pilot.press("enter")
            await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
            await pilot.pause(0.3)  # drawn
            await pilot.press("escape")
            await wait_for(lambda: not isinstance(app.screen, ChecklistScreen), what="back on the alerts")
        # the last checklist or two may still be finishing an evidence round; before, ~25 per checklist stayed
        await wait_for(lambda: _orphans() <= 10, timeout=10, what="the closed checklists' drawn lines freed")
