"""`oncall sessions` and `oncall export` on a store written the way the app writes it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.helpers import oncall
from tui.sessions.store import SessionStore

FIRED = datetime(2026, 11, 27, 2, 46, tzinfo=UTC)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "sessions.db"
    store = SessionStore.open(path)
    try:
        session = store.open_session(
            fingerprint="abc123",
            alertname="HighDatabaseConnections",
            active_at=FIRED,
            section_slug="high-database-connections",
            summary="connections at 87%",
            labels=(("alertname", "HighDatabaseConnections"), ("severity", "critical")),
            who="alice@bastion",
        )
        store.set_step(session.id, 0, "done", "alice@bastion")
        store.set_step(session.id, 1, "skipped", "alice@bastion")
        store.add_note(session.id, "412 of 500 used by api", "alice@bastion", step_index=0)
    finally:
        store.close()
    return path


def test_sessions_lists_the_session_with_its_driver(store_path, isolated_env):
    result = oncall("sessions", "--store", str(store_path), env=isolated_env)
    assert result.returncode == 0, result.stderr
    assert "HighDatabaseConnections" in result.stdout
    assert "2 steps ticked" in result.stdout and "alice@bastion" in result.stdout


def test_export_prints_the_timeline_with_each_steps_state_and_the_runbook_text(store_path, isolated_env):
    result = oncall("export", "latest", "--store", str(store_path), env=isolated_env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("# HighDatabaseConnections")
    assert "Check current connections" in out  # the step text comes from the runbook
    assert "✓ done" in out and "– skipped" in out and "☐ pending" in out
    assert "412 of 500 used by api" in out
    assert "Kill idle-in-transaction sessions if safe" in out  # the section's resolution


def test_export_to_a_file(store_path, isolated_env, tmp_path):
    target = tmp_path / "timeline.md"
    result = oncall("export", "1", "-o", str(target), "--store", str(store_path), env=isolated_env)
    assert result.returncode == 0, result.stderr
    assert "HighDatabaseConnections" in target.read_text()


def test_export_of_a_missing_session_says_so(store_path, isolated_env):
    result = oncall("export", "99", "--store", str(store_path), env=isolated_env)
    assert result.returncode == 1
    assert "99" in result.stderr and "Traceback" not in result.stderr


def test_export_without_a_store_says_how_to_get_one(tmp_path, isolated_env):
    result = oncall("export", "latest", "--store", str(tmp_path / "none.db"), env=isolated_env)
    assert result.returncode == 1
    assert "none.db" in result.stderr and "Traceback" not in result.stderr
