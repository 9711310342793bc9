"""Every step of every section of the seed runbook, read live against the lab: the simulator, the real
PostgreSQL, Redis and Prometheus. Each planned read gives evidence, and no server receives a write."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from probes.base import Reading
from probes.kubernetes import KubernetesProbe
from probes.postgres import PostgresProbe
from probes.prometheus import PrometheusProbe
from probes.redis import ALLOWED, RedisProbe
from tests.conftest import LabServers
from tests.helpers import REPO
from tests.labs.postgres import PgLab
from tests.labs.redis import RedisLab
from tui.config.settings import KubernetesSettings, PostgresSettings, PrometheusSettings, load_settings
from tui.demo.cluster import POSTGRES_POD
from tui.lab.kube_sim import KubeSimulator
from tui.triage.plans import coverage, plan_causes
from tui.triage.registry import Sources, gather_all
from tui.triage.runbook import load_runbook
from tui.triage.shaping import reading_text

pytestmark = pytest.mark.integration

SEED = REPO / "examples" / "inmidst" / "RUNBOOK.md"
# the statements a read-only session may send: the probe's reads and run_statement's read-only cursor
READ_ONLY_STATEMENTS = (
    "SELECT",
    "WITH",
    "BEGIN READ ONLY",
    "DECLARE",
    "FETCH",
    "ROLLBACK",
    "SHOW",
    "EXPLAIN",
    "VALUES",
    "TABLE",
)


@dataclass
class Lab:
    sources: Sources
    sim: KubeSimulator
    pg: PgLab
    redis: RedisLab


@pytest.fixture
async def lab(tmp_path: Path, lab_servers: LabServers) -> AsyncIterator[Lab]:
    kube_sim, pg_server = lab_servers.sim, lab_servers.pg
    redis_server, prometheus_server = lab_servers.redis, lab_servers.prometheus
    kube = KubernetesProbe(
        # as the lab's console runs: Helm history opted into, so its Helm evidence is live too
        KubernetesSettings(
            kubeconfig=kube_sim.kubeconfig(namespace="production"), timeout=5, helm_history=True
        ),
        env={},
    )
    postgres = PostgresProbe(PostgresSettings(dsn=pg_server.dsn("oncall_monitor")))
    redis_settings = load_settings(
        env={"REDIS_URL": redis_server.url()}, cwd=tmp_path, user_config_dir=tmp_path
    )
    redis = RedisProbe(redis_settings.redis)
    prometheus = PrometheusProbe(PrometheusSettings(url=prometheus_server.url))
    pods = (await kube.list_pods()).items  # what the app's pod cache holds
    sources = Sources(
        kubernetes=kube,
        postgres=postgres,
        redis=redis,
        prometheus=prometheus,
        alert_query="up",
        namespace="production",
        pods=lambda: pods,
    )
    try:
        yield Lab(sources, kube_sim, pg_server, redis_server)
    finally:
        await postgres.aclose()
        await redis.aclose()
        await prometheus.aclose()
        kube.close()


async def test_every_section_of_the_seed_runbook_shows_live_evidence_and_nothing_is_written(lab: Lab) -> None:
    report = coverage(load_runbook(SEED))
    admin = lab.redis.admin()
    admin.config_resetstat()  # from here, commandstats counts what the reads sent
    lab.sim.crash("production", POSTGRES_POD)  # OOMKilled: postgresql-down's `grep -A5 "Last State"` finds it
    lab.sim.clear_requests()
    mark = lab.pg.log_mark()  # from here, the log holds what these reads sent

    shown: dict[str, list[Reading]] = {}
    for section in report.sections:
        for plan in section.plans:
            readings = await gather_all(plan.reads, lab.sources)
            shown[f"{section.slug} {plan.step.number}"] = list(readings)
    # and the common causes: the evidence bearing on each, where a probe can read some
    runbook = load_runbook(SEED)
    causes: dict[str, Reading] = {}
    for section in runbook.sections:
        for cause in plan_causes(section, runbook):
            if cause.read is not None:
                causes[cause.cause.text] = (await gather_all((cause.read,), lab.sources))[0]
    assert len(causes) == 39
    unread = {text: r.problem for text, r in causes.items() if r.read_at is None}
    assert unread == {}, unread
    leak = causes["Connection leak: application not returning connections to pool"]
    columns = ("application_name", "idle_in_transaction", "over_5_min", "connections", "oldest_s")
    assert leak.columns == columns
    assert leak.rows and sum(int(row[3]) for row in leak.rows) >= 1

    # every planned step gave a reading, each read now, and each as text the session can store
    failed = {
        step: [r.problem for r in readings if r.read_at is None]
        for step, readings in shown.items()
        if any(r.read_at is None for r in readings)
    }
    assert failed == {}, failed
    assert sum(1 for readings in shown.values() if readings) == 36
    for readings in shown.values():
        for reading in readings:
            assert reading_text(reading).startswith(f"{reading.source}: ")

    # a few readings, checked against what the lab holds
    pods = shown["api-down 1"][0]
    assert pods.columns[:3] == ("NAME", "READY", "STATUS") and len(pods.rows) == 3
    connections = shown["high-database-connections 1"][0]
    assert connections.columns == ("count",) and int(connections.rows[0][0]) >= 5
    memory = shown["high-redis-memory 1"][0]
    assert [row[0] for row in memory.rows[:3]] == ["used_memory_human", "maxmemory_human", "maxmemory_policy"]
    assert dict(memory.rows)["maxmemory_human"] == "64.00M"
    restart = dict(shown["low-cache-hit-ratio 2"][0].rows)
    assert set(restart) >= {"uptime_in_seconds", "rdb_last_save_time", "db0"}
    assert shown["high-redis-memory 3"][0].rows == (("maxmemory-policy", "noeviction"),)
    last_state = shown["postgresql-down 3"][0]
    assert any("Last State:" in line and "Terminated" in line for line in last_state.lines), last_state.lines
    assert any("Reason:" in line and "OOMKilled" in line for line in last_state.lines), last_state.lines
    pvcs = shown["postgresql-down 1"][0]
    assert [row[pvcs.columns.index("name")] for row in pvcs.rows] == ["data-inmidst-postgres-0"], pvcs
    limits = shown["redis-down 3"][0]
    assert limits.columns == ("NAME", "MEMORY", "LIMIT", "USED")
    assert limits.rows[0][0] == "inmidst-redis-0" and limits.rows[0][3].endswith("%"), limits.rows
    codes = dict(shown["high-api-error-rate 2"][0].rows)
    assert int(codes["200"]) >= 40 and codes["503"] == "1"  # the lab's API logs: many 200s, one 503

    # nothing was written anywhere
    requests = lab.sim.requests()
    assert requests and {r["method"] for r in requests} == {"GET"}
    logged = lab.pg.statements_logged("oncall", since=mark)
    assert logged and all(s.lstrip().upper().startswith(READ_ONLY_STATEMENTS) for s in logged), logged
    stats = {name.removeprefix("cmdstat_") for name in admin.info("commandstats")}
    admin.close()
    allowed = {f"{name}|{sub}".lower() if sub else name.lower() for name, sub in ALLOWED}
    assert stats - {"config|resetstat", "auth"} <= allowed, sorted(stats - allowed)
