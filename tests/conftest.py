"""Shared fixtures: the real servers of the lab, and free/closed ports."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.kube_sim import KubeSimulator
from tests.lab import LabError, PrometheusLab, free_port, prometheus_binary, require
from tests.pg_lab import PgConditions, PgLab
from tests.redis_lab import RedisConditions, RedisLab

# the Kubernetes simulator, the PostgreSQL lab, the Redis lab
pytest_plugins = ["tests.kube_sim.plugin", "tests.pg_plugin", "tests.redis_plugin"]


def _start_prometheus(workdir: Path) -> PrometheusLab:
    require(prometheus_binary(), "prometheus is not installed (apt-get install prometheus)")
    try:
        return PrometheusLab(workdir).start()
    except LabError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def prometheus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusLab]:
    """One real Prometheus for the session, its lab alerts already firing; `.url` is its base URL."""
    lab = _start_prometheus(tmp_path_factory.mktemp("prometheus"))
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def prometheus_factory(tmp_path: Path) -> Iterator[Callable[[], PrometheusLab]]:
    """Start a private Prometheus a test may stop (the session one must keep running)."""
    started: list[PrometheusLab] = []

    def start() -> PrometheusLab:
        lab = _start_prometheus(tmp_path / f"prometheus-{len(started)}")
        started.append(lab)
        return lab

    yield start
    for lab in started:
        lab.stop()


@pytest.fixture
def closed_url() -> str:
    """A loopback URL where nothing listens, so connecting is refused at once."""
    return f"http://127.0.0.1:{free_port()}/"


@pytest.fixture
def isolated_env(tmp_path: Path) -> dict[str, str]:
    """os.environ without oncall/Prometheus settings or proxies, with a private XDG config/state dir."""
    env = {
        k: v
        for k, v in os.environ.items()
        # libpq's PG* variables would point the CLI at some other PostgreSQL
        if not k.startswith(("ONCALL_", "PROMETHEUS_", "PG", "KUBECONFIG", "REDIS"))
        and not k.lower().endswith("_proxy")
    }
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg-config")
    env["XDG_STATE_HOME"] = str(tmp_path / "xdg-state")
    return env


@dataclass(frozen=True)
class LabServers:
    """The whole lab at once, conditions held: the simulator, the real PostgreSQL, Redis and Prometheus."""

    sim: KubeSimulator
    pg: PgLab
    redis: RedisLab
    prometheus: PrometheusLab


@pytest.fixture
def lab_servers(
    kube_sim: KubeSimulator,
    pg_server: PgLab,
    pg_conditions: PgConditions,
    redis_server: RedisLab,
    redis_conditions: RedisConditions,
    prometheus_server: PrometheusLab,
) -> LabServers:
    del pg_conditions, redis_conditions  # held for the test's module: sessions, locks, keys, slow log
    return LabServers(kube_sim, pg_server, redis_server, prometheus_server)
