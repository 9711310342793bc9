"""`oncall`: a subcommand of the command line (tui.cli), or else the dashboard app (tui.app)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from tui.cli.main import run
from tui.config.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    return run(argv, run_app=run_app)


def run_app(args: argparse.Namespace, settings: Settings) -> int:
    from tui.app import OncallApp  # here: a subcommand needn't load Textual

    # the demo has a scripted Alertmanager too (a teammate's silence), unless a real one is configured
    demo_alertmanager = args.demo and not settings.alertmanager.url
    OncallApp(settings, demo=args.demo, observe=args.observe, demo_alertmanager=demo_alertmanager).run()
    return 0
