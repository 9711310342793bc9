"""An observer whose session store is deleted or replaced says so, stops showing it as live, and follows
the store that is at the path next."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from screens.checklist import ChecklistScreen
from tests.helpers import make_app, screen_text, wait_for
from tui.sessions.store import SessionStore


def _drive(path: Path, alertname: str, driver: str) -> None:
    """What a driver's oncall writes when it opens an alert's checklist: a real store, then closed."""
    with SessionStore.open(path) as store:
        store.open_session(
            fingerprint=f"fp-{alertname}",
            alertname=alertname,
            active_at=datetime(2026, 11, 27, 3, tzinfo=UTC),
            section_slug="high-database-connections",
            summary="",
            labels=(),
            who=driver,
        )


def _delete(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _toasts(app) -> str:
    return "\n".join(f"{n.title}: {n.message}" for n in app._notifications)


async def _following(app, alertname: str, driver: str) -> None:
    await wait_for(
        lambda: app.followed is not None and app.followed.alertname == alertname,
        timeout=3,
        what=f"the observer to follow {alertname}",
    )
    await wait_for(lambda: f"driven by {driver}" in screen_text(app), timeout=2, what=f"driven by {driver}")


async def test_a_deleted_store_is_said_on_screen_and_a_new_one_at_the_path_is_followed(tmp_path) -> None:
    db = tmp_path / "sessions.db"
    _drive(db, "HighDatabaseConnections", "alice@bastion")
    observer = make_app(tmp_path, demo=False, observe="latest", user="bob@laptop")
    async with observer.run_test(size=(160, 48)):
        await _following(observer, "HighDatabaseConnections", "alice@bastion")
        await wait_for(lambda: isinstance(observer.screen, ChecklistScreen), what="the followed checklist")

        _delete(db)
        await wait_for(
            lambda: "was deleted: waiting for a new one" in screen_text(observer),
            timeout=2,
            what="the warning",
        )
        # the header says it at once; the checklist redraws on the same signal, a moment later
        await wait_for(
            lambda: "No incident session to follow yet" in screen_text(observer),
            timeout=2,
            what="the checklist emptied",
        )
        assert "driven by alice@bastion" not in screen_text(observer)  # the old session is not live
        await wait_for(
            lambda: f"Session store deleted: session store {db} was deleted" in _toasts(observer),
            timeout=2,
            what="the toast",
        )

        _drive(db, "RedisDown", "carol@bastion")
        await _following(observer, "RedisDown", "carol@bastion")
        assert "was deleted" not in screen_text(observer)
        await wait_for(
            lambda: f"following the session store now at {db}" in _toasts(observer),
            timeout=2,
            what="the toast",
        )


async def test_a_store_replaced_by_another_file_is_reopened(tmp_path) -> None:
    db = tmp_path / "sessions.db"
    _drive(db, "HighDatabaseConnections", "alice@bastion")
    observer = make_app(tmp_path, demo=False, observe="latest", user="bob@laptop")
    async with observer.run_test(size=(160, 48)):
        await _following(observer, "HighDatabaseConnections", "alice@bastion")

        restored = tmp_path / "restored.db"
        _drive(restored, "RedisDown", "dave@bastion")
        os.replace(restored, db)  # a restore from backup, or a new store moved into place
        await _following(observer, "RedisDown", "dave@bastion")
        await wait_for(
            lambda: (
                f"Session store replaced: session store {db} was replaced: reopening it" in _toasts(observer)
            ),
            timeout=2,
            what="the toast",
        )
