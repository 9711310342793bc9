"""`oncall lab up|down|status|break|heal|drill`: the game-day lab on this machine, from the command line."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from tui.cli.output import err
from tui.config.settings import Settings
from tui.lab.state import LabNotRunning, LabState, lab_root

NEXT_STEPS = (
    "oncall --profile lab",
    "oncall lab break high-database-connections",
    "oncall lab status",
    "oncall lab down",
)


def cmd_lab(args: argparse.Namespace, settings: Settings) -> int:
    del settings  # the lab writes a profile; it reads none
    command = args.lab_command
    if command == "up":
        return _up()
    if command == "down":
        return _down()
    if command == "status":
        return _status(as_json=args.json)
    try:
        state = LabState.load()
    except LabNotRunning as error:
        err(str(error))
        return 1
    if command == "break":
        return _break(state, args.section)
    if command == "heal":
        return _heal(state, args.section, every=args.all)
    if command == "drill":
        return _drill(state, args.section, as_json=args.json)
    raise ValueError(f"no lab command {command!r}")


def _up() -> int:
    from tui.lab import lifecycle

    missing = lifecycle.missing_packages()
    if missing:
        err(f"the lab needs Debian packages that are not installed: {', '.join(missing)}")
        print(lifecycle.install_line(missing))
        return 2
    print(f"starting the lab in {lab_root()} ...", flush=True)
    try:
        result = lifecycle.up()
    except lifecycle.LabUpError as error:
        err(str(error))
        return 1
    state = result.state
    if result.already:
        print(f"the lab is already up in {state.root} (oncall lab status; oncall lab down stops it)")
        return 0
    print(f"lab up in {result.seconds:.1f} s, time ×{state.factor} (a rule's 5m is {300 // state.factor}s)")
    for line in _where(state):
        print(f"  {line}")
    for note in result.notes:
        print(note)
    print("next:")
    for step in NEXT_STEPS:
        print(f"  {step}")
    return 0


def _where(state: LabState) -> list[str]:
    s = state.services
    rows = [
        ("postgresql", f"127.0.0.1:{state.postgres_port} (database inmidst; console role oncall)"),
        ("redis", state.redis_url),
        ("postgres-exporter", f"http://127.0.0.1:{s['postgres-exporter'].port}/metrics"),
        ("redis-exporter", f"http://127.0.0.1:{s['redis-exporter'].port}/metrics"),
        ("api", f"{state.api_url} (stand-in for in-midst-my-life)"),
        ("load", f"{state.load_url} (control)"),
        ("alertmanager", state.alertmanager_url),
        ("prometheus", f"{state.prometheus_url} (rules scaled ×{state.factor})"),
        ("kubernetes", f"{state.kube_url} (simulator; kubeconfig {state.kubeconfig}, context lab)"),
        ("profile", state.profile),
    ]
    return [f"{name:<18} {where}" for name, where in rows]


def _down() -> int:
    from tui.lab import lifecycle

    try:
        LabState.load()
    except LabNotRunning:
        done = lifecycle.down()
        print("\n".join([*done, "no lab is up"]))
        return 0
    done = lifecycle.down()
    print("\n".join(done) if done else "nothing was running")
    print("lab down")
    return 0


def _status(*, as_json: bool) -> int:
    from tui.lab import lifecycle

    try:
        report = lifecycle.status()
    except LabNotRunning as error:
        if as_json:
            print(json.dumps({"up": False, "error": str(error)}))
        else:
            print(str(error))
        return 1
    if as_json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"lab in {report['root']}, time ×{report['factor']}")
    for part in report["parts"]:
        state = "up" if part["up"] else "down"
        print(f"  {part['name']:<18} {state:<5} pid {part['pid']:<7} port {part['port']}")
    print(f"broken: {', '.join(report['broken']) or 'nothing'}")
    found: list[dict[str, Any]] | None = report["alerts"]
    if found is None:
        print("alerts: unknown (the lab's Prometheus does not answer)")
    elif not found:
        print("alerts: none pending or firing")
    else:
        print("alerts:")
        for alert in found:
            print(f"  {alert['name']:<26} {alert['state']:<8} since {alert['since']}")
    return 0


def known_sections() -> list[str]:
    from tui.lab.faults import FAULTS

    return list(FAULTS)


def resolve_section(given: str) -> str:
    """A section slug from what the user typed: the slug itself, or the one slug it begins."""
    known = known_sections()
    if given in known:
        return given
    matches = [slug for slug in known if slug.startswith(given)]
    if len(matches) == 1:
        return matches[0]
    hint = f"it begins {', '.join(matches)}" if matches else f"sections: {', '.join(known)}"
    raise ValueError(f"no lab fault for section {given!r}; {hint}")


def _break(state: LabState, section: str) -> int:
    from tui.lab.faults import break_section

    try:
        print(break_section(state, resolve_section(section)))
    except ValueError as error:
        err(str(error))
        return 2
    except RuntimeError as error:
        err(f"break {section}: {error}")
        return 1
    return 0


def _heal(state: LabState, section: str | None, *, every: bool) -> int:
    from tui.lab.faults import heal_section

    if every == bool(section):
        err("name a SECTION to heal, or --all")
        return 2
    try:
        slugs = list(state.broken) if every else [resolve_section(section or "")]
    except ValueError as error:
        err(str(error))
        return 2
    if not slugs:
        print("nothing is broken")
    try:
        for slug in slugs:
            print(heal_section(state, slug))
    except RuntimeError as error:
        err(f"heal: {error}")
        return 1
    return 0


def _drill(state: LabState, sections: list[str], *, as_json: bool) -> int:
    from tui.lab.drill import drill_table, run_drill

    try:
        slugs = [resolve_section(s) for s in sections] or None
    except ValueError as error:
        err(str(error))
        return 2
    started = time.monotonic()

    def say(line: str) -> None:
        print(line, file=sys.stderr if as_json else sys.stdout, flush=True)

    from tui.cli.snapshot import snapshot_alerts  # the drill reads alerts as `oncall snapshot` does

    results = run_drill(state, slugs, progress=say, snapshot_alerts=snapshot_alerts)
    if as_json:
        print(json.dumps(results, indent=2))
    else:
        print(drill_table(results, time.monotonic() - started))
    return 0 if all(r["fired"] and r["right"] for r in results) else 1
