"""How oncall looks, as SVG snapshots of the demo at a fixed size and a frozen clock.

Review changes with `pytest tests/ui/test_snapshots.py --snapshot-report` before `--snapshot-update`.
"""

from __future__ import annotations

from tests.helpers import dashboard_up, make_app, wait_for
from tui.widgets.alerts import AlertsTable

SIZE = (140, 40)


async def _alerts_loaded(pilot) -> None:
    await dashboard_up(pilot)
    table = pilot.app.screen.query_one(AlertsTable)
    await wait_for(lambda: table.row_count == 4, what="demo alerts")
    body = pilot.app.screen.query_one("#runbook-body")  # the selected alert's likely cause, once judged
    await wait_for(lambda: "not judged yet" not in str(body.render()), timeout=20, what="the likely cause")
    # the other sources start once the alerts are drawn: the picture is of every source read once
    app = pilot.app
    await wait_for(
        lambda: app.pods and app.pg_snapshot is not None and app.redis_snapshot is not None,
        what="the demo's pods, database and cache",
    )
    await pilot.pause()


async def _alerts_and_alertmanager_loaded(pilot) -> None:
    await wait_for(lambda: pilot.app.am_snapshot is not None, what="the demo Alertmanager's first read")
    await _alerts_loaded(pilot)


def test_dashboard_snapshot(snap_compare, tmp_path):
    # as `oncall --demo` shows it: with the demo's Alertmanager (a teammate's silence)
    app = make_app(tmp_path, demo_alertmanager=True)
    assert snap_compare(app, terminal_size=SIZE, run_before=_alerts_and_alertmanager_loaded)


def test_checklist_snapshot(snap_compare, tmp_path):
    async def tick_two_steps(pilot) -> None:
        await _alerts_loaded(pilot)
        await pilot.press("j", "j")  # SlowRedisOperations: the demo's Redis answers every step's read
        await pilot.press("enter")
        await wait_for(lambda: hasattr(pilot.app.screen, "evidence"), what="the checklist")
        await wait_for(lambda: len(pilot.app.screen.evidence) == 3, what="the evidence of every step")
        # `redis-cli --bigkeys`: the key sampler's shared sample, shown once its one run is done
        await wait_for(lambda: any(r.rows for r in pilot.app.screen.evidence[1]), what="the key sample")
        await pilot.press("space", "j", "s", "j")
        await wait_for(
            lambda: (
                pilot.app.screen.session is not None and pilot.app.screen.session.step_state(1) == "skipped"
            ),
            what="ticks",
        )
        await pilot.pause()

    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=tick_two_steps)


def test_runbook_browser_snapshot(snap_compare, tmp_path):
    async def browse(pilot) -> None:
        await dashboard_up(pilot)
        await pilot.press("b", "j", "j")
        await pilot.pause()

    assert snap_compare(make_app(tmp_path, demo=False), terminal_size=SIZE, run_before=browse)


def test_help_snapshot(snap_compare, tmp_path):
    async def help_on_dashboard(pilot) -> None:
        await _alerts_loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=help_on_dashboard)


async def _zoomed_tab(pilot, tab: str) -> None:
    await _alerts_loaded(pilot)
    await wait_for(lambda: pilot.app.redis_snapshot is not None, what="the demo cache")
    pilot.app.screen.query_one("#sources").active = tab
    await pilot.press("z")
    await pilot.pause()


def test_redis_tab_snapshot(snap_compare, tmp_path):
    async def redis_tab(pilot) -> None:
        await _zoomed_tab(pilot, "tab-redis")

    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=redis_tab)


def test_slowlog_tab_snapshot(snap_compare, tmp_path):
    async def slowlog_tab(pilot) -> None:
        await _zoomed_tab(pilot, "tab-slowlog")
        pilot.app.screen.query_one("#slowlog-table").focus()
        await pilot.press("down")
        await pilot.pause()

    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=slowlog_tab)
