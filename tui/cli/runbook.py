"""`oncall runbook lint` and `oncall runbook coverage`: what a runbook holds, its problems, and which of its
steps oncall shows live evidence for."""

from __future__ import annotations

import argparse
import json

from tui.cli.output import err
from tui.config.settings import Settings
from tui.triage.runbook import RunbookError, load_runbook


def cmd_runbook(args: argparse.Namespace, settings: Settings) -> int:
    return cmd_coverage(args, settings) if args.runbook_command == "coverage" else cmd_lint(args)


def cmd_lint(args: argparse.Namespace) -> int:
    from tui.triage.lint import RulesError, lint_runbook, load_rule_alert_names

    try:
        runbook = load_runbook(args.path)
        rules = load_rule_alert_names(args.rules) if args.rules else None
    except (RunbookError, RulesError) as error:
        err(str(error))
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
        err(str(error))
        return 2
    postgres, redis = settings.postgres, settings.redis
    if args.demo:  # the servers the demo's checklist reads
        from tui.cli.demo import demo_sources

        demo = demo_sources(settings)
        postgres, redis = demo.postgres.settings, demo.redis.settings
    print(format_coverage(coverage(runbook, configured_servers(postgres, redis)), as_json=args.json))
    return 0
