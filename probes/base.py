"""What every probe shares: the health record it reports, the `Reading` it answers a triage read with, the
capped exponential backoff between failed polls, and the contract (a `Protocol`) each source meets."""

from __future__ import annotations

import asyncio
import inspect
import random
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import Field, dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Protocol, Self, TypeVar

if TYPE_CHECKING:
    from probes.kubernetes import (
        HelmRevision,
        HpaRow,
        KubeEvent,
        KubernetesSettings,
        LogTail,
        NetworkPolicyRow,
        NodeRow,
        PodCache,
        PodMetrics,
        PvcRow,
        ResourceSnapshot,
        ServiceRow,
    )
    from probes.postgres import PgSnapshot, PostgresSettings
    from probes.prometheus import AlertsSnapshot, PrometheusSettings
    from probes.redis import KeySample, RedisSettings, RedisSnapshot

T = TypeVar("T")
H = TypeVar("H", bound=Hashable)
HealthState = Literal["ok", "degraded", "down", "forbidden", "not-configured"]

# 2**16 times any sane refresh is far past any cap; bounding the exponent keeps the float finite
# after days of failures (2**1100 would overflow).
_MAX_EXPONENT = 16


def utc_now() -> datetime:
    """The clock every source and the app read by default (tests pass their own)."""
    return datetime.now(UTC)


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


class SentLog(list[H]):
    """What a probe sent, in order, for the tests that prove it only reads: the newest KEPT entries (at
    least), not every statement of every refresh since start. A dashboard open for a shift polls thousands
    of times; an unbounded record grew the process by every command it ever sent (the soak, bench.soak_bench).
    Trimmed back to KEPT each time it reaches twice that, so an append stays O(1) amortised. Equal entries
    are kept as one object: a refresh sends the same few statements, each built afresh (3.8 KB for the
    activity statement), and 20,000 copies of them were ~26 MiB by the end of a shift."""

    KEPT = 10_000

    def __init__(self, items: Iterable[H] = ()) -> None:
        super().__init__()
        self._same: dict[H, H] = {}
        self.extend(items)

    def append(self, item: H) -> None:
        super().append(self._same.setdefault(item, item))
        self._trim()

    def extend(self, items: Iterable[H]) -> None:
        super().extend(self._same.setdefault(item, item) for item in items)
        self._trim()

    def _trim(self) -> None:
        if len(self) >= 2 * self.KEPT:
            del self[: -self.KEPT]
            self._same = {item: item for item in self}


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


class _Snapshot(Protocol):
    """What every polled source's snapshot is: a dataclass with its health, and when its data was read."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @property
    def health(self) -> SourceHealth: ...

    @property
    def fetched_at(self) -> datetime | None: ...


S = TypeVar("S", bound=_Snapshot)


class PolledSource(ABC, Generic[S]):
    """The lifecycle every polled source shares: one poll at a time, never raising, backing off while it
    fails, and keeping the last good data on screen (with the time it was really read) when a poll fails.

    A source says what it reads in `_poll_guarded` (which turns its own failures into `_failed(...)`),
    what a snapshot with nothing in it is (`_empty`), and what stale data looks like (`_stale`).
    """

    SOURCE: str  # "postgresql", "redis", "prometheus"
    NAME: str  # the product, in "internal error while reading PostgreSQL"
    NOT_CONFIGURED: str  # how to configure it, the health's message when it isn't
    # exceptions a poll lets through: a bug in the probe's own guard, which tests must see
    _PROPAGATE: tuple[type[Exception], ...] = ()

    def __init__(self, *, backoff: Backoff, clock: Callable[[], datetime], endpoint: str | None) -> None:
        self.backoff = backoff
        self._clock = clock
        self.endpoint = endpoint
        self._lock = asyncio.Lock()  # a manual refresh waits for the scheduled poll instead of overlapping it
        self._last: S | None = None

    @property
    @abstractmethod
    def configured(self) -> bool: ...

    @property
    def last_snapshot(self) -> S | None:
        return self._last

    def next_delay(self) -> float:
        """Seconds until the next poll: the refresh when healthy, backing off after failures."""
        return self.backoff.next_delay()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @abstractmethod
    async def aclose(self) -> None: ...

    async def poll(self) -> S:
        """One refresh. Failures become the health record; the last good data is kept."""
        if not self.configured:
            return self._empty(SourceHealth.not_configured(self.SOURCE, self.NOT_CONFIGURED))
        async with self._lock:
            try:
                snapshot = await self._poll_guarded()
            except self._PROPAGATE:
                raise
            except Exception as exc:  # a bug here must not take the console down at 3 a.m.
                await self._reset()
                snapshot = self._failed(f"internal error while reading {self.NAME}: {type(exc).__name__}")
            self._last = snapshot
            return snapshot

    @abstractmethod
    async def _poll_guarded(self) -> S:
        """One read, its expected failures (refused, timed out, forbidden) already a `_failed` snapshot."""

    async def _reset(self) -> None:
        """After an unexpected error: drop the connection, so the next poll starts afresh."""

    @abstractmethod
    def _empty(self, health: SourceHealth) -> S:
        """A snapshot with no data, only `health`."""

    def _stale(self, previous: S, health: SourceHealth) -> S:
        """The last good snapshot, with the failed poll's health."""
        return replace(previous, health=health)

    def _failed(self, message: str, state: HealthState = "down") -> S:
        """A failed poll: backs off, and keeps the last good data with the time it was really read."""
        self.backoff.failure()
        previous = self._last
        health = SourceHealth.failed(
            self.SOURCE,
            message,
            checked_at=self._clock(),
            previous=previous.health if previous else None,
            endpoint=self.endpoint,
            state=state,
        )
        if previous is None or previous.fetched_at is None:
            return self._empty(health)
        return self._stale(previous, health)


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

    @property
    def namespace(self) -> str: ...  # what reads without a namespace read: the context's, or the setting

    @property
    def context(self) -> str | None: ...  # the kubeconfig context read (None: in cluster, or none)

    def contexts(self) -> tuple[str, ...]: ...  # the kubeconfig's contexts, to switch to

    def retargeted(self, settings: KubernetesSettings) -> KubernetesSource:
        """The same source aimed elsewhere (another context or namespace, or all namespaces)."""
        ...

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
    """Sessions, pressure, statements and tables, polled; the SQL statement a runbook step names, run
    read-only as a `Reading`."""

    @property
    def settings(self) -> PostgresSettings: ...

    @property
    def configured(self) -> bool: ...

    async def poll(self) -> PgSnapshot: ...

    def next_delay(self) -> float: ...

    async def aclose(self) -> None: ...

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
