"""Every source × every fault, against the real servers through a fault proxy, in the real app.

Four sources (Prometheus, the Kubernetes simulator, PostgreSQL, Redis) × eight faults. Each cell checks
what an SRE sees at 3 a.m.: the app still answers keys; the source's own tab (not only the header chip)
says why, in plain words, and how old the data shown is; once backed off, no more than one request a
second reaches the failing source; and once the fault is removed, the source is back within one backoff
period (the request in flight when it ended may first run out its timeout).

How each fault is made, for real:
- refuse: the proxy's port closes (open connections cut, new ones refused);
- dns: the source's hostname stops resolving: the system resolver's own answer for `nonexistent.invalid`
  (counted at the resolver switch, as nothing reaches a proxy);
- hang: the proxy accepts and never answers; connections it hung stay hung after the fault ends;
- auth: PostgreSQL and Redis change the source's password (and drop its sessions); Prometheus and
  Kubernetes answer 401 (a bad token), with the API server's own Status body for Kubernetes;
- forbidden: PostgreSQL's role loses LOGIN; Redis's ACL user loses INFO; the HTTP sources answer 403;
- malformed: the HTTP sources answer 200 with an HTML page; PostgreSQL and Redis have no "200": the
  closest equivalent is a server answering bytes that are not its protocol;
- 5xx: the HTTP sources answer 503; the closest equivalents are PostgreSQL's FATAL 57P03 "the database
  system is starting up" and Redis's "-LOADING", what those servers really answer while starting;
- restart: Redis and the Kubernetes simulator are really stopped and started again (the simulator on a
  new port behind the same address); Prometheus and PostgreSQL are shared with the rest of the suite,
  so their front (the proxy) goes away and comes back, cutting every open connection.

The eight faults run at once, one app each, so the whole matrix takes about the time of one cell.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from textual.widgets import Static, TabbedContent

from probes.base import Backoff
from probes.kubernetes import KubernetesProbe
from probes.postgres import PostgresProbe
from probes.redis import RedisProbe
from tests.labs.fault_proxy import (
    FaultProxy,
    FaultResolver,
    http_reply,
    kube_status,
    kubeconfig_for,
    pg_error,
)
from tests.labs.postgres import LAB_DB, PgLab
from tests.labs.prometheus import PrometheusLab
from tests.labs.redis import PROBE_ACL, RedisLab
from tui.app import OncallApp
from tui.config.settings import (
    KubernetesSettings,
    PostgresSettings,
    PrometheusSettings,
    RedisSettings,
    Secret,
    Settings,
    StoreSettings,
)
from tui.lab.kube_sim import KubeSimulator

pytestmark = pytest.mark.integration

SOURCES = ("prometheus", "kubernetes", "postgresql", "redis")
FAULTS = ("refuse", "dns", "hang", "auth", "forbidden", "malformed", "5xx", "restart")
REFRESH = 0.5  # seconds between polls when healthy
TIMEOUT = 1.0  # seconds per request (PostgreSQL's connect_timeout can't go under libpq's 2 s)
PG_CONNECT_TIMEOUT = 2.0
CAP = 6.0  # seconds: the backoff cap, shortened through each source's settings
WINDOW = 6.0  # seconds the requests are counted over, once backed off
PANEL = {
    "prometheus": "#alerts-status",
    "kubernetes": "#pods-status",
    "postgresql": "#pg-status",
    "redis": "#redis-status",
}
HTML = b"<html><head><title>Sign in</title></head><body>Log in to continue</body></html>\n"
GARBAGE = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + HTML
# What each cell must say, in plain words, in the source's own panel.
REASONS: dict[tuple[str, str], str] = {
    **{(s, "refuse"): r"connection refused" for s in SOURCES},
    **{(s, "dns"): r"cannot resolve" for s in SOURCES},
    ("prometheus", "hang"): r"timed out .*after 1s",
    ("kubernetes", "hang"): r"timed out after 1s",
    ("postgresql", "hang"): r"timed out after 2s connecting .*\(connect_timeout\)",
    ("redis", "hang"): r"no answer .* within 1s",
    ("prometheus", "auth"): r"HTTP 401",
    ("kubernetes", "auth"): r"401 Unauthorized",
    ("postgresql", "auth"): r"password authentication failed for user fault_auth",
    ("redis", "auth"): r"authentication failed .*wrong user or password",
    ("prometheus", "forbidden"): r"HTTP 403",
    ("kubernetes", "forbidden"): r"forbidden: pods is forbidden",
    ("postgresql", "forbidden"): r"not permitted to log in",
    ("redis", "forbidden"): r"readings refused: INFO blocked by ACL: this user has no permissions",
    ("prometheus", "malformed"): r"text/html, not JSON",
    ("kubernetes", "malformed"): r"text/html, not JSON",
    ("postgresql", "malformed"): r"not speak PostgreSQL's protocol",
    ("redis", "malformed"): r"not speak Redis's protocol",
    ("prometheus", "5xx"): r"HTTP 503",
    ("kubernetes", "5xx"): r"HTTP 503",
    ("postgresql", "5xx"): r"starting up",
    ("redis", "5xx"): r"loading its dataset",
    ("prometheus", "restart"): r"connection refused",
    ("kubernetes", "restart"): r"connection refused|closed|lost",
    ("postgresql", "restart"): r"connection refused",
    ("redis", "restart"): r"closed the connection|connection refused",
}
AGE = re.compile(r"\d+s ago|\d+m ago")


@dataclass
class Cell:
    source: str
    fault: str
    shown: str = ""  # the panel's text while the fault lasted
    requests: int | None = None  # counted over WINDOW once backed off
    recovered_in: float | None = None  # seconds from the fault's end to the source being as before
    problems: list[str] = field(default_factory=list)


@dataclass
class Servers:
    prometheus: PrometheusLab
    sim: KubeSimulator
    pg: PgLab
    redis: RedisLab
    restart_redis: RedisLab
    restart_sim: KubeSimulator
    sim_factory: Callable[..., KubeSimulator]
    workdir: Path


def _panel_text(app: OncallApp, source: str) -> str:
    widget = app.screen.query_one(PANEL[source], Static)
    content = widget.render()
    return str(getattr(content, "plain", content))


def _backed_off(backoff: Backoff) -> bool:
    """The next wait is drawn from [cap/2, cap]: the backoff has reached its cap."""
    return backoff.failures > 0 and backoff.base * 2**backoff.failures >= backoff.cap


class Rig:
    """One app whose four sources each go through their own fault proxy, for one fault."""

    def __init__(self, fault: str, servers: Servers, resolver: FaultResolver) -> None:
        self.fault = fault
        self.servers = servers
        self.resolver = resolver
        self.sim = servers.restart_sim if fault == "restart" else servers.sim
        self.redis_lab = servers.restart_redis if fault == "restart" else servers.redis
        self.proxies = {
            "prometheus": FaultProxy(servers.prometheus.port, http=True),
            "kubernetes": FaultProxy(self.sim.port, http=True),
            "postgresql": FaultProxy(servers.pg.port, http=False),
            "redis": FaultProxy(self.redis_lab.port, http=False),
        }
        self.cells = {s: Cell(s, fault) for s in SOURCES}
        self.pg_role = {"auth": "fault_auth", "forbidden": "fault_forbidden"}.get(fault, "oncall_monitor")
        self.redis_user = {"auth": "fault_auth", "forbidden": "fault_forbidden"}.get(fault, "oncall")

    def host(self, source: str) -> str:
        return self.resolver.name(f"{source}-{self.fault}")

    async def start(self) -> OncallApp:
        for proxy in self.proxies.values():
            await proxy.start()
        p = self.proxies
        work = self.servers.workdir / self.fault
        work.mkdir(parents=True, exist_ok=True)
        kubeconfig = kubeconfig_for(
            work / "kubeconfig", f"http://{self.host('kubernetes')}:{p['kubernetes'].port}", self.sim.token
        )
        settings = Settings(
            profile="fault",
            prometheus=PrometheusSettings(
                url=f"http://{self.host('prometheus')}:{p['prometheus'].port}",
                timeout=TIMEOUT,
                refresh=REFRESH,
                backoff_max=CAP,
            ),
            kubernetes=KubernetesSettings(
                kubeconfig=kubeconfig, timeout=TIMEOUT, refresh=REFRESH, backoff_max=CAP
            ),
            postgres=PostgresSettings(
                dsn=f"host={self.host('postgresql')} port={p['postgresql'].port} dbname={LAB_DB} "
                f"user={self.pg_role}",
                password=Secret(_pg_password(self.pg_role)),
                connect_timeout=PG_CONNECT_TIMEOUT,
                statement_timeout=TIMEOUT,
                refresh=REFRESH,
                backoff_max=CAP,
            ),
            redis=RedisSettings(
                url=f"redis://{self.host('redis')}:{p['redis'].port}/0",
                username=self.redis_user,
                password=Secret(_redis_password(self.redis_user)),
                connect_timeout=TIMEOUT,
                timeout=TIMEOUT,
                refresh=REFRESH,
                backoff_max=CAP,
            ),
            store=StoreSettings(path=work / "sessions.db"),
            user="fault@matrix",
        )
        return OncallApp(
            settings,
            kube=KubernetesProbe(settings.kubernetes),
            postgres=PostgresProbe(settings.postgres),
            redis=RedisProbe(settings.redis),
        )

    async def stop(self) -> None:
        for proxy in self.proxies.values():
            await proxy.stop()

    # --- the fault ------------------------------------------------------------------------------

    async def inject(self) -> None:
        f, p = self.fault, self.proxies
        if f == "refuse":
            for proxy in p.values():
                await proxy.set_mode("refuse")
        elif f == "dns":
            self.resolver.failing.update(self.host(s) for s in SOURCES)
            for proxy in p.values():
                proxy.cut()  # open connections are cut: the next one must resolve the name
        elif f == "hang":
            for proxy in p.values():
                await proxy.set_mode("hang")
        elif f == "auth":
            await p["prometheus"].set_mode("reply", http_reply(401, b"Unauthorized\n", "text/plain"))
            await p["kubernetes"].set_mode(
                "reply", http_reply(401, kube_status(401, "Unauthorized", "Unauthorized"))
            )
            await asyncio.to_thread(_pg_admin, self.servers.pg, "ALTER ROLE fault_auth PASSWORD 'changed-pw'")
            await asyncio.to_thread(
                _redis_admin, self.redis_lab, "ACL", "SETUSER", "fault_auth", "resetpass", ">changed-pw"
            )
            await asyncio.to_thread(_redis_admin, self.redis_lab, "CLIENT", "KILL", "USER", "fault_auth")
            p["postgresql"].cut()
        elif f == "forbidden":
            await p["prometheus"].set_mode("reply", http_reply(403, b"Forbidden\n", "text/plain"))
            message = 'pods is forbidden: User \\"oncall\\" cannot list resource \\"pods\\"'
            await p["kubernetes"].set_mode("reply", http_reply(403, kube_status(403, "Forbidden", message)))
            await asyncio.to_thread(_pg_admin, self.servers.pg, "ALTER ROLE fault_forbidden NOLOGIN")
            p["postgresql"].cut()
            await asyncio.to_thread(
                _redis_admin, self.redis_lab, "ACL", "SETUSER", "fault_forbidden", "-info"
            )
        elif f == "malformed":
            await p["prometheus"].set_mode("reply", http_reply(200, HTML, "text/html"))
            await p["kubernetes"].set_mode("reply", http_reply(200, HTML, "text/html"))
            await p["postgresql"].set_mode("reply", GARBAGE)
            await p["redis"].set_mode("reply", GARBAGE)
        elif f == "5xx":
            await p["prometheus"].set_mode("reply", http_reply(503, b"upstream unavailable\n", "text/plain"))
            await p["kubernetes"].set_mode(
                "reply",
                http_reply(503, kube_status(503, "ServiceUnavailable", "the server is shutting down")),
            )
            await p["postgresql"].set_mode(
                "reply", [b"N", pg_error("57P03", "the database system is starting up")]
            )
            await p["redis"].set_mode("reply", b"-LOADING Redis is loading the dataset in memory\r\n")
        elif f == "restart":
            await p["prometheus"].set_mode("refuse")
            await p["postgresql"].set_mode("refuse")
            await asyncio.to_thread(self.sim.stop)
            await asyncio.to_thread(self.redis_lab.stop)
            for source in ("kubernetes", "redis"):
                p[source].cut()

    async def remove(self) -> None:
        f, p = self.fault, self.proxies
        if f == "dns":
            self.resolver.failing.difference_update(self.host(s) for s in SOURCES)
        elif f == "auth":
            await asyncio.to_thread(
                _pg_admin, self.servers.pg, f"ALTER ROLE fault_auth PASSWORD '{_pg_password('fault_auth')}'"
            )
            await asyncio.to_thread(
                _redis_admin,
                self.redis_lab,
                "ACL",
                "SETUSER",
                "fault_auth",
                "resetpass",
                f">{_redis_password('fault_auth')}",
            )
        elif f == "forbidden":
            await asyncio.to_thread(_pg_admin, self.servers.pg, "ALTER ROLE fault_forbidden LOGIN")
            await asyncio.to_thread(
                _redis_admin, self.redis_lab, "ACL", "SETUSER", "fault_forbidden", "+info"
            )
        elif f == "restart":
            await asyncio.to_thread(self.redis_lab.start)
            fresh = await asyncio.to_thread(self.servers.sim_factory, lab=True, tls=False)
            p["kubernetes"].upstream = ("127.0.0.1", fresh.port)
        for proxy in p.values():
            if proxy.mode != "pass":
                await proxy.set_mode("pass")

    def count(self, source: str) -> int:
        """Requests that reached the source: at the proxy, or at the resolver when nothing listens."""
        if self.fault in ("refuse", "dns", "restart"):
            return self.resolver.lookups.get(self.host(source), 0)
        return self.proxies[source].count()


def _pg_password(role: str) -> str:
    return {"oncall_monitor": "lab-monitor-pw"}.get(role, f"{role}-pw")


def _redis_password(user: str) -> str:
    return {"oncall": "lab-redis-oncall-pw"}.get(user, f"{user}-pw")


def _pg_admin(pg: PgLab, statement: str) -> None:
    import psycopg

    with psycopg.connect(pg.admin_dsn, autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


def _redis_admin(lab: RedisLab, *command: str) -> object:
    client = lab.admin()
    try:
        return client.execute_command(*command)
    finally:
        client.close()


def _prepare_servers(pg: PgLab, labs: list[RedisLab]) -> None:
    for role in ("fault_auth", "fault_forbidden"):
        _pg_admin(pg, f"DROP ROLE IF EXISTS {role}")
        _pg_admin(pg, f"CREATE ROLE {role} LOGIN PASSWORD '{_pg_password(role)}'")
        _pg_admin(pg, f"GRANT pg_monitor TO {role}")
    for lab in labs:
        for user in ("fault_auth", "fault_forbidden"):
            _redis_admin(
                lab,
                "ACL",
                "SETUSER",
                user,
                "reset",
                "on",
                f">{_redis_password(user)}",
                "~*",
                "&*",
                *PROBE_ACL.split(),
            )


def _health(app: OncallApp, source: str):  # type: ignore[no-untyped-def]
    return app.kube.health if source == "kubernetes" else app.healths[source]


def _backoffs(app: OncallApp, source: str) -> list[Backoff]:
    if source == "prometheus":
        return [app.probe.backoff]
    if source == "postgresql":
        return [app.postgres.backoff]
    if source == "redis":
        return [app.redis.backoff]
    informer = app.kube.informer  # type: ignore[union-attr]
    return [informer.backoff, app.kube_reads_backoff] if informer else [app.kube_reads_backoff]


async def _until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def _run_rig(rig: Rig) -> list[Cell]:
    app = await rig.start()
    cells = rig.cells
    try:
        async with app.run_test(size=(180, 50)) as pilot:
            ready = await _until(
                # a real read each, not the "connecting…" the app starts with
                lambda: (
                    all(
                        _health(app, s).state in ("ok", "degraded") and _health(app, s).last_success
                        for s in SOURCES
                    )
                    and len(app.pods) > 0
                ),
                20,
            )
            if not ready:
                for s in SOURCES:
                    cells[s].problems.append(f"never healthy before the fault: {_health(app, s)}")
                return list(cells.values())
            baseline = {s: _health(app, s).state for s in SOURCES}
            await rig.inject()

            async def watch(source: str) -> None:
                cell = cells[source]
                pattern = re.compile(REASONS[(source, rig.fault)], re.I)
                shown = await _until(
                    lambda: bool(
                        pattern.search(_panel_text(app, source)) and AGE.search(_panel_text(app, source))
                    ),
                    3 * TIMEOUT + PG_CONNECT_TIMEOUT + CAP,
                )
                cell.shown = _panel_text(app, source)
                if not shown:
                    cell.problems.append(
                        f"the {source} panel never said /{pattern.pattern}/ with an age: {cell.shown!r}"
                    )
                if not await _until(lambda: all(_backed_off(b) for b in _backoffs(app, source)), 4 * CAP):
                    cell.problems.append(f"never backed off: {[b.failures for b in _backoffs(app, source)]}")
                    return
                before = rig.count(source)
                await asyncio.sleep(WINDOW)
                cell.requests = rig.count(source) - before
                if cell.requests > WINDOW:
                    cell.problems.append(f"{cell.requests} requests in {WINDOW:g}s once backed off")

            await asyncio.gather(*(watch(s) for s in SOURCES))
            # the screen still answers keys while every source is failing
            await pilot.press("2")
            await pilot.pause()
            tabs = app.screen.query_one(TabbedContent)
            if tabs.active != "tab-postgresql":
                for cell in cells.values():
                    cell.problems.append(f"key 2 did not switch tabs (active: {tabs.active})")
            await pilot.press("1")

            ended = time.monotonic()
            await rig.remove()
            removed = app.clock()

            async def recover(source: str) -> None:
                def back() -> bool:
                    health = _health(app, source)
                    return (
                        health.state == baseline[source]
                        and health.last_success is not None
                        and health.last_success >= removed
                    )

                # the next read is due within one backoff (CAP); the rest is the scheduling of eight apps
                # on one loop, which a loaded 2-core CI machine made 2 s late once
                limit = CAP + (TIMEOUT + PG_CONNECT_TIMEOUT if rig.fault == "hang" else 0) + 3.0
                if await _until(back, limit):
                    cells[source].recovered_in = time.monotonic() - ended
                else:
                    cells[source].problems.append(
                        f"not back {limit:g}s after the fault ended: {_health(app, source)}"
                    )

            await asyncio.gather(*(recover(s) for s in SOURCES))
    finally:
        await rig.stop()
    return list(cells.values())


def _table(cells: list[Cell]) -> str:
    lines = ["source      fault      req/s  recovered  shown"]
    for c in cells:
        rate = f"{c.requests / WINDOW:.2f}" if c.requests is not None else "-"
        back = f"{c.recovered_in:.1f}s" if c.recovered_in is not None else "-"
        lines.append(f"{c.source:<11} {c.fault:<10} {rate:>5}  {back:>9}  {c.shown[:110]!r}")
        lines.extend(f"    ✗ {p}" for p in c.problems)
    return "\n".join(lines)


async def test_every_source_survives_every_fault_shows_it_backs_off_and_recovers(
    tmp_path, prometheus_server, pg_server, redis_server, redis_factory, kube_sim_factory
):
    started = time.monotonic()
    # eight apps share this loop, so its thread pool (resolver lookups, Kubernetes reads) is sized for eight
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=8 * 8))
    restart_redis = await asyncio.to_thread(redis_factory)
    sim = await asyncio.to_thread(kube_sim_factory, lab=True, tls=False)
    restart_sim = await asyncio.to_thread(kube_sim_factory, lab=True, tls=False)
    await asyncio.to_thread(_prepare_servers, pg_server, [redis_server, restart_redis])
    servers = Servers(
        prometheus_server,
        sim,
        pg_server,
        redis_server,
        restart_redis,
        restart_sim,
        kube_sim_factory,
        tmp_path,
    )
    resolver = FaultResolver()
    with resolver.installed():
        results = await asyncio.gather(*(_run_rig(Rig(fault, servers, resolver)) for fault in FAULTS))
    cells = [cell for rig_cells in results for cell in rig_cells]
    report = _table(cells)
    print(f"\n{report}\nwall time {time.monotonic() - started:.1f}s")
    failed = [c for c in cells if c.problems]
    assert not failed, f"{len(failed)} of {len(cells)} cells failed:\n{report}"
