"""Prometheus probe: firing and pending alerts from /api/v1/alerts and /api/v1/rules, over async httpx;
and the live triage reads (an instant query, the scrape targets, PVC usage) from /api/v1/query and
/api/v1/targets, each answered as a `Reading`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

from probes.base import Backoff, SourceHealth, utc_now
from probes.prometheus.alerts import AlertReader, RuleIndex, count_alerts, read_rules
from probes.prometheus.client import ALERTS_PATH, RULES_PATH, SOURCE, PromReadError
from probes.prometheus.reads import TriageReads
from probes.prometheus.snapshot import AlertsSnapshot

# Seconds between two reads of the alerting rules while every alert has its rule: their expressions change
# only when Prometheus reloads its rule files.
RULES_EVERY = 60.0

if TYPE_CHECKING:
    from probes.prometheus.settings import PrometheusSettings


class PrometheusProbe(TriageReads):
    """Reads alerts and alerting rules from one Prometheus; read-only, never raises from poll()."""

    def __init__(
        self,
        settings: PrometheusSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = utc_now,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(settings, transport=transport, clock=clock, backoff=backoff)
        self._rules: RuleIndex | None = None  # the alerting rules of the last poll that read them
        self._rules_read_at = 0.0  # time.monotonic() of that read
        self._reader = AlertReader()  # keeps the last read's alerts: an unchanged one is not parsed again

    def rule_expressions(self) -> dict[str, str]:
        """Each alerting rule's PromQL by its name, as of the last poll that read the rules."""
        rules = getattr(self, "_rules", None)
        if rules is None:
            return {}
        return {
            name: query for name, entries in rules.by_name.items() for _, query, _ in entries[:1] if query
        }

    async def _poll_guarded(self) -> AlertsSnapshot:
        started = time.perf_counter()
        rules_task: asyncio.Task[bytes] | None = None
        try:
            client = self._client_or_raise()
            # The alerts are read every poll; the rules (which repeat every active alert: 2.5 MB in a storm
            # of 5,000) only when they are due or an alert appeared that they can't place. Both at once
            # when both are read: a poll costs one round trip, not two.
            if self._rules_due():
                rules_task = asyncio.create_task(self._get_content(client, RULES_PATH, {"type": "alert"}))
            content = await self._get_content(client, ALERTS_PATH, None)
        except PromReadError as exc:
            await _cancel(rules_task)
            return self._failed(str(exc), "forbidden" if exc.forbidden else "down")
        except BaseException:
            await _cancel(rules_task)
            raise

        notes: list[str] = []
        rules = None if rules_task else self._rules
        if rules_task is not None:
            rules = await self._read_rules(rules_task, notes)
        try:
            # decoded and parsed in a worker thread, a piece at a time: the screen never waits on 5 MB
            alerts, skipped, unplaced = await asyncio.to_thread(self._reader.read, content, rules)
            if unplaced and rules_task is None:
                # an alert started since the rules were read, under a name several rules share: read them
                fresh = asyncio.create_task(self._get_content(client, RULES_PATH, {"type": "alert"}))
                rules = await self._read_rules(fresh, notes)
                alerts, skipped, _ = await asyncio.to_thread(self._reader.read, content, rules)
        except PromReadError as exc:
            return self._failed(str(exc), "down")
        latency = time.perf_counter() - started

        if skipped:
            noun = "alert" if skipped == 1 else "alerts"
            notes.insert(0, f"skipped {skipped} malformed {noun} from {ALERTS_PATH}")

        now = self._clock()
        self.backoff.success()
        firing = sum(1 for a in alerts if a.state == "firing")
        health = SourceHealth(
            source=SOURCE,
            state="degraded" if notes else "ok",
            checked_at=now,
            last_success=now,
            latency=latency,
            last_error="; ".join(notes) or None,
            detail=count_alerts(len(alerts), firing, len(alerts) - firing),
            endpoint=self.endpoint,
        )
        return AlertsSnapshot(alerts=tuple(alerts), health=health, fetched_at=now)

    def _rules_due(self) -> bool:
        """No rules read yet (or their last read failed), or the last read is RULES_EVERY old."""
        return self._rules is None or time.monotonic() - self._rules_read_at >= RULES_EVERY

    async def _read_rules(self, task: asyncio.Task[bytes], notes: list[str]) -> RuleIndex | None:
        """The rules of this read, decoded in a worker thread; None (and a note) when they can't be read."""
        try:
            rules = await asyncio.to_thread(read_rules, await task)
        except PromReadError as exc:
            self._rules = None  # tried again next poll
            notes.append(f"rules unavailable ({exc}); alerts shown without their expressions")
            return None
        self._rules = rules
        self._rules_read_at = time.monotonic()
        return rules

    def _empty(self, health: SourceHealth) -> AlertsSnapshot:
        return AlertsSnapshot(alerts=(), health=health, fetched_at=None)


async def _cancel(task: asyncio.Task[Any] | None) -> None:
    if task is not None and not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    elif task is not None and task.done() and not task.cancelled():
        task.exception()  # mark it retrieved: its failure is already reported through the alerts read
