"""A psql or redis-cli aimed at another server is copy-only, in `runbook coverage` and in the app."""

from __future__ import annotations

import json
from pathlib import Path

from probes.postgres import PostgresProbe
from screens.checklist import ChecklistScreen
from tests.helpers import make_app, oncall, prometheus_json, screen_text, wait_for
from tui.config.settings import PostgresSettings
from tui.widgets.alerts import AlertsTable

REPO = Path(__file__).resolve().parents[2]
RUNBOOK = """\
# Runbook

## replica-lag

**Alert**: the replica lags.

**Triage**:
1. Check the replica's replay: `psql -h replica.internal -c "SELECT pg_last_xact_replay_timestamp()"`
2. Check the primary's sessions: `psql -h 127.0.0.1 -p 5432 -c "SELECT count(*) FROM pg_stat_activity"`
3. Check the cache's memory: `redis-cli -u redis://cache.internal:6379/0 INFO memory`
4. Check the sessions cache: `redis-cli -h localhost INFO memory`
5. Inside the database pod: `kubectl exec deploy/inmidst-postgres -- psql -h localhost -c "SELECT 1"`
"""


def _coverage(tmp_path: Path, env: dict[str, str], *flags: str) -> str:
    runbook = tmp_path / "RUNBOOK.md"
    runbook.write_text(RUNBOOK)
    result = oncall(
        "runbook",
        "coverage",
        str(runbook),
        "--postgres",
        "host=127.0.0.1 port=5432 dbname=inmidst user=oncall",
        "--redis",
        "redis://127.0.0.1:6379/0",
        *flags,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_coverage_shows_the_steps_aimed_at_other_servers_as_copy_only_with_the_reason(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    lines = _coverage(tmp_path, isolated_env).splitlines()

    assert lines[0] == "replica-lag: 3 live, 0 derived, 2 copy-only, 0 manual"
    assert lines[1] == (
        "  1. copy-only it reads the PostgreSQL server at replica.internal:5432, not the one oncall reads "
        "(127.0.0.1:5432); copy it and run it there"
    )
    assert lines[2] == "  2. live      postgresql sql"
    assert lines[3] == (
        "  3. copy-only it reads the Redis server at cache.internal:6379, not the one oncall reads "
        "(127.0.0.1:6379); copy it and run it there"
    )
    assert lines[4] == "  4. live      redis info"
    assert lines[5] == "  5. live      postgresql sql (translated)"


def test_coverage_json_gives_each_copy_only_command_its_reason(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    report = json.loads(_coverage(tmp_path, isolated_env, "--json"))

    steps = report["sections"][0]["steps"]
    assert [s["kind"] for s in steps] == ["copy-only", "live", "copy-only", "live", "live"]
    assert steps[0]["commands"][0]["kind"] == "unknown"
    assert "replica.internal:5432" in steps[0]["commands"][0]["reason"]


def test_the_seed_runbook_coverage_is_unchanged_with_servers_configured(isolated_env: dict[str, str]) -> None:
    seed = REPO / "examples" / "inmidst" / "RUNBOOK.md"
    result = oncall(
        "runbook",
        "coverage",
        str(seed),
        "--postgres",
        "host=127.0.0.1 port=5432 dbname=inmidst",
        "--redis",
        "redis://127.0.0.1:6379/0",
        env=isolated_env,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == [
        "steps: 37, with evidence 36 (29 live, 7 derived), 0 copy-only, 1 manual",
        "commands: 30, 26 live, 4 translated, 0 never run",
    ]


async def test_the_checklist_shows_a_step_aimed_at_another_server_as_copy_only_with_the_reason(
    tmp_path: Path,
) -> None:
    runbook = tmp_path / "RUNBOOK.md"
    runbook.write_text(RUNBOOK)
    alert = {"labels": {"alertname": "ReplicaLag"}, "state": "firing", "activeAt": "2026-11-27T02:46:00Z"}
    postgres = PostgresProbe(
        PostgresSettings(dsn="host=127.0.0.1 port=5432 dbname=inmidst connect_timeout=1")
    )
    app = make_app(
        tmp_path,
        demo=False,
        prometheus_url="http://prometheus.test",
        transport=prometheus_json([alert]),
        runbook=runbook,
        postgres=postgres,
    )
    async with app.run_test(size=(200, 60)) as pilot:
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count > 0, timeout=10, what="the alert")
        table.focus()
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
        await pilot.pause()
        text = screen_text(app)
    assert (
        "copy only: it reads the PostgreSQL server at replica.internal:5432, not the one oncall reads "
        "(127.0.0.1:5432)" in text
    )
    assert "psql -h 127.0.0.1 -p 5432" in text and "redis-cli -h localhost INFO memory" in text
