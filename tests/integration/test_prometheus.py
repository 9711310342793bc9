"""The Prometheus probe against a real Prometheus from the lab, its rules really firing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from probes.prometheus import AlertsSnapshot, FiringAlert, PrometheusProbe
from tests.labs.prometheus import HOSTILE_TEXT, PrometheusLab
from tui.config.settings import PrometheusSettings

pytestmark = pytest.mark.integration


def find(snapshot: AlertsSnapshot, name: str, **labels: str) -> FiringAlert:
    found = [a for a in snapshot.alerts if a.name == name and all(a.label(k) == v for k, v in labels.items())]
    assert len(found) == 1, f"{name} {labels} in {[a.name for a in snapshot.alerts]}"
    return found[0]


async def test_poll_gives_firing_and_pending_alerts_with_their_rules(
    prometheus_server: PrometheusLab,
) -> None:
    async with PrometheusProbe(PrometheusSettings(url=prometheus_server.url, timeout=5)) as probe:
        snapshot = await probe.poll()

    assert snapshot.health.state == "ok", snapshot.health.last_error
    assert snapshot.health.endpoint == prometheus_server.url
    error_rate = find(snapshot, "HighApiErrorRate")
    assert error_rate.state == "firing"
    assert error_rate.severity == "critical"
    assert error_rate.value == "8.5e-02"
    assert error_rate.expression == "vector(0.085)"
    assert error_rate.for_seconds == 0.0
    assert error_rate.annotation("runbook_url").endswith("#high-api-error-rate")
    assert error_rate.active_at is not None and error_rate.active_at.tzinfo is not None

    slow = find(snapshot, "SlowDatabaseQueries")
    assert (slow.state, slow.expression, slow.for_seconds) == ("pending", "vector(0.75)", 3600.0)

    # one alertname, two rules: each alert carries its own rule's expression and `for`
    orders = find(snapshot, "HighApiLatency", route="/api/orders")
    search = find(snapshot, "HighApiLatency", route="/api/search")
    assert (orders.state, orders.expression, orders.for_seconds) == ("firing", "vector(2.5) > 2", 0.0)
    assert (search.state, search.expression, search.for_seconds) == ("pending", "vector(2.1) > 2", 7200.0)


async def test_hostile_label_text_arrives_verbatim(prometheus_server: PrometheusLab) -> None:
    async with PrometheusProbe(PrometheusSettings(url=prometheus_server.url)) as probe:
        snapshot = await probe.poll()
    hostile = find(snapshot, "MarkupInLabels")
    assert hostile.label("hostile") == HOSTILE_TEXT
    assert hostile.summary == HOSTILE_TEXT


async def test_fingerprints_are_stable_across_polls_and_probes(prometheus_server: PrometheusLab) -> None:
    settings = PrometheusSettings(url=prometheus_server.url)
    async with PrometheusProbe(settings) as probe:
        first = await probe.poll()
        second = await probe.poll()
    async with PrometheusProbe(settings) as other:
        third = await other.poll()

    def prints(snapshot: AlertsSnapshot) -> dict[str, tuple[str, ...]]:
        return {a.fingerprint: a.labels for a in snapshot.alerts}

    assert prints(first) == prints(second) == prints(third)
    assert len(prints(first)) == len(first.alerts)  # one fingerprint per alert


async def test_a_stopped_server_is_down_with_connection_refused_and_alerts_kept(
    prometheus_factory: Callable[[], PrometheusLab],
) -> None:
    lab = prometheus_factory()
    async with PrometheusProbe(PrometheusSettings(url=lab.url, timeout=2)) as probe:
        fresh = await probe.poll()
        assert fresh.health.state == "ok" and fresh.alerts
        lab.stop()
        after = await probe.poll()

    assert after.health.state == "down"
    assert after.health.last_error == f"connection refused at {lab.url}"
    assert after.alerts == fresh.alerts
    assert after.fetched_at == fresh.fetched_at
    assert after.health.last_success == fresh.health.last_success
    assert after.health.checked_at is not None and fresh.fetched_at is not None
    assert after.health.checked_at >= fresh.fetched_at
