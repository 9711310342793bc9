"""`oncall store copy SRC DST`: move sessions between a SQLite file and a shared PostgreSQL store."""

from __future__ import annotations

import argparse

from probes.format import clean
from tui.cli.output import err
from tui.config.settings import Settings
from tui.sessions.copy import copy_sessions, open_target, shown
from tui.sessions.store import StoreError


def cmd_store(args: argparse.Namespace, settings: Settings) -> int:
    if args.store_command != "copy":
        err(f"unknown store command {args.store_command!r}")
        return 2
    source_name, target_name = shown(args.source), shown(args.target)
    if args.source.strip() == args.target.strip():
        err(f"SRC and DST are the same store ({source_name}): nothing to copy")
        return 2
    try:
        source = open_target(args.source, read_only=True)
    except StoreError as error:
        err(f"can't read {source_name}: {error}")
        return 1
    try:
        try:
            target = open_target(args.target, read_only=False)
        except StoreError as error:
            err(f"can't write {target_name}: {error}")
            return 1
        try:
            copied = copy_sessions(source, target)
        except StoreError as error:
            err(str(error))
            return 1
        finally:
            target.close()
    finally:
        source.close()
    added = [c for c in copied if c.events]
    for c in added:
        print(f"copied {clean(c.alertname)} fired {c.active_at} ({c.events} events)")
    if not copied:
        print(f"no sessions in {source_name}: nothing to copy")
    elif not added:
        print(f"nothing to copy: {target_name} already has all {len(copied)} sessions of {source_name}")
    else:
        events = sum(c.events for c in added)
        print(f"copied {len(added)} of {len(copied)} sessions ({events} events)")
        print(f"  from {source_name}\n  to   {target_name}")
    return 0
