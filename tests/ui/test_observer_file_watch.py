"""An observer on a SQLite session store shows a driver's tick when the store's file changes (inotify), not at
the next turn of a timer: each change reaches its checklist well within the old 0.25 s poll."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from screens.checklist import ChecklistScreen
from tests.helpers import make_app, wait_for
from tui.sessions.store import SessionStore

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")
CHANGES = 6
PAUSE = 0.4  # seconds between two ticks


def _open(store: SessionStore) -> int:
    return store.open_session(
        fingerprint="fp-HighDatabaseConnections",
        alertname="HighDatabaseConnections",
        active_at=datetime(2026, 11, 27, 3, tzinfo=UTC),
        section_slug="high-database-connections",
        summary="",
        labels=(),
        who="alice@bastion",
    ).id


async def test_an_observer_shows_a_drivers_commit_at_the_files_event(tmp_path: Path) -> None:
    db = tmp_path / "sessions.db"
    driver = SessionStore.open(db)  # another connection, as another oncall process has
    try:
        session_id = _open(driver)
        observer = make_app(tmp_path, demo=False, observe="latest", user="bob@laptop")
        async with observer.run_test(size=(160, 48)):
            await wait_for(
                lambda: isinstance(observer.screen, ChecklistScreen), what="the followed checklist"
            )
            followed = observer.screen
            assert isinstance(followed, ChecklistScreen)
            await wait_for(lambda: followed.session is not None, what="the session followed")
            store = observer.store
            assert isinstance(store, SessionStore) and store.watched
            events = store.file_events
            latencies = []
            for n in range(CHANGES):
                state = "done" if n % 2 == 0 else "pending"
                await asyncio.sleep(PAUSE)  # the observer back in its wait, as between a driver's ticks
                started = time.monotonic()
                driver.set_step(session_id, 0, state, "alice@bastion")
                await wait_for(
                    lambda s=state: followed.session is not None and followed.session.step_state(0) == s,
                    timeout=5,
                    what=f"the observer to show step 1 {state}",
                )
                latencies.append(time.monotonic() - started)
            print(f"\nobserver: {CHANGES} changes, median {statistics.median(latencies) * 1000:.0f} ms")
            # each wait ended at the -wal file's event, not at its timeout
            assert store.file_events - events >= CHANGES
            # generous on a busy machine; a 0.25 s poll would give ~0.15-0.3 s
            assert statistics.median(latencies) < 0.5
    finally:
        driver.close()
