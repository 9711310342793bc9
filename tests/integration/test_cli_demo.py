"""The command line after a demo: `--demo` before or after the subcommand, the demo's snapshot and check, and
`sessions` / `export` pointing at the demo's own store when the real one has nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import oncall, wait_for
from tests.ui.test_checklist_evidence import _open
from tui.app import OncallApp
from tui.config.settings import KubernetesSettings, Settings

ALERTS = ("HighDatabaseConnections", "HighApiLatency", "SlowRedisOperations", "TargetDown")


@pytest.mark.parametrize("where", ["before", "after"])
def test_snapshot_of_the_demo_lists_its_alerts_with_their_runbook_sections(where, isolated_env):
    args = ("--demo", "snapshot") if where == "before" else ("snapshot", "--demo")

    result = oncall(*args, env=isolated_env)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == "DEMO: the built-in scripted incident (oncall --demo), not a real server"
    assert "3 firing, 1 pending" in lines[0]
    db = next(line for line in lines if "HighDatabaseConnections" in line)
    assert db.split()[:3] == ["firing", "critical", "HighDatabaseConnections"]
    assert "high-database-connections" in db and "PostgreSQL connections at 87% of max_connections" in db
    for name in ALERTS:
        assert name in result.stdout
    # the same numbers the demo's PostgreSQL tab shows
    assert "PostgreSQL at demo database: 87/100 connections (87%, 3 reserved)" in result.stdout
    # each alert's section and the cause its evidence supports best
    assert (
        "HighDatabaseConnections (#high-database-connections): likely cause: Connection leak — 6 sessions "
        "idle in transaction for more than 5 min, 6 from inmidst-api" in lines
    )
    target = next(line for line in lines if line.startswith("TargetDown (#target-down): "))
    assert target.endswith(
        "likely cause: Pod crashed but service still registered — target inmidst-worker at 10.4.5.3:3001 "
        "down: connection refused, nothing listens there"
    )


def test_snapshot_of_the_demo_as_markdown_and_json_says_it_is_the_demo(isolated_env):
    markdown = oncall("snapshot", "--markdown", "--demo", env=isolated_env)
    assert markdown.returncode == 0, markdown.stderr
    lines = markdown.stdout.splitlines()
    assert lines[1] == "**DEMO: the built-in scripted incident (oncall --demo), not a real server**"
    assert (
        "**HighDatabaseConnections** · since 14m · value 0.87 — PostgreSQL connections at 87% of "
        "max_connections — runbook: `high-database-connections`" in markdown.stdout
    )
    assert "\\" not in markdown.stdout  # no backslash escape to show up in Slack
    db_line = lines.index(next(line for line in lines if "**HighDatabaseConnections**" in line))
    assert lines[db_line + 1].startswith("  - likely cause: Connection leak — 6 sessions idle in transaction")

    document = json.loads(oncall("--demo", "snapshot", "--json", env=isolated_env).stdout)
    assert document["demo"] is True
    assert sorted(a["name"] for a in document["alerts"]) == sorted(ALERTS)
    db = next(a for a in document["alerts"] if a["name"] == "HighDatabaseConnections")
    assert db["runbook"]["slug"] == "high-database-connections"
    assert db["top_cause"] == {
        "cause": "Connection leak",
        "verdict": "supported",
        "reason": "6 sessions idle in transaction for more than 5 min, 6 from inmidst-api",
    }
    assert db["causes"][0]["cause"] == "Connection leak"
    assert {c["verdict"] for c in db["causes"]} <= {"supported", "not supported", "unknown"}
    long_running = next(
        c for c in db["causes"] if c["cause"] == "Long-running transactions holding connections"
    )
    assert long_running["verdict"] == "not supported"


@pytest.mark.parametrize("where", ["before", "after"])
def test_check_of_the_demo_says_every_source_is_the_demos_and_ok(where, isolated_env):
    args = ("--demo", "check") if where == "before" else ("check", "--demo")

    result = oncall(*args, env=isolated_env)

    assert result.returncode == 0, result.stderr
    states = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()}
    assert states == {"prometheus": "ok", "kubernetes": "ok", "postgresql": "ok", "redis": "ok"}
    assert "demo.prometheus.invalid" in result.stdout and "demo cluster" in result.stdout


def test_sessions_of_the_demo_before_any_demo_say_so(isolated_env):
    result = oncall("sessions", "--demo", env=isolated_env)

    assert result.returncode == 1
    assert "no demo sessions yet" in result.stderr and "oncall --demo" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
async def after_a_demo(isolated_env, tmp_path, monkeypatch) -> dict[str, str]:
    """The demo run as a user runs it (its default store, in the test's state dir), one step ticked."""
    monkeypatch.setenv("XDG_STATE_HOME", isolated_env["XDG_STATE_HOME"])
    settings = Settings(
        profile="test",
        kubernetes=KubernetesSettings(kubeconfig=tmp_path / "no-kubeconfig"),
        user="alice@bastion",
    )
    app = OncallApp(settings, demo=True, tick=False)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _open(app, pilot, "HighDatabaseConnections")
        await pilot.press("space")  # tick step 1: the session starts
        await wait_for(lambda: screen.session is not None, what="the demo session")
    assert (Path(isolated_env["XDG_STATE_HOME"]) / "oncall" / "demo.db").is_file()
    return isolated_env


async def test_after_a_demo_sessions_and_export_say_the_demo_keeps_its_own_store(after_a_demo):
    real = Path(after_a_demo["XDG_STATE_HOME"]) / "oncall" / "sessions.db"

    sessions = oncall("sessions", env=after_a_demo)
    assert sessions.returncode == 0, sessions.stderr
    assert sessions.stdout.strip() == (
        f"no sessions in {real}; the demo keeps its own store: oncall --demo sessions"
    )

    export = oncall("export", "latest", env=after_a_demo)
    assert export.returncode == 1
    assert export.stderr.strip() == (
        f"oncall: no sessions in {real}; the demo keeps its own store: oncall --demo export latest"
    )
    assert export.stdout == ""


async def test_an_empty_real_store_after_a_demo_gets_the_same_hint(after_a_demo):
    from tui.sessions.store import SessionStore

    real = Path(after_a_demo["XDG_STATE_HOME"]) / "oncall" / "sessions.db"
    SessionStore.open(real).close()  # the real app ran once and nothing was ticked: an empty store

    sessions = oncall("sessions", env=after_a_demo)
    export = oncall("export", "1", env=after_a_demo)

    assert sessions.stdout.strip().endswith("the demo keeps its own store: oncall --demo sessions")
    assert export.returncode == 1
    assert export.stderr.strip().endswith("the demo keeps its own store: oncall --demo export 1")


@pytest.mark.parametrize("where", ["before", "after"])
async def test_demo_sessions_and_a_demo_export_read_the_demo_store_and_say_demo(where, after_a_demo):
    def run(*args: str):
        return oncall(*(("--demo", *args) if where == "before" else (*args, "--demo")), env=after_a_demo)

    sessions = run("sessions")
    assert sessions.returncode == 0, sessions.stderr
    assert "HighDatabaseConnections" in sessions.stdout and "1 steps ticked" in sessions.stdout
    assert "alice@bastion" in sessions.stdout

    export = run("export", "latest")
    assert export.returncode == 0, export.stderr
    lines = export.stdout.splitlines()
    assert lines[0] == "# DEMO — HighDatabaseConnections — incident timeline"
    assert lines[2].startswith("> **DEMO**: a practice session on oncall's built-in scripted incident")
    assert "✓ done" in export.stdout


async def test_a_demo_store_named_with_store_exports_marked_demo(after_a_demo):
    store = Path(after_a_demo["XDG_STATE_HOME"]) / "oncall" / "demo.db"

    export = oncall("export", "latest", "--store", str(store), env=after_a_demo)

    assert export.returncode == 0, export.stderr
    assert export.stdout.startswith("# DEMO — HighDatabaseConnections")


def test_the_real_store_with_sessions_gets_no_demo_hint(tmp_path, isolated_env):
    from tests.integration.test_cli_sessions import FIRED
    from tui.sessions.store import SessionStore

    for name in ("sessions.db", "demo.db"):
        with SessionStore.open(Path(isolated_env["XDG_STATE_HOME"]) / "oncall" / name) as store:
            store.open_session(
                fingerprint=name,
                alertname=f"Alert{name.split('.')[0].title()}",
                active_at=FIRED,
                section_slug=None,
                summary="",
                labels=(),
                who="bob@bastion",
            )

    sessions = oncall("sessions", env=isolated_env)
    assert sessions.returncode == 0, sessions.stderr
    assert "AlertSessions" in sessions.stdout and "demo" not in sessions.stdout
    export = oncall("export", "latest", env=isolated_env)
    assert export.returncode == 0, export.stderr
    assert export.stdout.startswith("# AlertSessions — incident timeline")


@pytest.mark.parametrize("where", ["before", "after"])
def test_runbook_coverage_for_the_demo_counts_the_demos_servers_as_configured(where, tmp_path, isolated_env):
    runbook = tmp_path / "RUNBOOK.md"
    runbook.write_text("## redis-down\n\n**Triage**:\n1. Memory: `redis-cli -h inmidst-redis INFO memory`\n")
    args = ["runbook", "coverage", str(runbook)]
    args = ["--demo", *args] if where == "before" else [*args, "--demo"]

    plain = oncall("runbook", "coverage", str(runbook), env=isolated_env)
    demo = oncall(*args, env=isolated_env)

    assert plain.returncode == demo.returncode == 0, demo.stderr
    assert "redis-down: 0 live, 0 derived, 1 copy-only" in plain.stdout
    assert "redis-down: 1 live, 0 derived, 0 copy-only" in demo.stdout  # the demo's cache is inmidst-redis
