"""What every probe shares: the health record it reports, the `Reading` it answers a triage read with, the
capped exponential backoff between failed polls, and the contract (a `Protocol`) each source meets."""

from __future__ import annotations

import asyncio
import inspect
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    from probes.kubernetes.helm import HelmRevision
    from probes.kubernetes.probe import (
        HpaRow,
        KubeEvent,
        LogTail,
        NetworkPolicyRow,
        NodeRow,
        PodCache,
        PodMetrics,
        PvcRow,
        ResourceSnapshot,
        ServiceRow,
    )
    from probes.kubernetes.settings import KubernetesSettings
    from probes.postgres.probe import PgSnapshot
    from probes.postgres.settings import PostgresSettings
    from probes.prometheus.probe import AlertsSnapshot
    from probes.prometheus.settings import PrometheusSettings
    from probes.redis.probe import KeySample, RedisSnapshot
    from probes.redis.settings import RedisSettings

T = TypeVar("T")
HealthState = Literal["ok", "degraded", "down", "forbidden", "not-configured"]

# 2**16 times any sane refresh is far past any cap; bounding the exponent keeps the float finite
# after days of failures (2**1100 would overflow).
_MAX_EXPONENT = 16


@dataclass(frozen=True)
class SourceHealth:
    source: str  # "prometheus", "kubernetes", "postgresql", "redis"
    state: HealthState
    checked_at: datetime | None = None  # when the last poll ended
    last_success: datetime | None = None
    latency: float | None = None  # seconds, of the last successful poll
    last_error: str | None = None  # plain words, no traceback, no secrets; a note when degraded
    detail: str | None = None  # what the last successful poll read, e.g. "3 alerts (2 firing, 1 pending)"
    endpoint: str | None = None  # where the source is read from, without credentials

    @property
    def answering(self) -> bool:
        """The source answered its last poll (ok, or degraded with a note): its data is current."""
        return self.state in ("ok", "degraded")

    @classmethod
    def not_configured(cls, source: str, detail: str = "not configured") -> SourceHealth:
        return cls(source=source, state="not-configured", last_error=detail)

    @classmethod
    def failed(
        cls,
        source: str,
        message: str,
        *,
        checked_at: datetime,
        previous: SourceHealth | None,
        endpoint: str | None,
        state: HealthState = "down",
    ) -> SourceHealth:
        """A failed poll: what went wrong now, with what the last good one said and when it was."""
        return cls(
            source=source,
            state=state,
            checked_at=checked_at,
            last_success=previous.last_success if previous else None,
            latency=previous.latency if previous else None,
            last_error=message,
            detail=previous.detail if previous else None,
            endpoint=endpoint,
        )


@dataclass
class Backoff:
    """Capped exponential backoff with equal jitter: between half and all of min(cap, base * 2**failures)."""

    base: float
    cap: float = 60.0
    failures: int = 0
    rng: random.Random | None = None

    @classmethod
    def for_source(cls, refresh: float, backoff_max: float) -> Backoff:
        """Polls every `refresh` while the source is healthy, at most `backoff_max` apart while it fails."""
        return cls(base=refresh, cap=max(backoff_max, refresh))

    def success(self) -> None:
        self.failures = 0

    def failure(self) -> None:
        self.failures += 1

    def next_delay(self) -> float:
        if self.failures == 0:
            return self.base
        ceiling = min(self.cap, self.base * 2 ** min(self.failures, _MAX_EXPONENT))
        rng = self.rng or random
        # never sooner than the normal refresh, never later than the cap
        return max(self.base, rng.uniform(ceiling / 2, ceiling))


async def poll_until(
    poll: Callable[[], Awaitable[T]],
    deliver: Callable[[T], Awaitable[None] | None],
    next_delay: Callable[[], float],
    *,
    stop: asyncio.Event | None = None,
    wake: asyncio.Event | None = None,
) -> None:
    """Poll, deliver, wait, repeat: the next poll is scheduled when this one ends, so polls never overlap.

    The wait is `next_delay()` (the refresh, or the backoff after failures), cut short by `wake` (the user
    asked for a refresh) or `stop`; without `stop` it runs until cancelled.
    """
    stop = stop or asyncio.Event()
    while not stop.is_set():
        snapshot = await poll()
        delivered = deliver(snapshot)
        if inspect.isawaitable(delivered):
            await delivered
        waits = [asyncio.ensure_future(stop.wait())]
        if wake is not None:
            wake.clear()
            waits.append(asyncio.ensure_future(wake.wait()))
        try:
            await asyncio.wait(waits, timeout=next_delay(), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()


# One read a runbook step asked for, as evidence: a small table or a few lines, when it was read, from where.
# Every probe answers a live triage read with a `Reading`; everything in it came from a server: untrusted
# text, drawn as text (never markup) with control characters removed.
@dataclass(frozen=True)
class Reading:
    source: str  # "postgresql", "redis", "kubernetes", "prometheus"
    what: str  # what was read, in the source's own words: "INFO memory", "pods -l app=inmidst-api"
    columns: tuple[str, ...] = ()  # a table's header; empty when the reading is lines of text
    rows: tuple[tuple[str, ...], ...] = ()  # each as long as `columns`
    lines: tuple[str, ...] = ()  # text output (logs, describe) when there is no table
    read_at: datetime | None = None  # None when nothing could be read
    truncated: bool = False  # more rows or lines than kept
    problem: str | None = None  # why there is nothing, or only part: refused, blocked, forbidden, down

    @classmethod
    def failed(cls, source: str, what: str, problem: str, read_at: datetime | None = None) -> Reading:
        return cls(source=source, what=what, read_at=read_at, problem=problem)

    @classmethod
    def table(
        cls,
        source: str,
        what: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[object]],
        *,
        read_at: datetime,
        limit: int | None = None,
    ) -> Reading:
        """A table, every value as text ("" for None), at most `limit` rows."""
        kept = rows if limit is None else rows[:limit]
        return cls(
            source=source,
            what=what,
            columns=tuple(columns),
            rows=tuple(tuple("" if v is None else str(v) for v in row) for row in kept),
            read_at=read_at,
            truncated=limit is not None and len(rows) > limit,
        )

    @classmethod
    def text(
        cls, source: str, what: str, lines: Sequence[str], *, read_at: datetime, limit: int | None = None
    ) -> Reading:
        kept = lines if limit is None else lines[-limit:]  # the newest end, as tail does
        return cls(
            source=source,
            what=what,
            lines=tuple(kept),
            read_at=read_at,
            truncated=limit is not None and len(lines) > limit,
        )

    @property
    def ok(self) -> bool:
        return self.read_at is not None and self.problem is None


class Secret:
    """A token or password: usable by the probe, never shown by repr/str."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


# --- the contract each source meets: what the app, the CLI and the triage registry call on it ----------
# The probes implement these, and so do the demo's sources (tui/demo): the app is typed against them.


class PrometheusSource(Protocol):
    """Alerts and rules, polled; plus the queries a runbook step asks for (tui/triage/registry.py)."""

    @property
    def settings(self) -> PrometheusSettings: ...

    async def poll(self) -> AlertsSnapshot: ...

    def next_delay(self) -> float: ...

    async def aclose(self) -> None: ...

    def rule_expressions(self) -> dict[str, str]: ...

    async def query_reading(self, expr: str, *, limit: int = ..., what: str | None = None) -> Reading: ...

    async def targets_reading(
        self, *, only_down: bool = ..., match: str | None = None, limit: int = ...
    ) -> Reading: ...

    async def volume_usage_reading(self, namespace: str, workload: str | None) -> Reading: ...


class KubernetesSource(Protocol):
    """The pod cache (fed by a watch), the reads behind the dashboard's tabs, and the triage reads."""

    @property
    def settings(self) -> KubernetesSettings: ...

    @property
    def health(self) -> SourceHealth: ...

    def start_pods(self) -> PodCache: ...

    def close(self) -> None: ...

    async def events(
        self, namespace: str | None = None, involved: str | None = None, limit: int = ...
    ) -> ResourceSnapshot[KubeEvent]: ...

    async def pod_metrics(self, namespace: str | None = None) -> ResourceSnapshot[PodMetrics]: ...

    async def helm_history(
        self, release: str, namespace: str | None = None
    ) -> ResourceSnapshot[HelmRevision]: ...

    async def logs(
        self,
        namespace: str | None,
        pod: str,
        container: str | None = None,
        tail: int = ...,
        previous: bool = False,
    ) -> LogTail: ...

    async def nodes(self) -> ResourceSnapshot[NodeRow]: ...

    async def hpas(self, namespace: str | None = None) -> ResourceSnapshot[HpaRow]: ...

    async def pvcs(
        self, label_selector: str | None = None, namespace: str | None = None
    ) -> ResourceSnapshot[PvcRow]: ...

    async def services(self, namespace: str | None = None) -> ResourceSnapshot[ServiceRow]: ...

    async def network_policies(self, namespace: str | None = None) -> ResourceSnapshot[NetworkPolicyRow]: ...

    async def pods_reading(self, selector: str | None, namespace: str | None = None) -> Reading: ...

    async def describe_reading(self, selector: str, namespace: str | None = None) -> Reading: ...

    async def top_reading(self, selector: str, namespace: str | None = None) -> Reading: ...

    async def logs_reading(
        self,
        selector: str,
        tail: int,
        namespace: str | None = None,
        container: str | None = None,
        previous: bool = False,
    ) -> Reading: ...

    async def jsonpath_reading(
        self, selector: str | None, jsonpath: str, namespace: str | None = None
    ) -> Reading: ...


class PostgresSource(Protocol):
    """Sessions, pressure, statements and tables, polled. The demo's database has no live statements: the
    triage registry asks `PostgresStatements` for those (`isinstance` works: it is runtime-checkable)."""

    @property
    def settings(self) -> PostgresSettings: ...

    @property
    def configured(self) -> bool: ...

    async def poll(self) -> PgSnapshot: ...

    def next_delay(self) -> float: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class PostgresStatements(Protocol):
    """A source that runs the SQL statement a runbook step names, read-only, as a `Reading`."""

    async def run_statement(self, statement: str, *, max_rows: int = ...) -> Reading: ...


class RedisSource(Protocol):
    """INFO, slow log, latency and config, polled; the opt-in key sampler; the runbook's redis-cli reads."""

    @property
    def settings(self) -> RedisSettings: ...

    @property
    def configured(self) -> bool: ...

    @property
    def last_snapshot(self) -> RedisSnapshot | None: ...

    async def poll(self) -> RedisSnapshot: ...

    def next_delay(self) -> float: ...

    async def aclose(self) -> None: ...

    async def sample_keys(
        self,
        *,
        max_keys: int | None = None,
        max_seconds: float | None = None,
        count: int = ...,
        samples: int = ...,
        top: int = ...,
    ) -> KeySample: ...

    async def read(
        self, command: Sequence[str], *, limit: int | None = None, pattern: str | None = None
    ) -> Reading: ...
