"""Which of a section's common causes the evidence supports: each cause judged by a stated rule over the
reading that bears on it, then ranked, best-supported first.

`judge` applies one rule to one reading; `rank` orders the findings; `diagnose` reads every cause's
evidence once (bounded in time, never raising) and does both. The rules live in `cause_rules*.py`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from probes.base import Reading
from tui.triage import cause_rules as pg
from tui.triage import cause_rules_cluster as cluster
from tui.triage import cause_rules_redis as cache
from tui.triage.cause_rules import VERDICTS, Judged, Verdict, unknown
from tui.triage.commands import LiveRead
from tui.triage.plans import CausePlan, plan_causes
from tui.triage.registry import Sources, gather
from tui.triage.runbook import CommonCause, Runbook, Section

if TYPE_CHECKING:
    from probes.prometheus import FiringAlert

DIAGNOSE_TIMEOUT = 20.0  # s for all of a section's cause reads at once (each read has its own 15 s cap)


@dataclass(frozen=True)
class CauseFinding:
    """A common cause as the evidence judges it: the verdict, and the reading that decided it in words."""

    cause: CommonCause
    verdict: Verdict
    reason: str
    weight: float = 0.0  # how strongly a supported reading passes its threshold; 0 otherwise

    @property
    def name(self) -> str:
        """The cause's own words up to its first colon: "Bad deployment", "Connection leak"."""
        head = self.cause.text.split(": ", 1)[0].strip()
        return head or self.cause.text

    def as_json(self) -> dict[str, Any]:
        return {"cause": self.name, "verdict": self.verdict, "reason": self.reason}


@dataclass(frozen=True)
class Rule:
    """What decides one kind of cause: its rule, and whether a failed read is itself evidence."""

    judge: Callable[[Reading], Judged]
    judges_failures: bool = False  # "Redis unavailable": Redis not answering is the evidence


# Each cause's rule, by the cause's own words (the first pattern that matches); the read it needs is
# planned in tui/triage/plans.py (_CAUSES), by the same words.
RULES: tuple[tuple[re.Pattern[str], Rule], ...] = (
    (re.compile(r"\bdeploy(ment)?\b", re.I), Rule(cluster.recent_deploy)),
    (re.compile(r"\bOOM", re.I), Rule(cluster.oom_killed)),
    (re.compile(r"crashloop", re.I), Rule(cluster.crash_loop)),
    (re.compile(r"image pull", re.I), Rule(cluster.image_pull)),
    (re.compile(r"connection leak", re.I), Rule(pg.connection_leak)),
    (re.compile(r"long-running transactions", re.I), Rule(pg.long_transactions)),
    (re.compile(r"lock contention", re.I), Rule(pg.lock_contention)),
    (re.compile(r"missing indexes", re.I), Rule(pg.seq_scans)),
    (re.compile(r"full table scans|inefficient queries", re.I), Rule(pg.inefficient_queries)),
    (re.compile(r"database connection failures", re.I), Rule(pg.database_failures, judges_failures=True)),
    (re.compile(r"slow database queries", re.I), Rule(pg.slow_queries)),
    (re.compile(r"pool size", re.I), Rule(pg.pool_size)),
    (re.compile(r"connection pool|active connections", re.I), Rule(pg.pool_exhaustion)),
    (re.compile(r"large session|keys not expiring", re.I), Rule(cache.large_keys_not_expiring)),
    (re.compile(r"large (hash|set|keys?)|>\s*10\s*KB", re.I), Rule(cache.large_keys)),
    (re.compile(r"bloat|vacuum", re.I), Rule(pg.table_bloat)),
    (re.compile(r"missing ttls?", re.I), Rule(cache.missing_ttls)),
    (re.compile(r"ttl too short", re.I), Rule(cache.short_ttls)),
    (re.compile(r"redis unavailable", re.I), Rule(cache.redis_unavailable, judges_failures=True)),
    (re.compile(r"redis restart|flush", re.I), Rule(cache.restart_or_flush)),
    (re.compile(r"fragmentation", re.I), Rule(cache.fragmentation)),
    (re.compile(r"\bBGSAVE\b", re.I), Rule(cache.bgsave_running)),
    (re.compile(r"disk full|out of space", re.I), Rule(cluster.disk_full)),
    (re.compile(r"network polic", re.I), Rule(cluster.network_policy)),
    (re.compile(r"\bnode (failure|status)\b", re.I), Rule(cluster.node_failure)),
    (re.compile(r"autoscal", re.I), Rule(cluster.traffic_without_autoscaling)),
    (re.compile(r"memory\b.*\blimits?\b", re.I), Rule(cluster.memory_pressure)),
    (re.compile(r"metrics port", re.I), Rule(cluster.metrics_port)),
    (re.compile(r"dns resolution", re.I), Rule(cluster.dns_failure, judges_failures=True)),
    (re.compile(r"pod crashed", re.I), Rule(cluster.pod_crashed, judges_failures=True)),
    (re.compile(r"slow responses", re.I), Rule(cluster.slow_responses)),
    (re.compile(r"retry storms?", re.I), Rule(cluster.retry_storm)),
)


def rule_for(cause: CommonCause) -> Rule | None:
    return next((rule for pattern, rule in RULES if pattern.search(cause.text)), None)


def judge(plan: CausePlan, reading: Reading | None) -> CauseFinding:
    """The cause's verdict from the reading that bears on it; "unknown" with why when nothing can decide."""
    cause = plan.cause
    rule = rule_for(cause)
    judged: Judged
    if plan.read is None:
        judged = unknown("nothing oncall reads bears on it: check by hand")
    elif reading is None:
        judged = unknown("not read yet")
    elif rule is None:
        judged = unknown("no stated rule judges this reading: see it below")
    elif reading.read_at is None and not rule.judges_failures:
        judged = unknown(f"the read failed: {_problem(reading)}")
    elif not rule.judges_failures and not (reading.rows or reading.lines):
        judged = unknown(f"the read gave nothing: {_problem(reading)}")
    else:
        try:
            judged = rule.judge(reading)
        except Exception as exc:  # a rule tripping on an odd answer must not take the checklist down
            judged = unknown(f"the rule could not read this answer ({type(exc).__name__})")
    return CauseFinding(cause, judged.verdict, judged.reason, judged.weight)


def _problem(reading: Reading) -> str:
    from probes.format import clean

    return clean(reading.problem or "no answer")


def rank(findings: Sequence[CauseFinding]) -> tuple[CauseFinding, ...]:
    """Supported first, the strongest first; then unknown; then not supported. Ties keep runbook order."""
    order = {verdict: i for i, verdict in enumerate(VERDICTS)}
    indexed = list(enumerate(findings))
    indexed.sort(key=lambda item: (order[item[1].verdict], -item[1].weight, item[0]))
    return tuple(finding for _, finding in indexed)


def top_cause(findings: Sequence[CauseFinding]) -> CauseFinding | None:
    """The best-supported cause, or None when the evidence supports none."""
    ranked = rank(findings)
    return ranked[0] if ranked and ranked[0].verdict == "supported" else None


def judge_all(plans: Sequence[CausePlan], readings: Mapping[int, Reading]) -> tuple[CauseFinding, ...]:
    """Every cause judged from one round of evidence (cause index -> reading), ranked."""
    return rank([judge(plan, readings.get(i)) for i, plan in enumerate(plans)])


async def diagnose(
    sources: Sources, runbook: Runbook | None, section: Section, alert: FiringAlert | None = None
) -> tuple[CauseFinding, ...]:
    """Every cause of `section` read once (a read two causes share runs once), judged and ranked; bounded
    by DIAGNOSE_TIMEOUT, never raising: a read that did not come back leaves its cause unknown."""
    if alert is not None and sources.alert_query is None:
        sources = replace(sources, alert_query=alert.expression)
    plans = plan_causes(section, runbook)
    reads: dict[LiveRead, asyncio.Task[Reading]] = {}
    for plan in plans:
        if plan.read is not None and plan.read not in reads:
            reads[plan.read] = asyncio.ensure_future(gather(plan.read, sources))
    if reads:
        await asyncio.wait(reads.values(), timeout=DIAGNOSE_TIMEOUT)
    readings: dict[int, Reading] = {}
    for index, plan in enumerate(plans):
        task = reads.get(plan.read) if plan.read is not None else None
        if task is None:
            continue
        if task.done() and not task.cancelled() and task.exception() is None:
            readings[index] = task.result()
        else:
            task.cancel()
            readings[index] = Reading.failed(plan.read.source if plan.read else "", "", "no answer in time")
    return judge_all(plans, readings)
