"""The built-in demo: a scripted incident served as recorded-shape Prometheus JSON through httpx.

The probe talks to this transport exactly as it talks to a real server, so the demo exercises the
real parsing path. Times are relative to an anchor (the incident start) kept in the session store,
so restarting the demo resumes the same incident sessions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

DEMO_URL = "http://demo.prometheus.invalid:9090"
DEMO_REDIS_URL = "redis://inmidst-redis:6379/0"  # the demo's cache, as its INFO and alerts name it
RUNBOOK_URL = "https://github.com/in-midst-my-life/infra/blob/main/docs/RUNBOOK.md"
ANCHOR_KEY = "demo.anchor"
ANCHOR_MAX_AGE = timedelta(hours=1)  # an older anchor starts a fresh incident


@dataclass(frozen=True)
class ScriptedAlert:
    name: str
    section: str  # the runbook anchor its runbook_url points at
    severity: str
    labels: dict[str, str]
    summary: str
    expression: str
    for_seconds: int
    value: str
    starts: timedelta  # condition became true, relative to the anchor
    ends: timedelta | None = None  # condition cleared (the alert resolves), relative to the anchor


SCRIPT: tuple[ScriptedAlert, ...] = (
    ScriptedAlert(
        name="HighDatabaseConnections",
        section="high-database-connections",
        severity="critical",
        labels={"namespace": "production", "service": "inmidst-postgres", "instance": "10.4.2.17:9187"},
        summary="PostgreSQL connections at 87% of max_connections",
        expression="sum(pg_stat_activity_count) / max(pg_settings_max_connections) > 0.8",
        for_seconds=300,
        value="8.7e-01",
        starts=timedelta(minutes=-14),
    ),
    ScriptedAlert(
        name="HighApiLatency",
        section="high-api-latency",
        severity="warning",
        labels={"namespace": "production", "service": "inmidst-api", "job": "inmidst-api"},
        summary="API p95 latency is 2.7s (threshold 2s)",
        expression=(
            "histogram_quantile(0.95, sum by (le) "
            '(rate(http_request_duration_seconds_bucket{job="inmidst-api"}[5m]))) > 2'
        ),
        for_seconds=600,
        value="2.71",
        starts=timedelta(minutes=-21),
    ),
    ScriptedAlert(
        name="SlowRedisOperations",
        section="slow-redis-operations",
        severity="warning",
        labels={"namespace": "production", "service": "inmidst-redis", "instance": "10.4.3.9:9121"},
        summary="Redis command latency 14ms (threshold 10ms)",
        expression=(
            "rate(redis_commands_duration_seconds_total[5m]) "
            "/ rate(redis_commands_processed_total[5m]) > 0.01"
        ),
        for_seconds=300,
        value="1.4e-02",
        starts=timedelta(minutes=-9),
        ends=timedelta(seconds=90),  # resolves while the newcomer watches
    ),
    ScriptedAlert(
        name="TargetDown",
        section="target-down",
        severity="warning",
        labels={"namespace": "production", "job": "inmidst-worker", "instance": "10.4.5.3:3001"},
        summary="Target inmidst-worker 10.4.5.3:3001 has been unreachable",
        expression="up == 0",
        for_seconds=300,
        value="0",
        starts=timedelta(minutes=-4, seconds=-20),  # pending now, firing 40 s later
    ),
)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class DemoIncident:
    """What a Prometheus server would answer at a given moment of the scripted incident."""

    def __init__(self, anchor: datetime, clock: Callable[[], datetime]) -> None:
        self.anchor = anchor
        self.clock = clock

    def _labels(self, alert: ScriptedAlert) -> dict[str, str]:
        return {"alertname": alert.name, "severity": alert.severity, **alert.labels}

    def _annotations(self, alert: ScriptedAlert) -> dict[str, str]:
        return {
            "summary": alert.summary,
            "runbook_url": f"{RUNBOOK_URL}#{alert.section}",
        }

    def _showing(self) -> list[tuple[ScriptedAlert, datetime, bool]]:
        """The script's alerts active now: (alert, when its condition became true, whether it fires yet)."""
        now = self.clock()
        showing = []
        for alert in SCRIPT:
            start = self.anchor + alert.starts
            if now < start or (alert.ends is not None and now >= self.anchor + alert.ends):
                continue
            showing.append((alert, start, (now - start).total_seconds() >= alert.for_seconds))
        return showing

    def _alert(self, alert: ScriptedAlert, start: datetime, firing: bool) -> dict[str, object]:
        return {
            "labels": self._labels(alert),
            "annotations": self._annotations(alert),
            "state": "firing" if firing else "pending",
            "activeAt": _rfc3339(start),
            "value": alert.value,
        }

    def active(self) -> list[dict[str, object]]:
        return [self._alert(alert, start, firing) for alert, start, firing in self._showing()]

    def alerts_body(self) -> dict[str, object]:
        return {"status": "success", "data": {"alerts": self.active()}}

    def rules_body(self) -> dict[str, object]:
        showing = {alert.name: (alert, start, firing) for alert, start, firing in self._showing()}
        rules = []
        for alert in SCRIPT:
            current = showing.get(alert.name)
            rules.append(
                {
                    "name": alert.name,
                    "query": alert.expression,
                    "duration": alert.for_seconds,
                    "labels": {"severity": alert.severity},
                    "annotations": self._annotations(alert),
                    "alerts": [self._alert(*current)] if current else [],
                    "health": "ok",
                    "type": "alerting",
                    "state": ("firing" if current[2] else "pending") if current else "inactive",
                }
            )
        return {
            "status": "success",
            "data": {"groups": [{"name": "inmidst", "file": "alerts.yml", "interval": 15, "rules": rules}]},
        }

    def targets_body(self) -> dict[str, object]:
        """The scrape targets: the worker's exporter down while TargetDown fires, the rest up."""
        now = self.clock()
        down = any(alert.name == "TargetDown" for alert, _, _ in self._showing())
        targets = [("inmidst-api", f"10.4.2.{31 + i}:3001", "up", "") for i in range(3)] + [
            ("inmidst-postgres", "10.4.2.17:9187", "up", ""),
            ("inmidst-redis", "10.4.3.9:9121", "up", ""),
            (
                "inmidst-worker",
                "10.4.5.3:3001",
                "down" if down else "up",
                'Get "http://10.4.5.3:3001/metrics": dial tcp 10.4.5.3:3001: connect: connection refused'
                if down
                else "",
            ),
        ]
        return {
            "status": "success",
            "data": {
                "activeTargets": [
                    {
                        "labels": {"job": job, "instance": instance},
                        "scrapePool": job,
                        "scrapeUrl": f"http://{instance}/metrics",
                        "health": health,
                        "lastError": error,
                        "lastScrape": _rfc3339(now - timedelta(seconds=7)),
                        "lastScrapeDuration": 0.004,
                    }
                    for job, instance, health, error in targets
                ],
                "droppedTargets": [],
            },
        }

    def query_body(self, query: str) -> dict[str, object]:
        """An instant query: the incident's alert expressions and the database volume; nothing else."""
        now = self.clock().timestamp()
        showing = {alert.name for alert, _, _ in self._showing()}
        result: list[dict[str, object]] = []
        if "kubelet_volume_stats" in query:
            claim = {"namespace": "production", "persistentvolumeclaim": "data-inmidst-postgres-0"}
            result = [
                {"metric": {"__name__": name, **claim}, "value": [now, value]}
                for name, value in (
                    ("kubelet_volume_stats_used_bytes", str(41.2 * 2**30)),
                    ("kubelet_volume_stats_capacity_bytes", str(50 * 2**30)),
                )
            ]
        for alert in SCRIPT:
            if alert.expression == query and alert.name in showing:
                result.append({"metric": alert.labels, "value": [now, alert.value]})
        return {"status": "success", "data": {"resultType": "vector", "result": result}}

    def handle(self, request: httpx.Request) -> httpx.Response:
        # Only the reads the real probe makes are answered; anything else is what a server would say.
        if request.method != "GET":
            return httpx.Response(405, text="method not allowed")
        if request.url.path == "/api/v1/alerts":
            body = self.alerts_body()
        elif request.url.path == "/api/v1/rules":
            body = self.rules_body()
        elif request.url.path in ("/-/ready", "/-/healthy"):
            return httpx.Response(200, text="Prometheus Server is Ready.\n")
        elif request.url.path == "/api/v1/targets":
            body = self.targets_body()
        elif request.url.path == "/api/v1/query":
            body = self.query_body(request.url.params.get("query", ""))
        elif request.url.path == "/api/v1/status/buildinfo":
            body = {"status": "success", "data": {"version": "2.42.0+demo"}}
        else:
            return httpx.Response(404, text="404 page not found")
        return httpx.Response(
            200, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
        )

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)


def demo_anchor(stored: str | None, now: datetime) -> tuple[datetime, bool]:
    """The incident start to use: the stored one if recent enough, else now. Returns (anchor, is_new)."""
    if stored:
        try:
            anchor = datetime.fromisoformat(stored)
        except ValueError:
            anchor = None
        if anchor is not None and anchor.tzinfo is not None and timedelta(0) <= now - anchor < ANCHOR_MAX_AGE:
            return anchor, False
    return now, True
