"""`oncall lab drill`: every fault in turn, broken, watched until its alert fires in the lab's Prometheus,
read back through the console's own snapshot (alert -> runbook section -> top cause), healed, and watched
until the alert resolves; then a table (or JSON) of what fired, where it mapped and which cause came first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import Any, TypedDict
from urllib.parse import urlsplit

import httpx

from tui.config.paths import example_runbook
from tui.config.settings import Settings, load_settings
from tui.lab.faults import FAULTS, Fault, break_section, fault_for, heal_section, warm
from tui.lab.state import LAB_FACTOR, LabState
from tui.triage.runbook import Runbook, load_runbook

# Bounded waits, in seconds at the lab's factor 60 (scaled when the factor differs): the slowest rule
# (LowCacheHitRatio: 15s window + 15s for:) fires in about 30 s there.
FIRE_TIMEOUT = 90.0
RESOLVE_TIMEOUT = 60.0
POLL_INTERVAL = 0.5
HTTP_TIMEOUT = httpx.Timeout(5.0, connect=2.0)

# The console's snapshot of the firing alerts, as `oncall snapshot --json` lists them.
SnapshotAlerts = Callable[[], list[dict[str, Any]]]
# How the CLI reads that list from a profile's settings (tui.cli.snapshot.snapshot_alerts).
AlertsReader = Callable[[Settings, Runbook | None], Coroutine[Any, Any, list[dict[str, Any]]]]
Progress = Callable[[str], None]


class DrillResult(TypedDict):
    section: str
    fault: str
    fired: bool
    seconds_to_fire: float | None
    mapped_section: str | None
    top_cause: str | None
    right: bool


def section_of(alert: dict[str, Any]) -> str | None:
    """The runbook section an alert names: the anchor of its runbook_url annotation."""
    url = str((alert.get("annotations") or {}).get("runbook_url") or "")
    fragment = urlsplit(url).fragment
    return fragment or None


def alerts_for_section(alerts: Iterable[dict[str, Any]], section: str) -> list[dict[str, Any]]:
    """The alerts (Prometheus /api/v1/alerts entries) whose runbook_url points at `section`, firing first."""
    found = [a for a in alerts if section_of(a) == section]
    return sorted(found, key=lambda a: a.get("state") != "firing")


def section_state(alerts: Iterable[dict[str, Any]], section: str) -> str | None:
    """ "firing", "pending", or None for the section's alert."""
    found = alerts_for_section(alerts, section)
    return str(found[0].get("state")) if found else None


def cause_title(cause: str) -> str:
    """A runbook cause bullet's name: the words before its first ': ' ("Bad deployment: rollback ...")."""
    return cause.split(": ", 1)[0].strip()


def is_planted(fault: Fault, cause: str | None) -> bool:
    return cause is not None and cause_title(cause).lower().startswith(fault.cause.lower())


def drill_result(
    fault: Fault, fired: bool, seconds: float | None, snapshot: Sequence[dict[str, Any]]
) -> DrillResult:
    """What the console made of one fault: its snapshot alert for the section, the section it mapped to,
    and the cause it ranked first; right when it fired, mapped to its section and the planted cause leads,
    supported by its evidence (a first cause the console could not judge is not a right answer)."""
    alert = _snapshot_alert(snapshot, fault.section)
    mapped: str | None = None
    top: str | None = None
    supported = False
    if alert is not None:
        runbook = alert.get("runbook") or {}
        mapped = runbook.get("slug") if isinstance(runbook, dict) else None
        top_cause = alert.get("top_cause")
        if isinstance(top_cause, dict) and top_cause.get("cause"):
            top = cause_title(str(top_cause["cause"]))
            supported = top_cause.get("verdict") == "supported"
    right = fired and mapped == fault.section and supported and is_planted(fault, top)
    return DrillResult(
        section=fault.section,
        fault=fault.description,
        fired=fired,
        seconds_to_fire=round(seconds, 1) if seconds is not None else None,
        mapped_section=mapped,
        top_cause=top,
        right=right,
    )


def _snapshot_alert(snapshot: Sequence[dict[str, Any]], section: str) -> dict[str, Any] | None:
    """The snapshot's entry for the section's alert (by its runbook_url anchor), a firing one first."""
    found = [a for a in snapshot if section_of(a) == section]
    found.sort(key=lambda a: a.get("state") != "firing")
    return found[0] if found else None


class LabPrometheus:
    """The lab Prometheus's active alerts (pending and firing), read over HTTP."""

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=HTTP_TIMEOUT)

    def close(self) -> None:
        self.client.close()

    def alerts(self) -> list[dict[str, Any]]:
        """The active alerts; an empty list when Prometheus does not answer (the drill keeps polling)."""
        try:
            reply = self.client.get("/api/v1/alerts")
            reply.raise_for_status()
            alerts: list[dict[str, Any]] = reply.json()["data"]["alerts"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return []
        return alerts

    def wait_quiet(self, timeout: float) -> list[str]:
        """Poll until no alert is pending or firing; the names still active at the timeout."""
        start = time.monotonic()
        while True:
            active = sorted({str(a.get("labels", {}).get("alertname", "?")) for a in self.alerts()})
            if not active or time.monotonic() - start > timeout:
                return active
            time.sleep(POLL_INTERVAL)

    def wait_for(self, section: str, states: tuple[str | None, ...], timeout: float) -> float | None:
        """Poll until the section's alert is in one of `states`; the seconds it took, None at the timeout."""
        start = time.monotonic()
        while True:
            if section_state(self.alerts(), section) in states:
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                return None
            time.sleep(POLL_INTERVAL)


def _scale(seconds: float, factor: int) -> float:
    return seconds * LAB_FACTOR / max(1, factor)


def run_drill(
    state: LabState,
    slugs: Sequence[str] | None = None,
    *,
    snapshot_alerts: AlertsReader | None = None,
    snapshot: SnapshotAlerts | None = None,
    progress: Progress | None = None,
) -> list[DrillResult]:
    """Break, watch, snapshot, heal and wait for each section's fault in runbook order (or `slugs`'); on
    Ctrl-C the fault in progress is healed before the interrupt goes on. The console's view comes from
    `snapshot_alerts` read with the lab profile (or a ready `snapshot` callable)."""
    faults = [fault_for(slug) for slug in slugs] if slugs else list(FAULTS.values())
    say = progress or (lambda line: None)
    if snapshot is None:
        if snapshot_alerts is None:
            raise ValueError("the drill needs the console's snapshot_alerts")
        snapshot = console_snapshot(state, snapshot_alerts)
    take = snapshot
    for section in list(state.broken):
        say(_heal(state, section) + " (before the drill)")
    prometheus = LabPrometheus(state.prometheus_url)
    results: list[DrillResult] = []
    try:
        for fault in faults:
            results.append(_drill_one(state, fault, prometheus, take, say))
    finally:
        prometheus.close()
    return results


def _drill_one(
    state: LabState, fault: Fault, prometheus: LabPrometheus, take: SnapshotAlerts, say: Progress
) -> DrillResult:
    fire_timeout = _scale(FIRE_TIMEOUT, state.factor)
    resolve_timeout = _scale(RESOLVE_TIMEOUT, state.factor)
    with contextlib.suppress(Exception):  # fresh TTLs: the warm items never expire all at once mid-drill
        warm(state)
    left = prometheus.wait_quiet(resolve_timeout)
    if left:
        say(f"{fault.section}: still active from before: {', '.join(left)}; drilling it anyway")
    say(f"{fault.section}: breaking ({fault.description})")
    start = time.monotonic()
    snapshot: list[dict[str, Any]] = []
    try:
        say("  " + break_section(state, fault.section))
        waited = prometheus.wait_for(fault.section, ("firing",), fire_timeout)
        seconds = None if waited is None else time.monotonic() - start
        if seconds is None:
            say(f"  not firing after {fire_timeout:.0f} s")
        else:
            say(f"  firing after {seconds:.1f} s; taking the console's snapshot")
            snapshot = _safe_snapshot(take, say)
    except Exception as error:  # a fault that cannot be planted is a wrong answer, not a crash
        say(f"  could not break {fault.section}: {error}")
        seconds = None
    finally:
        say("  " + _heal(state, fault.section))
    result = drill_result(fault, seconds is not None, seconds, snapshot)
    verdict = "right" if result["right"] else "WRONG"
    top = result["top_cause"] or "no supported cause"
    say(f"  {verdict}: mapped to {result['mapped_section'] or 'no section'}, top cause {top}")
    if prometheus.wait_for(fault.section, (None,), resolve_timeout) is None:
        say(f"  still active {resolve_timeout:.0f} s after the heal; going on")
    return result


def _heal(state: LabState, section: str) -> str:
    try:
        return heal_section(state, section)
    except Exception as error:  # said, and the drill goes on: the section stays recorded as broken
        return f"could not heal {section}: {error} (`oncall lab heal {section}` tries again)"


def _safe_snapshot(take: SnapshotAlerts, say: Progress) -> list[dict[str, Any]]:
    try:
        return take()
    except Exception as error:  # said as the drill's own line; the fault counts as wrong
        say(f"  the console's snapshot failed: {error}")
        return []


def console_snapshot(state: LabState, snapshot_alerts: AlertsReader) -> SnapshotAlerts:
    """The snapshot `oncall snapshot --json --profile lab` takes, as a callable: `snapshot_alerts` (the CLI's
    own, handed down by it) with the lab profile's settings and runbook."""
    settings = load_settings(config_path=state.root / "oncall.toml", profile="lab")
    runbook = load_runbook(settings.runbook or example_runbook())

    def take() -> list[dict[str, Any]]:
        return asyncio.run(snapshot_alerts(settings, runbook))

    return take


def drill_json(results: Sequence[DrillResult]) -> str:
    return json.dumps(list(results), indent=2)


def drill_exit_code(results: Sequence[DrillResult]) -> int:
    """0 only when every fault drilled was right."""
    return 0 if results and all(r["right"] for r in results) else 1


def drill_table(results: Sequence[DrillResult], elapsed: float | None = None) -> str:
    """The drill as a plain-text table, a line per fault and a total line."""
    header = ("section", "fault", "fired in", "mapped section", "top cause", "")
    rows = [header] + [
        (
            r["section"],
            r["fault"],
            f"{r['seconds_to_fire']:.1f} s" if r["fired"] and r["seconds_to_fire"] is not None else "no",
            r["mapped_section"] or "-",
            r["top_cause"] or "-",
            "right" if r["right"] else "WRONG",
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    n = len(results)
    fired = sum(r["fired"] for r in results)
    mapped = sum(r["mapped_section"] == r["section"] for r in results)
    right = sum(r["right"] for r in results)
    total = f"{n_of(fired, n)} fired, {n_of(mapped, n)} mapped, {n_of(right, n)} cause right"
    if elapsed is not None:
        total += f", total {format_duration(elapsed)}"
    return "\n".join([*lines, total])


def n_of(count: int, total: int) -> str:
    return f"{count}/{total}"


def format_duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"
