"""`oncall sessions`: the incident sessions in the store, newest change first, one line each."""

from __future__ import annotations

import argparse
from pathlib import Path

from probes.format import clean
from tui.cli.output import err
from tui.config.paths import default_store
from tui.config.settings import Settings
from tui.demo.scenario import ANCHOR_KEY
from tui.sessions.backend import Store
from tui.sessions.backend import open_store as open_backend
from tui.sessions.store import SessionStore, StoreError


def store_path(settings: Settings, demo: bool) -> Path:
    """The store the settings name, else the real one, or the demo's own with --demo."""
    return settings.store.path or default_store(demo)


def open_store(settings: Settings, demo: bool) -> Store:
    """The store the settings name (a postgresql:// URL, else a path, else the real or the demo's default),
    read-only."""
    url = settings.store.url.reveal() if settings.store.url is not None else None
    path = store_path(settings, demo)
    if url is None and demo and settings.store.path is None and not path.exists():
        raise StoreError(f"no demo sessions yet: {path} is written by oncall --demo")
    return open_backend(path, url, read_only=True)


def is_demo_store(store: Store) -> bool:
    """Whether the demo wrote this store: it keeps its incident's start there."""
    try:
        return store.get_meta(ANCHOR_KEY) is not None
    except StoreError:
        return False


def demo_hint(settings: Settings, demo: bool, command: str) -> str | None:
    """When the real default store has no session but the demo's has some: where they are, in one line."""
    path = store_path(settings, demo)
    if demo or settings.store.url is not None or path != default_store(demo=False):
        return None
    try:
        with SessionStore.open(path, read_only=True) as store:
            if store.sessions(limit=1):
                return None
    except StoreError:
        pass  # no real store at all: the demo's may still have sessions
    try:
        with SessionStore.open(default_store(demo=True), read_only=True) as store:
            if not store.sessions(limit=1):
                return None
    except StoreError:
        return None
    return f"no sessions in {path}; the demo keeps its own store: oncall --demo {command}"


def cmd_sessions(args: argparse.Namespace, settings: Settings) -> int:
    hint = demo_hint(settings, args.demo, "sessions")
    if hint is not None:
        print(hint)
        return 0
    try:
        store = open_store(settings, args.demo)
    except StoreError as error:
        err(str(error))
        return 1
    try:
        sessions = store.sessions()
    except StoreError as error:
        err(str(error))
        return 1
    finally:
        store.close()
    if not sessions:
        print(f"no incident sessions yet in {store.location}")
    for s in sessions:
        state = f"resolved {s.resolved_at:%Y-%m-%d %H:%MZ}" if s.resolved_at else "active"
        done = sum(1 for r in s.steps.values() if r.state != "pending")
        print(
            f"{s.id:>4}  {clean(s.alertname):<28} fired {s.active_at:%Y-%m-%d %H:%MZ}  {state:<24} "
            f"{done} steps ticked  driven by {clean(s.driver)}"
        )
    return 0
