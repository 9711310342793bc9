"""The read registry: for each read name, the source it goes to, the call on that source's Protocol, and the
shaping of the answer; `gather` runs one planned read through it and never raises.

Only reads leave here: every read goes through its source's own guard (the SQL guard, the Redis allowlist,
the Kubernetes client that sends GET only, Prometheus's query API). A source that is not configured, or one
that has no such read, gives a Reading that says so instead of a guess.

Every Reading leaves `gather` redacted (probes/redact.py), whatever its source: the checklist draws it, a
tick stores it and the export writes it, so no secret value reaches any of them.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from probes.base import (
    KubernetesSource,
    PostgresSource,
    PrometheusSource,
    Reading,
    RedisSource,
)
from probes.redact import redact_reading, redact_text
from tui.triage.commands import LiveRead, ReadName, ReadParams, Source
from tui.triage.named import as_named
from tui.triage.shaping import (
    Listing,
    info_first,
    memory_against_limits,
    restart_fields,
    shape,
    snapshot_reading,
    status_codes,
)

if TYPE_CHECKING:
    from probes.kubernetes import PodRow

READ_TIMEOUT = 15.0  # seconds for one read, whatever the probe's own timeouts


@dataclass(frozen=True)
class Sources:
    """The sources a read may go through; None where a source is not configured."""

    kubernetes: KubernetesSource | None = None
    postgres: PostgresSource | None = None
    redis: RedisSource | None = None
    prometheus: PrometheusSource | None = None
    alert_query: str | None = None  # the selected alert's expression, for "count from metrics" steps
    namespace: str | None = None  # the Kubernetes namespace oncall reads when the command names none
    pods: Callable[[], Sequence[PodRow]] | None = None  # the pod cache, for limits beside usage


@dataclass(frozen=True)
class Ask:
    """One read as its source is asked it: the command's parameters, with oncall's own defaults."""

    read: LiveRead
    what: str  # the reading's title: the command as written, or the read's name
    namespace: str | None  # the command's -n, else the namespace oncall reads
    sources: Sources

    @property
    def params(self) -> ReadParams:
        return self.read.params


S = TypeVar("S")  # the source's Protocol
A = TypeVar("A")  # what the call answers, before shaping


@dataclass(frozen=True)
class Route(Generic[S, A]):
    """Where one read goes: its source, the call on the source, and what turns the answer into a Reading."""

    source: Source
    pick: Callable[[Sources], S | None]
    call: Callable[[S, Ask], Awaitable[A]]
    shaping: Callable[[A, Ask], Reading]

    async def run(self, ask: Ask) -> Reading:
        source = self.pick(ask.sources)
        if source is None or not getattr(source, "configured", True):
            return Reading.failed(self.source, ask.what, f"{self.source} is not configured")
        return self.shaping(await self.call(source, ask), ask)


def _as_is(reading: Reading, ask: Ask) -> Reading:
    """The source already answers in a Reading: nothing to shape."""
    return reading


def _kubernetes(
    call: Callable[[KubernetesSource, Ask], Awaitable[A]], shaping: Callable[[A, Ask], Reading]
) -> Route[KubernetesSource, A]:
    return Route("kubernetes", lambda s: s.kubernetes, call, shaping)


def _kube_reading(
    call: Callable[[KubernetesSource, Ask], Awaitable[Reading]],
) -> Route[KubernetesSource, Reading]:
    return _kubernetes(call, _as_is)


def _listing(call: Callable[[KubernetesSource, Ask], Awaitable[Listing]]) -> Route[KubernetesSource, Listing]:
    """A typed list as a table of its fields, narrowed by the command's -l."""
    return _kubernetes(
        call, lambda snapshot, ask: snapshot_reading(snapshot, ask.what, selector=ask.params.selector)
    )


def _redis(
    command: Callable[[ReadParams], tuple[str, ...]], shaping: Callable[[Reading, Ask], Reading] = _as_is
) -> Route[RedisSource, Reading]:
    """A Redis command through the probe's allowlist; SCAN and BIGKEYS name the probe's scan and sampler."""

    def call(redis: RedisSource, ask: Ask) -> Awaitable[Reading]:
        p = ask.params
        return redis.read(command(p), limit=p.limit or p.count, pattern=p.pattern)

    return Route("redis", lambda s: s.redis, call, shaping)


def _prometheus(
    call: Callable[[PrometheusSource, Ask], Awaitable[Reading]],
) -> Route[PrometheusSource, Reading]:
    return Route("prometheus", lambda s: s.prometheus, call, _as_is)


def _statement(postgres: PostgresSource, ask: Ask) -> Awaitable[Reading]:
    return postgres.run_statement(ask.params.statement or "")


def _logs(kube: KubernetesSource, ask: Ask) -> Awaitable[Reading]:
    p = ask.params
    return kube.logs_reading(p.selector or "", p.tail or 200, ask.namespace, p.container, p.previous)


def _pods(kube: KubernetesSource, ask: Ask) -> Awaitable[Reading]:
    p = ask.params
    if p.jsonpath:
        return kube.jsonpath_reading(p.selector, p.jsonpath, ask.namespace)
    return kube.pods_reading(p.selector, ask.namespace)


async def _alert_query(prometheus: PrometheusSource, ask: Ask) -> Reading:
    query = ask.sources.alert_query
    if not query:
        return Reading.failed("prometheus", ask.what, "no alert selected: its expression is the query")
    return await prometheus.query_reading(query, what=f"the alert's expression: {query}")


# each pod's name and the claims its volumes mount, one pod a line
_CLAIMS = (
    '{range .items[*]}{.metadata.name}{" "}{.spec.volumes[*].persistentVolumeClaim.claimName}{"\\n"}{end}'
)


async def _volumes(prometheus: PrometheusSource, ask: Ask) -> Reading:
    """`df -h` in a workload's pod: the usage of the claims its pods mount (spec.volumes[].
    persistentVolumeClaim.claimName), read from the kubelet's volume metrics; a claim is never guessed by
    name when the pods can be read."""
    target = ask.params.name or ""
    workload = target.rpartition("/")[2] or None
    spec = await _claims_of(ask, target) if workload else None
    if spec is None:  # the pods can't be read: the claims named like the workload, and it says so
        return await prometheus.volume_usage_reading(ask.namespace or "", workload)
    claims, listed_at = spec
    what = f"kubelet_volume_stats_* for the claims {target}'s pods mount"
    if not claims:
        line = (
            f"(the pods of {target} mount no PersistentVolumeClaim: df would show the container's own disk)"
        )
        return Reading.text("prometheus", what, [line], read_at=listed_at)
    readings = [await prometheus.volume_usage_reading(ask.namespace or "", claim) for claim in claims]
    columns = next((r.columns for r in readings if r.columns), ())
    at = columns.index("persistentvolumeclaim") if "persistentvolumeclaim" in columns else None
    rows = tuple(
        row
        for reading in readings
        if reading.columns == columns
        for row in reading.rows
        if at is not None and row[at] in claims  # the claim itself, not one named like it
    )
    problems = [r.problem for r in readings if r.problem]
    read_at = max((r.read_at for r in readings if r.read_at), default=None)
    return Reading(
        "prometheus",
        f"{what}: {', '.join(claims)}",
        columns=columns if rows else (),
        rows=rows,
        read_at=read_at,
        problem="; ".join(problems) or None,
    )


async def _claims_of(ask: Ask, target: str) -> tuple[list[str], datetime] | None:
    """The PersistentVolumeClaims the pods of `target` (deploy/x, statefulset/x, pod/x or x) mount, in the
    pods' spec; None when the pods can't be read or none is the workload's."""
    kube = ask.sources.kubernetes
    if kube is None or not getattr(kube, "configured", True):
        return None
    listed = await kube.jsonpath_reading(None, _CLAIMS, ask.namespace)
    if not listed.ok or listed.read_at is None:
        return None
    kind, _, name = target.rpartition("/")
    if kind in ("", "pod", "pods", "po"):
        own = re.compile(re.escape(name) + r"(-[a-z0-9]+)*")
    else:  # a Deployment's pods are NAME-HASH-ID, a StatefulSet's NAME-ORDINAL
        own = re.compile(re.escape(name) + r"-([a-z0-9]{1,10}-[a-z0-9]{5}|\d+)")
    exact = [line.split() for line in listed.lines if line.split() and line.split()[0] == name]
    pods = exact or [line.split() for line in listed.lines if line.split() and own.fullmatch(line.split()[0])]
    if not pods:
        return None
    claims: list[str] = []
    for _, *mounted in pods:
        claims.extend(claim for claim in mounted if claim not in claims)
    return claims, listed.read_at


def _target_health(prometheus: PrometheusSource, ask: Ask) -> Awaitable[Reading]:
    pattern = ask.params.pattern
    return prometheus.targets_reading(only_down=False, match=_host_port(pattern) if pattern else None)


def _host_port(url: str) -> str:
    """host:port of a URL a runbook fetches inside a pod; "localhost:3001" matches no target, so the port."""
    host = re.sub(r"^[a-z]+://", "", url).split("/", 1)[0]
    return f":{host.rpartition(':')[2]}" if host.startswith(("localhost", "127.")) and ":" in host else host


# each route is typed where it is built (the call checked against its source's Protocol); the table holds
# routes to different sources
READS: dict[ReadName, Route[Any, Any]] = {
    # kubernetes: the probe's readings in kubectl's layout, or its typed lists as tables
    "pods": _kube_reading(_pods),
    "describe-pods": _kube_reading(lambda k, a: k.describe_reading(a.params.selector or "", a.namespace)),
    "top-pods": _kube_reading(lambda k, a: k.top_reading(a.params.selector or "", a.namespace)),
    "logs": _kube_reading(_logs),
    "log-matches": _kube_reading(_logs),
    "status-codes": _kubernetes(_logs, lambda logs, ask: status_codes(logs)),
    "memory-vs-limits": _kubernetes(
        lambda k, a: k.top_reading(a.params.selector or "", a.namespace),
        lambda top, ask: memory_against_limits(top, ask.sources.pods),
    ),
    "nodes": _listing(lambda k, a: k.nodes()),
    "events": _listing(lambda k, a: k.events(namespace=a.namespace, involved=a.params.name)),
    "hpas": _listing(lambda k, a: k.hpas(namespace=a.namespace)),
    "pvcs": _listing(lambda k, a: k.pvcs(label_selector=a.params.selector, namespace=a.namespace)),
    "services": _listing(lambda k, a: k.services(namespace=a.namespace)),
    "network-policies": _listing(lambda k, a: k.network_policies(namespace=a.namespace)),
    "helm-history": _kubernetes(
        lambda k, a: k.helm_history(a.params.release or "", a.namespace),
        lambda history, ask: snapshot_reading(history, ask.what),
    ),
    # postgresql: the one statement the guard allowed, on a read-only cursor
    "sql": Route("postgresql", lambda s: s.postgres, _statement, _as_is),
    # redis: each command on the probe's allowlist
    "info": _redis(lambda p: ("INFO", *([p.section] if p.section else [])), lambda r, a: info_first(r)),
    "config-get": _redis(lambda p: ("CONFIG", "GET", p.name or "")),
    "slowlog": _redis(lambda p: ("SLOWLOG", "GET", str(p.count or 10))),
    "latency": _redis(lambda p: ("LATENCY", "LATEST")),
    "scan": _redis(lambda p: ("SCAN",)),
    "bigkeys": _redis(lambda p: ("BIGKEYS",)),
    # "was the cache flushed": uptime, keys per database and the last save, from all of INFO
    "restart": _redis(lambda p: ("INFO",), lambda r, a: restart_fields(r)),
    # "was it flushed": uptime and the FLUSHALL/FLUSHDB calls INFO all counts (a cause's read)
    "flushes": _redis(lambda p: ("INFO", "all"), lambda r, a: _flush_fields(r)),
    # prometheus: what it already knows of the cluster, instead of a command inside a pod
    "promql": _prometheus(
        lambda prom, a: prom.query_reading(a.params.statement or "", what=a.read.note or None)
    ),
    "alert-query": _prometheus(_alert_query),
    "targets-down": _prometheus(lambda prom, a: prom.targets_reading(only_down=True)),
    "target-health": _prometheus(_target_health),
    "volume-usage": _prometheus(_volumes),
}
_FLUSH_FIELDS = re.compile(r"uptime_in_seconds|cmdstat_flush(all|db)|db\d+")


def _flush_fields(reading: Reading) -> Reading:
    """Of INFO all, what tells a flush or a restart: uptime, the flush commands' calls, keys per database."""
    if not reading.rows:
        return reading
    kept = tuple(row for row in reading.rows if _FLUSH_FIELDS.fullmatch(row[0]))
    return replace(reading, rows=kept, what="uptime, FLUSHALL/FLUSHDB calls and keys (INFO all)")


_NAMES: dict[Source, str] = {
    "kubernetes": "Kubernetes",
    "postgresql": "PostgreSQL",
    "redis": "Redis",
    "prometheus": "Prometheus",
}


async def gather(read: LiveRead, sources: Sources) -> Reading:
    """One read, bounded in time, never raising, and redacted: what a source can't answer is a Reading
    saying why."""
    return redact_reading(await _gather(read, sources))


async def _gather(read: LiveRead, sources: Sources) -> Reading:
    what = _what(read)
    ask = Ask(read, what, read.params.namespace or sources.namespace, sources)
    route = READS.get(read.read)
    try:
        async with asyncio.timeout(READ_TIMEOUT):
            if route is None or route.source != read.source:
                return Reading.failed(read.source, what, f"no {_NAMES[read.source]} read for {read.read}")
            reading = await route.run(ask)
    except TimeoutError:
        return Reading.failed(read.source, what, f"no answer within {READ_TIMEOUT:g}s")
    except Exception as exc:  # a bug in one read must not take the checklist down
        return Reading.failed(read.source, what, f"internal error while reading: {type(exc).__name__}")
    return shape(as_named(reading, read, ask.namespace), read)


async def gather_all(reads: Sequence[LiveRead], sources: Sources) -> tuple[Reading, ...]:
    """The reads of one step, at once."""
    return tuple(await asyncio.gather(*(gather(r, sources) for r in reads)))


def what_of(read: LiveRead) -> str:
    """A read's title, as its Reading says it (redacted): the command as written, or the read's name."""
    return redact_text(_what(read))


def _what(read: LiveRead) -> str:
    if read.command:
        return read.command
    return f"{read.source} {read.read}" + (f" ({read.params.selector})" if read.params.selector else "")
