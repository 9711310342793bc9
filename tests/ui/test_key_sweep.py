"""Every key every screen binds, and the usual stray keys, pressed on the demo and with every source down.

The keys come from each screen's active bindings (its own, its focused widget's, the app's), so a key added
later is swept without touching this file. Keys that leave the app (quit, suspend) are only checked to be
bound. A case is one screen in one mode and world; a failure names the key that broke it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.command import CommandPalette
from textual.keys import REPLACED_KEYS, _get_unicode_name_from_key
from textual.screen import Screen
from textual.widgets import OptionList, TabbedContent

from probes.alertmanager import AlertmanagerProbe, AlertmanagerSettings
from probes.postgres import PostgresProbe
from probes.redis import RedisProbe
from screens.checklist import ChecklistScreen, DriverChecklistScreen, checklist_screen
from screens.dashboard import DashboardScreen
from screens.help import HelpScreen
from screens.logs import LogsScreen
from screens.modals import NoteScreen, PickScreen, TextScreen
from screens.pod_detail import PodDetailScreen
from screens.runbook_browser import RunbookBrowserScreen
from tests.helpers import FixedClock, make_app, mounted, settle, wait_for
from tests.labs import free_port
from tui.app import OncallApp
from tui.config.settings import PostgresSettings, RedisSettings
from tui.demo.kubernetes import DemoKubernetes
from tui.sessions.store import SessionStore
from tui.widgets.alerts import AlertsTable
from tui.widgets.virtual_table import VirtualTable

STRAY_KEYS = ("tab", "shift+tab", "escape", "enter", "up", "down", "left", "right", "slash", "colon")
STRAY_KEYS += ("question_mark",)
LEAVING = {"quit", "app.quit", "suspend_process", "app.suspend_process"}  # bound, never pressed here
TABS = 7
SIZE = (160, 48)

Reach = Callable[[OncallApp, Any], Awaitable[Screen]]


# -- worlds: the demo, and every source configured but down ------------------------------------------


def _down_kubeconfig(path: Path) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "down", "cluster": {"server": f"http://127.0.0.1:{free_port()}"}}],
        "users": [{"name": "down", "user": {"token": "t"}}],
        "contexts": [{"name": "down", "context": {"cluster": "down", "user": "down", "namespace": "prod"}}],
        "current-context": "down",
    }
    path.write_text(json.dumps(config))
    return path


def _app(world: str, tmp_path: Path, observe: str | None) -> OncallApp:
    clock = FixedClock()
    if world == "demo":
        app = make_app(tmp_path, observe=observe, clock=clock)
        # the demo's Alertmanager: `m` is swept on the alerts, a silenced one among them
        app._init_alertmanager(None, True)
        return app
    if world == "no-runbook":  # the demo's alerts, but the runbook file is gone
        return make_app(tmp_path, observe=observe, clock=clock, runbook=tmp_path / "missing" / "RUNBOOK.md")
    port = free_port()
    app = make_app(
        tmp_path,
        demo=False,
        observe=observe,
        clock=clock,
        prometheus_url=f"http://127.0.0.1:{free_port()}/",
        timeout=0.5,
        kubeconfig=_down_kubeconfig(tmp_path / "kubeconfig"),
        postgres=PostgresProbe(
            PostgresSettings(dsn=f"host=127.0.0.1 port={port} dbname=x user=x", connect_timeout=0.5),
            clock=clock,
        ),
        redis=RedisProbe(RedisSettings(url=f"redis://127.0.0.1:{free_port()}/0", connect_timeout=0.5)),
    )
    # Alertmanager down too: `m` (the amtool command) is bound, and swept, with nothing to read
    alertmanager = AlertmanagerSettings(url=f"http://127.0.0.1:{free_port()}/", timeout=0.5)
    app.settings = replace(app.settings, alertmanager=alertmanager)
    app.alertmanager = AlertmanagerProbe(alertmanager, clock=clock)
    return app


def _stored_session(tmp_path: Path) -> None:
    """A session a driver opened earlier, for the observer to follow."""
    store = SessionStore.open(tmp_path / "sessions.db")
    try:
        store.open_session(
            fingerprint="sweep",
            alertname="HighDatabaseConnections",
            active_at=datetime(2026, 11, 27, 2, 50, tzinfo=UTC),
            section_slug="high-database-connections",
            summary="too many connections",
            labels=(("alertname", "HighDatabaseConnections"),),
            who="alice@bastion",
        )
    finally:
        store.close()


# -- how to reach each screen from the dashboard ---------------------------------------------------


async def _dashboard(app: OncallApp, pilot: Any) -> DashboardScreen:
    await wait_for(lambda: isinstance(app.screen, DashboardScreen | ChecklistScreen), what="the dashboard")
    if _follows(app) and not getattr(app, "sweep_followed", False):
        # the observer lands on the driver's checklist once: come back from it
        await _followed(app, pilot)
        app.pop_screen()
        await pilot.pause()
    screen = app.screen
    assert isinstance(screen, DashboardScreen)
    if not app.demo:  # the sweep runs once every source has failed, not while they are connecting
        await wait_for(lambda: all(h.state == "down" for h in app.healths.values()), what="all sources down")
        await wait_for(
            lambda: app.am_snapshot is not None and app.am_snapshot.health.state == "down",
            what="Alertmanager down",
        )
        assert screen.active_bindings["m"].binding.action == "silence_command"  # swept with the others
    if app.demo:
        table = screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count > 0, what="the demo's alerts")
    return screen


def _follows(app: OncallApp) -> bool:
    """An observer with a driver's session to follow (every world with alerts stores one)."""
    return app.observer and app.demo


async def _followed(app: OncallApp, pilot: Any) -> Screen:
    if getattr(app, "sweep_followed", False):
        app.push_screen(checklist_screen(True, follow=True))  # as the app does on landing
    await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the followed checklist")
    app.sweep_followed = True  # type: ignore[attr-defined]
    return app.screen


Focus = Callable[
    [Screen], Awaitable[str | None]
]  # puts the focus somewhere; says where (None: no such place)
FOCUSABLE_PER_TAB = 4  # the most focusable widgets a source tab has (PostgreSQL: its three tables, +1)


def _on_tab(number: int, index: int = 0) -> Focus:
    """The `index`-th widget that can take the focus on source tab `number`."""

    async def focus(screen: Screen) -> str | None:
        await screen.action_tab(number)  # type: ignore[attr-defined]
        pane = screen.query_one(TabbedContent).active_pane
        assert pane is not None
        focusable = [w for w in pane.query("*") if w.can_focus and not w.disabled and w.display]
        if index >= len(focusable):
            return None if index else f"tab {number} ({pane.id}, nothing to focus)"
        focusable[index].focus()
        return f"tab {number} ({pane.id}, {focusable[index]!r})"

    return focus


async def _on_alerts(screen: Screen) -> str | None:
    screen.query_one(AlertsTable).focus()
    return "the alerts table"


def _tab(number: int) -> Reach:
    async def reach(app: OncallApp, pilot: Any) -> Screen:
        screen = await _dashboard(app, pilot)
        await _on_tab(number)(screen)
        await pilot.pause()
        return screen

    return reach


async def _alerts(app: OncallApp, pilot: Any) -> Screen:
    return await _dashboard(app, pilot)


async def _checklist(app: OncallApp, pilot: Any) -> Screen:
    await _dashboard(app, pilot)
    await pilot.press("enter")
    await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
    screen = app.screen
    if isinstance(screen, DriverChecklistScreen):  # the first change starts its session
        await wait_for(lambda: screen.section is None or bool(screen.plans), what="its steps")
    return screen


async def _press_for(app: OncallApp, pilot: Any, key: str, kind: type[Screen], what: str) -> Screen:
    """Press `key` and wait until the screen it opens is on top."""
    await pilot.press(key)
    await wait_for(lambda: isinstance(app.screen, kind), what=what)
    return app.screen


async def _browser(app: OncallApp, pilot: Any) -> Screen:
    await _dashboard(app, pilot)
    return await _press_for(app, pilot, "b", RunbookBrowserScreen, "the runbook browser")


async def _practice(app: OncallApp, pilot: Any) -> Screen:
    await _browser(app, pilot)
    return await _press_for(app, pilot, "enter", ChecklistScreen, "the practice checklist")


async def _pod_detail(app: OncallApp, pilot: Any) -> Screen:
    await _dashboard(app, pilot)
    if app.demo:
        await pilot.press("p")
        await wait_for(lambda: app.pods != (), what="the demo's pods")
        await pilot.press("d")
    else:
        # the pod was listed before the API server went down
        pod = DemoKubernetes(app.clock(), app.clock).start_pods().rows()[0]
        app.push_screen(PodDetailScreen(pod))
    await wait_for(lambda: isinstance(app.screen, PodDetailScreen), what="the pod detail")
    return app.screen


async def _logs(app: OncallApp, pilot: Any) -> Screen:
    await _pod_detail(app, pilot)
    return await _press_for(app, pilot, "l", LogsScreen, "the logs")


def _full_row(tab: int, table_id: str, what: str) -> Reach:
    async def reach(app: OncallApp, pilot: Any) -> Screen:
        screen = await _tab(tab)(app, pilot)
        table = screen.query_one(table_id, VirtualTable)
        table.focus()
        await wait_for(lambda: bool(table.view), what=what)
        await pilot.press("enter")
        await wait_for(lambda: mounted(app.screen, TextScreen), what=f"{what} in full")
        return app.screen

    return reach


async def _help(app: OncallApp, pilot: Any) -> Screen:
    await _dashboard(app, pilot)
    return await _press_for(app, pilot, "question_mark", HelpScreen, "the help")


async def _palette(app: OncallApp, pilot: Any) -> Screen:
    await _dashboard(app, pilot)
    return await _press_for(app, pilot, "ctrl+p", CommandPalette, "the command palette")


async def _note(app: OncallApp, pilot: Any) -> Screen:
    await _checklist(app, pilot)
    return await _press_for(app, pilot, "n", NoteScreen, "the note")


async def _pick(app: OncallApp, pilot: Any) -> Screen:
    await _browser(app, pilot)
    assert app.runbook is not None
    # a section that links to several others: `o` on its checklist asks which one to open
    links = [sum(len(c.links) for c in section.causes) for section in app.runbook.sections]
    app.screen.query_one(OptionList).highlighted = next(i for i, n in enumerate(links) if n > 1)
    await pilot.press("enter")
    await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the practice checklist")
    return await _press_for(app, pilot, "o", PickScreen, "the pick list")


DASHBOARD_FOCUS: list[Focus] = [
    _on_alerts,
    *(_on_tab(n, i) for n in range(1, TABS + 1) for i in range(FOCUSABLE_PER_TAB)),
]

# (world, mode, screen) -> how to reach it, and where to put the focus on it (None: where it lands)
CASES: dict[tuple[str, str, str], tuple[Reach, list[Focus] | None]] = {}
for _world in ("demo", "down"):
    CASES[(_world, "driver", "dashboard")] = (_alerts, DASHBOARD_FOCUS)
    CASES[(_world, "observer", "dashboard")] = (_alerts, [_on_alerts])
    CASES[(_world, "driver", "browser")] = (_browser, None)
    CASES[(_world, "practice", "checklist")] = (_practice, None)
    CASES[(_world, "driver", "pod-detail")] = (_pod_detail, None)
    CASES[(_world, "driver", "logs")] = (_logs, None)
    CASES[(_world, "driver", "help")] = (_help, None)
    CASES[(_world, "driver", "palette")] = (_palette, None)
CASES[("demo", "observer", "browser")] = (_browser, None)
CASES[("demo", "driver", "checklist")] = (_checklist, None)
CASES[("demo", "observer", "checklist")] = (_followed, None)
CASES[("demo", "observer", "checklist-from-alert")] = (_checklist, None)
CASES[("demo", "driver", "note")] = (_note, None)
CASES[("demo", "driver", "pick")] = (_pick, None)
for _mode in ("driver", "observer"):
    CASES[("no-runbook", _mode, "dashboard")] = (_alerts, [_on_alerts])
    CASES[("no-runbook", _mode, "checklist")] = (_checklist, None)
CASES[("no-runbook", "driver", "help")] = (_help, None)
CASES[("demo", "driver", "full-query")] = (_full_row(2, "#pg-sessions", "the sessions"), None)
CASES[("demo", "driver", "slow-log-entry")] = (_full_row(4, "#slowlog-table", "the slow log"), None)


# -- the sweep -------------------------------------------------------------------------------------


def keys_to_press(screen: Screen, swept: set[tuple[str, str, str, bool]]) -> list[str]:
    """The keys bound where the user is (focused widget, screen, app) and the stray keys, quits left out.

    A key whose binding (the same kind of widget, action, enabled) was already swept in this case is not
    pressed again: the three tables of the PostgreSQL tab run the same code.
    """
    keys = []
    for key, active in sorted(screen.active_bindings.items()):
        if active.binding.action in LEAVING:
            continue
        seen = (key, type(active.node).__name__, active.binding.action, active.enabled)
        if seen not in swept:
            swept.add(seen)
            keys.append(key)
    return keys + [k for k in STRAY_KEYS if k not in screen.active_bindings]


async def press(pilot: Any, key: str) -> None:
    """pilot.press without its wait for an idle process: the demo's pollers keep it busy for a second."""
    app = pilot.app
    try:
        char: str | None = unicodedata.lookup(_get_unicode_name_from_key(REPLACED_KEYS.get(key, key)))
    except KeyError:
        char = key if len(key) == 1 else None
    app._driver.send_message(events.Key(key, char))
    await settle(pilot.app)


def _broken(app: OncallApp) -> str | None:
    if app._exception is not None:
        return f"{type(app._exception).__name__}: {app._exception}"
    if not app.is_running:
        return "the app stopped"
    return None


async def _back_to(app: OncallApp, pilot: Any, target: Screen, reach: Reach) -> Screen:
    """Undo where the last key went: pop what it opened, or reach the screen again if it was left."""
    await settle(pilot.app)  # what the key opened is mounted before it is popped, as when a user presses esc
    if target in app.screen_stack:
        while app.screen is not target:
            _close(app)
            await settle(pilot.app)
        return target
    while len(app.screen_stack) > 2:
        _close(app)
        await settle(pilot.app)
    return await reach(app, pilot)


def _close(app: OncallApp) -> None:
    """Close the top screen; the command palette as esc does: popped under its running search, Textual's
    palette fails in that search (`KeyError: command-palette--help-text`), which no key of oncall does."""
    if isinstance(app.screen, CommandPalette):
        app.screen._action_escape()
    else:
        app.pop_screen()


@pytest.mark.parametrize(("world", "mode", "screen"), list(CASES), ids=["-".join(case) for case in CASES])
async def test_every_key_leaves_the_app_running(world, mode, screen, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.ERROR)  # e.g. asyncio's "Task exception was never retrieved"
    monkeypatch.chdir(tmp_path)  # `e` exports the timeline into the working directory
    observe = "latest" if mode == "observer" else None
    if observe and world != "down":
        _stored_session(tmp_path)
    reach, focuses = CASES[(world, mode, screen)]
    app = _app(world, tmp_path, observe)
    app.animation_level = "none"  # a scroll or tab switch is instant: the sweep waits for no animation
    swept: set[tuple[str, str, str, bool]] = set()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        target = await reach(app, pilot)
        for place in focuses or [None]:
            where = await place(target) if place else "where it lands"
            if where is None:
                continue
            await pilot.pause()
            focus = app.focused
            assert "nothing to focus" in where or focus is not None, f"{screen}: no focus on {where}"
            keys = keys_to_press(target, swept)
            for key in keys:
                await press(pilot, key)
                problem = _broken(app)
                assert problem is None, f"{world}/{mode}/{screen}, focus on {where}: key {key!r} → {problem}"
                target = await _back_to(app, pilot, target, reach)
                if app.focused is not focus:
                    if place:
                        await place(target)
                    elif focus is not None and focus.is_attached:
                        focus.focus()
                    await settle(pilot.app)
                    focus = app.focused
        await asyncio.sleep(0.05)  # a worker a key started may fail a moment later
        assert _broken(app) is None, f"{world}/{mode}/{screen}: after the sweep → {_broken(app)}"
    assert not caplog.records, f"{world}/{mode}/{screen}: logged {caplog.records[0].getMessage()}"


async def test_the_keys_that_leave_the_app_are_bound(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _dashboard(app, pilot)
        actions = {key: active.binding.action for key, active in screen.active_bindings.items()}
        assert actions.get("q") == "quit"
        assert actions.get("ctrl+q") == "quit"
        assert actions.get("ctrl+z") == "suspend_process"


WALK_KEYS = 150


@pytest.mark.parametrize(
    ("world", "mode", "seed"),
    [("demo", "driver", 1), ("demo", "observer", 2), ("down", "driver", 3), ("down", "observer", 4)],
)
async def test_a_fast_typists_random_walk_leaves_the_app_running(world, mode, seed, tmp_path, monkeypatch):
    """Keys typed ahead, never waiting for a screen to settle: the races the one-key sweep can't see
    (a write landing after esc, paging a palette still searching) show up here."""
    monkeypatch.chdir(tmp_path)
    observe = "latest" if mode == "observer" else None
    if observe and world != "down":
        _stored_session(tmp_path)
    app = _app(world, tmp_path, observe)
    app.animation_level = "none"
    rng = random.Random(seed)
    typed: list[str] = []
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _dashboard(app, pilot)
        for _ in range(WALK_KEYS):
            bound = [k for k, a in app.screen.active_bindings.items() if a.binding.action not in LEAVING]
            key = rng.choice(sorted(bound) + list(STRAY_KEYS))
            typed.append(f"{key}@{type(app.screen).__name__}")
            await press(pilot, key)
            assert _broken(app) is None, f"after {' '.join(typed[-15:])} → {_broken(app)}"
