"""`oncall export`: one session's timeline as Markdown, on stdout or into a private file."""

from __future__ import annotations

import argparse
import sys

from tui.cli.args import runbook_for
from tui.cli.output import err
from tui.cli.sessions import open_store
from tui.config.settings import Settings
from tui.sessions.export import export_markdown, write_export
from tui.triage.runbook import RunbookError


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings, args.demo)
    try:
        if args.session == "latest":
            sessions = store.sessions(limit=1)
            if not sessions:
                err("no incident sessions yet")
                return 1
            session = sessions[0]
        elif args.session.isdigit():
            session = store.get(int(args.session))
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
    text = export_markdown(session, timeline, section)
    if args.output:
        write_export(args.output, text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(text, end="")
    return 0
