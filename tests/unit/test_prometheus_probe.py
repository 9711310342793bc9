"""The Prometheus probe against recorded-shape JSON served by httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from probes.base import Backoff, SourceHealth, poll_until
from probes.format import format_age
from probes.prometheus import (
    ALLOWED_REQUESTS,
    AlertsSnapshot,
    FiringAlert,
    PrometheusProbe,
    alert_sort_key,
    fingerprint,
    parse_rfc3339,
)
from tui.cli.check import check_exit_code, format_check
from tui.cli.snapshot import format_snapshot, snapshot_exit_code
from tui.config.settings import PrometheusSettings, Secret
from tui.triage.runbook import Runbook, Section

URL = "http://prometheus.test:9090"
T0 = datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
HOSTILE = "[/bold] [link=x]click[/link] \x1b[31mred"

# Shapes copied from the Prometheus HTTP API docs (prometheus.io/docs/prometheus/latest/querying/api/).
ALERTS_BODY: dict[str, Any] = {
    "status": "success",
    "data": {
        "alerts": [
            {
                "activeAt": "2018-07-04T20:27:12.60602144+02:00",
                "annotations": {"summary": "High request latency"},
                "labels": {"alertname": "HighRequestLatency", "severity": "page", "job": "myjob"},
                "state": "firing",
                "value": "1e+00",
            },
            {
                "activeAt": "2024-05-01T10:00:00.123456789Z",
                "annotations": {},
                "labels": {"alertname": "HighRedisMemory", "severity": "warning"},
                "state": "pending",
                "value": "9.1e-01",
            },
        ]
    },
}
RULES_BODY: dict[str, Any] = {
    "status": "success",
    "data": {
        "groups": [
            {
                "name": "example",
                "file": "/rules.yaml",
                "interval": 60,
                "limit": 0,
                "rules": [
                    {
                        "alerts": [
                            {
                                "activeAt": "2018-07-04T20:27:12.60602144+02:00",
                                "annotations": {"summary": "High request latency"},
                                "labels": {
                                    "alertname": "HighRequestLatency",
                                    "severity": "page",
                                    "job": "myjob",
                                },
                                "state": "firing",
                                "value": "1e+00",
                            }
                        ],
                        "annotations": {"summary": "High request latency"},
                        "duration": 600,
                        "health": "ok",
                        "labels": {"severity": "page"},
                        "name": "HighRequestLatency",
                        "query": 'job:request_latency_seconds:mean5m{job="myjob"} > 0.5',
                        "type": "alerting",
                    },
                    {
                        "health": "ok",
                        "name": "job:http_inprogress_requests:sum",
                        "query": "sum by (job) (http_inprogress_requests)",
                        "type": "recording",
                    },
                    {
                        # no alerts listed yet (it started between the two reads): matched by name and labels
                        "alerts": [],
                        "annotations": {},
                        "duration": 300,
                        "labels": {"severity": "warning"},
                        "name": "HighRedisMemory",
                        "query": "redis_memory_used_bytes / redis_memory_max_bytes > 0.8",
                        "type": "alerting",
                    },
                ],
            }
        ]
    },
}


class Clock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FakePrometheus:
    """A MockTransport handler: answers per path, records every request, can be switched to fail."""

    def __init__(self, alerts: Any = ALERTS_BODY, rules: Any = RULES_BODY) -> None:
        self.routes: dict[str, Callable[[httpx.Request], httpx.Response]] = {
            "/api/v1/alerts": lambda _r: httpx.Response(200, json=alerts),
            "/api/v1/rules": lambda _r: httpx.Response(200, json=rules),
        }
        self.requests: list[httpx.Request] = []

    def set(self, path: str, response: httpx.Response | Callable[[httpx.Request], httpx.Response]) -> None:
        self.routes[path] = response if callable(response) else (lambda _r: response)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get(request.url.path)
        return route(request) if route else httpx.Response(404, text="404 page not found")

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def settings(**overrides: Any) -> PrometheusSettings:
    return PrometheusSettings(url=overrides.pop("url", URL), **overrides)


def make_probe(server: FakePrometheus, clock: Clock | None = None, **overrides: Any) -> PrometheusProbe:
    return PrometheusProbe(settings(**overrides), transport=server.transport(), clock=clock or Clock())


def by_name(snapshot: AlertsSnapshot, name: str) -> list[FiringAlert]:
    return [a for a in snapshot.alerts if a.name == name]


# --- parsing ---------------------------------------------------------------------------------


async def test_alerts_are_parsed_from_the_documented_json_shape() -> None:
    clock = Clock()
    async with make_probe(FakePrometheus(), clock) as probe:
        snapshot = await probe.poll()

    assert snapshot.health.state == "ok"
    assert snapshot.health.last_error is None
    assert snapshot.health.last_success == T0 == snapshot.fetched_at
    assert snapshot.health.latency is not None and snapshot.health.latency >= 0
    assert snapshot.health.detail == "2 alerts (1 firing, 1 pending)"
    assert snapshot.health.endpoint == URL
    (latency,) = by_name(snapshot, "HighRequestLatency")
    assert latency.state == "firing"
    assert latency.labels == (("alertname", "HighRequestLatency"), ("job", "myjob"), ("severity", "page"))
    assert latency.annotations == (("summary", "High request latency"),)
    assert latency.severity == "page"
    assert latency.summary == "High request latency"
    assert latency.value == "1e+00"
    # +02:00 converted to UTC; Go's extra fraction digits truncated to microseconds
    assert latency.active_at == datetime(2018, 7, 4, 18, 27, 12, 606021, tzinfo=UTC)
    (redis,) = by_name(snapshot, "HighRedisMemory")
    assert redis.state == "pending"
    assert redis.active_at == datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:00:00.123456789Z", datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)),
        ("2024-05-01T10:00:00.5Z", datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=UTC)),
        ("2024-05-01T12:00:00.999999999+02:00", datetime(2024, 5, 1, 10, 0, 0, 999999, tzinfo=UTC)),
        ("2024-05-01T05:30:00-04:30", datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)),
    ],
)
def test_rfc3339_timestamps_with_nanoseconds_parse_to_utc(text: str, expected: datetime) -> None:
    assert parse_rfc3339(text) == expected


@pytest.mark.parametrize(
    "text", ["", "yesterday", "2024-05-01", "2024-05-01T10:00:00", "2024-13-01T10:00:00Z"]
)
def test_rfc3339_rejects_what_is_not_a_timestamp(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rfc3339(text)


async def test_fingerprint_is_the_same_for_the_same_labels_in_any_order() -> None:
    shuffled = json.loads(json.dumps(ALERTS_BODY))
    entry = shuffled["data"]["alerts"][0]
    entry["labels"] = dict(reversed(list(entry["labels"].items())))
    async with make_probe(FakePrometheus()) as a, make_probe(FakePrometheus(alerts=shuffled)) as b:
        first, second = await a.poll(), await b.poll()
    fp1 = by_name(first, "HighRequestLatency")[0].fingerprint
    assert fp1 == by_name(second, "HighRequestLatency")[0].fingerprint
    assert len(fp1) == 16 and int(fp1, 16) >= 0
    assert fp1 != by_name(first, "HighRedisMemory")[0].fingerprint
    assert fingerprint((("a", "1"), ("b", "2"))) != fingerprint((("a", "12"),))


async def test_malformed_alert_entries_are_skipped_and_reported_as_degraded() -> None:
    body = json.loads(json.dumps(ALERTS_BODY))
    body["data"]["alerts"] += [
        {"state": "firing", "activeAt": "2024-05-01T10:00:00Z", "value": "1"},  # no labels
        {"labels": {"alertname": "X"}, "state": "firing", "activeAt": "last tuesday"},
        {"labels": {"severity": "critical"}, "state": "firing"},  # no alertname
        {"labels": {"alertname": "Y", "n": 3}, "state": "firing"},  # a label that isn't a string
        "not an object",
    ]
    async with make_probe(FakePrometheus(alerts=body)) as probe:
        snapshot = await probe.poll()
    assert snapshot.health.state == "degraded"
    assert snapshot.health.last_error == "skipped 5 malformed alerts from /api/v1/alerts"
    assert {a.name for a in snapshot.alerts} == {"HighRequestLatency", "HighRedisMemory"}
    assert snapshot.fetched_at == T0


async def test_an_alert_without_active_at_or_value_still_shows() -> None:
    body = {"status": "success", "data": {"alerts": [{"labels": {"alertname": "Bare"}, "state": "firing"}]}}
    async with make_probe(FakePrometheus(alerts=body)) as probe:
        snapshot = await probe.poll()
    (alert,) = snapshot.alerts
    assert (alert.active_at, alert.value, alert.annotations) == (None, "", ())
    assert snapshot.health.state == "ok"


async def test_markup_and_escape_sequences_in_labels_are_kept_verbatim() -> None:
    body = {
        "status": "success",
        "data": {
            "alerts": [
                {
                    "labels": {"alertname": "Hostile", "hostile": HOSTILE},
                    "annotations": {"summary": HOSTILE},
                    "state": "firing",
                    "activeAt": "2024-05-01T10:00:00Z",
                    "value": "1e+00",
                }
            ]
        },
    }
    async with make_probe(FakePrometheus(alerts=body)) as probe:
        (alert,) = (await probe.poll()).alerts
    # the model holds the server's text as sent; making it safe is the renderer's job
    assert alert.label("hostile") == HOSTILE
    assert alert.summary == HOSTILE


# --- the rules join ---------------------------------------------------------------------------


async def test_rules_give_each_alert_its_expression_and_for_duration() -> None:
    async with make_probe(FakePrometheus()) as probe:
        snapshot = await probe.poll()
    (latency,) = by_name(snapshot, "HighRequestLatency")
    assert latency.expression == 'job:request_latency_seconds:mean5m{job="myjob"} > 0.5'
    assert latency.for_seconds == 600.0
    (redis,) = by_name(snapshot, "HighRedisMemory")  # matched by name + static labels
    assert redis.expression == "redis_memory_used_bytes / redis_memory_max_bytes > 0.8"
    assert redis.for_seconds == 300.0


async def test_two_rules_with_one_alertname_are_told_apart_by_labels() -> None:
    def alert(route: str, state: str) -> dict[str, Any]:
        labels = {"alertname": "HighApiLatency", "route": route}
        return {"labels": labels, "annotations": {}, "state": state, "activeAt": "2024-05-01T10:00:00Z"}

    def rule(route: str, query: str, duration: int, state: str) -> dict[str, Any]:
        return {
            "type": "alerting",
            "name": "HighApiLatency",
            "query": query,
            "duration": duration,
            "labels": {"route": route},
            "alerts": [alert(route, state)],
        }

    alerts = {"status": "success", "data": {"alerts": [alert("/a", "firing"), alert("/b", "pending")]}}
    rules = {
        "status": "success",
        "data": {
            "groups": [{"rules": [rule("/a", "qa > 2", 0, "firing"), rule("/b", "qb > 2", 7200, "pending")]}]
        },
    }
    async with make_probe(FakePrometheus(alerts=alerts, rules=rules)) as probe:
        snapshot = await probe.poll()
    got = {a.label("route"): (a.expression, a.for_seconds) for a in snapshot.alerts}
    assert got == {"/a": ("qa > 2", 0.0), "/b": ("qb > 2", 7200.0)}


@pytest.mark.parametrize(
    "rules_response",
    [
        httpx.Response(500, text="boom"),
        httpx.Response(200, text="{not json"),
        httpx.Response(200, json={"status": "success", "data": {}}),
        httpx.Response(403, text="forbidden"),
    ],
    ids=["http-500", "invalid-json", "no-groups", "forbidden"],
)
async def test_failing_rules_keep_the_alerts_without_expressions(rules_response: httpx.Response) -> None:
    server = FakePrometheus()
    server.set("/api/v1/rules", rules_response)
    async with make_probe(server) as probe:
        snapshot = await probe.poll()
    assert {a.name for a in snapshot.alerts} == {"HighRequestLatency", "HighRedisMemory"}
    assert all(a.expression is None and a.for_seconds is None for a in snapshot.alerts)
    assert snapshot.health.state == "degraded"
    assert "/api/v1/rules" in (snapshot.health.last_error or "")
    assert "without their expressions" in (snapshot.health.last_error or "")


# --- failures, in plain words -----------------------------------------------------------------


async def test_http_500_is_down_and_says_so() -> None:
    server = FakePrometheus()
    server.set("/api/v1/alerts", httpx.Response(500, text="oops"))
    async with make_probe(server) as probe:
        snapshot = await probe.poll()
    assert snapshot.health.state == "down"
    assert snapshot.health.last_error == "HTTP 500 Internal Server Error from /api/v1/alerts"
    assert snapshot.alerts == () and snapshot.fetched_at is None


async def test_prometheus_error_body_is_quoted_in_the_message() -> None:
    server = FakePrometheus()
    body = {"status": "error", "errorType": "unavailable", "error": "TSDB not ready"}
    server.set("/api/v1/alerts", httpx.Response(503, json=body))
    async with make_probe(server) as probe:
        snapshot = await probe.poll()
    assert snapshot.health.last_error == (
        "HTTP 503 Service Unavailable from /api/v1/alerts: unavailable: TSDB not ready"
    )


async def test_a_wrong_base_url_asks_whether_it_is_prometheus() -> None:
    server = FakePrometheus()
    server.set("/api/v1/alerts", httpx.Response(404, text="404 page not found"))
    async with make_probe(server) as probe:
        snapshot = await probe.poll()
    assert snapshot.health.last_error == (
        f"HTTP 404 Not Found from /api/v1/alerts: is {URL} the Prometheus base URL?"
    )


async def test_invalid_json_is_down_and_says_so() -> None:
    server = FakePrometheus()
    server.set("/api/v1/alerts", httpx.Response(200, text="<html>login</html>"))
    async with make_probe(server) as probe:
        snapshot = await probe.poll()
    assert snapshot.health.state == "down"
    assert snapshot.health.last_error.endswith(" answered /api/v1/alerts with text/plain, not JSON")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"status": "success", "data": {}}, "data.alerts missing"),
        ({"status": "success"}, "data.alerts missing"),
        ({"status": "success", "data": {"alerts": {"a": 1}}}, "data.alerts is not a list"),
        ([1, 2, 3], "not a JSON object"),
    ],
)
async def test_unexpected_shape_is_down_and_names_what_is_missing(body: object, problem: str) -> None:
    async with make_probe(FakePrometheus(alerts=body)) as probe:
        snapshot = await probe.poll()
    assert snapshot.health.state == "down"
    assert snapshot.health.last_error == f"unexpected response shape from /api/v1/alerts: {problem}"


async def test_401_with_a_token_is_forbidden_and_points_at_the_token_without_showing_it() -> None:
    server = FakePrometheus()
    server.set("/api/v1/alerts", httpx.Response(401, text="unauthorized"))
    async with make_probe(server, token=Secret("s3cr3t-token")) as probe:
        snapshot = await probe.poll()
    assert snapshot.health.state == "forbidden"
    assert snapshot.health.last_error == "HTTP 401: check the bearer token"
    assert "s3cr3t" not in repr(snapshot)
    assert server.requests[0].headers["Authorization"] == "Bearer s3cr3t-token"


async def test_401_with_basic_auth_points_at_username_and_password() -> None:
    server = FakePrometheus()
    server.set("/api/v1/alerts", httpx.Response(401))
    async with make_probe(server, username="alice", password=Secret("hunter2")) as probe:
        snapshot = await probe.poll()
    assert snapshot.health.state == "forbidden"
    assert snapshot.health.last_error == "HTTP 401: check the username and password"
    assert "hunter2" not in repr(snapshot)
    assert server.requests[0].headers["Authorization"].startswith("Basic ")


async def test_403_is_forbidden() -> None:
    server = FakePrometheus()
    server.set("/api/v1/alerts", httpx.Response(403))
    async with make_probe(server, token=Secret("t")) as probe:
        snapshot = await probe.poll()
    assert snapshot.health.state == "forbidden"
    assert snapshot.health.last_error == "HTTP 403: these credentials may not read /api/v1/alerts"


async def test_a_server_that_hangs_past_the_timeout_is_down_quickly() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200, json=ALERTS_BODY)

    probe = PrometheusProbe(settings(timeout=0.1), transport=httpx.MockTransport(hang), clock=Clock())
    started = time.monotonic()
    snapshot = await probe.poll()
    await probe.aclose()
    assert time.monotonic() - started < 2
    assert snapshot.health.state == "down"
    assert snapshot.health.last_error == "timed out waiting for a response after 0.2s from /api/v1/alerts"


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (httpx.ConnectTimeout("t"), "timed out connecting after 5s to http://prometheus.test:9090"),
        (httpx.ReadTimeout("t"), "timed out waiting for a response after 5s from /api/v1/alerts"),
        (httpx.RemoteProtocolError("x"), "the server closed the connection or broke HTTP on /api/v1/alerts"),
    ],
)
async def test_each_kind_of_network_failure_has_its_own_words(error: Exception, message: str) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error

    probe = PrometheusProbe(settings(), transport=httpx.MockTransport(fail), clock=Clock())
    snapshot = await probe.poll()
    await probe.aclose()
    assert snapshot.health.state == "down"
    assert snapshot.health.last_error == message


async def test_a_closed_port_is_connection_refused(closed_url: str) -> None:
    async with PrometheusProbe(settings(url=closed_url, timeout=2)) as probe:
        snapshot = await probe.poll()
    assert snapshot.health.state == "down"
    assert snapshot.health.last_error == f"connection refused at {closed_url}"


async def test_credentials_in_the_url_never_reach_a_message(closed_url: str) -> None:
    url = closed_url.replace("http://", "http://bob:pa55word@")
    async with PrometheusProbe(settings(url=url, timeout=2)) as probe:
        snapshot = await probe.poll()
    assert snapshot.health.last_error == f"connection refused at {closed_url}"
    assert "pa55word" not in repr(snapshot)


async def test_unknown_host_says_it_cannot_be_resolved() -> None:
    async with PrometheusProbe(settings(url="http://no-such-host.invalid:9090", timeout=2)) as probe:
        snapshot = await probe.poll()
    assert snapshot.health.state == "down"
    assert (snapshot.health.last_error or "").startswith("cannot resolve host 'no-such-host.invalid'")


async def test_not_configured_sends_nothing_and_says_how_to_configure() -> None:
    server = FakePrometheus()
    async with PrometheusProbe(PrometheusSettings(), transport=server.transport()) as probe:
        snapshot = await probe.poll()
    assert snapshot.alerts == () and snapshot.fetched_at is None
    assert snapshot.health.state == "not-configured"
    assert snapshot.health.last_error == "set PROMETHEUS_URL or [prometheus] url"
    assert server.requests == []


# --- stale data and backoff -------------------------------------------------------------------


async def test_after_a_failure_the_last_alerts_are_kept_with_their_original_fetch_time() -> None:
    server, clock = FakePrometheus(), Clock()
    async with make_probe(server, clock) as probe:
        fresh = await probe.poll()
        clock.advance(30)
        server.set("/api/v1/alerts", httpx.Response(500))
        stale = await probe.poll()
        clock.advance(30)
        staler = await probe.poll()

    assert stale.alerts == fresh.alerts != ()
    assert stale.fetched_at == staler.fetched_at == T0
    assert staler.health.state == "down"
    assert staler.health.checked_at == T0 + timedelta(seconds=60)
    assert staler.health.last_success == T0
    assert staler.health.last_error == "HTTP 500 Internal Server Error from /api/v1/alerts"


async def test_backoff_grows_after_failures_is_capped_and_resets_after_success() -> None:
    server = FakePrometheus()
    server.set("/api/v1/alerts", httpx.Response(500))
    backoff = Backoff(base=2.0, cap=30.0, rng=random.Random(7))
    probe = PrometheusProbe(
        settings(refresh=2.0), transport=server.transport(), clock=Clock(), backoff=backoff
    )
    assert probe.next_delay() == 2.0

    delays = []
    for _ in range(8):
        await probe.poll()
        delays.append(probe.next_delay())
    for failures, delay in enumerate(delays, start=1):
        ceiling = min(30.0, 2.0 * 2**failures)
        assert max(2.0, ceiling / 2) <= delay <= ceiling
    assert max(delays[:2]) < min(delays[4:])  # it grows
    assert max(delays) <= 30.0  # and stops growing at the cap

    server.set("/api/v1/alerts", httpx.Response(200, json=ALERTS_BODY))
    await probe.poll()
    assert probe.next_delay() == 2.0
    await probe.aclose()


def test_backoff_stays_finite_after_days_of_failures() -> None:
    backoff = Backoff(base=5.0, cap=60.0, failures=5000, rng=random.Random(1))
    assert 30.0 <= backoff.next_delay() <= 60.0


async def test_run_delivers_snapshots_without_overlapping_polls_and_stops() -> None:
    in_flight = 0
    most = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.02)  # slower than the refresh: a naive ticker would stack polls
        in_flight -= 1
        body = ALERTS_BODY if request.url.path.endswith("alerts") else RULES_BODY
        return httpx.Response(200, json=body)

    stop = asyncio.Event()
    received: list[AlertsSnapshot] = []

    async def on_snapshot(snapshot: AlertsSnapshot) -> None:
        received.append(snapshot)
        if len(received) == 3:
            stop.set()

    probe = PrometheusProbe(settings(refresh=0.001), transport=httpx.MockTransport(slow), clock=Clock())
    await asyncio.wait_for(poll_until(probe.poll, on_snapshot, probe.next_delay, stop=stop), timeout=5)
    await probe.aclose()
    assert len(received) == 3
    assert all(s.health.state == "ok" for s in received)
    assert most <= 2  # the alerts and rules reads of one poll, never two polls


async def test_run_accepts_a_plain_callback_and_wakes_up_when_stopped() -> None:
    stop = asyncio.Event()
    received: list[AlertsSnapshot] = []

    def on_snapshot(snapshot: AlertsSnapshot) -> None:
        received.append(snapshot)
        stop.set()

    probe = make_probe(FakePrometheus(), refresh=3600.0)
    started = time.monotonic()
    await asyncio.wait_for(poll_until(probe.poll, on_snapshot, probe.next_delay, stop=stop), timeout=5)
    await probe.aclose()
    assert len(received) == 1 and time.monotonic() - started < 2


# --- read-only --------------------------------------------------------------------------------


async def test_the_probe_only_sends_get_to_the_two_alert_paths() -> None:
    server = FakePrometheus()
    async with make_probe(server, token=Secret("t")) as probe:
        await probe.poll()
        server.set("/api/v1/alerts", httpx.Response(500))
        await probe.poll()
        server.set("/api/v1/alerts", httpx.Response(200, json=ALERTS_BODY))
        server.set("/api/v1/rules", httpx.Response(401))
        await probe.poll()
    sent = {(r.method, r.url.path, r.url.query.decode()) for r in server.requests}
    assert sent <= ALLOWED_REQUESTS
    assert ("GET", "/api/v1/alerts", "") in sent
    assert ("GET", "/api/v1/rules", "type=alert") in sent
    assert all(r.content == b"" for r in server.requests)


async def test_a_url_with_a_path_prefix_is_kept() -> None:
    server = FakePrometheus()
    seen: list[str] = []

    def prefixed(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        inner = httpx.Request(
            request.method, request.url.copy_with(path=request.url.path.removeprefix("/prom"))
        )
        return server(inner)

    probe = PrometheusProbe(
        settings(url=URL + "/prom"), transport=httpx.MockTransport(prefixed), clock=Clock()
    )
    snapshot = await probe.poll()
    await probe.aclose()
    assert snapshot.health.state == "ok"
    assert sorted(seen) == ["/prom/api/v1/alerts", "/prom/api/v1/rules"]


# --- what the reports built on the probe show (tui.cli.check, tui.cli.snapshot) ------------------


def alert(
    name: str, state: str = "firing", severity: str = "warning", age_minutes: float | None = 5, **labels: str
) -> FiringAlert:
    pairs = tuple(sorted({"alertname": name, "severity": severity, **labels}.items()))
    return FiringAlert(
        name=name,
        state=state,
        labels=pairs,
        annotations=(("summary", f"{name} summary"),),
        active_at=None if age_minutes is None else T0 - timedelta(minutes=age_minutes),
        value="8.5e-01",
        expression=None,
        for_seconds=None,
        fingerprint=fingerprint(pairs),
    )


def ok_snapshot(*alerts: FiringAlert) -> AlertsSnapshot:
    health = SourceHealth(
        source="prometheus",
        state="ok",
        checked_at=T0,
        last_success=T0,
        latency=0.041,
        detail=f"{len(alerts)} alerts",
        endpoint=URL,
    )
    return AlertsSnapshot(alerts=alerts, health=health, fetched_at=T0)


RUNBOOK = Runbook(
    title="Runbook",
    sections=(
        Section("high-api-error-rate", "High API error rate", "", (), (), ""),
        Section("redis-down", "Redis down", "", (), (), ""),
    ),
)


def test_alerts_sort_firing_first_then_severity_then_oldest() -> None:
    alerts = [
        alert("PendingCritical", state="pending", severity="critical", age_minutes=100),
        alert("NewWarning", severity="warning", age_minutes=1),
        alert("OldWarning", severity="Warning", age_minutes=60),
        alert("Critical", severity="critical", age_minutes=2),
        alert("Unknown", severity="", age_minutes=500),
        alert("Info", severity="info", age_minutes=3),
        alert("NoStart", severity="warning", age_minutes=None),
    ]
    ordered = sorted(alerts, key=lambda a: alert_sort_key(a, T0))
    assert [a.name for a in ordered] == [
        "Critical",
        "OldWarning",
        "NewWarning",
        "NoStart",
        "Info",
        "Unknown",
        "PendingCritical",
    ]


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "?"),
        (-5, "0s"),
        (42, "42s"),
        (720, "12m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 300, "3h5m"),
        (187200, "2d4h"),
    ],
)
def test_ages_are_short_like_kubectl(seconds: float | None, shown: str) -> None:
    assert format_age(seconds) == shown


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_markup_and_escapes_from_the_server_never_reach_the_terminal(fmt: str) -> None:
    hostile = alert("Hostile", hostile=HOSTILE)
    hostile = replace(hostile, annotations=(("summary", HOSTILE),))
    out = format_snapshot(ok_snapshot(hostile), RUNBOOK, fmt=fmt, now=T0)  # type: ignore[arg-type]
    assert "\x1b" not in out
    if fmt == "json":
        assert json.loads(out)["alerts"][0]["summary"] == HOSTILE  # kept whole, escaped by JSON
    elif fmt == "text":
        assert "[/bold] [link=x]click[/link] ␛[31mred" in out
    else:
        assert "`[/bold] [link=x]click[/link] ␛[31mred`" in out  # a code span: no backslash shows in Slack


def test_text_snapshot_shows_each_alert_with_its_section_in_order() -> None:
    snapshot = ok_snapshot(
        alert("SlowQueries", state="pending", age_minutes=3),
        alert("HighApiErrorRate", severity="critical", age_minutes=12),
    )
    out = format_snapshot(snapshot, RUNBOOK, fmt="text", now=T0)
    lines = out.splitlines()
    assert lines[0] == f"Alerts at 2024-05-01 10:30:00 UTC from {URL}: 1 firing, 1 pending"
    first, second = (line for line in lines if line.startswith(("firing", "pending")))
    assert first.split()[:6] == [
        "firing",
        "critical",
        "HighApiErrorRate",
        "12m",
        "0.85",
        "high-api-error-rate",
    ]
    assert "(High API error rate)" in first
    assert second.startswith("pending") and "no runbook section" in second


def test_markdown_snapshot_has_a_heading_with_time_and_counts() -> None:
    out = format_snapshot(ok_snapshot(alert("HighApiErrorRate")), RUNBOOK, fmt="markdown", now=T0)
    assert out.splitlines()[0] == "### Alerts at 2024-05-01 10:30 UTC: 1 firing, 0 pending"
    assert "- **FIRING** warning **HighApiErrorRate** · since 5m · value 0.85" in out
    assert "runbook: `high-api-error-rate`" in out


def test_a_down_snapshot_says_so_and_marks_kept_alerts_stale() -> None:
    fresh = ok_snapshot(alert("HighApiErrorRate"))
    down = SourceHealth(
        source="prometheus", state="down", checked_at=T0, last_error="connection refused at x"
    )
    stale = AlertsSnapshot(alerts=fresh.alerts, health=down, fetched_at=T0 - timedelta(minutes=2))
    out = format_snapshot(stale, RUNBOOK, fmt="text", now=T0)
    assert "1 firing, 0 pending (stale)" in out.splitlines()[0]
    assert "Prometheus is down: connection refused at x\n" in out
    assert "The alerts below are stale: fetched 2m ago." in out
    assert snapshot_exit_code(stale) == 1 and snapshot_exit_code(fresh) == 0


def test_check_lines_are_aligned_and_only_configured_sources_decide_the_exit_code() -> None:
    ok = ok_snapshot().health
    ok = replace(ok, detail="3 alerts (2 firing, 1 pending)")
    redis = SourceHealth.not_configured("redis")
    out = format_check([ok, redis], as_json=False)
    assert out.splitlines() == [
        f"prometheus  ok              3 alerts (2 firing, 1 pending) in 41 ms from {URL}",
        "redis       not-configured  not configured",
    ]
    assert check_exit_code([ok, redis]) == 0
    down = SourceHealth(source="prometheus", state="down", last_error="HTTP 500 Internal Server Error")
    assert check_exit_code([down, redis]) == 1
    assert json.loads(format_check([down], as_json=True))[0]["detail"] == "HTTP 500 Internal Server Error"


# --- an alert storm: one read of the alerts a poll, nothing parsed twice ---------------------------------


async def test_a_poll_reads_the_alerts_once_and_the_rules_only_when_they_are_due() -> None:
    server = FakePrometheus()
    async with make_probe(server) as probe:
        first = await probe.poll()
        second = await probe.poll()
    paths = [r.url.path for r in server.requests]
    # the first poll reads both at once; the next ones only the alerts (the rules repeat every alert)
    assert sorted(paths[:2]) == ["/api/v1/alerts", "/api/v1/rules"]
    assert paths[2:] == ["/api/v1/alerts"]
    assert second.health.state == "ok"
    (latency,) = by_name(second, "HighRequestLatency")
    assert latency.expression == 'job:request_latency_seconds:mean5m{job="myjob"} > 0.5'
    assert first.alerts == second.alerts


async def test_an_alert_the_rules_cannot_place_has_them_read_again() -> None:
    body = json.loads(json.dumps(ALERTS_BODY))
    server = FakePrometheus(alerts=body)
    async with make_probe(server) as probe:
        await probe.poll()
        # a new alert of a rule that was not there when the rules were read: the rules are read again
        body["data"]["alerts"].append(
            {"labels": {"alertname": "DiskFull", "severity": "critical"}, "state": "firing"}
        )
        rules = json.loads(json.dumps(RULES_BODY))
        rules["data"]["groups"][0]["rules"].append(
            {"type": "alerting", "name": "DiskFull", "query": "disk_free < 0.1", "duration": 0, "alerts": []}
        )
        server.set("/api/v1/rules", httpx.Response(200, json=rules))
        before = len(server.requests)
        snapshot = await probe.poll()
    assert [r.url.path for r in server.requests[before:]] == ["/api/v1/alerts", "/api/v1/rules"]
    (disk,) = by_name(snapshot, "DiskFull")
    assert (disk.expression, disk.for_seconds) == ("disk_free < 0.1", 0.0)
    assert snapshot.health.state == "ok"


async def test_an_unchanged_alert_is_the_same_object_from_one_poll_to_the_next() -> None:
    body = json.loads(json.dumps(ALERTS_BODY))
    server = FakePrometheus(alerts=body)
    async with make_probe(server) as probe:
        first = await probe.poll()
        second = await probe.poll()
        body["data"]["alerts"][1]["value"] = "9.5e-01"
        third = await probe.poll()
    assert all(a is b for a, b in zip(first.alerts, second.alerts, strict=True))
    assert by_name(third, "HighRequestLatency")[0] is by_name(first, "HighRequestLatency")[0]
    (redis,) = by_name(third, "HighRedisMemory")
    assert redis is not by_name(first, "HighRedisMemory")[0] and redis.value == "9.5e-01"


async def test_five_thousand_alerts_are_read_in_one_request_each_poll() -> None:
    def storm(n: int) -> dict[str, Any]:
        labels = {"alertname": "QueueBacklog", "severity": "warning", "queue": f"q{n}"}
        return {"labels": labels, "annotations": {}, "state": "firing", "activeAt": "2024-05-01T10:00:00Z"}

    alerts = [storm(n) for n in range(5000)]
    rule = {"type": "alerting", "name": "QueueBacklog", "query": "backlog > 0", "alerts": alerts}
    server = FakePrometheus(
        alerts={"status": "success", "data": {"alerts": alerts}},
        rules={"status": "success", "data": {"groups": [{"name": "storm", "rules": [rule]}]}},
    )
    async with make_probe(server) as probe:
        await probe.poll()
        before = len(server.requests)
        snapshot = await probe.poll()
    assert [r.url.path for r in server.requests[before:]] == ["/api/v1/alerts"]
    assert len(snapshot.alerts) == 5000 and snapshot.health.detail == "5000 alerts (5000 firing, 0 pending)"
    assert {a.expression for a in snapshot.alerts} == {"backlog > 0"}
