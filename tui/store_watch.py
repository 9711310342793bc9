"""The session store, watched by the app: the observer follows the driver's latest session, a driver sees
another driver's changes to the session it has open, and both see what the store says of itself (changes
not yet shared, read-only). The wait is the store's own `wait_change`, in a thread: PostgreSQL wakes it by
NOTIFY, a SQLite file by the file system's event for its -wal file (inotify; nothing polls), then PRAGMA
data_version; where inotify is missing, by a short sleep and data_version."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING

from probes.format import clean
from tui.sessions.store import IncidentSession, StoreError
from tui.widgets.render import who_from

if TYPE_CHECKING:
    from screens.checklist import ChecklistScreen
    from tui.app import OncallApp
    from tui.sessions.backend import Store

# SQLite: wait_change returns at the file's event (inotify), so this only bounds how long a thread blocks
# (quitting, a store replaced under the observer); without inotify it sleeps this long between looks at
# data_version, and a change shows within ~0.3 s
FILE_WAIT = 0.25
# PostgreSQL: wait_change returns at the NOTIFY; this only bounds how long a thread blocks (quitting, the
# "not yet shared" count and the store's notice are looked at this often)
PUSH_WAIT = 0.5


class StoreWatch:
    """One app's watch on its session store: `follow()` for an observer, `drive()` for a driver."""

    def __init__(self, app: OncallApp) -> None:
        self.app = app
        self._showed_followed = False
        self._said: str | None = None  # the store's notice last said in a toast

    @property
    def wait(self) -> float:
        return PUSH_WAIT if self.app.store_url is not None else FILE_WAIT

    async def _wait_change(self, store: Store, timeout: float) -> int:
        """The store's change counter, after waiting up to `timeout` for another writer's commit."""
        return await asyncio.to_thread(store.wait_change, timeout)

    # -- observer ------------------------------------------------------------------------------

    async def follow(self) -> None:
        """Observer: reload when another process commits (NOTIFY, or PRAGMA data_version on a file); a store
        file deleted or replaced under it is said so on screen, and the file now at the path is followed."""
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
                version = None  # a new connection counts its changes from its own start
                if app.store is not None and app.store_notice is not None:
                    app.store_notice = None
                    app.notify(
                        f"following the session store now at {app.store_path}",
                        title="Session store reopened",
                        timeout=10,
                    )
            store = app.store
            if store is None:
                await asyncio.sleep(self.wait)
            else:
                try:
                    # the first look is at once: the followed session shows without a wait
                    current = await self._wait_change(store, 0 if version is None else self.wait)
                    if current != version:
                        version = current
                        await self._reload_followed()
                except StoreError as error:
                    app.store_error = str(error)
                    await asyncio.sleep(self.wait)  # a store that fails at once must not spin the loop
                await self._marks(store)
            if app.store_error != shown_error:
                shown_error = app.store_error  # say it once, not at every wait
                if shown_error:
                    app.notify(shown_error, title="Nothing to follow yet", severity="warning", timeout=15)

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
        """Driver: another driver's change to the session a checklist shows reaches it within half a second
        (its checklist redraws on sessions_changed), and who made it is kept for the header's warning."""
        app = self.app
        version: int | None = None
        shown: int | None = None
        while True:
            store = app.store
            if store is None:
                await asyncio.sleep(self.wait)
                continue
            if not self._checklists():
                # no checklist open: nothing to keep current, so no wait on the store's changes, unless
                # changes are queued (waiting on the store is what retries the server and replays them).
                # The store's version is read first, before a checklist can open and load its session: a
                # change another driver commits between that load and the watch's first look at the
                # checklist is then a change, and reloaded (read at the first look, it never showed)
                shown, app.co_driver = None, None
                version = await self._version(store)
                if app.unshared:
                    await self._replay(store)
                else:
                    await asyncio.sleep(self.wait)
            else:
                opened = self._session_id()
                try:
                    timeout = self.wait if version is not None and opened == shown else 0
                    current: int | None = await self._wait_change(store, timeout)
                except StoreError:
                    current = version
                    await asyncio.sleep(self.wait)
                session_id = self._session_id()  # the checklist shown now, after the wait
                if current != version or session_id != shown:
                    changed = version is not None and current != version
                    version, shown = current, session_id
                    app.co_driver = await self._co_driver(session_id)  # before the redraws the reload makes
                    if changed:
                        shown = await self._reload_driven()
            await self._marks(store)

    async def _version(self, store: Store) -> int | None:
        """The store's change counter now (None when it can't be read: the next look is then the first)."""
        try:
            return await self._wait_change(store, 0)
        except StoreError:
            return None

    async def _replay(self, store: Store) -> None:
        """Wait on the store though no checklist shows it: that is what retries an unreachable server and
        replays the changes queued meanwhile."""
        try:
            await self._wait_change(store, self.wait)
        except StoreError:
            await asyncio.sleep(self.wait)

    def _checklists(self) -> list[ChecklistScreen]:
        """The checklists of alerts open on the screen stack, topmost first (not practice, not following)."""
        from screens.checklist import ChecklistScreen

        return [
            screen
            for screen in reversed(self.app.screen_stack)
            if isinstance(screen, ChecklistScreen) and not screen.practice and not screen.follow
        ]

    def _session_id(self) -> int | None:
        checklists = self._checklists()
        session = checklists[0].session if checklists else None
        return session.id if session else None

    async def _reload_driven(self) -> int | None:
        """Each open checklist's session as committed now (a checklist with none yet gets its alert's, if
        another driver started it); the id of the topmost one's session, as shown from now on."""
        app = self.app
        store = app.store
        if store is None:
            return None
        top: int | None = None
        for position, checklist in enumerate(self._checklists()):
            shown, alert = checklist.session, checklist.alert
            fresh: IncidentSession | None
            try:
                if shown is not None:
                    fresh = await asyncio.to_thread(store.get, shown.id)
                elif alert is not None and alert.active_at is not None:
                    fresh = await asyncio.to_thread(store.find, alert.fingerprint, alert.active_at)
                else:
                    continue
            except StoreError:
                continue
            if position == 0:
                top = fresh.id if fresh is not None else None
                if shown is None and fresh is not None:  # the warning shows with the session, not later
                    app.co_driver = await self._co_driver(fresh.id)
            if fresh is not None and fresh != shown:
                app.sessions_changed.publish(fresh)
        return top

    async def _co_driver(self, session_id: int | None) -> tuple[str, datetime] | None:
        """The latest change to the session by someone other than this app's user (or by its user on another
        machine): who and from where, and when."""
        app = self.app
        if session_id is None or app.store is None:
            return None
        try:
            timeline = await asyncio.to_thread(app.store.timeline, session_id)
        except StoreError:
            return None
        here = getattr(app.store, "host", "")  # this machine, as the store writes it in each change
        others = [
            entry
            for entry in timeline
            if entry.who and (entry.who != app.user or (here and entry.host and entry.host != here))
        ]
        return (who_from(others[-1].who, others[-1].host), others[-1].at) if others else None

    # -- what the store says of itself: changes not yet shared, read-only, unreachable ----------------

    async def _marks(self, store: Store) -> None:
        """The header's "⏳ N not yet shared" and the store's notice, kept current at the watch's pace; a new
        notice is said once in a toast, and the queue emptying once too."""
        app = self.app
        try:
            unshared = await asyncio.to_thread(store.unshared)
        except StoreError:
            unshared = app.unshared
        notice = store.notice
        status = header_status(notice, read_only=store.read_only and not app.observer)
        if unshared == app.unshared and status == app.store_status and notice == self._said:
            return
        if app.unshared and not unshared:
            app.notify("every queued change is in the shared session store now", title="Changes shared")
        app.unshared, app.store_status = unshared, status
        if notice and notice != self._said:
            app.notify(clean(notice), title="Session store", severity="warning", timeout=15, markup=False)
        self._said = notice
        app.now = app.clock()  # the header says so now


STATUS_WIDTH = 40  # the header keeps a store's notice this short; the toast has it in full


def header_status(notice: str | None, *, read_only: bool) -> str | None:
    """The store's notice in a few words for the header: a driver's store that is read-only, a shared
    store that can't be reached (its notice names the URL and the queue file: too long for one line)."""
    if not notice:
        return None
    if read_only:
        return "session store read-only"
    if "can't be reached" in notice:
        return "shared store unreachable"
    notice = clean(notice)
    return notice if len(notice) <= STATUS_WIDTH else notice[: STATUS_WIDTH - 1] + "…"
