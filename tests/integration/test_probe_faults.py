"""Each probe against a real server behind the fault proxy: the faults the audit found, one test each."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from probes.kubernetes import KubernetesProbe
from probes.postgres import PostgresProbe
from probes.redis import RedisProbe
from tests.labs.fault_proxy import FaultProxy, http_reply, kubeconfig_for
from tests.labs.postgres import LAB_DB, PgLab
from tests.labs.redis import PROBE_ACL, RedisLab
from tui.config.settings import KubernetesSettings, PostgresSettings, RedisSettings, Secret
from tui.lab.kube_sim import KubeSimulator
from tui.widgets.redis_panel import status_text

pytestmark = pytest.mark.integration

HTML = b"<html><body>Sign in to continue</body></html>\n"


async def _until(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def _kube_behind(
    proxy: FaultProxy, sim: KubeSimulator, tmp_path: Path, **settings: float
) -> KubernetesProbe:
    kubeconfig = kubeconfig_for(tmp_path / "kubeconfig", f"http://127.0.0.1:{proxy.port}", sim.token)
    probe = KubernetesProbe(KubernetesSettings(kubeconfig=kubeconfig, **settings), env={})
    cache = probe.start_pods()
    assert await _until(lambda: cache.synced, 15), probe.health
    return probe


async def test_a_pod_watch_answered_with_html_backs_off_and_says_it_is_not_json(kube_sim_factory, tmp_path):
    """The audit: 29,674 watches in 17 s while the header said `ok`."""
    sim = kube_sim_factory(lab=True, tls=False)
    proxy = await FaultProxy(sim.port, http=True).start()
    probe = await _kube_behind(proxy, sim, tmp_path, timeout=1.0, backoff_max=2.0)
    try:
        await proxy.set_mode("reply", http_reply(200, HTML, "text/html"))
        before = proxy.count()
        await asyncio.sleep(4.0)
        sent = proxy.count() - before
        health = probe.health
    finally:
        await asyncio.to_thread(probe.close)
        await proxy.stop()
    # backing off from 0.2 s to a 2 s cap: a handful of tries in 4 s, not thousands
    assert sent <= 8, f"{sent} requests in 4 s"
    assert health.state == "down"
    assert health.last_error == "the API server answered the pod watch with text/html, not JSON"


async def test_a_hung_api_server_shows_down_within_the_timeout_and_is_back_within_one_backoff(
    kube_sim_factory, tmp_path
):
    """The audit: Kubernetes stayed down 20 s after the API server was back (a watch sent into the hang
    waited for the whole watch's read timeout)."""
    sim = kube_sim_factory(lab=True, tls=False)
    proxy = await FaultProxy(sim.port, http=True).start()
    probe = await _kube_behind(proxy, sim, tmp_path, timeout=1.0, backoff_max=2.0)
    try:
        await proxy.set_mode("hang")
        # the cut may first end a watch just opened; then the next one meets the hang
        down = await _until(lambda: (probe.health.last_error or "").startswith("timed out after 1s"), 5.0)
        said = probe.health.last_error
        await asyncio.sleep(2.0)  # a watch is now waiting on the hung server
        await proxy.set_mode("pass")
        ended = time.monotonic()
        back = await _until(lambda: probe.health.state == "ok", 2.0 + 1.0 + 1.0)
        took = time.monotonic() - ended
    finally:
        await asyncio.to_thread(probe.close)
        await proxy.stop()
    assert down, "still ok while the API server hangs"
    assert said is not None and said.startswith("timed out after 1s waiting for http://127.0.0.1:")
    assert back, f"not back {took:.1f}s after the hang ended"


def _pg_behind(proxy: FaultProxy, **timeouts: float) -> PostgresProbe:
    """The lab's monitor role, through the fault proxy."""
    settings = PostgresSettings(
        dsn=f"host=127.0.0.1 port={proxy.port} dbname={LAB_DB} user=oncall_monitor",
        password=Secret("lab-monitor-pw"),
        **timeouts,  # type: ignore[arg-type]
    )
    return PostgresProbe(settings)


async def test_postgresql_that_hangs_says_it_timed_out_which_timeout_and_how_long(pg_server: PgLab):
    """The audit: a hang was reported as "server closed the connection unexpectedly"."""
    proxy = await FaultProxy(pg_server.port, http=False).start()
    probe = _pg_behind(proxy, connect_timeout=2.0, statement_timeout=1.0, refresh=0.2)
    try:
        assert (await probe.poll()).health.state == "ok"
        await proxy.set_mode("hang", cut=False)  # the session open, the server frozen
        frozen = (await probe.poll()).health.last_error
        connecting = (await probe.poll()).health.last_error  # a new session into the hang
    finally:
        await probe.aclose()
        await proxy.stop()
    assert frozen == (
        f"timed out: no answer from 127.0.0.1:{proxy.port}/{LAB_DB} within 7s "
        "(connect_timeout 2s + 3 × statement_timeout 1s + 2s)"
    )
    assert connecting == f"timed out after 2s connecting to 127.0.0.1:{proxy.port}/{LAB_DB} (connect_timeout)"


async def test_a_runbook_statement_into_a_hung_postgresql_times_out_and_the_next_one_runs(pg_server: PgLab):
    """A statement cancelled on a frozen session must not wait forever on psycopg's cancel (libpq < 17)."""
    proxy = await FaultProxy(pg_server.port, http=False).start()
    probe = _pg_behind(proxy, connect_timeout=1.0, statement_timeout=1.0)
    try:
        assert (await probe.run_statement("SELECT 1")).ok
        await proxy.set_mode("hang", cut=False)  # the session open, the server frozen
        started = time.monotonic()
        frozen = await asyncio.wait_for(probe.run_statement("SELECT 1"), timeout=15)
        took = time.monotonic() - started
        await proxy.set_mode("pass")
        again = await probe.run_statement("SELECT 2")
    finally:
        await probe.aclose()
        await proxy.stop()
    assert frozen.problem == (
        f"timed out: no answer from 127.0.0.1:{proxy.port}/{LAB_DB} within 5s "
        "(connect_timeout 1s + 2 × statement_timeout 1s + 2s)"
    )
    assert took < 7  # the deadline, not psycopg's unbounded cancel
    assert again.ok and again.rows == (("2",),)  # a new session, the frozen one never reused


def _redis_probe(lab: RedisLab, user: str, password: str) -> RedisProbe:
    settings = RedisSettings(
        url=f"redis://127.0.0.1:{lab.port}/0",
        username=user,
        password=Secret(password),
        connect_timeout=1.0,
        timeout=1.0,
        refresh=0.2,
    )
    return RedisProbe(settings)


async def _acl(lab: RedisLab, *args: str) -> None:
    def run() -> None:
        client = lab.admin()
        try:
            client.execute_command("ACL", "SETUSER", *args)
        finally:
            client.close()

    await asyncio.to_thread(run)


async def test_redis_whose_acl_is_fixed_is_ok_at_the_next_refresh(redis_server: RedisLab):
    """The audit: Redis stayed degraded 20 s after the ACL was fixed (CONFIG GET was asked again only
    every sixth refresh)."""
    user = "fault_config"
    await _acl(redis_server, user, "reset", "on", ">config-pw", "~*", "&*", *PROBE_ACL.split(), "-config|get")
    probe = _redis_probe(redis_server, user, "config-pw")
    try:
        blocked = await probe.poll()
        await probe.poll()  # a refresh that, before, would not have asked CONFIG again
        await _acl(redis_server, user, "+config|get")
        fixed = await probe.poll()
    finally:
        await probe.aclose()
        await _acl(redis_server, user, "reset")
    assert blocked.health.state == "degraded" and "CONFIG GET blocked by ACL" in (
        blocked.health.last_error or ""
    )
    assert fixed.health.state == "ok", fixed.health.last_error
    assert fixed.config is not None and fixed.config.get("maxmemory-policy")


async def test_redis_that_refuses_info_backs_off_and_shows_what_was_read_and_when(redis_server: RedisLab):
    """INFO refused by the ACL is a failure like any other: backed off, the last readings kept, with age."""
    user = "fault_info"
    await _acl(redis_server, user, "reset", "on", ">info-pw", "~*", "&*", *PROBE_ACL.split())
    probe = _redis_probe(redis_server, user, "info-pw")
    try:
        good = await probe.poll()
        await _acl(redis_server, user, "-info")
        refused = [await probe.poll() for _ in range(3)]
    finally:
        await probe.aclose()
        await _acl(redis_server, user, "reset")
    assert good.health.state == "ok"
    last = refused[-1]
    assert last.health.state == "forbidden"
    assert probe.backoff.failures == 3 and probe.next_delay() > probe.settings.refresh
    assert last.info is not None and last.fetched_at == good.fetched_at
    assert last.health.checked_at is not None and good.fetched_at is not None
    shown = status_text(last, good.fetched_at + timedelta(seconds=12)).plain
    assert shown.startswith("Redis readings refused: INFO blocked by ACL: this user has no permissions")
    assert shown.endswith(" — showing what was read 12s ago")


async def test_a_quiet_pod_watch_stays_open_past_the_request_timeout(kube_sim_factory, tmp_path):
    """The answer's head must come within the timeout, but a quiet stream may wait for its next event."""
    sim = kube_sim_factory(lab=True, tls=False, bookmark_interval=30.0)
    proxy = await FaultProxy(sim.port, http=True).start()
    probe = await _kube_behind(proxy, sim, tmp_path, timeout=1.0)
    try:
        informer = probe.informer
        assert informer is not None
        await asyncio.sleep(3.5)
        watches, health = informer.watches, probe.health
    finally:
        await asyncio.to_thread(probe.close)
        await proxy.stop()
    assert watches == 1, f"{watches} watches in 3.5 s of quiet"
    assert health.state == "ok"


async def test_a_frozen_api_server_shows_down_at_the_next_read_though_the_open_watch_has_not_noticed(
    kube_sim_factory, tmp_path
):
    """A server that stops answering with the pod watch open: the watch sees nothing wrong until its read
    timeout (half a minute), but the next plain read it does not answer marks the whole source down."""
    sim = kube_sim_factory(lab=True, tls=False)
    proxy = await FaultProxy(sim.port, http=True).start()
    probe = await _kube_behind(proxy, sim, tmp_path, timeout=1.0)
    try:
        assert (await probe.events()).health.state == "ok"
        informer = probe.informer
        assert informer is not None
        heard = informer.heard_at
        await proxy.set_mode("hang", cut=False)  # the watch's connection stays open, and silent
        hung_at = datetime.now(UTC)
        events = await probe.events()
        frozen, watch = probe.health, probe.informer.health  # type: ignore[union-attr]
        await proxy.set_mode("pass")
        await probe.events()
        thawed = probe.health
    finally:
        await asyncio.to_thread(probe.close)
        await proxy.stop()
    assert events.health.state == "down"
    assert watch.state == "ok"  # the open watch has not noticed
    assert frozen.state == "down" and (frozen.last_error or "").startswith("timed out after 1s waiting for")
    # the age shown is the pods' real age: from when the watch was last heard from, not from the open stream
    assert heard is not None and frozen.last_success is not None and heard <= frozen.last_success <= hung_at
    assert thawed.state == "ok"
