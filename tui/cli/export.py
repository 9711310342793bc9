"""`oncall export`: one session's timeline as Markdown, on stdout or into a private file."""

from __future__ import annotations

import argparse
import sys

from tui.cli.args import runbook_for
from tui.cli.output import err
from tui.cli.sessions import demo_hint, is_demo_store, open_store
from tui.config.settings import Settings
from tui.sessions.export import export_markdown, write_export
from tui.sessions.store import StoreError
from tui.triage.runbook import RunbookError


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    hint = demo_hint(settings, args.demo, f"export {args.session}")
    if hint is not None:
        err(hint)
        return 1
    try:
        store = open_store(settings, args.demo)
    except StoreError as error:
        err(str(error))
        return 1
    try:
        demo = args.demo or is_demo_store(store)  # a demo store named with --store is the demo's too
        if args.session == "latest":
            sessions = store.sessions(limit=1)
            if not sessions:
                err(f"no incident sessions yet in {store.location}")
                return 1
            session = sessions[0]
        elif args.session.isdigit():
            try:
                session = store.get(int(args.session))
            except StoreError as error:
                err(str(error))
                return 1
        else:
            err(f"SESSION must be a number from `oncall sessions` or `latest`, not {args.session!r}")
            return 2
        timeline = store.timeline(session.id)
    finally:
        store.close()
    try:
        section = runbook_for(settings).section(session.section_slug) if session.section_slug else None
    except RunbookError as error:
        err(f"{error} (exporting without the runbook's steps)")
        section = None
    text = export_markdown(session, timeline, section, demo=demo)
    if args.output:
        write_export(args.output, text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(text, end="")
    return 0
