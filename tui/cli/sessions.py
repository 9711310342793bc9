"""`oncall sessions`: the incident sessions in the store, newest change first, one line each."""

from __future__ import annotations

import argparse

from probes.format import clean
from tui.config.paths import default_store
from tui.config.settings import Settings
from tui.sessions.store import SessionStore


def open_store(settings: Settings, demo: bool) -> SessionStore:
    """The store the settings name (else the real or the demo's default), read-only."""
    return SessionStore.open(settings.store or default_store(demo), read_only=True)


def cmd_sessions(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings, args.demo)
    try:
        sessions = store.sessions()
    finally:
        store.close()
    if not sessions:
        print("no incident sessions yet")
    for s in sessions:
        state = f"resolved {s.resolved_at:%Y-%m-%d %H:%MZ}" if s.resolved_at else "active"
        done = sum(1 for r in s.steps.values() if r.state != "pending")
        print(
            f"{s.id:>4}  {clean(s.alertname):<28} fired {s.active_at:%Y-%m-%d %H:%MZ}  {state:<24} "
            f"{done} steps ticked  driven by {clean(s.driver)}"
        )
    return 0
