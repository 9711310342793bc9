"""The `oncall` command line: the dashboard, and the runbook lint, check, snapshot and export commands."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from tui import __version__
from tui.config.paths import default_store, example_runbook
from tui.config.settings import ConfigError, Settings, load_settings
from tui.triage.runbook import Runbook, RunbookError, load_runbook

EPILOG = """\
start here: oncall --demo (a scripted incident, no servers); in a second terminal: oncall --demo --observe
keys: ? help, ctrl+p command palette, enter checklist, b runbook, p pods (d detail, l logs), q quit
environment: PROMETHEUS_URL, PROMETHEUS_TOKEN, KUBECONFIG, ONCALL_KUBE_CONTEXT, ONCALL_POSTGRES, libpq's PG*,
             REDIS_URL, REDISCLI_AUTH, ONCALL_PROFILE, ONCALL_RUNBOOK, ONCALL_STORE, ONCALL_USER
"""


def _common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Options accepted before or after a command: `oncall --profile p check`, `oncall check --profile p`."""
    default = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("configuration")
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
        type=Path,
        default=default,
        metavar="PATH",
        help="session store (SQLite) path, e.g. a shared path on a bastion host",
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
        "--demo", action="store_true", help="run on the built-in scripted incident (no servers)"
    )
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
    sessions.add_argument(
        "--demo", action="store_true", default=argparse.SUPPRESS, help="the demo's sessions"
    )
    _common(sessions, suppress=True)

    export = commands.add_parser(
        "export",
        help="write a session's timeline as Markdown",
        description="SESSION is a number from `oncall sessions`, or `latest`.",
    )
    export.add_argument("session", metavar="SESSION", help="session number, or latest")
    export.add_argument("-o", "--output", type=Path, metavar="FILE", help="write here instead of stdout")
    export.add_argument(
        "--demo", action="store_true", default=argparse.SUPPRESS, help="from the demo's sessions"
    )
    _common(export, suppress=True)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    flags = {
        "prometheus_url": args.prometheus_url,
        "kube_context": args.kube_context,
        "postgres": args.postgres,
        "redis": args.redis,
        "runbook": args.runbook,
        "store": args.store,
        "user": args.user,
    }
    return load_settings(
        config_path=args.config,
        profile=args.profile,
        flags={k: v for k, v in flags.items() if v is not None},
    )


def _runbook(settings: Settings) -> Runbook:
    return load_runbook(settings.runbook or example_runbook())


def _err(message: str) -> None:
    print(f"oncall: {message}", file=sys.stderr)


def cmd_lint(args: argparse.Namespace) -> int:
    from tui.triage.lint import RulesError, lint_runbook, load_rule_alert_names

    try:
        runbook = load_runbook(args.path)
        rules = load_rule_alert_names(args.rules) if args.rules else None
    except (RunbookError, RulesError) as error:
        _err(str(error))
        return 2
    report = lint_runbook(runbook, rules)
    print(json.dumps(report.to_json(), indent=2) if args.json else report.to_text())
    return 0 if report.ok else 1


def cmd_coverage(args: argparse.Namespace, settings: Settings) -> int:
    from tui.triage.commands import configured_servers
    from tui.triage.plans import coverage, format_coverage

    try:
        runbook = load_runbook(args.path)
    except RunbookError as error:
        _err(str(error))
        return 2
    print(
        format_coverage(
            coverage(runbook, configured_servers(settings.postgres, settings.redis)), as_json=args.json
        )
    )
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from tui.cli.report import check_exit_code, check_sources, format_check

    healths = asyncio.run(check_sources(settings))
    print(format_check(healths, as_json=args.json))
    return check_exit_code(healths)


def cmd_snapshot(args: argparse.Namespace, settings: Settings) -> int:
    from tui.cli.report import format_snapshot, take_snapshot

    runbook = _runbook(settings)
    snapshot = asyncio.run(take_snapshot(settings, runbook))
    fmt = "json" if args.json else "markdown" if args.markdown else "text"
    print(format_snapshot(snapshot, runbook, fmt=fmt, now=datetime.now(UTC)))
    return 0 if snapshot.health.answering else 1


def _open_store(settings: Settings, demo: bool):  # type: ignore[no-untyped-def]
    from tui.sessions.store import SessionStore

    return SessionStore.open(settings.store or default_store(demo), read_only=True)


def cmd_sessions(args: argparse.Namespace, settings: Settings) -> int:
    from probes.format import clean

    store = _open_store(settings, args.demo)
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


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from tui.sessions.export import export_markdown, write_export

    store = _open_store(settings, args.demo)
    try:
        if args.session == "latest":
            sessions = store.sessions(limit=1)
            if not sessions:
                _err("no incident sessions yet")
                return 1
            session = sessions[0]
        elif args.session.isdigit():
            session = store.get(int(args.session))
        else:
            _err(f"SESSION must be a number from `oncall sessions` or `latest`, not {args.session!r}")
            return 2
        timeline = store.timeline(session.id)
    finally:
        store.close()
    try:
        section = _runbook(settings).section(session.section_slug) if session.section_slug else None
    except RunbookError as error:
        _err(f"{error} (exporting without the runbook's steps)")
        section = None
    text = export_markdown(session, timeline, section)
    if args.output:
        write_export(args.output, text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(text, end="")
    return 0


def run_app(args: argparse.Namespace, settings: Settings) -> int:
    from tui.app import OncallApp

    OncallApp(settings, demo=args.demo, observe=args.observe).run()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.observe not in (None, "latest") and not str(args.observe).isdigit():
        parser.error(
            f"--observe takes a session number from `oncall sessions` or nothing, not {args.observe!r}"
        )
    from tui.sessions.store import StoreError

    try:
        settings = _settings(args)
        if args.command == "runbook":
            return cmd_coverage(args, settings) if args.runbook_command == "coverage" else cmd_lint(args)
        if args.command == "check":
            return cmd_check(args, settings)
        if args.command == "snapshot":
            return cmd_snapshot(args, settings)
        if args.command == "sessions":
            return cmd_sessions(args, settings)
        if args.command == "export":
            return cmd_export(args, settings)
        return run_app(args, settings)
    except ConfigError as error:
        _err(f"config error: {error}")
        return 2
    except (RunbookError, StoreError) as error:
        _err(str(error))
        return 1
    except OSError as error:
        _err(f"{error.filename or ''}: {error.strerror or error}")
        return 1
    except KeyboardInterrupt:
        return 130
