"""`oncall store copy SRC DST`: move sessions between a SQLite file and a shared PostgreSQL store."""

from __future__ import annotations

import argparse

from tui.cli.output import err
from tui.config.settings import Settings


def cmd_store(args: argparse.Namespace, settings: Settings) -> int:
    err("oncall store copy: not built yet")
    return 2
