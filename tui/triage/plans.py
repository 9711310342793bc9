"""What each triage step can show as live evidence: its commands' reads, or a read the step's words ask for.

A step's plan is one of
- live: at least one of its commands is a read oncall runs itself (`kubectl get pods -l …`, `SELECT …`,
  `redis-cli INFO memory`, or an `exec` oncall translates into the same read through its own probes);
- derived: it has no command, but its words ask a question a probe can answer ("identify the most common
  error codes" → HTTP status codes counted in the API pods' log tail);
- copy-only: its commands are mutating or unknown: never run, shown with a warning, copyable;
- manual: nothing to read; the user checks it by hand.
`oncall runbook coverage` prints these per section.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tui.triage.commands import (
    Classified,
    ConfiguredServers,
    LiveRead,
    Mutating,
    ReadName,
    ReadParams,
    Source,
    Unknown,
    classify,
)
from tui.triage.runbook import CommonCause, Runbook, Section, TriageStep
from tui.triage.selectors import helm_releases, section_selectors

PlanKind = Literal["live", "derived", "copy-only", "manual"]
PLAN_KINDS: tuple[PlanKind, ...] = ("live", "derived", "copy-only", "manual")


@dataclass(frozen=True)
class StepPlan:
    step: TriageStep
    kind: PlanKind
    reads: tuple[LiveRead, ...]  # what runs, in the step's order; empty for copy-only and manual
    commands: tuple[Classified, ...]  # every command of the step, classified (what `c` copies)

    @property
    def has_evidence(self) -> bool:
        return bool(self.reads)


# The questions commandless steps ask, and the read that answers each. The patterns are the runbook's own
# phrasings, loosely: "check if cache was recently flushed" and "was the cache flushed recently" both match.
_DERIVED: tuple[tuple[re.Pattern[str], Source, ReadName, str], ...] = (
    (
        re.compile(r"\berror codes?\b|\b50[0234]\b", re.I),
        "kubernetes",
        "status-codes",
        "HTTP status codes counted in the component's log tail",
    ),
    (
        re.compile(r"\bmemory limits?\b.*\busage\b|\busage\b.*\bmemory limits?\b", re.I),
        "kubernetes",
        "memory-vs-limits",
        "each pod's memory use against its limit",
    ),
    (
        re.compile(r"\bconnection count\b.*\bmetrics\b", re.I),
        "prometheus",
        "alert-query",
        "the alert's own expression, evaluated now",
    ),
    (
        re.compile(r"\bwhich target\b.*\bdown\b|\btargets? page\b", re.I),
        "prometheus",
        "targets-down",
        "the scrape targets Prometheus sees down, with their last error",
    ),
    (
        re.compile(r"\b(cache|redis)\b.*\b(flush|flushed|restart|restarted)\b", re.I),
        "redis",
        "restart",
        "uptime, keys per database and the last save: a restart or a flush empties the cache",
    ),
    (
        re.compile(r"\blogs?\b.*\bcache miss", re.I),
        "kubernetes",
        "log-matches",
        "log lines of the component mentioning cache misses",
    ),
    (
        re.compile(r"\bnetwork latency between pods\b|\blatency between\b", re.I),
        "redis",
        "latency",
        "Redis's own latency events (LATENCY LATEST)",
    ),
)
# what a derived log search looks for
_LOG_PATTERNS = {"log-matches": r"cache.?miss|miss(ed)? cache|MISS"}


def plan_step(
    step: TriageStep, section: Section | None = None, servers: ConfiguredServers | None = None
) -> StepPlan:
    """The step's reads: its commands' live reads, else the read its words ask for, else nothing.

    `servers` are the ones oncall reads: a psql or redis-cli command aimed at another is copy-only."""
    commands = tuple(classify(command, servers) for command in step.commands)
    reads = tuple(c for c in commands if isinstance(c, LiveRead))
    if reads:
        return StepPlan(step, "live", reads, commands)
    if not commands:
        derived = _derived(step, section)
        if derived is not None:
            return StepPlan(step, "derived", (derived,), commands)
        return StepPlan(step, "manual", (), commands)
    return StepPlan(step, "copy-only", (), commands)


def _derived(step: TriageStep, section: Section | None) -> LiveRead | None:
    for pattern, source, read, note in _DERIVED:
        if pattern.search(step.text):
            selector = _component_selector(section)
            params = ReadParams(selector=selector, pattern=_LOG_PATTERNS.get(read), tail=200)
            return LiveRead(source, read, params, command="", note=note)
    return None


def _component_selector(section: Section | None) -> str | None:
    """The section's own label selector (its `-l app=…`), so a derived read looks at the right pods."""
    if section is None:
        return None
    selectors = section_selectors(section)
    return ",".join(f"{key}={value}" for key, value in selectors[0]) if selectors else None


# --- common causes: the evidence that bears on each (evidence, never a verdict) ---------------------------

# Each statement reads the facts a cause's rule needs (tui/triage/cause_rules*.py); the rules, not the SQL,
# apply the thresholds, except the ages a count needs (5 min: the runbook's own idle-in-transaction query).
_CLIENTS = "backend_type = 'client backend'"
_IDLE_IN_TRANSACTION = (
    "SELECT application_name, "
    "count(*) FILTER (WHERE state LIKE 'idle in transaction%') AS idle_in_transaction, "
    "count(*) FILTER (WHERE state LIKE 'idle in transaction%' "
    "AND state_change < now() - interval '5 minutes') AS over_5_min, "
    "count(*) AS connections, "
    "coalesce(round(extract(epoch FROM max(now() - xact_start) "
    "FILTER (WHERE state LIKE 'idle in transaction%'))), 0) AS oldest_s "
    f"FROM pg_stat_activity WHERE {_CLIENTS} GROUP BY application_name ORDER BY 2 DESC, 4 DESC"
)
_LONG_TRANSACTIONS = (
    "SELECT count(*) FILTER (WHERE xact_start < now() - interval '5 minutes') AS over_5_min, "
    "count(*) AS transactions, coalesce(round(extract(epoch FROM max(now() - xact_start))), 0) AS oldest_s "
    f"FROM pg_stat_activity WHERE state = 'active' AND xact_start IS NOT NULL AND {_CLIENTS}"
)
_SLOW_SESSIONS = (
    "SELECT application_name, count(*) AS sessions, "
    "round(extract(epoch FROM max(now() - query_start))::numeric, 1) AS longest_s "
    f"FROM pg_stat_activity WHERE state = 'active' AND {_CLIENTS} "
    "AND query_start < now() - interval '1 second' GROUP BY application_name ORDER BY 2 DESC"
)
_ANSWERS = "SELECT 1 AS answers"
_LOCK_WAITS = "SELECT count(*) AS waiting_on_locks FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
_CONNECTIONS = (
    "SELECT count(*) AS connections, count(*) FILTER (WHERE state = 'idle') AS idle, "
    f"current_setting('max_connections') AS max_connections FROM pg_stat_activity WHERE {_CLIENTS}"
)
_DEAD_TUPLES = (
    "SELECT relname, n_live_tup, n_dead_tup FROM pg_stat_user_tables ORDER BY n_dead_tup DESC LIMIT 5"
)
# the statements taking the most time, with the pages each call reads: a query that reads thousands of pages
# per call for a few rows scans a table an index would spare (pg_stat_statements, as the runbook's step 1)
_SCANNING_STATEMENTS = (
    "SELECT left(query, 100) AS query, calls, round(mean_exec_time::numeric, 1) AS mean_ms, "
    "(shared_blks_hit + shared_blks_read) / calls AS pages_per_call, rows / calls AS rows_per_call "
    "FROM pg_stat_statements WHERE calls > 0 "
    "AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "ORDER BY total_exec_time DESC LIMIT 5"
)
# PromQL: what the API already counts, as rates over the last minutes
_API_P95 = (
    "histogram_quantile(0.95, sum by (le) "
    '(rate(http_request_duration_seconds_bucket{job="inmidst-api"}[2m])))'
)
_API_ERRORS = (
    'sum(rate(http_requests_total{job="inmidst-api", status=~"5.."}[2m])) '
    '/ sum(rate(http_requests_total{job="inmidst-api"}[2m]))'
)
# each pod: name, waiting reasons, last termination reasons, restarts (an OOM kill shows only in lastState),
# split by "|" (no pod name or kubelet reason has one; the probe expands tabs, as kubectl's output does)
POD_STATES = (
    '{range .items[*]}{.metadata.name}{"|"}{.status.containerStatuses[*].state.waiting.reason}{"|"}'
    '{.status.containerStatuses[*].lastState.terminated.reason}{"|"}'
    '{.status.containerStatuses[*].restartCount}{"\\n"}{end}'
)
_PODS = {"jsonpath": POD_STATES}

# (pattern on the cause's words, source, read, what the read says about it, extra parameters); the first
# pattern that matches plans the cause's read; tui/triage/causes.py judges it, by the same words
_CAUSES: tuple[tuple[re.Pattern[str], Source, ReadName, str, dict[str, Any]], ...] = (
    (
        re.compile(r"\bdeploy(ment)?\b", re.I),
        "kubernetes",
        "helm-history",
        "the latest releases and when",
        {},
    ),
    (
        re.compile(r"\bOOM|crashloop|image pull", re.I),
        "kubernetes",
        "pods",
        "the pods' states and last ends",
        _PODS,
    ),
    (
        re.compile(r"connection leak", re.I),
        "postgresql",
        "sql",
        "sessions idle in a transaction, by application",
        {"statement": _IDLE_IN_TRANSACTION},
    ),
    (
        re.compile(r"long-running transactions", re.I),
        "postgresql",
        "sql",
        "active transactions and their age",
        {"statement": _LONG_TRANSACTIONS},
    ),
    (
        re.compile(r"lock contention", re.I),
        "postgresql",
        "sql",
        "sessions waiting on a lock",
        {"statement": _LOCK_WAITS},
    ),
    (
        re.compile(r"missing indexes|full table scans|inefficient queries", re.I),
        "postgresql",
        "sql",
        "the statements taking the most time, and the pages each call reads",
        {"statement": _SCANNING_STATEMENTS},
    ),
    (
        re.compile(r"database connection failures", re.I),
        "postgresql",
        "sql",
        "whether PostgreSQL answers",
        {"statement": _ANSWERS},
    ),
    (
        re.compile(r"slow database queries", re.I),
        "postgresql",
        "sql",
        "sessions running one query for more than a second",
        {"statement": _SLOW_SESSIONS},
    ),
    (
        re.compile(r"connection pool|active connections|pool size", re.I),
        "postgresql",
        "sql",
        "connections in use and idle against max_connections",
        {"statement": _CONNECTIONS},
    ),
    (
        re.compile(r"large (hash|set|keys?|session)|>\s*10\s*KB|keys not expiring", re.I),
        "redis",
        "bigkeys",
        "the largest keys sampled",
        {},
    ),
    (re.compile(r"metrics port", re.I), "kubernetes", "services", "the services and their ports", {}),
    (re.compile(r"bloat|vacuum", re.I), "postgresql", "sql", "dead tuples", {"statement": _DEAD_TUPLES}),
    (
        re.compile(r"missing ttls?|ttl too short", re.I),
        "redis",
        "info",
        "keys with a TTL per database",
        {"section": "keyspace"},
    ),
    (re.compile(r"redis unavailable", re.I), "redis", "info", "whether Redis answers", {"section": "server"}),
    (
        re.compile(r"redis restart|flush", re.I),
        "redis",
        "flushes",
        "uptime and FLUSHALL/FLUSHDB calls",
        {},
    ),
    (re.compile(r"fragmentation", re.I), "redis", "info", "memory and fragmentation", {"section": "memory"}),
    (
        re.compile(r"\bBGSAVE\b", re.I),
        "redis",
        "info",
        "persistence: a BGSAVE running, the last fork",
        {"section": "persistence"},
    ),
    (re.compile(r"disk full|out of space", re.I), "prometheus", "volume-usage", "the volumes' usage", {}),
    (
        re.compile(r"network polic", re.I),
        "kubernetes",
        "network-policies",
        "the namespace's network policies",
        {},
    ),
    (re.compile(r"\bnode (failure|status)\b", re.I), "kubernetes", "nodes", "the nodes' conditions", {}),
    (re.compile(r"autoscal", re.I), "kubernetes", "hpas", "the autoscalers: current and max replicas", {}),
    (
        re.compile(r"memory\b.*\blimits?\b", re.I),
        "kubernetes",
        "memory-vs-limits",
        "each pod's memory use against its limit",
        {},
    ),
    (
        re.compile(r"dns resolution|pod crashed", re.I),
        "prometheus",
        "targets-down",
        "the scrape targets down, with their last error",
        {},
    ),
    (
        re.compile(r"slow responses", re.I),
        "prometheus",
        "promql",
        "the API's p95 latency over 2 min",
        {"statement": _API_P95},
    ),
    (
        re.compile(r"retry storms?", re.I),
        "prometheus",
        "promql",
        "the share of API requests failing over 2 min",
        {"statement": _API_ERRORS},
    ),
)


@dataclass(frozen=True)
class CausePlan:
    cause: CommonCause
    read: LiveRead | None  # None: nothing a probe reads bears on it


def plan_causes(section: Section, runbook: Runbook | None = None) -> tuple[CausePlan, ...]:
    """For each common cause, the read whose answer bears on it, if any."""
    selector = _component_selector(section)
    releases = helm_releases(runbook.sections if runbook else [section])
    plans_: list[CausePlan] = []
    for cause in section.causes:
        read = None
        for pattern, source, name, note, extra in _CAUSES:
            if pattern.search(cause.text):
                workload = selector.partition("=")[2] if selector else None
                params = ReadParams(
                    selector=selector if source == "kubernetes" and name != "nodes" else None,
                    release=releases[0][0] if releases and name == "helm-history" else None,
                    namespace=releases[0][1] if releases and name == "helm-history" else None,
                    name=workload if name == "volume-usage" else None,
                    **extra,
                )
                read = LiveRead(source, name, params, command="", note=note)
                break
        plans_.append(CausePlan(cause, read))
    return tuple(plans_)


# --- coverage ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SectionCoverage:
    slug: str
    plans: tuple[StepPlan, ...]

    def count(self, kind: PlanKind) -> int:
        return sum(1 for p in self.plans if p.kind == kind)


@dataclass(frozen=True)
class Coverage:
    sections: tuple[SectionCoverage, ...]

    @property
    def steps(self) -> int:
        return sum(len(s.plans) for s in self.sections)

    @property
    def with_evidence(self) -> int:
        return sum(1 for s in self.sections for p in s.plans if p.has_evidence)

    def count(self, kind: PlanKind) -> int:
        return sum(s.count(kind) for s in self.sections)

    @property
    def commands(self) -> tuple[Classified, ...]:
        return tuple(c for s in self.sections for p in s.plans for c in p.commands)

    @property
    def commands_live(self) -> int:
        return sum(1 for c in self.commands if isinstance(c, LiveRead) and not c.translated)

    @property
    def commands_translated(self) -> int:
        return sum(1 for c in self.commands if isinstance(c, LiveRead) and c.translated)


def coverage(runbook: Runbook, servers: ConfiguredServers | None = None) -> Coverage:
    return Coverage(
        tuple(
            SectionCoverage(section.slug, tuple(plan_step(step, section, servers) for step in section.steps))
            for section in runbook.sections
        )
    )


def _plan_words(plan: StepPlan) -> str:
    if plan.kind == "live":
        return ", ".join(_read_words(r) for r in plan.reads)
    if plan.kind == "derived":
        return f"{_read_words(plan.reads[0])}: {plan.reads[0].note}"
    if plan.kind == "copy-only":
        return "; ".join(c.reason for c in plan.commands if isinstance(c, Mutating | Unknown))
    return "no command, and nothing a probe can read for it"


def _read_words(read: LiveRead) -> str:
    words = f"{read.source} {read.read}"
    return f"{words} (translated)" if read.translated else words


def format_coverage(report: Coverage, *, as_json: bool = False) -> str:
    """Per section, each step's plan; then the totals the live triage issue asks for."""
    if as_json:
        import json

        return json.dumps(_coverage_json(report), indent=2)
    lines: list[str] = []
    for section in report.sections:
        counts = ", ".join(f"{section.count(k)} {k}" for k in PLAN_KINDS)
        lines.append(f"{section.slug}: {counts}")
        for plan in section.plans:
            lines.append(f"  {plan.step.number}. {plan.kind:<9} {_plan_words(plan)}")
    commands = len(report.commands)
    lines.append("")
    lines.append(
        f"steps: {report.steps}, with evidence {report.with_evidence} "
        f"({report.count('live')} live, {report.count('derived')} derived), "
        f"{report.count('copy-only')} copy-only, {report.count('manual')} manual"
    )
    lines.append(
        f"commands: {commands}, {report.commands_live} live, {report.commands_translated} translated, "
        f"{commands - report.commands_live - report.commands_translated} never run"
    )
    return "\n".join(lines)


def _coverage_json(report: Coverage) -> dict[str, Any]:
    def plan_json(plan: StepPlan) -> dict[str, Any]:
        return {
            "step": plan.step.number,
            "text": plan.step.text,
            "kind": plan.kind,
            "reads": [
                {"source": r.source, "read": r.read, "translated": r.translated, "note": r.note}
                for r in plan.reads
            ],
            "commands": [_command_json(c) for c in plan.commands],
        }

    return {
        "sections": [{"slug": s.slug, "steps": [plan_json(p) for p in s.plans]} for s in report.sections],
        "totals": {
            "steps": report.steps,
            "with_evidence": report.with_evidence,
            "live": report.count("live"),
            "derived": report.count("derived"),
            "copy_only": report.count("copy-only"),
            "manual": report.count("manual"),
            "commands": len(report.commands),
            "commands_live": report.commands_live,
            "commands_translated": report.commands_translated,
        },
    }


def _command_json(command: Classified) -> dict[str, Any]:
    if isinstance(command, LiveRead):
        return {"command": command.command, "kind": "translated" if command.translated else "live"}
    kind = "mutating" if isinstance(command, Mutating) else "unknown"
    return {"command": command.command, "kind": kind, "reason": command.reason}


def plans(section: Section, servers: ConfiguredServers | None = None) -> Sequence[StepPlan]:
    """The plan of each of the section's steps, in order."""
    return [plan_step(step, section, servers) for step in section.steps]
