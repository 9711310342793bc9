"""The dashboard: health, firing alerts, the selected alert's runbook section, and the source tabs."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.events import Resize
from textual.timer import Timer
from textual.widget import MountError, Widget
from textual.widgets import DataTable, Input, Static, TabbedContent, TabPane
from textual.widgets._tabbed_content import ContentTabs

from probes.alertmanager import AlertmanagerProbe, AmSnapshot, amtool_add, amtool_expire
from probes.format import clean
from probes.prometheus import AlertsSnapshot, FiringAlert
from screens.contract import ConsoleScreen
from screens.modals import PickScreen, TextScreen
from tui.sessions.store import IncidentSession
from tui.widgets import styles
from tui.widgets.alerts import (
    AlertsTable,
    FilterBox,
    alertmanager_status,
    alerts_status,
    filter_status,
    parse_filter,
)
from tui.widgets.bindings import focus_now, typing
from tui.widgets.dialogs import ShowText
from tui.widgets.footer import KeyFooter
from tui.widgets.header import StatusHeader
from tui.widgets.kube_panels import EventsPanel, ReadPanel, helm_lines, read_problem
from tui.widgets.pods import PodsPanel
from tui.widgets.runbook_pane import RunbookPane
from tui.widgets.virtual_table import VirtualTable

if TYPE_CHECKING:
    from probes.kubernetes import HelmRevision, KubeEvent, PodMetrics, PodRow, ResourceSnapshot
    from probes.postgres import PgSnapshot
    from probes.redis import RedisSnapshot

KUBE_OFF = "Kubernetes is not configured: set KUBECONFIG or [kubernetes] kubeconfig in oncall.toml."
PG_OFF = (
    "PostgreSQL is not configured: set [postgres] dsn, ONCALL_POSTGRES, --postgres or libpq's PG* variables."
)
# the alerts pane: as tall as its rows need, at least MIN_ALERTS_HEIGHT (the runbook pane beside it stays
# readable), at most MAX_ALERTS_SHARE of the screen; below NARROW columns the runbook pane gives its width
# to the alerts (see oncall.tcss)
MIN_ALERTS_HEIGHT = 12
MAX_ALERTS_SHARE = 0.4
STATUS_LINES = 4
NARROW = 100
MOVES_FOCUS = {"pods", "alerts", "zoom", "tab"}
REDIS_OFF = "Redis is not configured: set REDIS_URL, [redis] url or --redis."
# the tabs after Pods, (title, pane id): hidden at start, built once the first alerts are drawn
LATER_TABS = (
    ("PostgreSQL", "tab-postgresql"),
    ("Redis", "tab-redis"),
    ("Slow log", "tab-slowlog"),
    ("Events", "tab-events"),
    ("Logs", "tab-logs"),
    ("Deploys", "tab-deploys"),
)
TABS_AFTER = 1.0  # seconds: the later tabs are built by then even without alerts read
COLLECT_AFTER = 2.0  # seconds after another screen closed: its last evidence round has let go by then


def _unless_torn_down() -> contextlib.AbstractContextManager[None]:
    """A source's read that lands while the app quits finds its panel's lines already removed (Textual takes
    a screen down from its leaves): nothing is left to draw them on, and the poller must not fail for it."""
    return contextlib.suppress(NoMatches)


def main_list(pane: Widget) -> Widget | None:
    """The list a tab's keys are for: its first table (pods, sessions, slow log), else its first scrollable
    view (events, deploys); None for a tab that only says something (logs, not configured)."""
    kinds: tuple[type[Widget], ...] = (VirtualTable, DataTable, ReadPanel)
    for kind in kinds:
        for widget in pane.query(kind):
            if widget.can_focus and widget.display:
                return widget
    return None


class DashboardScreen(ConsoleScreen[None]):
    # the alerts have the focus from the first frame: Textual's default (the first focusable widget) could
    # pick the filter box before its style hid it, and a key typed as the app started was taken as a filter
    AUTO_FOCUS = "#alerts"
    BINDINGS = [
        Binding("b", "browse_runbook", "Runbook"),
        Binding("r", "refresh", "Refresh"),
        # The keys that move the focus are priority keys: the focus moves before the next key is routed, so
        # `2` enter or `a` enter typed in one burst is the new list's enter (check_action: not while typing)
        Binding("p", "pods", "Pods", priority=True),
        Binding("a", "alerts", "Alerts", priority=True),
        Binding("z", "zoom", "Zoom tabs", priority=True),
        Binding("x", "sample_keys", "Sample keys"),
        Binding("1", "tab(1)", "Tabs", key_display="1-7", priority=True),
        *(Binding(str(n), f"tab({n})", f"Tab {n}", show=False, priority=True) for n in range(2, 8)),
        Binding("j", "cursor_down", "Next alert", key_display="j/↓"),
        Binding("k", "cursor_up", "Previous alert", key_display="k/↑"),
        # only with Alertmanager configured: the amtool command to silence the selected alert, to copy
        Binding("m", "silence_command", "Silence (amtool)"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._status = Text()
        self._cause_wake = asyncio.Event()  # the selected alert changed, or the pane shows again: judge now
        self._judged: str | None = None  # the fingerprint whose causes were judged last
        self._tabs_started = False  # the tabs hidden at start: being built, or built (build_tabs)
        self._tabs_built = asyncio.Event()
        self._resumed = False  # shown once already: a later resume means another screen closed
        self._collect_timer: Timer | None = None  # a collection of closed screens is due

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="status")
        with Horizontal(id="main"):
            with Vertical(id="alerts-column"):
                yield Static(id="alerts-status")
                yield FilterBox(
                    placeholder="severity=critical alertname=~High.* namespace!=staging word (enter applies)",
                    id="alerts-filter",
                )
                yield AlertsTable(open_filter=self._open_filter, id="alerts")
            yield RunbookPane(id="runbook")
        kube_on = self.console.kube.health.state != "not-configured"
        with TabbedContent(id="sources"):
            with TabPane("Pods", id="tab-pods"):
                if kube_on:
                    yield PodsPanel(now=lambda: self.console.now, id="pods")
                else:
                    yield Static(Text(KUBE_OFF, style=styles.MUTED), classes="not-configured")
            # the other tabs are hidden at start: their panels are built once the first alerts are drawn
            # (build_tabs), so that building and styling ~35 widgets nobody sees yet doesn't delay them
            for title, pane_id in LATER_TABS:
                yield TabPane(title, id=pane_id)
        yield KeyFooter()

    def _later_panels(self, pane_id: str) -> list[Widget]:
        """The panels of a tab built after the first alerts (see compose); their modules (and the database's
        and the cache's models) load then too."""
        from tui.widgets.postgres_panel import PostgresPanel
        from tui.widgets.redis_panel import RedisPanel
        from tui.widgets.slowlog_panel import SlowlogPanel

        kube_on = self.console.kube.health.state != "not-configured"
        redis_on = self.console.redis.configured
        now = lambda: self.console.now  # noqa: E731
        redis_off = Static(Text(REDIS_OFF, style=styles.MUTED), classes="not-configured")
        if pane_id == "tab-postgresql":
            if self.console.postgres.configured:
                return [PostgresPanel(now=now, id="postgres")]
            return [Static(Text(PG_OFF, style=styles.MUTED), classes="not-configured")]
        if pane_id == "tab-redis":
            settings = self.console.redis.settings
            return [RedisPanel(now=now, settings=settings, id="redis") if redis_on else redis_off]
        if pane_id == "tab-slowlog":
            return [SlowlogPanel(now=now, id="slowlog") if redis_on else redis_off]
        if pane_id == "tab-events":
            return [EventsPanel("reading events…" if kube_on else KUBE_OFF, id="events")]
        if pane_id == "tab-logs":
            logs = "Select a pod in the Pods tab and press l for its logs, d for its detail."
            return [Static(Text(logs if kube_on else KUBE_OFF, style=styles.MUTED), classes="not-configured")]
        return [ReadPanel("reading Helm history…" if kube_on else KUBE_OFF, id="deploys")]

    async def build_tabs(self) -> None:
        """Build the tabs left empty at start (once; whoever comes later waits for it): then each draws
        what the app has read so far."""
        if not self._tabs_started:
            self._tabs_started = True
            try:
                for _, pane_id in LATER_TABS:
                    await self.query_one(f"#{pane_id}", TabPane).mount_all(self._later_panels(pane_id))
                self._tabs_built.set()
                self._on_postgres(getattr(self.app, "pg_snapshot", None))
                self._on_redis(getattr(self.app, "redis_snapshot", None))
                for snapshot in list(self.console.kube_reads.values()):
                    self._on_kube_read(snapshot)
            except (NoMatches, MountError):
                return  # the screen is going away (the app quits) while its tabs were being built
        await self._tabs_built.wait()

    async def _after_first_alerts(self) -> None:
        """Once the first alerts are written to the terminal (not at a refresh's callback, which can come
        before that paint): the other sources start, then the tabs hidden at start are built."""
        await self.table.first_drawn.wait()
        self.console.start_sources()
        self._build_tabs_soon()

    def _build_tabs_soon(self) -> None:
        if not self._tabs_started:
            self.run_worker(self.build_tabs(), group="build-tabs", name="build-tabs")

    def on_mount(self) -> None:
        self.watch(self.app, "snapshot", self._on_snapshot)
        self.watch(self.app, "now", self._on_tick, init=False)
        self.watch(self.app, "pg_snapshot", self._on_postgres)
        self.watch(self.app, "redis_snapshot", self._on_redis)
        if self._alertmanager is not None:
            self.table.set_alertmanager(None)
            self.watch(self.app, "am_snapshot", self._on_alertmanager)
        self.console.sessions_changed.subscribe(self, self._on_session_changed)
        self.console.pods_changed.subscribe(self, self._on_pods)
        self.console.kube_read.subscribe(self, self._on_kube_read)
        # whatever was read before this screen was up is drawn now, not at the next read
        self._on_pods(self.console.pods)
        for snapshot in list(self.console.kube_reads.values()):
            self._on_kube_read(snapshot)
        self.query_one(AlertsTable).focus()
        self._shown: tuple[str, float | None] | None = None
        self._draw_status()
        self.run_worker(self._judge_causes(), group="likely-cause", exclusive=True, name="likely-cause")
        self.set_timer(TABS_AFTER, self._build_tabs_soon)  # no alerts read by then: the tabs anyway
        self.run_worker(self._runbook_read(), group="runbook-read", name="runbook-read")

    # -- the runbook, read after the first alerts (the app's `runbook` waits for it) ---------------------

    @property
    def _runbook_pending(self) -> bool:
        """The app is still reading its runbook: asking for a section now would wait for it."""
        return not self.console.runbook_ready

    async def _runbook_read(self) -> None:
        """Once the runbook is read: the selected alert's section (or why there is none) and the status."""
        if not self._runbook_pending:
            return
        await self.console.wait_runbook()
        with _unless_torn_down():
            self._shown = None
            self._show_selected()
            self._draw_status()

    @property
    def table(self) -> AlertsTable:
        return self.query_one(AlertsTable)

    # -- drawing ------------------------------------------------------------------------------

    @property
    def _alertmanager(self) -> AlertmanagerProbe | None:
        """The app's Alertmanager probe when one is configured (the screen works without it)."""
        probe = getattr(self.app, "alertmanager", None)
        return probe if isinstance(probe, AlertmanagerProbe) and probe.configured else None

    def _alerts_status(self, snapshot: AlertsSnapshot | None) -> Text:
        app = self.console
        table = self.table
        am_on = self._alertmanager is not None
        muted = table.muted_counts() if am_on and table.am_status else None
        text = alerts_status(
            snapshot, app.now, app.runbook_error, prometheus_set=bool(app.probe.settings.url), muted=muted
        )
        if am_on:
            text += alertmanager_status(table.am, app.now)
        return text + filter_status(len(table.alerts), len(table.every_alert), table.filter)

    def _on_alertmanager(self, am: AmSnapshot | None) -> None:
        if am is None:
            return
        self.table.set_alertmanager(am)
        self._draw_status()

    def _draw_status(self) -> None:
        self._status = self._alerts_status(self.console.snapshot)
        self.query_one("#alerts-status", Static).update(self._status)
        self._fit_alerts()

    def _fit_alerts(self) -> None:
        """The alerts pane as tall as its alerts need (status, filter box, header, rows), between a readable
        runbook pane beside it and 40% of the screen; the source tabs get the rest."""
        screen = self.size.height
        if not screen:
            return
        status = self.query_one("#alerts-status", Static)
        width = max(10, status.content_region.width or self.size.width // 2)
        lines = min(STATUS_LINES, len(self._status.wrap(self.app.console, width)))
        box = 1 if self.query_one("#alerts-filter", Input).has_class("-shown") else 0
        needed = 2 + lines + box + 1 + max(1, len(self.table.alerts))  # 2: the pane's border
        most = max(6, int(screen * MAX_ALERTS_SHARE))
        least = 4 if self.has_class("-narrow") else MIN_ALERTS_HEIGHT  # narrow: no runbook pane beside
        self.query_one("#main").styles.height = max(min(least, most), min(needed, most))

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width < NARROW, "-narrow")
        self._fit_alerts()
        self._judge_soon()

    def on_screen_resume(self) -> None:
        self._judge_soon()
        if self._resumed:  # the first resume is the start: nothing has closed yet
            if self._collect_timer is None:
                self._collect_timer = self.set_timer(COLLECT_AFTER, self._collect_closed_screens)
            else:
                self._collect_timer.reset()  # after the last of several closed in a row
        self._resumed = True

    def _collect_closed_screens(self) -> None:
        """A closed screen's widgets (a checklist: ~8,000 objects with their drawn lines) are reference
        cycles that only a full collection frees. Left to the collector's own pace they piled up between its
        rare full passes, and the process kept their high-water mark for good (bench.soak_bench: RSS rising
        in steps for hours). One full pass soon after costs ~10 ms plus ~1 ms per 1,000 objects freed. Not
        while the first pod list holds the collector off (tui/kube_feed.py)."""
        self._collect_timer = None
        if gc.isenabled():
            gc.collect()

    # -- the likely cause beside the selected alert ---------------------------------------------

    def _judge_soon(self) -> None:
        """Judge the selected alert's causes now unless paused (P): it changed, or the pane shows again."""
        if not self.console.paused:
            self._cause_wake.set()

    def _judging(self) -> FiringAlert | None:
        """The selected alert, while the pane beside it shows (not narrow, not under another screen): only
        then are its reads worth making. None while the screen is being torn down."""
        panes, tables = list(self.query(RunbookPane)), list(self.query(AlertsTable))
        narrow = self.size.width < NARROW  # 0 before the first layout: nothing shows yet
        if not (self.is_current and panes and tables) or narrow:
            return None
        return tables[0].selected

    async def _judge_causes(self) -> None:
        """The selected alert's common causes judged from their evidence, for the pane's "likely cause", at
        the checklist evidence's pace (P pauses it); only while the pane shows, only for that alert."""
        # Not before the first alerts are on screen: a refresh's callback can come before the alerts'
        # paint, and the first reads (the demo's in-process database, loading its client) held it ~0.4 s.
        # The tabs are built after that paint (build_tabs).
        await self._tabs_built.wait()
        await self.console.wait_runbook()
        while True:
            alert = self._judging()
            if alert is None:
                self._cause_wake.clear()
                await self._cause_wake.wait()
                continue
            self._cause_wake.clear()  # a selection made while these reads are out wakes the next round
            drawn = asyncio.Event()  # the selected alert on screen first, then its causes' reads
            self.call_after_refresh(drawn.set)
            await drawn.wait()
            match = self.console.section_for(alert)
            runbook = self.console.runbook
            if match.section is not None and runbook:
                sources = self.console.evidence_sources(alert, match.section)
                from tui.triage.causes import diagnose  # here: the reads' modules load after the first paint

                findings = await diagnose(sources, runbook, match.section, alert)
                self._judged = alert.fingerprint
                for pane in self.query(RunbookPane):
                    pane.show_causes(alert, findings)
            from tui.triage.runner import EVIDENCE_EVERY

            if self.console.paused:  # a selection made before P wakes no round after it: only r reads now
                self._cause_wake.clear()
            await self.console.wait_refresh("evidence", EVIDENCE_EVERY, self._cause_wake)

    # -- the alerts filter (/) ---------------------------------------------------------------------

    def _open_filter(self) -> None:
        box = self.query_one("#alerts-filter", Input)
        box.add_class("-shown")
        box.value = self.table.filter.text
        focus_now(box)
        self._fit_alerts()

    @on(Input.Changed, "#alerts-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        if event.value != self.table.filter.text:
            self.table.set_filter(parse_filter(event.value))

    @on(AlertsTable.FilterChanged)
    def _filtered(self) -> None:
        self._draw_status()
        self._show_selected()

    @on(Input.Submitted, "#alerts-filter")
    def _filter_applied(self, event: Input.Submitted) -> None:
        event.stop()  # enter in the filter applies it and goes back to the alerts, nothing more
        self._close_filter()

    def _close_filter(self) -> None:
        self.query_one("#alerts-filter", Input).remove_class("-shown")
        focus_now(self.table)
        self._fit_alerts()

    @on(FilterBox.Cleared)
    def _filter_cleared(self, event: FilterBox.Cleared) -> None:
        event.stop()
        self.table.set_filter(parse_filter(""))
        self._close_filter()

    def _on_snapshot(self, snapshot: AlertsSnapshot | None) -> None:
        if snapshot is not None:
            self.table.show(snapshot.alerts, self.console.now)
            self._show_selected()
            if not self._tabs_started:
                self.run_worker(self._after_first_alerts(), group="first-alerts", exclusive=True)
        self._draw_status()

    def _on_tick(self, _now: object) -> None:
        if self.console.snapshot is not None:
            self._draw_status()
        for panel in self.query(PodsPanel):
            panel.show_health(self.console.kube.health)

    def _on_session_changed(self, _session: IncidentSession | None) -> None:
        self._shown = None
        self._show_selected()

    def _on_postgres(self, snapshot: PgSnapshot | None) -> None:
        if snapshot is not None and self._tabs_built.is_set():  # else build_tabs draws it
            from tui.widgets.postgres_panel import PostgresPanel  # loaded by build_tabs

            with _unless_torn_down():
                for panel in self.query(PostgresPanel):
                    panel.show(snapshot)

    def _on_redis(self, snapshot: RedisSnapshot | None) -> None:
        if snapshot is not None and self._tabs_built.is_set():
            from tui.widgets.redis_panel import RedisPanel  # loaded by build_tabs
            from tui.widgets.slowlog_panel import SlowlogPanel

            with _unless_torn_down():
                for panel in self.query(RedisPanel):
                    panel.show(snapshot)
                for slowlog in self.query(SlowlogPanel):
                    slowlog.show(snapshot)

    def _on_pods(self, pods: tuple[PodRow, ...]) -> None:
        for panel in self.query(PodsPanel):
            panel.show_pods(pods)

    def _on_kube_read(self, snapshot: ResourceSnapshot[object]) -> None:
        now = self.console.now
        problem = read_problem(snapshot, now)
        if snapshot.resource in ("events", "helm history") and not self._tabs_built.is_set():
            return  # their tabs aren't built yet: build_tabs draws the latest read
        if snapshot.resource == "events":
            events = cast("ResourceSnapshot[KubeEvent]", snapshot)
            with _unless_torn_down():
                self.query_one("#events", EventsPanel).show_events(problem, events.items, now)
        elif snapshot.resource == "helm history":
            releases = ", ".join(r for r, _ in self.console.releases)
            history = cast("ResourceSnapshot[HelmRevision]", snapshot)
            with _unless_torn_down():
                self.query_one("#deploys", ReadPanel).show_lines(
                    problem, helm_lines(history, now), f"no Helm revisions of {releases}"
                )
        elif snapshot.resource == "pod metrics" and snapshot.health.state == "ok":
            metrics = cast("ResourceSnapshot[PodMetrics]", snapshot)
            usage = {f"{m.namespace}/{m.name}": (m.cpu, m.memory) for m in metrics.items}
            for panel in self.query(PodsPanel):
                panel.set_usage(usage)

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self) -> None:
        self._show_selected()

    @work(exclusive=True, group="runbook-pane")
    async def _show_selected(self) -> None:
        tables, panes = list(self.query(AlertsTable)), list(self.query(RunbookPane))
        if not tables or not panes:
            return  # the screen is being torn down (the app quits) as a selection or a poll came
        alert, pane = tables[0].selected, panes[0]
        if alert is None:
            self._shown = None
            if self.console.runbook_error:
                pane.show_message(Text(clean(self.console.runbook_error), style=styles.ERROR))
            else:
                pane.show_message(Text("No alert selected.", style=styles.MUTED))
            return
        if self._runbook_pending:  # _runbook_read shows it once read
            self._shown = None
            pane.show_reading(alert)
            return
        session = await self.console.find_session(alert)
        key = (alert.fingerprint, session.last_change_at.timestamp() if session else None)
        if key == self._shown:
            return
        self._shown = key
        match = self.console.section_for(alert)
        pane.paused = self.console.paused
        pane.show(alert, match, session)
        if alert.fingerprint != self._judged:
            self._judge_soon()
        if match.section is not None:
            from tui.triage.selectors import section_selectors  # here: loads with the runbook, not before

            component = section_selectors(match.section)
        else:
            component = []
        for panel in self.query(PodsPanel):
            panel.set_component(component)

    # -- what the panels ask for: the screen decides where it goes ------------------------------

    @on(ShowText)
    def _show_text(self, event: ShowText) -> None:
        event.stop()
        self.app.push_screen(TextScreen(event.title, event.text))

    @on(PodsPanel.DetailRequested)
    def _pod_detail(self, event: PodsPanel.DetailRequested) -> None:
        from screens.pod_detail import PodDetailScreen

        self.app.push_screen(PodDetailScreen(event.pod))

    @on(PodsPanel.LogsRequested)
    def _pod_logs(self, event: PodsPanel.LogsRequested) -> None:
        from screens.logs import LogsScreen

        self.app.push_screen(LogsScreen(event.pod))

    def on_redis_panel_sample_requested(self) -> None:  # RedisPanel.SampleRequested (loaded later)
        self.console.sample_redis_keys()

    # -- actions -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "silence_command":  # only when Alertmanager is configured
            return self._alertmanager is not None
        if action == "sample_keys":  # only where its result shows: the Redis tab
            return bool(self.query("RedisPanel")) and self.query_one(TabbedContent).active == "tab-redis"
        # a digit or a letter typed in a filter box is the filter's
        return not (action in MOVES_FOCUS and typing(self))

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.refresh_bindings()  # x (sample keys) is shown on the Redis tab only
        # The focus in the tab going away follows to the new one: left on a hidden list, textual would hand it
        # to that list's sibling, and the sibling's tab would come back (why 1, 3, 4, 5 were dead in the
        # PostgreSQL sessions). Also for tabs switched by a command or a test, not by 1-7.
        focused = self.focused
        pane = next((n for n in focused.ancestors if isinstance(n, TabPane)), None) if focused else None
        if pane is not None and pane is not event.pane:
            self._focus_tab(event.pane)
            if not self._tabs_built.is_set():  # its list comes with build_tabs: the focus goes there then
                self.run_worker(self._focus_built(event.pane), group="focus-built", exclusive=True)

    async def _focus_built(self, pane: Widget) -> None:
        await self.build_tabs()
        if pane.is_attached and self.query_one(TabbedContent).active_pane is pane:
            self._focus_tab(pane)

    @on(DataTable.RowSelected, "#alerts")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()  # enter (or a click on the selected row) in the alerts: that alert's checklist
        self.action_open_checklist()

    def action_silence_command(self) -> None:
        """m: the amtool commands for the selected alert, to copy; oncall itself never silences."""
        probe = self._alertmanager
        alert = self.table.selected
        if probe is None:
            return
        if alert is None:
            self.notify("No alert selected.", severity="warning")
            return
        add = amtool_add(
            probe.url,
            alert.labels,
            comment=f"{alert.name}: silenced by {getattr(self.app, 'user', 'oncall')}",
        )
        status = self.table.status_of(alert)
        expires = [amtool_expire(probe.url, s.id) for s in status.silences] if status else []
        if not expires:
            self.app.push_screen(TextScreen(clean(f"Silence {alert.name} for 1h (c copies)"), add))
            return
        commands = [*expires, add]

        def copy(index: int | None) -> None:
            if index is not None:
                self.app.copy_to_clipboard(commands[index])
                self.notify(clean(commands[index]), title="Copied to the clipboard", timeout=4)

        title = clean(f"{alert.name} is {status.text if status else 'silenced'}: copy a command")
        self.app.push_screen(PickScreen(title, commands), copy)

    def action_open_checklist(self) -> None:
        alert: FiringAlert | None = self.table.selected
        if alert is None:
            self.notify("No alert selected.", severity="warning")
            return
        from screens.checklist import checklist_screen

        self.app.push_screen(checklist_screen(self.console.observer, alert=alert))

    def action_browse_runbook(self) -> None:
        if self.console.runbook is None:
            self.notify(self.console.runbook_error or "No runbook loaded.", severity="error")
            return
        from screens.runbook_browser import RunbookBrowserScreen

        alert = self.table.selected
        match = self.console.section_for(alert) if alert else None
        slug = match.section.slug if match and match.section else None
        self.app.push_screen(RunbookBrowserScreen(slug))

    def action_zoom(self) -> None:
        """The source tabs take the whole screen (or give it back), for long pod or session lists; the focus
        leaves the hidden alerts for the tab's list."""
        self.toggle_class("-zoomed")
        main = self.query_one("#main")
        if (
            self.has_class("-zoomed")
            and self.focused is not None
            and main in self.focused.ancestors_with_self
        ):
            self._focus_tab(self.query_one(TabbedContent).active_pane)

    def action_sample_keys(self) -> None:
        from tui.widgets.redis_panel import RedisPanel  # on the Redis tab only: built by then

        for panel in self.query(RedisPanel):
            panel.action_sample_keys()

    async def action_tab(self, number: int) -> None:
        """1-7: the source tabs in order (Pods, PostgreSQL, Redis, Slow log, Events, Logs, Deploys), with the
        focus in the tab's main list (or on the tab bar, for a tab without one)."""
        if number > 1:
            await self.build_tabs()
        panes = list(self.query(TabPane))
        if not 1 <= number <= len(panes):
            return
        pane = panes[number - 1]
        if pane.id:
            self.query_one(TabbedContent).active = pane.id
        self._focus_tab(pane)

    def _focus_tab(self, pane: Widget | None) -> None:
        """The focus in the pane's main list, or on the tab bar when it has none."""
        target = main_list(pane) if pane is not None else None
        focus_now(target or self.query_one(TabbedContent).query_one(ContentTabs))

    async def action_pods(self) -> None:
        await self.action_tab(1)

    def action_alerts(self) -> None:
        """a: back to the alerts (the zoomed tabs give the screen back)."""
        self.remove_class("-zoomed")
        focus_now(self.table)

    def action_refresh(self) -> None:
        self.console.refresh_now()
        self.notify("Refreshing…", timeout=1)

    def action_cursor_down(self) -> None:
        self.table.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.table.action_cursor_up()
