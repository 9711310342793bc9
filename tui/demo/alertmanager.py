"""The demo's Alertmanager: the scripted incident's firing alerts as Alertmanager would hold them, grouped by
alertname, HighApiLatency silenced by a teammate (the database is the cause), served over httpx like the
demo's Prometheus, so the probe reads it as it reads a real one."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import httpx

from tui.demo.scenario import DemoIncident, _rfc3339

DEMO_ALERTMANAGER_URL = "http://demo.alertmanager.invalid:9093"
SILENCED = "HighApiLatency"
SILENCE_ID = "6f1c2a9e-demo-4b1e-9d3a-silence00001"


class DemoAlertmanager:
    def __init__(self, incident: DemoIncident) -> None:
        self.incident = incident

    def _alerts(self) -> list[dict[str, object]]:
        alerts = []
        for raw in self.incident.active():
            if raw["state"] != "firing":
                continue  # Prometheus sends an alert to Alertmanager once it fires
            labels = raw["labels"]
            assert isinstance(labels, dict)
            silenced = [SILENCE_ID] if labels.get("alertname") == SILENCED else []
            fingerprint = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
            alerts.append(
                {
                    "labels": labels,
                    "annotations": raw["annotations"],
                    "fingerprint": fingerprint,
                    "startsAt": raw["activeAt"],
                    "receivers": [{"name": "inmidst-oncall"}],
                    "status": {
                        "state": "suppressed" if silenced else "active",
                        "silencedBy": silenced,
                        "inhibitedBy": [],
                    },
                }
            )
        return alerts

    def _silences(self) -> list[dict[str, object]]:
        anchor = self.incident.anchor
        return [
            {
                "id": SILENCE_ID,
                "createdBy": "bob@inmidst",
                "comment": "API latency follows the database: working HighDatabaseConnections",
                "startsAt": _rfc3339(anchor - timedelta(minutes=6)),
                "endsAt": _rfc3339(anchor + timedelta(hours=2)),
                "matchers": [{"name": "alertname", "value": SILENCED, "isRegex": False, "isEqual": True}],
                "status": {"state": "active"},
            }
        ]

    def _groups(self) -> list[dict[str, object]]:
        groups: dict[str, list[dict[str, object]]] = {}
        for alert in self._alerts():
            labels = alert["labels"]
            assert isinstance(labels, dict)
            groups.setdefault(str(labels.get("alertname", "")), []).append(alert)
        return [
            {"labels": {"alertname": name}, "receiver": {"name": "inmidst-oncall"}, "alerts": members}
            for name, members in groups.items()
        ]

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method != "GET":
            return httpx.Response(405, text="method not allowed")
        bodies = {
            "/api/v2/alerts": self._alerts,
            "/api/v2/silences": self._silences,
            "/api/v2/alerts/groups": self._groups,
        }
        answer = bodies.get(request.url.path)
        if answer is None:
            return httpx.Response(404, text="404 page not found")
        return httpx.Response(
            200, content=json.dumps(answer()).encode(), headers={"content-type": "application/json"}
        )

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)
