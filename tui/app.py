"""The Textual application: owns the probes' polling, the session store and the observer's follow loop."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from textual.binding import Binding
from textual.reactive import reactive
from textual.signal import Signal

from probes.alertmanager import AlertmanagerProbe
from probes.base import (
    Backoff,
    KubernetesSource,
    PostgresSource,
    PrometheusSource,
    RedisSource,
    SourceHealth,
    utc_now,
)
from probes.prometheus import AlertsSnapshot, FiringAlert, PrometheusProbe
from tui.app_base import ConsoleApp
from tui.app_commands import completions, run_command
from tui.config.paths import default_store, default_user, example_runbook
from tui.config.settings import Settings
from tui.demo.scenario import ANCHOR_KEY, demo_anchor
from tui.kube_feed import read_round, watch_pods
from tui.refresh import RefreshPace, seconds_text
from tui.sessions.backend import Store, open_store
from tui.sessions.store import IncidentSession, StepRecord, StepState, StoreError
from tui.store_watch import StoreWatch
from tui.triage.runbook import (
    Runbook,
    RunbookError,
    Section,
    SectionMatch,
    kebab,
    load_runbook,
    match_section,
)
from tui.widgets.header import KubePlace

if TYPE_CHECKING:
    from probes.alertmanager import AmSnapshot
    from probes.kubernetes import KubeEvent, KubernetesSettings, PodRow, ResourceSnapshot
    from probes.postgres import PgSnapshot, PostgresSettings
    from probes.redis import KeySample, RedisSettings, RedisSnapshot
    from screens.contract import Console
    from tui.triage.commands import ConfiguredServers
    from tui.triage.registry import Sources

CO_DRIVER_WINDOW = timedelta(minutes=10)  # another driver's change this recent: "also driven by"
# Full collections (gen 2) only after this many gen-1 ones instead of 10. Each refresh makes thousands of
# objects that live a few seconds (the last snapshot): they reach gen 2 and die there by refcount, and the
# default made CPython walk every live object (~20 ms) every refresh or two. Now it is every few minutes.
GC_FULL_EVERY = 1000
SOURCES_AFTER = 1.0  # seconds: the other sources start at the latest this long after the app
SAMPLE_EVERY = 300.0  # seconds between key sampler runs when [redis] sample_keys is on


def _started_up() -> None:
    gc.freeze()
    gc.enable()


def kubernetes_probe(settings: KubernetesSettings, clock: Callable[[], datetime]) -> KubernetesSource:
    """The cluster's probe; its module (and the Kubernetes client library) loads only when it is built."""
    from probes.kubernetes.probe import KubernetesProbe

    return KubernetesProbe(settings, clock=clock)


def postgres_probe(settings: PostgresSettings, clock: Callable[[], datetime]) -> PostgresSource:
    """The database's probe; psycopg and pglast load only when it is built."""
    from probes.postgres.probe import PostgresProbe

    return PostgresProbe(settings, clock=clock)


def redis_probe(settings: RedisSettings, clock: Callable[[], datetime]) -> RedisSource:
    """The cache's probe; the redis client library loads only when it is built."""
    from probes.redis.probe import RedisProbe

    return RedisProbe(settings, clock=clock)


class OncallApp(ConsoleApp):
    """oncall: firing alerts, the runbook checklist, and the incident session behind it."""

    CSS_PATH = "oncall.tcss"
    TITLE = "oncall"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+z", "suspend_process", "Suspend", show=False),  # job control, as in less or vim
        # not on modals, and typed as text in any input: the app's bindings come last
        Binding("colon", "command_line", "Command", key_display=":", show=False),
        Binding("P", "pause", "Pause refresh", show=False),
        Binding("plus", "slower", "Slower refresh", key_display="+", show=False),
        Binding("minus", "faster", "Faster refresh", key_display="-", show=False),
    ]

    snapshot: reactive[AlertsSnapshot | None] = reactive(None, always_update=True, repaint=False)
    pg_snapshot: reactive[PgSnapshot | None] = reactive(None, always_update=True, repaint=False)
    redis_snapshot: reactive[RedisSnapshot | None] = reactive(None, always_update=True, repaint=False)
    now: reactive[datetime] = reactive(utc_now, always_update=True, repaint=False)
    am_snapshot: reactive[AmSnapshot | None] = reactive(None, always_update=True, repaint=False)

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        demo: bool = False,
        observe: str | None = None,
        clock: Callable[[], datetime] = utc_now,
        transport: httpx.AsyncBaseTransport | None = None,
        kube: KubernetesSource | None = None,
        postgres: PostgresSource | None = None,
        redis: RedisSource | None = None,
        tick: bool = True,
        alertmanager_transport: httpx.AsyncBaseTransport | None = None,
        demo_alertmanager: bool = False,
    ) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.demo = demo
        self.observer = observe is not None
        self.follow = observe if observe not in (None, "latest") else None  # a session id, or None: latest
        self.clock = clock
        self.tick = tick
        self.user = self.settings.user or default_user()
        self.sessions_changed: Signal[IncidentSession | None] = Signal(self, "sessions-changed")
        self.followed: IncidentSession | None = None
        self.store_error: str | None = None
        self.store_notice: str | None = None  # observer: its store was deleted or replaced under it
        # The runbook is read after the first alerts are drawn, off the event loop (see `runbook`): parsing it
        # (and loading markdown-it) held up the first screen by ~90 ms
        self._runbook: Runbook | None = None
        self.runbook_error: str | None = None  # why the runbook could not be read, once it was tried
        self._releases: list[tuple[str, str | None]] = []
        self._runbook_lock = threading.Lock()
        self._runbook_done = False  # read (or failed): set under the lock, then never again
        self._runbook_known = asyncio.Event()  # the same, for the event loop: the app has said so
        self._runbook_asked = False  # the read off the loop has been started
        self.store_path = self.settings.store.path or default_store(demo)
        self.store_url = self.settings.store.url  # a team's shared PostgreSQL; None: the SQLite file alone
        self.store: Store | None = None
        self.unshared = 0  # changes waiting in the SQLite file while the shared PostgreSQL can't be reached
        self.store_status: str | None = None  # the store's notice in a few words, for the header
        self.reopen_store()
        prometheus = self.settings.prometheus
        if demo:
            from tui.demo.sources import LaterRedis, demo_sources

            scripted = demo_sources(prometheus, self._demo_anchor(), clock)
            transport = transport or scripted.transport
            prometheus = replace(scripted.prometheus, refresh=2.0)
            kube = kube or scripted.kube
            postgres = postgres or scripted.postgres
            redis = redis or LaterRedis(scripted)  # made at its first read, after the alerts
        self.probe: PrometheusSource = PrometheusProbe(prometheus, transport=transport, clock=clock)
        self.kube: KubernetesSource = kube or kubernetes_probe(self.settings.kubernetes, clock)
        self.pods: tuple[PodRow, ...] = ()
        self.pods_changed: Signal[tuple[PodRow, ...]] = Signal(self, "pods-changed")
        self.kube_reads: dict[str, ResourceSnapshot[object]] = {}
        self.kube_read: Signal[ResourceSnapshot[object]] = Signal(self, "kube-read")
        kube_settings = self.kube.settings
        self.kube_reads_backoff = Backoff.for_source(kube_settings.refresh, kube_settings.backoff_max)
        self.postgres: PostgresSource = postgres or postgres_probe(self.settings.postgres, clock)
        self.redis: RedisSource = redis or redis_probe(self.settings.redis, clock)
        self.healths: dict[str, SourceHealth] = {
            "prometheus": SourceHealth("prometheus", "not-configured")
            if not prometheus.url
            else SourceHealth("prometheus", "degraded", last_error="connecting…"),
            "kubernetes": self.kube.health,
            "postgresql": SourceHealth("postgresql", "degraded", last_error="connecting…")
            if self.postgres.configured
            else SourceHealth.not_configured("postgresql"),
            "redis": SourceHealth("redis", "degraded", last_error="connecting…")
            if self.redis.configured
            else SourceHealth.not_configured("redis"),
        }
        self._wake = asyncio.Event()  # r: poll Prometheus now
        self._pg_wake = asyncio.Event()
        self._redis_wake = asyncio.Event()
        self._kube_wake = asyncio.Event()
        polled = [prometheus.refresh] if prometheus.url else []
        polled += [self.postgres.settings.refresh] if self.postgres.configured else []
        polled += [self.redis.settings.refresh] if self.redis.configured else []
        polled += [kube_settings.refresh] if self.kube.health.state != "not-configured" else []
        self.pace = RefreshPace(polled)
        self._held_pods: tuple[PodRow, ...] | None = None  # pods that changed while paused, shown on r
        self.namespaces_seen: set[str] = set()  # for :ns completion: the pods' namespaces, as they come
        self.home_namespace = self.kube.settings.namespace  # the configured one, kept across :ctx
        self.co_driver: tuple[str, datetime] | None = None  # another driver's latest change to our session
        self._previous: dict[str, FiringAlert] = {}
        self.store_watch = StoreWatch(self)
        self._sources_started = False  # Kubernetes, PostgreSQL and Redis start after the first alerts
        self._init_alertmanager(alertmanager_transport, demo_alertmanager)

    @cached_property
    def servers(self) -> ConfiguredServers:
        """The servers the probes read: a runbook's psql/redis-cli aimed at any other is copy-only. Worked
        out at the first checklist (libpq reads the DSN: psycopg loads then, not at start-up)."""
        from tui.triage.commands import configured_servers

        return configured_servers(
            getattr(self.postgres, "settings", None), getattr(self.redis, "settings", None)
        )

    # -- the runbook: read once, after the first alerts -----------------------------------------------

    def _read_runbook(self) -> None:
        """Read and parse the runbook, once, in whichever thread asks first; a second caller waits for it."""
        with self._runbook_lock:
            if self._runbook_done:
                return
            path = self.settings.runbook or example_runbook()
            try:
                runbook = load_runbook(path)
            except RunbookError as error:
                self.runbook_error = str(error)
            else:
                from tui.triage.selectors import helm_releases  # here: its command classifier loads now

                self._releases = helm_releases(runbook.sections)
                self._runbook = runbook
            self._runbook_done = True

    @property
    def runbook(self) -> Runbook | None:
        """The runbook, None when it could not be read (runbook_error says why). Asked before the read off
        the loop has finished, it waits for it (or reads it now): every caller sees the runbook as read."""
        if not self._runbook_done:
            self._read_runbook()
        return self._runbook

    @property
    def releases(self) -> list[tuple[str, str | None]]:
        """The Helm releases the runbook's commands name (the Deploys tab reads their history)."""
        if not self._runbook_done:
            self._read_runbook()
        return self._releases

    @property
    def runbook_ready(self) -> bool:
        """The runbook has been read (or failed to be) and the app has said so: `runbook` won't wait."""
        return self._runbook_known.is_set()

    async def wait_runbook(self) -> None:
        """Until the runbook is read, without holding up the event loop (the read starts once the first alerts
        are drawn, SOURCES_AFTER at the latest: waiting doesn't start it sooner)."""
        await self._runbook_known.wait()

    def _start_runbook_read(self) -> None:
        if not self._runbook_asked:
            self._runbook_asked = True
            self.run_worker(self._runbook_read(), group="runbook", name="runbook")

    async def _runbook_read(self) -> None:
        # a thread of its own: the default executor's threads can all be held by long waits (the store's
        # file watch, the sources' first reads), and the runbook would wait behind them
        reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="runbook")
        try:
            await asyncio.get_running_loop().run_in_executor(reader, self._read_runbook)
        finally:
            reader.shutdown(wait=False)
        self._runbook_known.set()
        if self.runbook_error:
            self.notify(self.runbook_error, title="Runbook not loaded", severity="error", timeout=30)

    # -- start-up -------------------------------------------------------------------------------

    def reopen_store(self) -> None:
        try:
            url = self.store_url.reveal() if self.store_url else None
            self.store = open_store(self.store_path, url, read_only=self.observer, clock=self.clock)
            self.store_error = None
        except StoreError as error:
            self.store = None
            self.store_error = str(error)

    def _demo_anchor(self) -> datetime:
        now = self.clock()
        stored = self.store.get_meta(ANCHOR_KEY) if self.store else None
        anchor, is_new = demo_anchor(stored, now)
        if is_new and self.store and not self.observer:
            with contextlib.suppress(StoreError):
                self.store.set_meta(ANCHOR_KEY, anchor.isoformat())
        return anchor

    def on_mount(self) -> None:
        # the dashboard is pushed from the message loop, not from here: Textual holds every paint back until
        # the app's Mount is handled, and a screen pushed here is mounted within it (its first frame, drawn,
        # was thrown away)
        self.call_later(self._show_dashboard)
        self.run_worker(self._poll_prometheus(), group="prometheus", exclusive=True, name="prometheus")
        if self.alertmanager.configured:
            self.run_worker(
                self._poll_alertmanager(), group="alertmanager", exclusive=True, name="alertmanager"
            )
        # The alerts first: the other sources start once they are drawn (SOURCES_AFTER at the latest), so
        # that loading their client libraries and their first reads don't hold up the alerts (each panel
        # says it is connecting, or shows no pods yet, until its first read).
        self.set_timer(SOURCES_AFTER, self.start_sources)
        if self.tick:
            self.set_interval(1.0, self._tick)
        # What start-up made (modules, clients, widgets) lives as long as the app: a full collection
        # walking it again and again froze the screen for 100+ ms, so the collector leaves it alone; `oncall`
        # starts with the collector off (tui/main.py), on again from here
        self.call_after_refresh(_started_up)
        self._gc_threshold = gc.get_threshold()
        gc.set_threshold(self._gc_threshold[0], self._gc_threshold[1], GC_FULL_EVERY)
        if self.store_error and not self.observer:
            self.notify(self.store_error, title="Sessions are not being saved", severity="error", timeout=30)

    def _show_dashboard(self) -> None:
        from screens.dashboard import DashboardScreen

        self.push_screen(DashboardScreen())
        if self.observer:  # after it: the checklist the observer follows goes on top of the dashboard
            self.run_worker(self.store_watch.follow(), group="observer", exclusive=True, name="observer")

    def start_sources(self) -> None:
        """Kubernetes, PostgreSQL, Redis and the driver's store watch: started once, after the alerts (the
        dashboard calls this once it has drawn them)."""
        if self._sources_started:
            return
        self._sources_started = True
        self._start_runbook_read()  # the first alerts are on screen: the runbook now, off the loop
        if not self.observer:
            self.run_worker(self.store_watch.drive(), group="driver", exclusive=True, name="driver")
        if self.postgres.configured:
            self.run_worker(self._poll_postgres(), group="postgres", exclusive=True, name="postgres")
        if self.redis.configured:
            self.run_worker(self._poll_redis(), group="redis", exclusive=True, name="redis")
            if self.redis.settings.sample_keys and not self.observer:
                self.set_interval(SAMPLE_EVERY, self._sample_on_schedule)
                self.set_timer(self.redis.settings.refresh, self._sample_on_schedule)
        if self.kube.health.state != "not-configured":
            self._start_kube()
        # what the first checklist needs (libpq reading the configured DSN), loaded now off the event loop
        self.run_worker(asyncio.to_thread(getattr, self, "servers"), group="warm-up", name="warm-up")

    def _tick(self) -> None:
        self.now = self.clock()
        # a failing source's panel says how old what it shows is: redrawn each second, as its chip is
        if self.pg_snapshot is not None and not self.pg_snapshot.health.answering:
            self.pg_snapshot = self.pg_snapshot
        if self.redis_snapshot is not None and not self.redis_snapshot.health.answering:
            self.redis_snapshot = self.redis_snapshot

    async def on_unmount(self) -> None:
        gc.unfreeze()
        gc.set_threshold(*self._gc_threshold)
        await self.probe.aclose()
        await self.alertmanager.aclose()
        await self.postgres.aclose()
        await self.redis.aclose()
        await asyncio.to_thread(self.kube.close)
        if self.store:
            self.store.close()

    # -- Prometheus ----------------------------------------------------------------------------

    async def _poll_prometheus(self) -> None:
        if not self.probe.settings.url:
            # nothing to poll: say so once, instead of redrawing the same "not configured" every refresh
            await self._alerts_read(await self.probe.poll())
            return
        refresh = self.probe.settings.refresh
        await self.pace.run(
            "prometheus", self.probe.poll, self._alerts_read, self.probe.next_delay, refresh, self._wake
        )

    async def _alerts_read(self, snapshot: AlertsSnapshot) -> None:
        self.healths["prometheus"] = snapshot.health
        if snapshot.health.answering and not self.observer:
            await self._record_resolved(snapshot)
        self.now = self.clock()  # first: the alerts' ages are drawn at the time they were read
        self.snapshot = snapshot

    # -- Alertmanager: each alert's state as the team sees it (silenced, inhibited); read only -----------

    def _init_alertmanager(self, transport: httpx.AsyncBaseTransport | None, demo: bool) -> None:
        settings = self.settings.alertmanager
        if demo and self.demo:  # the demo's scripted Alertmanager: one alert silenced by a teammate
            from tui.demo.alertmanager import DEMO_ALERTMANAGER_URL, DemoAlertmanager
            from tui.demo.scenario import DemoIncident

            incident = DemoIncident(self._demo_anchor(), self.clock)
            transport = transport or DemoAlertmanager(incident).transport()
            settings = replace(settings, url=DEMO_ALERTMANAGER_URL, token=None, password=None, refresh=2.0)
        self.alertmanager = AlertmanagerProbe(settings, transport=transport, clock=self.clock)
        self._am_wake = asyncio.Event()

    async def _poll_alertmanager(self) -> None:
        refresh = self.alertmanager.settings.refresh
        await self.pace.run(
            "alertmanager",
            self.alertmanager.poll,
            self._alertmanager_read,
            self.alertmanager.next_delay,
            refresh,
            self._am_wake,
        )

    def _alertmanager_read(self, snapshot: AmSnapshot) -> None:
        self.am_snapshot = snapshot

    async def _poll_postgres(self) -> None:
        refresh = self.postgres.settings.refresh
        await self.pace.run(
            "postgresql",
            self.postgres.poll,
            self._postgres_read,
            self.postgres.next_delay,
            refresh,
            self._pg_wake,
        )

    def _postgres_read(self, snapshot: PgSnapshot) -> None:
        self._health_read("postgresql", snapshot.health)
        self.pg_snapshot = snapshot

    async def _poll_redis(self) -> None:
        if self.demo:
            from tui.demo.sources import LaterRedis

            if isinstance(self.redis, LaterRedis):
                self.redis = await self.redis.probe()  # made off the loop; from now on the app holds it
        refresh = self.redis.settings.refresh
        await self.pace.run(
            "redis", self.redis.poll, self._redis_read, self.redis.next_delay, refresh, self._redis_wake
        )

    def _redis_read(self, snapshot: RedisSnapshot) -> None:
        self._health_read("redis", snapshot.health)
        self.redis_snapshot = snapshot

    def _health_read(self, source: str, health: SourceHealth) -> None:
        """A source's health as read; when its state changed (connecting… to ok, ok to down) the header says
        so now, not at the next tick."""
        changed = self.healths[source].state != health.state
        self.healths[source] = health
        if changed:
            self.now = self.clock()

    def sample_redis_keys(self) -> None:
        """One bounded key sampler run, now; its result shows with the next snapshot."""
        if self.redis.configured:
            self.run_worker(self._sample_redis(), group="redis-sample", exclusive=True, name="redis-sample")

    def _sample_on_schedule(self) -> None:
        if not self.pace.paused:
            self.sample_redis_keys()

    async def _sample_redis(self) -> KeySample:
        sample = await self.redis.sample_keys()
        if self.redis.last_snapshot is not None:
            self.redis_snapshot = self.redis.last_snapshot
        return sample

    def refresh_now(self) -> None:
        """r: every source read once now, paused or not; pods that changed while paused are shown."""
        for wake in (self._wake, self._pg_wake, self._redis_wake, self._kube_wake, self._am_wake):
            wake.set()
        if self._held_pods is not None:
            self._pods_read(self._held_pods, held=False)

    # -- pause and the refresh interval (P, + and -): the pace every poller waits on ------------------

    def action_pause(self) -> None:
        paused = self.pace.toggle_pause()
        self.notify("refresh paused: nothing polls until P; r reads once" if paused else "refresh resumed")
        if not paused and self._held_pods is not None:
            self._pods_read(self._held_pods, held=False)
        self.now = self.clock()  # the header says so now

    def action_slower(self) -> None:
        self.notify(f"refreshing every {seconds_text(self.pace.slower())} (each source's floor applies)")
        self.now = self.clock()

    def action_faster(self) -> None:
        every = self.pace.faster()
        if every is None:
            self.notify(f"already refreshing as configured, every {self.pace.every_text()}")
        else:
            self.notify(f"refreshing every {seconds_text(every)} (each source's floor applies)")
        self.now = self.clock()

    @property
    def paused(self) -> bool:
        return self.pace.paused

    async def wait_refresh(self, source: str, every: float, wake: asyncio.Event) -> None:
        """A screen's own re-reads (the checklist's evidence) keep the app's pace: paused, or the interval
        picked with + and -, never below `every`; `wake` (r) ends the wait."""
        await self.pace.wait(source, every, every, wake)
        self.pace.polls[source] = self.pace.polls.get(source, 0) + 1

    @property
    def refresh_every(self) -> str:
        return self.pace.every_text()

    async def _record_resolved(self, snapshot: AlertsSnapshot) -> None:
        current = {a.fingerprint: a for a in snapshot.alerts}
        gone = [a for fp, a in self._previous.items() if fp not in current]
        self._previous = current
        if not gone or not self.store:
            return
        at = self.clock()
        for alert in gone:
            try:
                session = await asyncio.to_thread(
                    self.store.mark_resolved, alert.fingerprint, alert.active_at or at, at
                )
            except StoreError as error:
                self.notify(str(error), title="Could not record a resolved alert", severity="error")
                continue
            if session:
                self.sessions_changed.publish(session)

    # -- Kubernetes ----------------------------------------------------------------------------

    def _start_kube(self) -> None:
        self.run_worker(self._watch_pods(), group="kube-pods", exclusive=True, name="pods")
        self.run_worker(self._read_kubernetes(), group="kube-reads", exclusive=True, name="kube-reads")

    async def retarget_kube(self, settings: KubernetesSettings) -> None:
        """:ns and :ctx: the pod watch and the plain reads restart on the new target; the old source stops."""
        old = self.kube
        for worker in [
            *self.workers.cancel_group(self, "kube-pods"),
            *self.workers.cancel_group(self, "kube-reads"),
        ]:
            with contextlib.suppress(Exception):
                await worker.wait()
        self.kube = old.retargeted(settings)
        self.kube_reads_backoff = Backoff.for_source(settings.refresh, settings.backoff_max)
        self.kube_reads.clear()
        self._held_pods = None
        self._pods_read((), held=False)
        self.healths["kubernetes"] = self.kube.health
        if old is not self.kube:
            await asyncio.to_thread(old.close)
        self._start_kube()
        self.now = self.clock()

    @property
    def kube_place(self) -> KubePlace | None:
        """Where Kubernetes is read from, for the header: None when it is not configured."""
        if self.kube.health.state == "not-configured":
            return None
        all_namespaces = self.kube.settings.all_namespaces
        return KubePlace(self.kube.context, None if all_namespaces else self.kube.namespace)

    def action_command_line(self) -> None:
        """`:`: the command line at the bottom; what it answers is run (tui/app_commands.py)."""
        from screens.command_line import CommandLineScreen

        def run(line: str | None) -> None:
            self.run_worker(run_command(self, line), group="command", exclusive=True, name="command")

        self.push_screen(CommandLineScreen(completions(self)), run)

    async def _watch_pods(self) -> None:
        await watch_pods(self.kube, self._pods_looked, self._pods_read)

    def _pods_looked(self) -> None:
        self.healths["kubernetes"] = self.kube.health

    def _pods_read(self, pods: tuple[PodRow, ...], held: bool = True) -> None:
        if held and self.pace.paused and self.pods:  # paused: the table holds still until r or P
            self._held_pods = pods
            return
        self._held_pods = None
        self.pods = pods
        self.pods_changed.publish(pods)

    async def _read_kubernetes(self) -> None:
        """The plain reads (events, pod metrics, Helm history), a round at a time, backing off on failure."""
        backoff = self.kube_reads_backoff
        await self.pace.run(
            "kubernetes",
            self._kube_read_round,
            self._kube_reads_done,
            backoff.next_delay,
            backoff.base,
            self._kube_wake,
        )

    async def _kube_read_round(self) -> list[ResourceSnapshot[Any]]:
        await self.wait_runbook()  # the Helm releases to read come from it
        return await read_round(self.kube, self.releases, self.kube_reads)

    def _kube_reads_done(self, snapshots: list[ResourceSnapshot[object]]) -> None:
        for snapshot in snapshots:
            self.kube_reads[snapshot.resource] = snapshot
            self.kube_read.publish(snapshot)
        # a read the team turned off (Helm history) answers "not configured" at once: no failure to back off
        if all(s.health.answering or s.health.state == "not-configured" for s in snapshots):
            self.kube_reads_backoff.success()
        else:
            self.kube_reads_backoff.failure()

    async def pod_events(self, pod: PodRow) -> tuple[tuple[KubeEvent, ...], str | None]:
        """The pod's events, and what went wrong reading them (None when nothing did)."""
        snapshot = await self.kube.events(pod.namespace, involved=f"Pod/{pod.name}")
        return snapshot.items, None if snapshot.health.answering else snapshot.health.last_error

    async def load_pod_logs(
        self, pod: PodRow, container: str | None, previous: bool, tail: int
    ) -> tuple[list[str], str | None]:
        logs = await self.kube.logs(pod.namespace, pod.name, container, tail, previous)
        problem = None if logs.health.answering else logs.health.last_error
        if logs.truncated and problem is None:
            problem = f"showing the last {len(logs.lines)} lines"
        return list(logs.lines), problem

    # -- sessions ------------------------------------------------------------------------------

    def section_for(self, alert: FiringAlert) -> SectionMatch:
        if not self.runbook:
            return SectionMatch(None, "", ())
        return match_section(self.runbook, alert.name, dict(alert.labels), dict(alert.annotations))

    def section(self, slug: str | None) -> Section | None:
        return self.runbook.section(slug) if self.runbook and slug else None

    async def find_session(self, alert: FiringAlert) -> IncidentSession | None:
        if not self.store or alert.active_at is None:
            return None
        try:
            return await asyncio.to_thread(self.store.find, alert.fingerprint, alert.active_at)
        except StoreError:
            return None

    async def open_session(self, alert: FiringAlert) -> IncidentSession | None:
        """Start or resume the incident session of an alert (driver only)."""
        if self.observer:
            return await self.find_session(alert)
        if not self.store:
            self.notify(
                self.store_error or "no session store", title="Sessions are not being saved", severity="error"
            )
            return None
        match = self.section_for(alert)
        try:
            session = await asyncio.to_thread(
                self.store.open_session,
                fingerprint=alert.fingerprint,
                alertname=alert.name,
                active_at=alert.active_at or self.clock(),
                section_slug=match.section.slug if match.section else None,
                summary=alert.summary,
                labels=alert.labels,
                who=self.user,
            )
        except StoreError as error:
            self.notify(str(error), title="Could not open the session", severity="error")
            return None
        self.sessions_changed.publish(session)
        return session

    async def _write(
        self, title: str, method: str, *args: object, **kwargs: object
    ) -> IncidentSession | None:
        """One store write off the event loop; returns the session as committed, or None (and says why)."""
        if self.observer or not self.store:
            return None
        try:
            updated = await asyncio.to_thread(getattr(self.store, method), *args, **kwargs)
        except StoreError as error:
            self.notify(str(error), title=title, severity="error")
            return None
        self.sessions_changed.publish(updated)
        return updated

    async def set_step(
        self, session: IncidentSession, index: int, state: StepState, *, evidence: str = ""
    ) -> IncidentSession | None:
        """Tick, skip or reset a step; `evidence` is what the step's live evidence showed at that moment."""
        return await self._write(
            "Not saved", "set_step", session.id, index, state, self.user, evidence=evidence
        )

    def evidence_sources(self, alert: FiringAlert | None, section: Section | None = None) -> Sources:
        """The probes a triage step's reads go through; only configured ones. Without an alert (practice from
        the runbook browser) the section's alerting rule gives the expression to evaluate."""
        kube_on = self.kube.health.state != "not-configured"
        query = alert.expression if alert else None
        if query is None and section is not None:
            query = next(
                (q for n, q in self.probe.rule_expressions().items() if kebab(n) == section.slug), None
            )
        from tui.triage.registry import Sources  # here: the reads load after start

        return Sources(
            kubernetes=self.kube if kube_on else None,
            postgres=self.postgres if self.postgres.configured else None,
            redis=self.redis if self.redis.configured else None,
            prometheus=self.probe if self.probe.settings.url else None,
            alert_query=query,
            namespace=self.kube.namespace if kube_on else None,
            pods=lambda: self.pods,
        )

    async def step_history(self, session: IncidentSession, index: int) -> list[StepRecord] | None:
        """Every change of one step, oldest first (every driver's); None when it can't be read (said why)."""
        if not self.store:
            return None
        try:
            return await asyncio.to_thread(self.store.step_history, session.id, index)
        except StoreError as error:
            self.notify(str(error), title="No step history", severity="error", markup=False)
            return None

    async def add_note(
        self, session: IncidentSession, text: str, step_index: int | None
    ) -> IncidentSession | None:
        return await self._write("Note not saved", "add_note", session.id, text, self.user, step_index)

    async def export_session(self, session: IncidentSession) -> Path | None:
        from tui.sessions.export import export_markdown, write_export

        if not self.store:
            return None
        try:
            timeline = await asyncio.to_thread(self.store.timeline, session.id)
            latest = await asyncio.to_thread(self.store.get, session.id)
        except StoreError as error:
            self.notify(str(error), title="Export failed", severity="error")
            return None
        text = export_markdown(latest, timeline, self.section(latest.section_slug), demo=self.demo)
        target = Path.cwd() / f"oncall-session-{latest.id}-{latest.alertname}.md"
        target = target.with_name("".join(c if c.isalnum() or c in "-_." else "_" for c in target.name))
        if self.is_web:
            # served by `oncall serve`: the file goes to the browser that asked, never onto the server's disk
            self.deliver_text(io.StringIO(text), save_filename=target.name, mime_type="text/markdown")
            return Path(target.name)
        try:
            await asyncio.to_thread(write_export, target, text)
        except OSError as error:
            self.notify(f"{target}: {error.strerror or error}", title="Export failed", severity="error")
            return None
        return target

    # -- the session store, watched: the observer follows the driver; a driver sees another's changes --------

    @property
    def also_driven_by(self) -> str | None:
        """Who else changed the session this driver has open, while that was within the last ten minutes."""
        if self.co_driver is None:
            return None
        who, at = self.co_driver
        return who if self.clock() - at <= CO_DRIVER_WINDOW else None


if TYPE_CHECKING:
    # mypy checks here that the app gives screens everything screens/contract.py says they use
    def _implements(app: OncallApp) -> Console:
        return app
