"""The demo database answers the runbook SQL from the rows its PostgreSQL tab shows, behind the real guard."""

from __future__ import annotations

import re

from screens.checklist import ChecklistScreen
from screens.modals import TextScreen
from screens.runbook_browser import RunbookBrowserScreen
from tests.helpers import make_app, screen_text, wait_for
from tests.ui.test_checklist_evidence import _open


async def _postgres_tab(app, pilot) -> str:
    await wait_for(lambda: app.pg_snapshot is not None, what="the demo database")
    app.screen.query_one("#sources").active = "tab-postgresql"
    await pilot.press("z")
    await pilot.pause()
    return screen_text(app)


async def test_the_connections_checklist_counts_and_lists_what_the_postgresql_tab_shows(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 60)) as pilot:
        tab = await _postgres_tab(app, pilot)
        used = re.search(r"(\d+)/\d+ \(\d+%\)", tab)
        assert used is not None, tab
        by_app = re.search(r"by application: ((?:[\w-]+ \d+(?: · )?)+)\s*$", tab, re.M)
        assert by_app is not None, tab
        tab_apps = dict(re.findall(r"(\S+) (\d+)", by_app.group(1)))
        idle_pids = set(re.findall(r"pid (\d+) \S+ \S+ for ", tab))
        assert "Idle in transaction over 5 minutes: 6" in tab and len(idle_pids) == 6
        await pilot.press("z")  # back from the zoomed tab
        await pilot.pause()

        screen = await _open(app, pilot, "HighDatabaseConnections")
        await wait_for(lambda: len(screen.evidence) == 3, what="the evidence of three steps")
        text = screen_text(app)
        step1 = text.split("☐ 1.", 1)[1].split("☐ 2.", 1)[0]
        assert "count" in step1 and re.search(rf"^\s+{used.group(1)}\s*$", step1, re.M), step1
        assert used.group(1) == "87"
        step2 = text.split("☐ 2.", 1)[1].split("☐ 3.", 1)[0]
        step_apps = dict(re.findall(r"^\s+(inmidst-\S+|psql)\s+(\d+)\s*$", step2, re.M))
        assert step_apps == tab_apps, (step2, tab_apps)

        await pilot.press("j", "j", "enter")  # step 3's evidence in full
        await wait_for(lambda: isinstance(app.screen, TextScreen), what="step 3 in full")
        full = screen_text(app)
        listed = set(re.findall(r"^\s*\S+\s+inmidst\s+(\d+)\s+inmidst\s+", full, re.M))
        assert listed == idle_pids, full
        assert full.count("idle in transaction") >= 6


async def test_the_slow_queries_steps_show_rows_from_the_demo_database(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 60)) as pilot:
        await wait_for(lambda: app.pg_snapshot is not None, what="the demo database")
        app.push_screen(RunbookBrowserScreen("slow-database-queries"))
        await wait_for(lambda: isinstance(app.screen, RunbookBrowserScreen), what="the runbook browser")
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
        screen = app.screen
        await wait_for(lambda: len(screen.evidence) == 3, what="the evidence of three steps")
        text = screen_text(app)
        assert "can't answer" not in text and "refused" not in text, text
        assert "mean_exec_time" in text and "UPDATE carts SET items" in text  # the tab's slow statements
        assert "relname" in text and "seq_scan" in text and "orders" in text
        assert "n_dead_tup" in text and "95000" in text


async def test_a_refused_statement_in_the_demo_gets_the_real_guards_words(tmp_path):
    from probes.postgres import check_sql

    app = make_app(tmp_path)
    async with app.run_test(size=(160, 60)):
        await wait_for(lambda: app.pg_snapshot is not None, what="the demo database")
        for statement in ("SELECT pg_terminate_backend(3200);", "DELETE FROM pg_stat_activity"):
            reading = await app.postgres.run_statement(statement)
            reason = check_sql(statement).reason
            assert reason.startswith("refused: ") and reading.problem == reason
            assert reading.what == statement and not reading.rows


async def test_a_statement_the_demo_engine_cannot_run_says_so_in_plain_words(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 60)):
        await wait_for(lambda: app.pg_snapshot is not None, what="the demo database")
        reading = await app.postgres.run_statement("SELECT * FROM pg_stat_replication")
    assert reading.problem is not None and reading.problem.startswith("the demo's SQL engine can't answer")
    assert "Traceback" not in reading.problem
