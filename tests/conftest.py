"""Shared fixtures: the whole lab at once, a closed port, an isolated environment; each server's own fixtures
come from its plugin (tests/labs/*_plugin.py, tests/kube_sim/plugin.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import textual.app
from textual._context import active_app

from tests.helpers import settle
from tests.labs import free_port
from tests.labs.postgres import PgConditions, PgLab
from tests.labs.prometheus import PrometheusLab
from tests.labs.redis import RedisConditions, RedisLab
from tui.lab.kube_sim import KubeSimulator

# the Kubernetes simulator, and the Prometheus, PostgreSQL and Redis labs
pytest_plugins = [
    "tests.kube_sim.plugin",
    "tests.labs.prometheus_plugin",
    "tests.labs.postgres_plugin",
    "tests.labs.redis_plugin",
    "tests.labs.alertmanager_plugin",
]

# pytest-xdist's workers say COLUMNS=80 LINES=24; the app and the CLI started by a test (tmux, subprocess)
# would take that over their real terminal's size. A test gets the environment a serial run has.
for _size in ("COLUMNS", "LINES"):
    os.environ.pop(_size, None)


@pytest.fixture(autouse=True)
def _a_key_is_done_when_its_messages_are(monkeypatch: pytest.MonkeyPatch) -> None:
    """`pilot.press` waits, after each key, until the process looks idle: under 1 ms of CPU in 20 ms, up to
    1 s, twice a key. The demo's pollers and the labs keep a test process busy, so a key cost 40 ms to 2 s
    and most of the suite's time went to it (`test_dashboard_keys` and `test_command_line`: 76 of 91 s).
    Here a key is done once every message it caused (the key, its action, what that posted) is handled:
    what a test asserts next, reached the same way whatever the machine's load. What a key starts in the
    background (a read, a worker) is waited for by the test itself (`wait_for`)."""

    async def settled(min_sleep: float = 0.0, max_sleep: float = 1.0) -> None:
        await settle(active_app.get())

    monkeypatch.setattr(textual.app, "wait_for_idle", settled)


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
