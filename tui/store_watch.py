"""The session store, watched by the app: the observer follows the driver's latest session, and a driver sees
another driver's changes to the session it has open (PRAGMA data_version, polled; reloads only on change)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING

from tui.sessions.store import IncidentSession, StoreError

if TYPE_CHECKING:
    from screens.checklist import ChecklistScreen
    from tui.app import OncallApp

OBSERVER_POLL = 0.25  # seconds between data_version checks: changes show well within 1 s


class StoreWatch:
    """One app's watch on its session store: `follow()` for an observer, `drive()` for a driver."""

    def __init__(self, app: OncallApp) -> None:
        self.app = app
        self._showed_followed = False

    # -- observer ------------------------------------------------------------------------------

    async def follow(self) -> None:
        """Observer: reload when another process commits (PRAGMA data_version), within a second; a store
        deleted or replaced under it is said so on screen, and the file now at the path is followed."""
        app = self.app
        version: int | None = None
        shown_error: str | None = None
        while True:
            if app.store is not None:
                moved = await asyncio.to_thread(app.store.moved)
                if moved is not None:
                    await self._lost_store(moved)
            if app.store is None:
                await asyncio.to_thread(app.reopen_store)
                version = None  # a new connection counts data_version from its own start
                if app.store is not None and app.store_notice is not None:
                    app.store_notice = None
                    app.notify(
                        f"following the session store now at {app.store_path}",
                        title="Session store reopened",
                        timeout=10,
                    )
            if app.store is not None:
                try:
                    current = await asyncio.to_thread(app.store.wait_change, 0)
                    if current != version:
                        version = current
                        await self._reload_followed()
                except StoreError as error:
                    app.store_error = str(error)
            if app.store_error != shown_error:
                shown_error = app.store_error  # say it once, not every 0.25 s
                if shown_error:
                    app.notify(shown_error, title="Nothing to follow yet", severity="warning", timeout=15)
            await asyncio.sleep(OBSERVER_POLL)

    async def _lost_store(self, moved: str) -> None:
        """The store was deleted or replaced: its sessions are no longer live, so stop showing them."""
        app = self.app
        assert app.store is not None
        store, app.store = app.store, None
        await asyncio.to_thread(store.close)
        waiting = "reopening it" if moved == "replaced" else "waiting for a new one"
        app.store_notice = f"session store {app.store_path} was {moved}: {waiting}"
        app.followed = None
        app.sessions_changed.publish(None)
        app.notify(app.store_notice, title=f"Session store {moved}", severity="warning", timeout=15)

    async def _reload_followed(self) -> None:
        app = self.app
        assert app.store is not None
        session: IncidentSession | None
        try:
            if app.follow is not None:
                session = await asyncio.to_thread(app.store.get, int(app.follow))
            else:
                session = await asyncio.to_thread(app.store.latest_active)
            app.store_error = None
        except StoreError as error:
            app.store_error = str(error)
            session = None
        app.followed = session
        app.sessions_changed.publish(session)
        if session is not None and not self._showed_followed:
            # The observer lands on the driver's checklist once; after esc it stays where the user goes.
            from screens.checklist import checklist_screen

            self._showed_followed = True
            app.push_screen(checklist_screen(True, follow=True))

    # -- driver --------------------------------------------------------------------------------

    async def drive(self) -> None:
        """Driver: another process's change to the session a checklist shows reaches it within a second (its
        checklist redraws on sessions_changed), and who made it is kept for the header's warning."""
        app = self.app
        version: int | None = None
        shown: int | None = None
        while True:
            store = app.store
            if not self._checklists():
                # no checklist open: nothing to keep current, so no thread hop to the store every 250 ms
                version, shown, app.co_driver = None, None, None
            elif store is not None:
                session = self._open_session()
                session_id = session.id if session else None
                try:
                    current: int | None = await asyncio.to_thread(store.wait_change, 0)
                except StoreError:
                    current = version
                if current != version or session_id != shown:
                    changed = version is not None and current != version
                    version, shown = current, session_id
                    app.co_driver = await self._co_driver(session_id)  # before the redraws the reload makes
                    if changed:
                        await self._reload_driven()
            await asyncio.sleep(OBSERVER_POLL)

    def _checklists(self) -> list[ChecklistScreen]:
        """The checklists of alerts open on the screen stack, topmost first (not practice, not following)."""
        from screens.checklist import ChecklistScreen

        return [
            screen
            for screen in reversed(self.app.screen_stack)
            if isinstance(screen, ChecklistScreen) and not screen.practice and not screen.follow
        ]

    def _open_session(self) -> IncidentSession | None:
        checklists = self._checklists()
        return checklists[0].session if checklists else None

    async def _reload_driven(self) -> None:
        """Each open checklist's session as committed now; a checklist with none yet looks for one."""
        app = self.app
        if app.store is None:
            return
        for checklist in self._checklists():
            shown = checklist.session
            if shown is None:
                app.sessions_changed.publish(None)  # the checklist looks its alert's session up again
                continue
            try:
                fresh = await asyncio.to_thread(app.store.get, shown.id)
            except StoreError:
                continue
            if fresh != shown:
                app.sessions_changed.publish(fresh)

    async def _co_driver(self, session_id: int | None) -> tuple[str, datetime] | None:
        """The latest change to the session by someone other than this app's user: who, and when."""
        app = self.app
        if session_id is None or app.store is None:
            return None
        try:
            timeline = await asyncio.to_thread(app.store.timeline, session_id)
        except StoreError:
            return None
        others = [entry for entry in timeline if entry.who and entry.who != app.user]
        return (others[-1].who, others[-1].at) if others else None
