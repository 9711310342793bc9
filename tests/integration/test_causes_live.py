"""The causes judged against the suite's real servers: a fault planted in PostgreSQL, Redis, Prometheus and
the Kubernetes API simulator, and `diagnose` ranks the planted cause first, with the numbers that decided
it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from probes.kubernetes import KubernetesProbe
from probes.postgres import PostgresProbe
from probes.prometheus import PrometheusProbe
from probes.redis import RedisProbe
from tests.helpers import REPO
from tests.labs.postgres import PgLab
from tests.labs.prometheus import PrometheusLab
from tests.labs.redis import RedisLab
from tui.cli.snapshot import snapshot_alerts
from tui.config.settings import (
    KubernetesSettings,
    PostgresSettings,
    PrometheusSettings,
    Settings,
    load_settings,
)
from tui.demo.cluster import POSTGRES_POD
from tui.lab.kube_sim import KubeSimulator
from tui.triage.causes import CauseFinding, diagnose, top_cause
from tui.triage.registry import Sources
from tui.triage.runbook import load_runbook

pytestmark = pytest.mark.integration

RUNBOOK = load_runbook(REPO / "examples" / "inmidst" / "RUNBOOK.md")
LEAKED = 12  # connections the "API" leaves idle in a transaction


def _section(slug: str):
    section = RUNBOOK.section(slug)
    assert section is not None
    return section


def _by_name(findings: tuple[CauseFinding, ...]) -> dict[str, CauseFinding]:
    return {f.name: f for f in findings}


@pytest.fixture
def leaked(pg_server: PgLab) -> Iterator[list[psycopg.Connection]]:
    """A connection leak, as the API would leave one: connections named inmidst-api, each in a transaction
    it never ends."""
    connections = []
    try:
        for _ in range(LEAKED):
            conn = psycopg.connect(pg_server.dsn("inmidst"), application_name="inmidst-api")
            conn.execute("SELECT 1")  # BEGIN implied: the transaction stays open, idle
            connections.append(conn)
        yield connections
    finally:
        for conn in connections:
            conn.close()


async def test_a_connection_leak_is_ranked_first_with_its_numbers(pg_server: PgLab, leaked) -> None:
    async with PostgresProbe(PostgresSettings(dsn=pg_server.dsn("oncall_monitor"))) as postgres:
        findings = await diagnose(Sources(postgres=postgres), RUNBOOK, _section("high-database-connections"))
    top = top_cause(findings)
    assert top is not None and top.name == "Connection leak", findings
    match = re.fullmatch(
        r"(\d+) of (\d+) sessions idle in transaction \(oldest \d+ s\), (\d+) from inmidst-api", top.reason
    )
    assert match, top.reason
    assert int(match.group(1)) >= LEAKED and int(match.group(3)) == LEAKED
    causes = _by_name(findings)
    assert causes["Long-running transactions holding connections"].verdict == "not supported"
    assert causes["Spike in API traffic without autoscaling"].verdict == "unknown"  # no cluster read here


@pytest.fixture
def keys_without_ttl(redis_server: RedisLab) -> Iterator[int]:
    """Redis filling with small cache values (1-4 KB) written without a TTL, a few with one."""
    admin = redis_server.admin()
    try:
        pipe = admin.pipeline(transaction=False)
        for n in range(2000):
            pipe.set(f"fill:{n}", b"x" * (1024 + (n % 4) * 1024))
        for n in range(50):
            pipe.set(f"item:{n}", b"y" * 200, ex=300)
        pipe.execute()
        yield 2000
    finally:
        admin.flushdb()
        admin.close()


async def test_keys_without_a_ttl_are_ranked_first_over_large_keys_and_fragmentation(
    tmp_path: Path, redis_server: RedisLab, keys_without_ttl: int
) -> None:
    settings = load_settings(env={"REDIS_URL": redis_server.url()}, cwd=tmp_path, user_config_dir=tmp_path)
    async with RedisProbe(settings.redis) as redis:
        findings = await diagnose(Sources(redis=redis), RUNBOOK, _section("high-redis-memory"))
    top = top_cause(findings)
    assert top is not None and top.name == "Missing TTLs on cached data", findings
    assert top.reason == "2,000 of 2,050 keys in db0 have no TTL (98%)"
    causes = _by_name(findings)
    large = causes["Large session/cache keys not expiring"]
    assert large.verdict == "not supported" and "under 10.0 KiB" in large.reason, large
    assert causes["Memory fragmentation (ratio > 1.5)"].verdict == "not supported"
    assert causes["Task queue backlog growing unbounded"].verdict == "unknown"


async def test_a_refused_scrape_is_a_crashed_pod_not_a_dns_failure(prometheus_server: PrometheusLab) -> None:
    async with PrometheusProbe(PrometheusSettings(url=prometheus_server.url)) as prometheus:
        # a Prometheus just started lists its targets after its first scrapes
        for _ in range(100):
            if (await prometheus.targets_reading(only_down=True)).rows:
                break
            await asyncio.sleep(0.1)
        findings = await diagnose(Sources(prometheus=prometheus), RUNBOOK, _section("target-down"))
    top = top_cause(findings)
    assert top is not None and top.name == "Pod crashed but service still registered", findings
    assert re.fullmatch(
        r"target inmidst-api at 127\.0\.0\.1:\d+ down: connection refused, nothing listens there", top.reason
    ), top.reason
    assert _by_name(findings)["DNS resolution failure"].verdict == "not supported"


async def test_an_oom_killed_database_pod_is_ranked_first(kube_sim: KubeSimulator) -> None:
    kube_sim.crash("production", POSTGRES_POD)  # OOMKilled, then back
    kube = KubernetesProbe(
        KubernetesSettings(kubeconfig=kube_sim.kubeconfig(namespace="production"), timeout=5), env={}
    )
    try:
        sources = Sources(kubernetes=kube, namespace="production")
        findings = await diagnose(sources, RUNBOOK, _section("postgresql-down"))
    finally:
        kube.close()
    top = top_cause(findings)
    assert top is not None and top.name == "OOM killed", findings
    assert top.reason.startswith(f"1 of 1 pod last ended OOMKilled ({POSTGRES_POD}: 1 restart")
    assert _by_name(findings)["Node failure or eviction"].verdict == "not supported"


async def test_the_drills_snapshot_names_each_alerts_section_and_judges_its_causes(
    tmp_path: Path, pg_server: PgLab, prometheus_server: PrometheusLab
) -> None:
    settings = Settings(
        prometheus=PrometheusSettings(url=prometheus_server.url, timeout=5),
        kubernetes=KubernetesSettings(kubeconfig=tmp_path / "no-kubeconfig"),
        postgres=PostgresSettings(dsn=pg_server.dsn("oncall_monitor")),
    )
    alerts = await snapshot_alerts(settings, RUNBOOK)
    error_rate = next(a for a in alerts if a["name"] == "HighApiErrorRate")
    assert error_rate["runbook"]["slug"] == "high-api-error-rate"
    causes = {c["cause"]: c for c in error_rate["causes"]}
    assert causes["Database connection failures"] == {
        "cause": "Database connection failures",
        "verdict": "not supported",
        "reason": "PostgreSQL answers queries",
    }
    assert error_rate["top_cause"] is None  # nothing read supports a cause: said, never guessed
    for alert in alerts:
        assert set(alert) >= {"runbook", "top_cause", "causes"}
