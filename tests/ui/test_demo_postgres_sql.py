"""The demo database answers the runbook SQL from the rows its PostgreSQL tab shows, behind the real guard."""

from __future__ import annotations

import re

from screens.checklist import ChecklistScreen
from screens.modals import TextScreen
from screens.runbook_browser import RunbookBrowserScreen
from tests.helpers import make_app, mounted, screen_text, wait_for
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
        await pilot.press("a")  # and back to the alerts: enter is the focused list's
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
        await wait_for(lambda: mounted(app.screen, TextScreen), what="step 3 in full")
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


def _with_show_steps(tmp_path):
    """The shipped runbook, its connections section asking the server's limits as a runbook would."""
    from tui.config.paths import example_runbook

    text = example_runbook().read_text(encoding="utf-8")
    last = "3. Look for idle-in-transaction sessions:"
    at = text.index("\n", text.index(last))
    steps = (
        "\n4. Check the limit: `SHOW max_connections;`"
        "\n5. Check the reserve: `SHOW superuser_reserved_connections`"
    )
    path = tmp_path / "RUNBOOK.md"
    path.write_text(text[:at] + steps + text[at:], encoding="utf-8")
    return path


async def test_show_in_a_checklist_step_answers_the_limits_the_postgresql_tab_shows(tmp_path):
    app = make_app(tmp_path, runbook=_with_show_steps(tmp_path))
    async with app.run_test(size=(160, 60)) as pilot:
        await wait_for(lambda: app.pg_snapshot is not None, what="the demo database")
        app.screen.query_one("#sources").active = "tab-postgresql"
        await pilot.pause()
        tab = screen_text(app)
        limits = re.search(r"max_connections (\d+), (\d+) reserved", tab)
        assert limits is not None, tab
        assert limits.groups() == ("100", "3")

        app.push_screen(RunbookBrowserScreen("high-database-connections"))
        await wait_for(lambda: isinstance(app.screen, RunbookBrowserScreen), what="the runbook browser")
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
        screen = app.screen
        await wait_for(lambda: len(screen.evidence) == 5, what="the evidence of five steps")
        text = screen_text(app)
        step4 = text.split("☐ 4.", 1)[1].split("☐ 5.", 1)[0]
        step5 = text.split("☐ 5.", 1)[1]
        assert "can't answer" not in text and "refused" not in text, text
        assert re.search(r"^\s+max_connections\s*$", step4, re.M) and re.search(r"^\s+100\s*$", step4, re.M)
        assert re.search(r"^\s+superuser_reserved_connections\s*$", step5, re.M), step5
        assert re.search(r"^\s+3\s*$", step5, re.M), step5


async def test_show_in_the_demo_goes_through_the_guard_and_answers_as_postgresql_does(tmp_path):
    from probes.postgres import check_sql

    app = make_app(tmp_path)
    async with app.run_test(size=(160, 60)):
        await wait_for(lambda: app.pg_snapshot is not None, what="the demo database")
        pressure = app.pg_snapshot.pressure
        limit = await app.postgres.run_statement("show MAX_CONNECTIONS;")
        every = await app.postgres.run_statement("SHOW ALL")
        unknown = await app.postgres.run_statement("SHOW shared_buffers_typo")
        chained = "SHOW max_connections; SELECT pg_terminate_backend(3200)"
        refused = await app.postgres.run_statement(chained)

    assert limit.problem is None and limit.columns == ("max_connections",)
    assert limit.rows == ((str(pressure.max_connections),),) == (("100",),)
    assert limit.what == "show MAX_CONNECTIONS;"
    assert every.columns == ("name", "setting", "description")
    settings = {row[0]: row[1] for row in every.rows}
    assert settings["max_connections"] == "100" and settings["superuser_reserved_connections"] == "3"
    assert settings["server_version"] == "16.3"
    # PostgreSQL's own words for a setting it doesn't have
    assert unknown.problem == 'unrecognized configuration parameter "shared_buffers_typo"'
    assert not unknown.rows
    assert refused.problem == check_sql(chained).reason and refused.problem.startswith("refused: ")
