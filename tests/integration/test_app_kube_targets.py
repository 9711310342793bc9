"""`:ns` and `:ctx` against the Kubernetes simulator, typed as a user types them: the pod watch and the plain
reads restart on the new namespace, on all namespaces, on another kubeconfig context; and a quiet healthy
pod watch keeps its health chip fresh while the clock runs."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from screens.command_line import CommandLineScreen
from tests.helpers import FixedClock, make_app, wait_for
from tui.demo.kube_objects import namespace, pod, ts
from tui.widgets.header import StatusHeader
from tui.widgets.pods import PodsPanel

pytestmark = pytest.mark.integration

STAGING_POD = "checkout-5f6d7c8b9-x2k4q"


def _two_contexts(kube_sim, tmp_path):
    """One kubeconfig: context `sim` (namespace production) and `stage` (namespace staging), one server."""
    sim = json.loads(kube_sim.kubeconfig(namespace="production", context="sim").read_text())
    stage = json.loads(kube_sim.kubeconfig(namespace="staging", context="stage").read_text())
    for key in ("clusters", "users", "contexts"):
        sim[key] += stage[key]
    path = tmp_path / "kubeconfig-two.yaml"
    path.write_text(json.dumps(sim))
    path.chmod(0o600)
    return path


def _with_staging(kube_sim) -> None:
    kube_sim.apply_all(
        [
            namespace("staging"),
            pod(
                STAGING_POD,
                "staging",
                labels={"app": "checkout"},
                containers=[("checkout", "ghcr.io/in-midst-my-life/checkout:2.0.1")],
                node="node-1",
                created=ts(ago=timedelta(hours=1)),
            ),
        ]
    )


def _shown(app) -> list[tuple[str, str]]:
    return sorted((p.namespace, p.name) for p in app.screen.query_one(PodsPanel).table.view)


def _header(app) -> str:
    header = app.screen.query_one(StatusHeader)
    header.redraw()
    return str(header.render())


async def _command(app, pilot, line: str) -> None:
    await pilot.press("colon")
    await wait_for(lambda: isinstance(app.screen, CommandLineScreen), what="the command line")
    await pilot.press(*line, "enter")
    await wait_for(lambda: not isinstance(app.screen, CommandLineScreen), what="the command line closed")


async def test_ns_and_ctx_restart_the_pod_watch_and_the_reads_on_the_new_target(tmp_path, kube_sim):
    await asyncio.to_thread(_with_staging, kube_sim)
    app = make_app(tmp_path, kubeconfig=_two_contexts(kube_sim, tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: len(_shown(app)) == 7, timeout=15, what="production's seven pods")
        assert {ns for ns, _ in _shown(app)} == {"production"}
        assert "ns production @sim" in _header(app)

        await _command(app, pilot, "ns staging")
        await wait_for(lambda: _shown(app) == [("staging", STAGING_POD)], timeout=10, what="staging's pod")
        assert "ns staging @sim" in _header(app)

        await asyncio.to_thread(kube_sim.clear_requests)
        await _command(app, pilot, "ns all")
        await wait_for(lambda: len(_shown(app)) == 8, timeout=10, what="the pods of every namespace")
        assert {ns for ns, _ in _shown(app)} == {
            "production",
            "staging",
        }  # the NAMESPACE column tells them apart
        assert "ns all @sim" in _header(app)
        await wait_for(lambda: "events" in app.kube_reads, timeout=10, what="a round of reads")
        paths = {r["path"] for r in await asyncio.to_thread(kube_sim.requests)}
        assert (
            "/api/v1/pods" in paths and "/api/v1/events" in paths
        )  # the watch and events span every namespace

        await pilot.press("colon", *"ctx st")
        line = app.screen.query_one("Input")
        await wait_for(
            lambda: line._suggestion == "ctx stage", what="the context completed from the kubeconfig"
        )
        await pilot.press("tab", "enter")
        await wait_for(
            lambda: _shown(app) == [("staging", STAGING_POD)], timeout=10, what="stage's namespace"
        )
        assert "ns staging @stage" in _header(app)

        await _command(app, pilot, "ctx sim")
        await wait_for(lambda: len(_shown(app)) == 7, timeout=10, what="production again")
        assert "ns production @sim" in _header(app)
        assert app.kube.context == "sim" and app.kube.namespace == "production"


async def test_a_quiet_healthy_pod_watch_keeps_its_chip_fresh(tmp_path, kube_sim):
    clock = FixedClock()
    app = make_app(tmp_path, kubeconfig=kube_sim.kubeconfig(namespace="production"), clock=clock)
    async with app.run_test(size=(160, 48)):
        await wait_for(lambda: len(app.pods) == 7, timeout=15, what="the pods")
        await wait_for(lambda: app.kube.health.state == "ok", what="the watch")
        clock.advance(40)  # no pod changes: a quiet watch, open and healthy
        app.now = clock()
        await asyncio.sleep(0.5)
        assert app.healths["kubernetes"].last_success == clock()
        assert "● kubernetes ok 0s" in _header(app)


async def test_paused_the_pods_table_holds_still_and_r_shows_what_changed(tmp_path, kube_sim):
    app = make_app(tmp_path, kubeconfig=kube_sim.kubeconfig(namespace="production"))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: len(_shown(app)) == 7, timeout=15, what="the pods")
        await pilot.press("P")
        crashing = "inmidst-api-7d9f8b6c5-4xkzp"
        await asyncio.to_thread(kube_sim.crash, "production", crashing)
        await asyncio.sleep(1.5)  # the watch has it; the table, paused, does not move
        panel = app.screen.query_one(PodsPanel)
        assert all(p.status != "CrashLoopBackOff" for p in panel.table.view)
        await pilot.press("r")
        await wait_for(
            lambda: any(p.name == crashing and p.status == "CrashLoopBackOff" for p in panel.table.view),
            what="the crash shown on r",
        )
