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
from probes.prometheus.alerts import (
    RuleIndex,
    alerts_list,
    count_alerts,
    parse_alert,
)
from probes.prometheus.client import ALERTS_PATH, RULES_PATH, SOURCE, PromReadError
from probes.prometheus.reads import TriageReads
from probes.prometheus.snapshot import AlertsSnapshot, FiringAlert

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
        rules_task: asyncio.Task[Any] | None = None
        try:
            client = self._client_or_raise()
            # both reads at once: a poll costs one round trip, not two
            rules_task = asyncio.create_task(self._get_json(client, RULES_PATH, {"type": "alert"}))
            raw_alerts = alerts_list(await self._get_json(client, ALERTS_PATH, None))
        except PromReadError as exc:
            await _cancel(rules_task)
            return self._failed(str(exc), "forbidden" if exc.forbidden else "down")
        except BaseException:
            await _cancel(rules_task)
            raise

        notes: list[str] = []
        rules: RuleIndex | None = None
        try:
            rules = RuleIndex.from_body(await rules_task)
            self._rules = rules
        except PromReadError as exc:
            notes.append(f"rules unavailable ({exc}); alerts shown without their expressions")
        latency = time.perf_counter() - started

        alerts: list[FiringAlert] = []
        skipped = 0
        for raw in raw_alerts:
            alert = parse_alert(raw, rules)
            if alert is None:
                skipped += 1
            else:
                alerts.append(alert)
        if skipped:
            noun = "alert" if skipped == 1 else "alerts"
            notes.insert(0, f"skipped {skipped} malformed {noun} from {ALERTS_PATH}")
        alerts.sort(key=lambda a: (a.name, a.fingerprint))

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

    def _empty(self, health: SourceHealth) -> AlertsSnapshot:
        return AlertsSnapshot(alerts=(), health=health, fetched_at=None)


async def _cancel(task: asyncio.Task[Any] | None) -> None:
    if task is not None and not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    elif task is not None and task.done() and not task.cancelled():
        task.exception()  # mark it retrieved: its failure is already reported through the alerts read
