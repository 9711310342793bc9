"""The Alertmanager probe: what it reads (GET only, three paths), how it parses Alertmanager's answers, every
failure a plain health message, and the amtool commands it writes."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from probes.alertmanager import (
    ALERTS_PATH,
    ALLOWED_REQUESTS,
    GROUPS_PATH,
    SILENCES_PATH,
    AlertmanagerProbe,
    AlertmanagerSettings,
    amtool_add,
    amtool_expire,
)
from probes.alertmanager.model import until
from probes.base import Secret

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
URL = "http://am.example:9093"

CRITICAL = {"alertname": "HighApiErrorRate", "severity": "critical", "service": "api"}
WARNING = {"alertname": "HighApiLatency", "severity": "warning", "route": "/orders"}
SILENCED = {"alertname": "DiskFull", "severity": "warning", "host": "db-1"}


def am_alert(
    labels: dict[str, str], fp: str, state: str = "active", silenced=(), inhibited=()
) -> dict[str, Any]:
    return {
        "labels": labels,
        "fingerprint": fp,
        "annotations": {},
        "status": {"state": state, "silencedBy": list(silenced), "inhibitedBy": list(inhibited)},
        "startsAt": "2026-11-27T02:50:00.000Z",
    }


ALERTS = [
    am_alert(CRITICAL, "aaa"),
    am_alert(WARNING, "bbb", "suppressed", inhibited=["aaa"]),
    am_alert(SILENCED, "ccc", "suppressed", silenced=["s-1"]),
]
SILENCES = [
    {
        "id": "s-1",
        "createdBy": "carol\x1b[31m",
        "comment": "disk swap",
        "startsAt": "2026-11-27T02:00:00.000Z",
        "endsAt": "2026-11-27T04:30:00.123456789Z",
        "matchers": [{"name": "alertname", "value": "DiskFull", "isRegex": False, "isEqual": True}],
        "status": {"state": "active"},
    }
]
GROUPS = [
    {"labels": {"alertname": name}, "receiver": {"name": "team"}, "alerts": [a]}
    for name, a in (("HighApiErrorRate", ALERTS[0]), ("HighApiLatency", ALERTS[1]), ("DiskFull", ALERTS[2]))
]


def serve(
    bodies: dict[str, Any], seen: list[httpx.Request] | None = None, **statuses: int
) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        body = bodies.get(request.url.path)
        if isinstance(body, bytes):
            return httpx.Response(200, content=body, headers={"content-type": "application/json"})
        status = statuses.get(request.url.path.rsplit("/", 1)[-1], 200)
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handle)


def probe(transport: httpx.AsyncBaseTransport, **settings: Any) -> AlertmanagerProbe:
    return AlertmanagerProbe(
        AlertmanagerSettings(url=URL, **settings), transport=transport, clock=lambda: NOW
    )


GOOD = {ALERTS_PATH: ALERTS, SILENCES_PATH: SILENCES, GROUPS_PATH: GROUPS}


def labels(d: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(d.items()))


async def test_reads_alerts_silences_and_groups_with_gets_only():
    seen: list[httpx.Request] = []
    async with probe(serve(GOOD, seen), token=Secret("t0ken")) as am:
        snapshot = await am.poll()
    assert snapshot.health.state == "ok"
    assert {(r.method, r.url.path) for r in seen} == ALLOWED_REQUESTS
    assert all(r.headers["authorization"] == "Bearer t0ken" for r in seen)
    assert [a.state for a in snapshot.alerts] == ["active", "suppressed", "suppressed"]
    assert snapshot.alerts[1].inhibited_by == ("aaa",)
    assert snapshot.alerts[2].silenced_by == ("s-1",)
    silence = snapshot.silences[0]
    assert silence.created_by == "carol␛[31m"  # untrusted text: the escape made visible, never sent raw
    assert silence.ends_at == datetime(2026, 11, 27, 4, 30, 0, 123456, tzinfo=UTC)
    assert str(silence.matchers[0]) == "alertname=DiskFull"
    assert [g.labels for g in snapshot.groups] == [
        (("alertname", n),) for n in ("HighApiErrorRate", "HighApiLatency", "DiskFull")
    ]
    assert snapshot.health.detail == "3 alerts (1 silenced, 1 inhibited), 1 active silence"


async def test_each_prometheus_alert_gets_its_state_in_words():
    async with probe(serve(GOOD)) as am:
        snapshot = await am.poll()
    active = snapshot.status(labels(CRITICAL), NOW)
    assert (active.kind, active.text, active.muted) == ("active", "active", False)
    inhibited = snapshot.status(labels(WARNING), NOW)
    assert (inhibited.kind, inhibited.text, inhibited.muted) == (
        "inhibited",
        "inhibited by HighApiErrorRate",
        True,
    )
    silenced = snapshot.status(labels(SILENCED), NOW)
    assert silenced.text == "silenced by carol␛[31m until 04:30Z"
    assert [s.id for s in silenced.silences] == ["s-1"]
    assert silenced.group is not None and silenced.group.labels == (("alertname", "DiskFull"),)
    # Prometheus's external labels added on the way still match; a pending alert is not in Alertmanager,
    # but is shown in the group its labels would put it in
    external = dict(CRITICAL, cluster="eu-1")
    async with probe(serve({**GOOD, ALERTS_PATH: [am_alert(external, "aaa")]})) as am:
        snapshot = await am.poll()
    assert snapshot.status(labels(CRITICAL), NOW).kind == "active"
    pending = snapshot.status(labels({"alertname": "HighApiLatency", "route": "/search"}), NOW)
    assert (pending.text, pending.group and pending.group.labels) == (
        "not in Alertmanager",
        (("alertname", "HighApiLatency"),),
    )
    # a silence ending days from now names its date
    assert until(NOW + timedelta(days=3), NOW) == "2026-11-30 03:00Z"
    assert until(NOW + timedelta(hours=2), NOW) == "05:00Z"


@pytest.mark.parametrize(
    ("bodies", "statuses", "message"),
    [
        ({**GOOD, ALERTS_PATH: b"{not json"}, {}, "invalid JSON from /api/v2/alerts"),
        (
            {**GOOD, SILENCES_PATH: {"oops": 1}},
            {},
            "unexpected response shape from /api/v2/silences: not a JSON list",
        ),
        (GOOD, {"groups": 500}, "HTTP 500 Internal Server Error from /api/v2/alerts/groups"),
        (
            GOOD,
            {"alerts": 404},
            "HTTP 404 Not Found from /api/v2/alerts: is http://am.example:9093 the Alertmanager",
        ),
        (GOOD, {"silences": 401}, "HTTP 401: check [alertmanager] token or username and password"),
    ],
)
async def test_bad_answers_are_a_plain_health_message(bodies, statuses, message):
    async with probe(serve(bodies, **statuses)) as am:
        snapshot = await am.poll()
    assert snapshot.health.state in ("down", "forbidden")
    assert snapshot.health.last_error is not None and snapshot.health.last_error.startswith(message)
    assert snapshot.alerts == ()


async def test_malformed_alerts_are_skipped_and_counted():
    bodies = {
        **GOOD,
        ALERTS_PATH: [*ALERTS, "junk", {"labels": {"a": 1}}, {"fingerprint": "x", "labels": {}}],
    }
    async with probe(serve(bodies)) as am:
        snapshot = await am.poll()
    assert snapshot.health.state == "degraded"
    assert snapshot.health.last_error == "skipped 3 malformed alerts from /api/v2/alerts"
    assert len(snapshot.alerts) == 3


async def test_a_timeout_and_a_refused_connection_are_said_and_the_last_view_kept(closed_url):
    calls = {"n": 0}

    def handle(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] > 3:
            raise httpx.ReadTimeout("slow", request=request)
        return serve(GOOD).handle_request(request)

    async with probe(httpx.MockTransport(handle), timeout=0.5) as am:
        first = await am.poll()
        second = await am.poll()
    assert first.health.state == "ok"
    assert second.health.state == "down"
    assert second.health.last_error == "timed out waiting for a response after 0.5s from /api/v2/alerts"
    assert second.alerts == first.alerts and second.fetched_at == first.fetched_at  # shown as old, not lost

    async with AlertmanagerProbe(AlertmanagerSettings(url=closed_url, timeout=1.0), clock=lambda: NOW) as am:
        refused = await am.poll()
    assert refused.health.state == "down"
    assert refused.health.last_error == f"connection refused at {closed_url}"


async def test_not_configured_reads_nothing():
    seen: list[httpx.Request] = []
    am = AlertmanagerProbe(AlertmanagerSettings(), transport=serve(GOOD, seen))
    snapshot = await am.poll()
    assert snapshot.health.state == "not-configured"
    assert seen == []


def test_amtool_commands_quote_every_value_for_the_shell():
    hostile = labels({"alertname": "Disk Full", "path": "/data; rm -rf /", "q": "it's"})
    command = amtool_add("http://am:9093", hostile, comment="by alice's laptop")
    assert shlex.split(command) == [
        "amtool",
        "silence",
        "add",
        "--alertmanager.url=http://am:9093",
        "--comment=by alice's laptop",
        "--duration=1h",
        "alertname=Disk Full",
        "path=/data; rm -rf /",
        "q=it's",
    ]
    assert shlex.split(amtool_expire("http://am:9093", "s-1")) == [
        "amtool",
        "silence",
        "expire",
        "--alertmanager.url=http://am:9093",
        "s-1",
    ]


async def test_credentials_in_the_url_are_sent_as_basic_auth_and_never_shown():
    seen: list[httpx.Request] = []
    settings = AlertmanagerSettings(url="http://ops:s3cret@am.example:9093")
    async with AlertmanagerProbe(settings, transport=serve(GOOD, seen), clock=lambda: NOW) as am:
        snapshot = await am.poll()
    assert snapshot.health.state == "ok"
    assert am.url == "http://am.example:9093"  # what amtool's --alertmanager.url and the screen get
    assert snapshot.health.endpoint == "http://am.example:9093"
    assert all(r.headers["authorization"].startswith("Basic ") for r in seen)
    assert all("s3cret" not in str(r.url) for r in seen)
