"""What oncall writes to disk is its user's alone: the session store, its -wal/-shm and directory, exports."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.helpers import make_app, oncall, screen_text, wait_for
from tests.ui.test_checklist import _open_first_checklist
from tui.sessions.store import SessionStore


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual login umask, under which a plain open() makes files -rw-r--r--."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> str:
    return stat.filemode(path.stat().st_mode)


def _one_session(store: SessionStore) -> None:
    store.open_session(
        fingerprint="fp",
        alertname="HighDatabaseConnections",
        active_at=datetime(2026, 11, 27, 3, tzinfo=UTC),
        section_slug=None,
        summary="",
        labels=(),
        who="alice@bastion",
    )


def test_a_new_store_its_wal_shm_and_directories_are_private_under_umask_022(tmp_path, umask_022) -> None:
    db = tmp_path / "state" / "oncall" / "sessions.db"
    with SessionStore.open(db) as store:
        _one_session(store)
        files = {p.name: mode(p) for p in db.parent.iterdir()}
    assert files == {
        "sessions.db": "-rw-------",
        "sessions.db-wal": "-rw-------",
        "sessions.db-shm": "-rw-------",
    }
    assert mode(db.parent) == "drwx------" and mode(db.parent.parent) == "drwx------"


def test_an_existing_store_directory_keeps_the_mode_its_owner_gave_it(tmp_path, umask_022) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o750)
    SessionStore.open(shared / "sessions.db").close()
    assert mode(shared) == "drwxr-x---"  # a team's bastion directory is not narrowed behind its back


async def test_the_export_key_writes_a_file_only_its_user_can_read(tmp_path, monkeypatch, umask_022) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _open_first_checklist(app, pilot)
        await pilot.press("space")  # the first tick starts the incident session
        await wait_for(lambda: "Session #" in screen_text(app), what="the session the tick started")
        await pilot.press("e")
        await wait_for(lambda: list(tmp_path.glob("oncall-session-*.md")), what="the export file")
    (exported,) = tmp_path.glob("oncall-session-*.md")
    assert mode(exported) == "-rw-------"
    assert mode(tmp_path / "sessions.db") == "-rw-------"


def test_oncall_export_to_a_file_writes_it_private_even_over_an_older_readable_one(
    tmp_path, isolated_env, umask_022
) -> None:
    store = tmp_path / "sessions.db"
    with SessionStore.open(store) as writer:
        _one_session(writer)
    fresh, older = tmp_path / "fresh.md", tmp_path / "older.md"
    older.write_text("an export from before\n")
    assert mode(older) == "-rw-r--r--"
    for target in (fresh, older):
        result = oncall("export", "latest", "-o", str(target), "--store", str(store), env=isolated_env)
        assert result.returncode == 0, result.stderr
        assert "HighDatabaseConnections" in target.read_text()
        assert mode(target) == "-rw-------"
