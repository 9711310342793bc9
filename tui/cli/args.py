"""The `oncall` command line's arguments: the options, the subcommands, and the settings they choose."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tui import __version__
from tui.config.keys import FLAGS
from tui.config.paths import example_runbook
from tui.config.settings import Settings, load_settings
from tui.triage.runbook import Runbook, load_runbook

EPILOG = """\
start here: oncall --demo (a scripted incident, no servers); in a second terminal: oncall --demo --observe
keys: ? help, ctrl+p command palette, enter checklist, b runbook, p pods (d detail, l logs), q quit
environment: PROMETHEUS_URL, PROMETHEUS_TOKEN, KUBECONFIG, ONCALL_KUBE_CONTEXT, ONCALL_POSTGRES, libpq's PG*,
             REDIS_URL, REDISCLI_AUTH, ALERTMANAGER_URL, ONCALL_PROFILE, ONCALL_RUNBOOK, ONCALL_STORE,
             ONCALL_USER
"""


def _common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Options accepted before or after a command: `oncall --profile p check`, `oncall check --profile p`."""
    default = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("configuration")
    group.add_argument(
        "--demo",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="the built-in scripted incident (no servers), and the demo's own session store",
    )
    group.add_argument(
        "--config",
        type=Path,
        default=default,
        metavar="FILE",
        help="TOML config file (default: ./oncall.toml, then the user config dir)",
    )
    group.add_argument("--profile", default=default, help="named profile from the config file")
    group.add_argument("--prometheus-url", default=default, metavar="URL", help="Prometheus base URL")
    group.add_argument(
        "--postgres",
        default=default,
        metavar="DSN",
        help="PostgreSQL conninfo or URL (password: use .pgpass)",
    )
    group.add_argument(
        "--redis",
        default=default,
        metavar="URL",
        help="Redis URL, redis:// or rediss:// (password: use REDISCLI_AUTH)",
    )
    group.add_argument(
        "--kube-context",
        default=default,
        metavar="NAME",
        help="kubeconfig context",
    )
    group.add_argument(
        "--runbook",
        type=Path,
        default=default,
        metavar="PATH",
        help="runbook Markdown (default: the shipped examples/inmidst/RUNBOOK.md)",
    )
    group.add_argument(
        "--store",
        default=default,
        metavar="PATH|URL",
        help="session store: a SQLite path (e.g. shared on a bastion host) or postgresql://… for a team",
    )
    group.add_argument(
        "--alertmanager",
        default=default,
        metavar="URL",
        help="Alertmanager base URL: alerts as the team sees them (silenced, inhibited, grouped)",
    )
    group.add_argument("--user", default=default, help="who ticks steps (default: user@host)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oncall",
        description="Incident console: firing Prometheus alerts, the runbook's triage checklist, "
        "incident sessions. Read-only towards production.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"oncall {__version__}")
    parser.add_argument(
        "--observe",
        nargs="?",
        const="latest",
        metavar="SESSION",
        help="follow the latest active session (or SESSION) read-only",
    )
    _common(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    runbook = commands.add_parser("runbook", help="runbook tools")
    runbook_commands = runbook.add_subparsers(dest="runbook_command", metavar="COMMAND", required=True)
    lint = runbook_commands.add_parser(
        "lint",
        help="count sections, steps, causes and commands; report broken links and unmapped alerts",
        description="Exit 0 when the runbook has no problems, 1 when it has, 2 when it can't be read.",
    )
    lint.add_argument("path", type=Path, metavar="PATH", help="runbook Markdown file")
    lint.add_argument(
        "--rules",
        type=Path,
        metavar="RULES.yml",
        help="Prometheus rules file: report alerts without a section and sections without an alert",
    )
    lint.add_argument("--json", action="store_true", help="print JSON")
    cover = runbook_commands.add_parser(
        "coverage",
        help="per section, the steps oncall shows live evidence for, and the manual and copy-only ones",
        description="Each triage step: live (its command is a read oncall runs), derived (no command, but a "
        "read answers it), copy-only (its commands change things or read a server oncall doesn't: never "
        "run) or manual. A psql or redis-cli command naming a host is live only when that is the server "
        "configured (--postgres, --redis, the config file). Exit 2 when the runbook can't be read.",
    )
    cover.add_argument("path", type=Path, metavar="PATH", help="runbook Markdown file")
    cover.add_argument("--json", action="store_true", help="print JSON")
    _common(cover, suppress=True)

    check = commands.add_parser(
        "check",
        help="check every configured source",
        description="One line per source: <source>  ok|down|forbidden|not-configured  <detail>. "
        "Exit 0 only if every configured source is ok.",
    )
    check.add_argument("--json", action="store_true", help="print JSON")
    _common(check, suppress=True)

    snapshot = commands.add_parser(
        "snapshot",
        help="print the firing alerts with their runbook section, then exit",
        description="For pasting into an incident channel. Exit 1 if Prometheus can't be read.",
    )
    fmt = snapshot.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON")
    fmt.add_argument("--markdown", action="store_true", help="print Markdown")
    _common(snapshot, suppress=True)

    sessions = commands.add_parser("sessions", help="list incident sessions, newest change first")
    _common(sessions, suppress=True)

    export = commands.add_parser(
        "export",
        help="write a session's timeline as Markdown",
        description="SESSION is a number from `oncall sessions`, or `latest`.",
    )
    export.add_argument("session", metavar="SESSION", help="session number, or latest")
    export.add_argument("-o", "--output", type=Path, metavar="FILE", help="write here instead of stdout")
    _common(export, suppress=True)

    store = commands.add_parser("store", help="session store tools")
    store_commands = store.add_subparsers(dest="store_command", metavar="COMMAND", required=True)
    copy = store_commands.add_parser(
        "copy",
        help="copy every session (steps, notes, evidence, timeline) from one store to another",
        description="SRC and DST are each a SQLite path or a postgresql:// URL. Sessions DST already has "
        "are left as they are; the copy can be run again.",
    )
    copy.add_argument("source", metavar="SRC", help="the store to read")
    copy.add_argument("target", metavar="DST", help="the store to write (created if needed)")

    serve = commands.add_parser(
        "serve",
        help="serve the observer view to browsers (read-only; the driver view is never served)",
        description="Every browser gets the observer: no key changes anything. Bound to 127.0.0.1 unless "
        "--host says otherwise, and then only with a token.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="port to bind (default: 8765)")
    serve.add_argument("--token", default=None, help="a token every browser must present")
    serve.add_argument("--token-file", type=Path, default=None, metavar="FILE", help="the token, in a file")
    serve.add_argument(
        "--session", default="latest", metavar="SESSION", help="session number to follow (default: latest)"
    )
    _common(serve, suppress=True)
    _lab(commands)
    return parser


def _lab(commands: Any) -> None:
    """`oncall lab up|down|status|break|heal|drill`."""
    lab = commands.add_parser(
        "lab",
        help="a game-day lab on this machine: real servers, faults to plant, a drill",
        description="Real PostgreSQL, Redis, exporters, Prometheus (the shipped rules, time compressed), "
        "Alertmanager, a stand-in API with load and a Kubernetes API simulator, on 127.0.0.1. "
        "It reads no config file: its own settings are the `lab` profile it writes.",
    )
    lab_commands = lab.add_subparsers(dest="lab_command", metavar="COMMAND", required=True)
    lab_commands.add_parser(
        "up",
        help="start the lab and write the `lab` profile",
        description="Exit 2 when a Debian package is missing (the apt-get line is printed), 1 when a part "
        "fails to start (what started is stopped again).",
    )
    lab_commands.add_parser("down", help="stop every part of the lab and remove the `lab` profile")
    status = lab_commands.add_parser("status", help="each part up or down, what is broken, the alerts")
    status.add_argument("--json", action="store_true", help="print JSON")
    brk = lab_commands.add_parser("break", help="plant the fault of a runbook section")
    brk.add_argument("section", metavar="SECTION", help="a runbook section's slug (a unique prefix will do)")
    heal = lab_commands.add_parser("heal", help="undo a section's fault (or every one: --all)")
    heal.add_argument("section", nargs="?", metavar="SECTION", help="a runbook section's slug")
    heal.add_argument("--all", action="store_true", help="heal every broken section")
    drill = lab_commands.add_parser(
        "drill",
        help="break, watch the alert fire, read the console's top cause, heal: for each fault",
        description="Exit 0 when every fault fired and the console named its section and cause.",
    )
    drill.add_argument("section", nargs="*", metavar="SECTION", help="only these sections (default: all 12)")
    drill.add_argument("--json", action="store_true", help="print JSON")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The settings the config file, the environment and these arguments give."""
    flags = {name: getattr(args, name, None) for name in FLAGS}
    return load_settings(
        config_path=args.config,
        profile=args.profile,
        flags={k: v for k, v in flags.items() if v is not None},
    )


def runbook_for(settings: Settings) -> Runbook:
    """The runbook the settings name, else the shipped example."""
    return load_runbook(settings.runbook or example_runbook())
