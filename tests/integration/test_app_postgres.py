"""The PostgreSQL tab against the lab's real server and its real conditions: what an SRE sees."""

from __future__ import annotations

import pytest

from probes.postgres import PostgresProbe
from tests.helpers import make_app, screen_text, wait_for
from tui.config.settings import PostgresSettings
from tui.widgets.postgres_panel import PostgresPanel

pytestmark = pytest.mark.integration


def _probe(lab, role: str = "oncall_monitor", database: str | None = None) -> PostgresProbe:
    dsn = lab.dsn(role) if database is None else lab.dsn(role, database)
    return PostgresProbe(PostgresSettings(dsn=dsn, refresh=0.5), idle_in_transaction_seconds=1.0)


async def test_the_tab_shows_pressure_blocking_idle_transactions_and_slow_queries(
    tmp_path, pg_server, pg_conditions
):
    app = make_app(tmp_path, demo=False, postgres=_probe(pg_server))
    async with app.run_test(size=(160, 60)) as pilot:
        await wait_for(
            lambda: app.pg_snapshot is not None and app.pg_snapshot.pressure is not None,
            timeout=15,
            what="the first PostgreSQL read",
        )
        app.screen.query_one("#sources").active = "tab-postgresql"
        await pilot.press("z")
        await pilot.pause()
        text = screen_text(app)
        assert "connections " in text and "max_connections 100" in text
        assert "inmidst-api" in text  # counts by application
        panel = app.screen.query_one(PostgresPanel)
        sessions = panel.sessions.view
        assert sessions[0].pid == pg_conditions.waiter_pid  # blocked sessions first
        assert sessions[0].blocked_by == (pg_conditions.lock_holder_pid,)
        blocked_row = panel.sessions.render_line(1).text
        assert str(pg_conditions.lock_holder_pid) in blocked_row
        assert f"pid {pg_conditions.idle_in_transaction_pid}" in text  # idle in transaction past 1 s
        assert any(s.pid == pg_conditions.slow_pid and "pg_sleep" in s.query for s in sessions)
        assert "oncall" not in {s.application for s in sessions}  # its own session is hidden
        assert app.healths["postgresql"].state == "ok"


async def test_a_role_without_pg_monitor_sees_a_clear_warning(tmp_path, pg_server, pg_conditions):
    app = make_app(tmp_path, demo=False, postgres=_probe(pg_server, "oncall_plain"))
    async with app.run_test(size=(160, 60)):
        await wait_for(
            lambda: app.pg_snapshot is not None and app.pg_snapshot.pressure is not None,
            timeout=15,
            what="the first PostgreSQL read",
        )
        text = screen_text(app)
        assert "GRANT pg_monitor" in text
        assert "<insufficient privilege>" in text
