"""The plain reads' plumbing under KubernetesProbe: one read turned into a ResourceSnapshot with its own
health, the last good rows kept while the server fails, and the server's failure remembered as such."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from probes.base import HealthState, SourceHealth
from probes.kubernetes.client import SOURCE, ApiConnection, ReadOnlyApiClient
from probes.kubernetes.resources import ResourceSnapshot

T = TypeVar("T")


class _Named(Protocol):
    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=_Named)


class PlainReads:
    """Each plain read's health and last good rows, for one cluster connection."""

    def __init__(self, conn: ApiConnection, clock: Callable[[], datetime]) -> None:
        self._conn = conn
        self._clock = clock
        self._health: dict[str, SourceHealth] = {}
        self._last: dict[str, ResourceSnapshot[Any]] = {}
        self._unreachable: SourceHealth | None = None  # the last plain read the API server did not answer
        self._lock = threading.Lock()

    @property
    def namespace(self) -> str:
        raise NotImplementedError

    @property
    def endpoint(self) -> str | None:
        return self._conn.target.server if self._conn.target else None

    def _listed(
        self,
        resource: str,
        lister: Callable[[ReadOnlyApiClient], Callable[..., Any]],
        kind: str,
        row: Callable[[dict[str, Any]], N],
        namespace: str | None,
        **params: Any,
    ) -> ResourceSnapshot[N]:
        """One namespaced list (HPAs, PVCs, services, network policies) as its rows, sorted by name."""

        def read() -> tuple[N, ...]:
            body = self._conn.json(lister(self._conn.client()), kind, namespace or self.namespace, **params)
            return tuple(sorted((row(item) for item in body.get("items") or []), key=lambda r: r.name))

        return self._read(resource, read)

    def _read(self, resource: str, read: Callable[[], tuple[T, ...]]) -> ResourceSnapshot[T]:
        started = time.perf_counter()
        try:
            items = read()
        except Exception as exc:
            error = self._conn.explain(exc)
            health = self._failed_health(resource, error.state, str(error))
            with self._lock:
                previous = self._last.get(resource)
                if error.status == 0 or error.status >= 500:  # the server, not this resource, is failing
                    self._unreachable = health
            if previous is not None and error.state == "down":
                # stale rows stay on screen with the time they were really read
                return ResourceSnapshot(resource, previous.items, health, previous.fetched_at)
            return ResourceSnapshot(resource, (), health, None)
        count = len(items)
        health = self._ok_health(resource, f"{count} {resource}", time.perf_counter() - started)
        snapshot = ResourceSnapshot(resource, items, health, health.last_success)
        with self._lock:
            self._last[resource] = snapshot
            self._unreachable = None
        return snapshot

    def _ok_health(self, resource: str, detail: str, latency: float) -> SourceHealth:
        now = self._clock()
        health = SourceHealth(
            source=SOURCE,
            state="ok",
            checked_at=now,
            last_success=now,
            latency=latency,
            detail=detail,
            endpoint=self.endpoint,
        )
        with self._lock:
            self._health[resource] = health
        return health

    def _failed_health(self, resource: str, state: HealthState, message: str) -> SourceHealth:
        with self._lock:
            previous = self._health.get(resource)
            health = SourceHealth.failed(
                SOURCE,
                message,
                checked_at=self._clock(),
                previous=previous,
                endpoint=self.endpoint,
                state=state,
            )
            self._health[resource] = health
        return health
