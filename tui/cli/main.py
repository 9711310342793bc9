"""The `oncall` command line: parse the arguments, run the subcommand (or hand over to the app), and turn
every failure into a message and an exit code."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from probes.redact import install as install_redaction
from tui.cli.args import build_parser, settings_from_args
from tui.cli.output import err
from tui.config.settings import ConfigError, Settings
from tui.sessions.store import StoreError
from tui.triage.runbook import RunbookError

# A subcommand, or the app: (arguments, settings) -> exit code.
Command = Callable[[argparse.Namespace, Settings], int]


def run(argv: Sequence[str] | None = None, *, run_app: Command) -> int:
    """`oncall [options] [COMMAND]`; without a COMMAND, `run_app` runs (tui.main passes the dashboard)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.observe not in (None, "latest") and not str(args.observe).isdigit():
        parser.error(
            f"--observe takes a session number from `oncall sessions` or nothing, not {args.observe!r}"
        )
    try:
        # the lab writes a profile and reads none: a broken config file can't stop `oncall lab down`
        if args.command == "lab":
            return _command("lab")(args, Settings())
        settings = settings_from_args(args)
        install_redaction(settings.redact)  # the [redact] rules, for every probe, reading and export
        command = _command(args.command) if args.command else run_app
        return command(args, settings)
    except ConfigError as error:
        err(f"config error: {error}")
        return 2
    except (RunbookError, StoreError) as error:
        err(str(error))
        return 1
    except OSError as error:
        err(f"{error.filename or ''}: {error.strerror or error}")
        return 1
    except KeyboardInterrupt:
        return 130


def _command(name: str) -> Command:
    """The subcommand's function, imported when it runs: `oncall runbook lint` needn't load the probes."""
    if name == "runbook":
        from tui.cli.runbook import cmd_runbook

        return cmd_runbook
    if name == "check":
        from tui.cli.check import cmd_check

        return cmd_check
    if name == "snapshot":
        from tui.cli.snapshot import cmd_snapshot

        return cmd_snapshot
    if name == "sessions":
        from tui.cli.sessions import cmd_sessions

        return cmd_sessions
    if name == "export":
        from tui.cli.export import cmd_export

        return cmd_export
    if name == "store":
        from tui.cli.store import cmd_store

        return cmd_store
    if name == "serve":
        from tui.cli.serve import cmd_serve

        return cmd_serve
    if name == "lab":
        from tui.cli.lab import cmd_lab

        return cmd_lab
    raise ValueError(f"no subcommand {name!r}")
