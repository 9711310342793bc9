"""Live evidence under each triage step: read through the probes, stored with a tick, in the export."""

from __future__ import annotations

from screens.checklist import ChecklistScreen
from tests.helpers import make_app, screen_text, wait_for
from tui.sessions.export import export_markdown
from tui.sessions.store import SessionStore
from tui.widgets.alerts import AlertsTable


async def _open(app, pilot, alertname: str) -> ChecklistScreen:
    table = app.screen.query_one(AlertsTable)
    await wait_for(lambda: table.row_count > 0, what="demo alerts")
    row = next(i for i, alert in enumerate(table.alerts) if alert.name == alertname)
    table.move_cursor(row=row)
    await pilot.press("enter")
    await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
    return app.screen  # type: ignore[return-value]


async def test_the_slow_redis_steps_show_the_slow_log_big_keys_and_latency_and_a_tick_keeps_them(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 60)) as pilot:
        screen = await _open(app, pilot, "SlowRedisOperations")
        await wait_for(lambda: len(screen.evidence) == 3, what="the evidence of three steps")
        text = screen_text(app)
        # the command is printed once, in the step's words; the reading says where it came from and when
        assert "Check slow log: redis-cli SLOWLOG GET 10" in text and text.count("SLOWLOG GET 10") == 1
        assert "▸ live · redis · read" in text
        assert "KEYS session:*" in text and "HGETALL cart:big:48213" in text
        assert "(redis-cli --bigkeys)" in text and text.count("redis-cli --bigkeys") == 1
        # the key sampler's shared sample: shown once its one run is done, with when it was taken
        sampled = "▸ live · redis · (largest 10) · sampled"
        await wait_for(lambda: sampled in screen_text(app), what="the sample")
        text = screen_text(app)
        assert "▸ derived · redis · LATENCY LATEST" in text and "fork" in text
        await pilot.press("space")
        await wait_for(
            lambda: screen.session is not None and screen.session.step_state(0) == "done", what="step 1 done"
        )
        session = screen.session
    store = SessionStore.open(tmp_path / "sessions.db", read_only=True)
    try:
        (stored,) = [s for s in store.sessions() if s.alertname == "SlowRedisOperations"]
        timeline = store.timeline(stored.id)
    finally:
        store.close()
    evidence = stored.steps[0].evidence
    assert evidence.startswith("redis: SLOWLOG GET 10 (")
    assert "KEYS session:*" in evidence
    exported = export_markdown(stored, timeline, app.section("slow-redis-operations"))
    assert "KEYS session:*" in exported and "SLOWLOG GET 10" in exported
    assert session.id == stored.id


async def test_the_demo_database_answers_the_runbook_sql_instead_of_guessing(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 60)) as pilot:
        screen = await _open(app, pilot, "HighDatabaseConnections")
        await wait_for(lambda: len(screen.evidence) == 3, what="the evidence of three steps")
        assert all(r.ok for readings in screen.evidence.values() for r in readings), screen_text(app)


async def test_r_reads_the_evidence_again(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 60)) as pilot:
        screen = await _open(app, pilot, "SlowRedisOperations")
        await wait_for(lambda: len(screen.evidence) == 3, what="the first read")
        first = screen.evidence[0]
        await pilot.press("r")
        await wait_for(lambda: screen.evidence[0] is not first, what="a second read")


async def test_the_demo_target_down_checklist_names_the_down_target_and_its_error(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 60)) as pilot:
        screen = await _open(app, pilot, "TargetDown")
        await wait_for(lambda: len(screen.evidence) == 4, what="the evidence of four steps")
        text = screen_text(app)
        assert "▸ derived · prometheus" in text
        assert "inmidst-worker  10.4.5.3:3001  down" in text
        assert "dial tcp 10.4.5.3:3001: connect: connection refused" in text
        assert "▸ translated · prometheus" in text  # exec wget …/metrics: what Prometheus knows of it
