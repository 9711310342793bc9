"""`oncall serve`: the observer view, served to browsers (textual-serve); never the driver view."""

from __future__ import annotations

import argparse

from tui.cli.output import err
from tui.config.settings import Settings


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    err("oncall serve: not built yet")
    return 2
