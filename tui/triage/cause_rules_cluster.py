"""The stated rules for the causes the cluster and Prometheus decide: pods, nodes, releases, autoscalers,
volumes, scrape targets and the API's own metrics."""

from __future__ import annotations

import math
from datetime import datetime

from probes.base import Reading
from tui.triage.cause_rules import (
    DISK_FULL,
    OOM_REASON,
    RECENT_DEPLOY,
    RETRY_ERRORS,
    SLOW_RESPONSES,
    Judged,
    by_share,
    coincides,
    name,
    not_supported,
    number,
    plural,
    rows_of,
    seconds_words,
    supported,
    unknown,
)

MEMORY_NEAR_LIMIT = 0.9  # of a pod's memory limit in use: the GC works hard just before an OOM kill


def _pods(reading: Reading) -> list[tuple[str, list[str], list[str], int]]:
    """The POD_STATES lines: (pod, waiting reasons, last termination reasons, restarts)."""
    pods = []
    for line in reading.lines:
        parts = line.split("|")
        if len(parts) < 4 or not parts[0].strip() or parts[0].startswith("("):
            continue
        restarts = sum(int(n) for n in parts[3].split() if n.isdigit())
        pods.append((parts[0].strip(), parts[1].split(), parts[2].split(), restarts))
    return pods


def oom_killed(reading: Reading) -> Judged:
    """OOM killed: a pod whose container last ended with reason OOMKilled."""
    pods = _pods(reading)
    if not pods:
        return unknown("no pods read")
    killed = [p for p in pods if OOM_REASON in p[2]]
    if killed:
        pod, waiting, _, restarts = killed[0]
        state = f", now {name(waiting[0])}" if waiting else ""
        words = (
            f"{len(killed)} of {plural(len(pods), 'pod')} last ended OOMKilled "
            f"({name(pod)}: {plural(restarts, 'restart')}{state})"
        )
        return supported(words, len(killed), 1)
    ends = sorted({reason for p in pods for reason in p[2]})
    last = f" (last ends: {', '.join(name(e) for e in ends)})" if ends else ""
    return not_supported(f"none of {plural(len(pods), 'pod')} was OOMKilled{last}")


def crash_loop(reading: Reading) -> Judged:
    """CrashLoopBackOff from a startup error: crash-looping pods whose last end was not an OOM kill."""
    pods = _pods(reading)
    if not pods:
        return unknown("no pods read")
    looping = [p for p in pods if "CrashLoopBackOff" in p[1]]
    if not looping:
        return not_supported(f"none of {plural(len(pods), 'pod')} is in CrashLoopBackOff")
    failing = [p for p in looping if OOM_REASON not in p[2]]
    if not failing:
        return not_supported(
            f"{plural(len(looping), 'pod')} in CrashLoopBackOff, each last ended OOMKilled: memory, "
            "not a startup error"
        )
    pod, _, ends, restarts = failing[0]
    end = f", last ended {name(ends[0])}" if ends else ""
    words = (
        f"{plural(len(failing), 'pod')} in CrashLoopBackOff ({name(pod)}: {plural(restarts, 'restart')}{end})"
    )
    return supported(words, len(failing), 1)


def image_pull(reading: Reading) -> Judged:
    pods = _pods(reading)
    if not pods:
        return unknown("no pods read")
    pulling = [p for p in pods if {"ImagePullBackOff", "ErrImagePull"} & set(p[1])]
    if pulling:
        return supported(
            f"{plural(len(pulling), 'pod')} can't pull the image ({name(pulling[0][0])})", len(pulling), 1
        )
    return not_supported(f"none of {plural(len(pods), 'pod')} is waiting on an image pull")


def node_failure(reading: Reading) -> Judged:
    rows = rows_of(reading)
    if not rows:
        return unknown("no nodes read")
    down = [r for r in rows if r.get("ready") != "True"]
    if down:
        names = ", ".join(name(r.get("name", "")) for r in down[:3])
        return supported(f"{len(down)} of {plural(len(rows), 'node')} not Ready: {names}", len(down), 1)
    return not_supported(f"all {plural(len(rows), 'node')} Ready")


def _when(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def recent_deploy(reading: Reading) -> Judged:
    """A deploy just before: the newest release revision, and how long before the read it was deployed."""
    rows = [r for r in rows_of(reading) if (r.get("revision") or "").isdigit()]
    if not rows:
        return unknown("no release revisions read")
    latest = max(rows, key=lambda r: int(r["revision"]))
    when = _when(latest.get("updated", ""))
    if when is None or reading.read_at is None:
        return unknown(f"revision {latest['revision']} has no deploy time")
    age = max(0.0, (reading.read_at - when).total_seconds())
    status = name(latest.get("status", ""))
    release = name(latest.get("release", ""))
    words = f"{release} revision {latest['revision']} ({status}) deployed {seconds_words(age)} ago"
    if age <= RECENT_DEPLOY:
        return coincides(words, 1 - age / RECENT_DEPLOY)
    return not_supported(f"{words}, over {seconds_words(RECENT_DEPLOY)}")


def traffic_without_autoscaling(reading: Reading) -> Judged:
    rows = rows_of(reading)
    if not rows:
        return unknown("no autoscaler in the namespace: the traffic itself is not read here")
    full = [r for r in rows if r.get("at max") == "True"]
    if full:
        r = full[0]
        return supported(
            f"autoscaler {name(r.get('name', ''))} at its max, {r.get('current replicas')} of "
            f"{r.get('max replicas')} replicas",
            len(full),
            1,
        )
    r = rows[0]
    return not_supported(
        f"autoscaler {name(r.get('name', ''))} at {r.get('current replicas')} of max "
        f"{r.get('max replicas')} replicas: it can still scale"
    )


def disk_full(reading: Reading) -> Judged:
    rows = rows_of(reading)
    shares = [(name(r.get("persistentvolumeclaim", "")), number(r.get("used %"))) for r in rows]
    shares = [(pvc, share) for pvc, share in shares if share is not None]
    if not shares:
        return unknown("no volume usage read")
    pvc, share = max(shares, key=lambda s: s[1] or 0.0)
    assert share is not None
    return by_share(f"{pvc} {share:.0f}% used", share / 100, DISK_FULL, lead="the fullest volume, ")


def memory_pressure(reading: Reading) -> Judged:
    rows = [(r.get("NAME", ""), number(r.get("USED"))) for r in rows_of(reading)]
    used = [(pod, share) for pod, share in rows if share is not None]
    if not used:
        return unknown("no memory limits to compare the pods' use with")
    pod, share = max(used, key=lambda p: p[1] or 0.0)
    assert share is not None
    words = f"{name(pod)} uses {share:.0f}% of its memory limit"
    return by_share(words, share / 100, MEMORY_NEAR_LIMIT, lead="the fullest, ")


def network_policy(reading: Reading) -> Judged:
    rows = rows_of(reading)
    if not rows:
        return not_supported("no NetworkPolicy in the namespace")
    names = ", ".join(name(r.get("name", "")) for r in rows[:3])
    more = ", …" if len(rows) > 3 else ""
    return unknown(
        f"{plural(len(rows), 'NetworkPolicy', 'NetworkPolicies')} ({names}{more}): oncall reads which pods "
        "each selects, not the traffic it allows"
    )


def metrics_port(reading: Reading) -> Judged:
    rows = rows_of(reading)
    if not rows:
        return unknown("no services read")
    return unknown(
        f"{plural(len(rows), 'service')} read; the port Prometheus scrapes is in its own configuration, "
        "not beside them"
    )


def _down_targets(reading: Reading) -> list[dict[str, str]] | Judged:
    if reading.read_at is None:
        return unknown(f"the targets could not be read: {name(reading.problem or '')}")
    down = [r for r in rows_of(reading) if r.get("health") == "down"]
    if not down:
        return not_supported(name(reading.problem or "no scrape target is down"))
    return down


def _target_words(target: dict[str, str]) -> str:
    return f"{name(target.get('job', ''))} at {name(target.get('instance', ''))}"


def pod_crashed(reading: Reading) -> Judged:
    """Pod crashed, service still registered: a down target whose scrape is refused (nothing listens)."""
    down = _down_targets(reading)
    if isinstance(down, Judged):
        return down
    refused = [t for t in down if "connection refused" in t.get("last error", "")]
    if refused:
        more = f" and {plural(len(refused) - 1, 'other')}" if len(refused) > 1 else ""
        return supported(
            f"target {_target_words(refused[0])}{more} down: connection refused, nothing listens there",
            len(refused),
            1,
        )
    return not_supported(f"the down target's error is not a refusal: {name(down[0].get('last error', ''))}")


_DNS = ("no such host", "server misbehaving", "dial udp", "lookup ")


def dns_failure(reading: Reading) -> Judged:
    down = _down_targets(reading)
    if isinstance(down, Judged):
        return down
    failed = [t for t in down if any(word in t.get("last error", "") for word in _DNS)]
    if failed:
        return supported(
            f"target {_target_words(failed[0])} down: {name(failed[0].get('last error', ''))}", len(failed), 1
        )
    return not_supported(f"the down target's error is no DNS failure: {name(down[0].get('last error', ''))}")


def _value(reading: Reading) -> float | None:
    rows = rows_of(reading)
    return number(rows[0].get("value")) if rows else None


def slow_responses(reading: Reading) -> Judged:
    """Slow responses: the API's p95 latency over the last 2 min (its own histogram)."""
    p95 = _value(reading)
    if p95 is None or math.isnan(p95):
        return unknown("no API requests measured in the last 2 min")
    words = f"API p95 latency {p95:.2f} s over the last 2 min"
    if p95 >= SLOW_RESPONSES:
        return supported(words, p95, SLOW_RESPONSES)
    return not_supported(f"{words}, under {SLOW_RESPONSES:g} s")


def retry_storm(reading: Reading) -> Judged:
    """Retry storms follow failures: the share of API requests answered 5xx over the last 2 min."""
    share = _value(reading)
    if share is None or math.isnan(share):
        return unknown("no API requests measured in the last 2 min")
    words = f"{share:.1%} of API requests failed (5xx) in the last 2 min"
    if share >= RETRY_ERRORS:
        return supported(words, share, RETRY_ERRORS)
    return not_supported(f"{words}: no failure to retry after")
