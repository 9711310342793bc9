"""Helpers the tests share: the real app (make_app, a fixed clock, a canned Prometheus, waits) and the CLI
(`oncall`, run as a user runs it)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual import events
from textual.app import App
from textual.pilot import Pilot

from probes.kubernetes import KubernetesProbe
from probes.postgres import PostgresProbe
from probes.redis import RedisProbe
from tui.app import OncallApp
from tui.config.settings import KubernetesSettings, PrometheusSettings, Settings, StoreSettings

REPO = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 11, 27, 3, 0, 0, tzinfo=UTC)
FIRED = datetime(2026, 11, 27, 3, 12, 5, tzinfo=UTC)  # when the store tests' alert fired


class SteppingClock:
    """Moves one second each time it is read, so every change has its own instant."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        current = self.now
        self.now += timedelta(seconds=1)
        return current


class FixedClock:
    """A clock the test moves by hand, so ages and the demo script are deterministic."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def make_app(
    tmp_path: Path,
    *,
    demo: bool = True,
    observe: str | None = None,
    user: str = "alice@bastion",
    clock: Callable[[], datetime] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    prometheus_url: str | None = None,
    runbook: Path | None = None,
    timeout: float = 2.0,
    kubeconfig: Path | None = None,
    postgres: PostgresProbe | None = None,
    redis: RedisProbe | None = None,
    demo_alertmanager: bool = False,
    helm_history: bool = False,
) -> OncallApp:
    settings = Settings(
        profile="test",
        prometheus=PrometheusSettings(url=prometheus_url, timeout=timeout, refresh=0.2),
        # a kubeconfig of the test's own (none unless given), so the user's cluster is never read
        kubernetes=KubernetesSettings(
            kubeconfig=kubeconfig or tmp_path / "no-kubeconfig", refresh=0.5, helm_history=helm_history
        ),
        runbook=runbook,
        store=StoreSettings(path=tmp_path / "sessions.db"),
        user=user,
    )
    # a given kubeconfig wins over the demo's own cluster, so demo alerts can meet the simulator's pods
    clock = clock or FixedClock()
    kube = KubernetesProbe(settings.kubernetes, clock=clock) if kubeconfig else None
    return OncallApp(
        settings,
        demo=demo,
        observe=observe,
        clock=clock,
        transport=transport,
        kube=kube,
        postgres=postgres,
        redis=redis,
        tick=False,
        demo_alertmanager=demo_alertmanager,
    )


def prometheus_json(alerts: list[dict[str, object]]) -> httpx.MockTransport:
    """A Prometheus that answers /api/v1/alerts with `alerts` and has no rules."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/alerts":
            body = {"status": "success", "data": {"alerts": alerts}}
        else:
            body = {"status": "success", "data": {"groups": []}}
        return httpx.Response(200, content=json.dumps(body).encode())

    return httpx.MockTransport(handle)


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Wait until `predicate()` holds (the app works in the background), failing after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


SETTLE_ROUNDS = 10  # a key's chain of messages (key, binding, what the action posts, what that posts…)


async def settle(app: App[Any], mount_timeout: float = 5.0) -> None:
    """Until the screen and the app have handled every message queued (`SETTLE_ROUNDS` rounds at most), and
    a screen the key opened has finished mounting (its contents composed, its Mount handled): what a user
    sees once it has drawn."""
    pilot = Pilot(app)
    for _ in range(SETTLE_ROUNDS):
        await asyncio.sleep(0)
        await pilot._wait_for_screen()
        try:
            nodes = [app, *app.screen.walk_children(with_self=True)]
        except Exception:  # no screen: the app is closing
            return
        if not any(node._message_queue.qsize() for node in nodes):
            break
    deadline = asyncio.get_running_loop().time() + mount_timeout
    while app.is_running and app.screen_stack and not app.screen.is_mounted:
        if asyncio.get_running_loop().time() > deadline:
            return  # a test waiting for what the screen shows says what is missing
        await asyncio.sleep(0.005)


async def dashboard_up(pilot: Any) -> None:
    """Until the dashboard is the screen: the app pushes it once started, as its first frame is drawn."""
    from screens.dashboard import DashboardScreen

    await wait_for(lambda: isinstance(pilot.app.screen, DashboardScreen), what="the dashboard")
    await pilot.pause()


def mounted(screen: object, kind: type) -> bool:
    """`screen` is a `kind` and has finished mounting: its contents are there to query, not only pushed."""
    return isinstance(screen, kind) and bool(getattr(screen, "is_mounted", False))


def screen_text(app: OncallApp) -> str:
    """Everything the current screen shows in its Static widgets and tables, as plain text."""
    from textual.widgets import DataTable, Static

    from tui.widgets.virtual_table import VirtualTable

    parts: list[str] = []
    for widget in app.screen.query(Static):
        content = widget.render()
        parts.append(str(getattr(content, "plain", content)))
    for table in app.screen.query(DataTable):
        for row in range(table.row_count):
            parts.append(" | ".join(str(getattr(c, "plain", c)) for c in table.get_row_at(row)))
    for lines in app.screen.query(VirtualTable):  # the lines on screen: its header and the rows in view
        height = lines.scrollable_content_region.height
        parts.extend(lines.render_line(y).text.rstrip() for y in range(height))
    return "\n".join(parts)


def oncall(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the `oncall` command line as a user does: a subprocess, its output and exit code."""
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=timeout,
    )


def lab_env(base: Path) -> dict[str, str]:
    """The environment of a user whose home, config, state and lab live under `base`, no source set."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    for name in ("PROMETHEUS_URL", "ONCALL_POSTGRES", "REDIS_URL", "KUBECONFIG", "ONCALL_PROFILE"):
        env.pop(name, None)
    return env | {
        "HOME": str(base),
        "XDG_CONFIG_HOME": str(base / "config"),
        "XDG_STATE_HOME": str(base / "state"),
        "ONCALL_LAB_DIR": str(base / "lab"),
        "ONCALL_LAB_WATCH_PID": str(os.getpid()),  # a killed pytest takes its lab down with it
    }


@contextmanager
def running_lab(base: Path) -> Iterator[tuple[dict[str, str], subprocess.CompletedProcess[str]]]:
    """`oncall lab up` as a user runs it, home and lab under `base`; `oncall lab down` whatever happened."""
    from tests.labs import require
    from tui.lab import lifecycle

    missing = lifecycle.missing_packages()
    require(not missing, f"the lab needs {lifecycle.install_line(missing)}")
    env = lab_env(base)
    up = oncall("lab", "up", env=env)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield env, up
    finally:
        oncall("lab", "down", env=env)  # whatever a test did: nothing outlives it


def get_json(url: str) -> Any:
    """GET a local server's JSON, bypassing any proxy."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=5) as response:
        return json.load(response)


def burst(app: OncallApp, keys: list[str]) -> None:
    """Every key queued at once, before the first is handled, as the terminal driver delivers a burst (the
    way Pilot sends one key, without Pilot's wait for idle after each)."""
    driver = app._driver
    assert driver is not None
    for key in keys:
        character = key if len(key) == 1 else {"slash": "/", "equals_sign": "=", "enter": "\r"}.get(key)
        event = events.Key(key, character)
        event.set_sender(app)
        driver.send_message(event)


def open_test_session(store: Any, who: str = "alice", active_at: datetime = FIRED, fingerprint: str = "fp1"):
    """The session of one HighApiErrorRate firing, opened (or resumed) by `who`: the store tests' fixture."""
    return store.open_session(
        fingerprint=fingerprint,
        alertname="HighApiErrorRate",
        active_at=active_at,
        section_slug="high-api-error-rate",
        summary="API 5xx error rate above 5%",
        labels=(("severity", "critical"), ("service", "inmidst-api")),
        who=who,
    )


def applied_pod(
    name: str, namespace: str, labels: dict[str, str], env: list[dict[str, Any]]
) -> dict[str, Any]:
    """A pod as `kubectl apply` leaves it: its env in the spec and, with the whole spec, in the
    last-applied-configuration annotation (where a secret in the env is copied too)."""
    from tui.demo.kube_objects import pod

    obj = pod(name, namespace, labels=labels, containers=[("api", "api:1")])
    obj["spec"]["containers"][0]["env"] = env
    applied = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"containers": [{"name": "api", "image": "api:1", "env": env}]},
    }
    obj["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied, separators=(",", ":")) + "\n"
    }
    return obj


def offline_kube_probe(tmp_path: Path) -> KubernetesProbe:
    """A probe whose kubeconfig points at a port nothing listens on: for what it does before sending."""
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: sim\n"
        "clusters: [{name: sim, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: sim, user: {token: sim-token}}]\n"
        "contexts: [{name: sim, context: {cluster: sim, user: sim, namespace: production}}]\n"
    )
    return KubernetesProbe(KubernetesSettings(kubeconfig=kubeconfig), env={})
