"""`oncall`: a subcommand of the command line (tui.cli), or else the dashboard app (tui.app)."""

from __future__ import annotations

import argparse
import gc
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.config.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    # Start-up makes ~100,000 objects (modules, classes, the app's widgets) that live as long as the
    # process: the collector walking them again and again while they are made cost ~50 ms of each start.
    # It is off until then: the app turns it on (and freezes what start-up made) at its first paint.
    gc.disable()
    try:
        from tui.cli.main import run  # here, with the collector off: most of start-up is imports

        return run(argv, run_app=run_app)
    finally:
        gc.enable()


def run_app(args: argparse.Namespace, settings: Settings) -> int:
    from tui.app import OncallApp  # here: a subcommand needn't load Textual

    # the demo has a scripted Alertmanager too (a teammate's silence), unless a real one is configured
    demo_alertmanager = args.demo and not settings.alertmanager.url
    OncallApp(settings, demo=args.demo, observe=args.observe, demo_alertmanager=demo_alertmanager).run()
    return 0
