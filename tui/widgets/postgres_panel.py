"""The PostgreSQL tab: connection pressure, sessions (blocked ones with their blocker), statements, tables."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from probes.format import clean
from tui.widgets import styles
from tui.widgets.dialogs import ShowText
from tui.widgets.render import set_text, since
from tui.widgets.virtual_table import Column, VirtualTable, arrow

PRESSURE_WARN = 0.8  # the runbook's HighDatabaseConnections threshold
LONG_QUERY = 30.0  # seconds: an active query older than this is highlighted
QUERY_CELLS = 80  # a query's column: longer ones are cut with "…" (enter shows the whole query)
SESSIONS_HEADING = "Sessions (blocked first, then active, longest first; blocked ones show their blocker)"
STATE_ORDER = {"active": 0, "idle in transaction": 1, "idle in transaction (aborted)": 1}


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 60:
        return f"{value:.1f}s"
    return f"{value / 60:.0f}m" if value < 3600 else f"{value / 3600:.1f}h"


def gauge(used: int, maximum: int, reserved: int) -> Text:
    usable = max(1, maximum - reserved)
    share = used / usable
    style = styles.FIRING if share >= PRESSURE_WARN else styles.WARNING if share >= 0.6 else styles.OK
    filled = min(20, round(share * 20))
    text = Text("connections ", style=styles.STRONG)
    text.append("▰" * filled + "▱" * (20 - filled), style=style)
    text.append(f" {used}/{usable} ({share:.0%})", style=style)
    text.append(f"  max_connections {maximum}, {reserved} reserved", style=styles.MUTED)
    return text


def one_line(query: str) -> Text:
    return Text(" ".join(clean(query, single_line=False).split()))


def session_columns() -> list[Column[Any]]:
    def state(s: Any) -> Text:
        style = (
            styles.FIRING
            if s.blocked_by
            else styles.WARNING
            if s.state == "idle in transaction"
            else styles.PLAIN
        )
        return Text(clean(s.state or s.backend_type), style=style)

    def duration(s: Any) -> Text:
        long = s.state == "active" and (s.query_seconds or 0) >= LONG_QUERY
        return Text(seconds(s.query_seconds), style=styles.FIRING if long else styles.PLAIN)

    # what the alert asks first (how long, doing what, held up by whom, running what), then who it is:
    # at 80 columns the first four fit
    return [
        Column(
            "duration",
            "DURATION",
            9,
            duration,
            sort_key=lambda s: -(s.query_seconds or 0),
            descending=True,
        ),
        Column(
            "state",
            "STATE",
            19,
            state,
            sort_key=lambda s: (STATE_ORDER.get(s.state or "", 2), s.state or ""),
        ),
        Column(
            "blocked",
            "BLOCKED BY",
            10,
            lambda s: Text(
                ",".join(map(str, s.blocked_by)), style=styles.FIRING if s.blocked_by else styles.PLAIN
            ),
            sort_key=lambda s: not s.blocked_by,
        ),
        Column("query", "QUERY", QUERY_CELLS, lambda s: one_line(s.query)),
        Column("pid", "PID", 7, lambda s: Text(str(s.pid)), sort_key=lambda s: s.pid),
        Column("user", "USER", 14, lambda s: Text(clean(s.user)), sort_key=lambda s: s.user or ""),
        Column(
            "app",
            "APPLICATION",
            16,
            lambda s: Text(clean(s.application)),
            sort_key=lambda s: s.application,
        ),
        Column(
            "wait",
            "WAIT",
            16,
            lambda s: Text(clean(":".join(x for x in (s.wait_event_type, s.wait_event) if x))),
        ),
        Column(
            "xact",
            "XACT",
            7,
            lambda s: Text(seconds(s.xact_seconds)),
            sort_key=lambda s: -(s.xact_seconds or 0),
            descending=True,
        ),
    ]


def statement_columns() -> list[Column[Any]]:
    return [
        Column(
            "mean",
            "MEAN",
            10,
            lambda s: Text(f"{s.mean_ms:.1f} ms", style=styles.STRONG if s.mean_ms >= 500 else styles.PLAIN),
            sort_key=lambda s: -s.mean_ms,
            descending=True,
        ),
        Column(
            "calls",
            "CALLS",
            9,
            lambda s: Text(str(s.calls)),
            sort_key=lambda s: -s.calls,
            descending=True,
        ),
        Column(
            "total",
            "TOTAL",
            11,
            lambda s: Text(f"{s.total_ms / 1000:.1f} s"),
            sort_key=lambda s: -s.total_ms,
            descending=True,
        ),
        Column("query", "STATEMENT", 200, lambda s: one_line(s.query)),
    ]


def table_columns(now: Callable[[], datetime]) -> list[Column[Any]]:
    def last_vacuum(t: Any) -> datetime | None:
        return max((d for d in (t.last_vacuum, t.last_autovacuum) if d), default=None)

    def vacuumed(t: Any) -> Text:
        last = last_vacuum(t)
        return Text(
            f"{since(last, now())} ago" if last else "never", style=styles.PLAIN if last else styles.WARNING
        )

    return [
        Column(
            "name",
            "TABLE",
            28,
            lambda t: Text(clean(f"{t.schema}.{t.name}")),
            sort_key=lambda t: (t.schema, t.name),
        ),
        Column(
            "seq",
            "SEQ SCANS",
            10,
            lambda t: Text(
                str(t.seq_scan), style=styles.WARNING if t.seq_scan > t.idx_scan else styles.PLAIN
            ),
            sort_key=lambda t: -t.seq_scan,
            descending=True,
        ),
        Column(
            "idx",
            "IDX SCANS",
            10,
            lambda t: Text(str(t.idx_scan)),
            sort_key=lambda t: -t.idx_scan,
            descending=True,
        ),
        Column(
            "live",
            "LIVE",
            9,
            lambda t: Text(str(t.live_tuples)),
            sort_key=lambda t: -t.live_tuples,
            descending=True,
        ),
        Column(
            "dead",
            "DEAD",
            9,
            lambda t: Text(
                str(t.dead_tuples),
                style=styles.WARNING if t.dead_tuples > t.live_tuples * 0.2 else styles.PLAIN,
            ),
            sort_key=lambda t: -t.dead_tuples,
            descending=True,
        ),
        # never vacuumed first, then the longest ago: the oldest vacuum first, ▲ by date
        Column("vacuum", "LAST VACUUM", 12, vacuumed, sort_key=lambda t: _when(last_vacuum(t))),
    ]


class PostgresPanel(VerticalScroll):
    """Pressure first (the alert's question), then who is running what, then what is slow."""

    DEFAULT_CSS = """
    PostgresPanel { padding: 0 1; }
    PostgresPanel > Static { height: auto; }
    PostgresPanel > VirtualTable { height: 12; margin-bottom: 1; }
    PostgresPanel > .pg-heading { text-style: bold underline; margin-top: 1; }
    """
    BINDINGS = [Binding("enter", "detail", "Full query", show=True)]

    def __init__(self, now: Callable[[], datetime], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.now = now
        self.sessions: VirtualTable[Any] = VirtualTable(
            session_columns(),
            key=lambda s: str(s.pid),
            search_text=lambda s: f"{s.pid} {s.user or ''} {s.application} {s.state or ''} {s.query}",
            empty="no sessions",
            what="sessions",
            sort_cycle=("duration", "state", "user", "app", "pid"),
            id="pg-sessions",
        )
        self.statements: VirtualTable[Any] = VirtualTable(
            statement_columns(),
            key=lambda s: s.query,
            search_text=lambda s: s.query,
            empty="no statements",
            what="statements",
            id="pg-statements",
        )
        self.tables: VirtualTable[Any] = VirtualTable(
            table_columns(now),
            key=lambda t: f"{t.schema}.{t.name}",
            search_text=lambda t: f"{t.schema}.{t.name}",
            empty="no tables need attention",
            what="tables",
            id="pg-tables",
        )

    def compose(self) -> ComposeResult:
        yield Static(Text("connecting to PostgreSQL…", style=styles.MUTED), id="pg-status")
        yield Static(id="pg-pressure")
        yield Static(SESSIONS_HEADING, classes="pg-heading", id="pg-sessions-heading")
        yield Static(id="pg-unlisted")
        yield self.sessions
        yield Static(id="pg-idle-tx")
        yield Static("Top statements by mean time (pg_stat_statements)", classes="pg-heading")
        yield Static(id="pg-statements-problem")
        yield self.statements
        yield Static(
            "Tables with more sequential than index scans, or many dead tuples", classes="pg-heading"
        )
        yield self.tables

    def show(self, snapshot: Any) -> None:
        now = self.now()
        health = snapshot.health
        status = Text()
        if health.answering:
            status.append(
                f"PostgreSQL {clean(snapshot.server_version)} as {clean(snapshot.role)}", style=styles.STRONG
            )
        else:
            status.append(f"PostgreSQL {health.state}: ", style=styles.FIRING)
            status.append(clean(health.last_error or ""))
            if snapshot.fetched_at:
                status.append(
                    f" — showing what was read {since(snapshot.fetched_at, now)} ago", style=styles.WARNING
                )
        for warning in snapshot.warnings:
            status.append("\n⚠ ", style=styles.WARNING_STRONG)
            status.append(clean(warning), style=styles.WARNING)
        set_text(self.query_one("#pg-status", Static), status)
        pressure = snapshot.pressure
        if pressure is not None:
            text = gauge(pressure.used, pressure.max_connections, pressure.reserved)
            text.append("\nby state: ", style=styles.MUTED)
            text.append(
                " · ".join(f"{clean(state) or 'other'} {count}" for state, count in pressure.by_state)
            )
            text.append("\nby application: ", style=styles.MUTED)
            text.append(
                " · ".join(f"{clean(app) or '(none)'} {count}" for app, count in pressure.by_application)
            )
            set_text(self.query_one("#pg-pressure", Static), text)
            idle = pressure.idle_in_transaction  # the probe keeps only those past its threshold (5 min)
            idle_text = Text(
                f"Idle in transaction over 5 minutes: {len(idle)}",
                style=styles.WARNING_STRONG if idle else styles.MUTED,
            )
            for s in idle:
                idle_text.append(
                    f"\n  pid {s.pid} {clean(s.user)} {clean(s.application)} for {seconds(s.xact_seconds)}: "
                )
                idle_text.append_text(one_line(s.query))
            set_text(self.query_one("#pg-idle-tx", Static), idle_text)
        # always one line, so that sessions coming and going never change the panel's height
        if snapshot.unlisted_idle:
            listed = (
                f"{len(snapshot.sessions)} listed; {snapshot.unlisted_idle} more idle sessions are "
                "counted above, not listed (the most recently active idle ones are)"
            )
        else:
            listed = f"all {len(snapshot.sessions)} sessions listed"
        set_text(self.query_one("#pg-unlisted", Static), Text(listed, style=styles.MUTED))
        self.sessions.set_items(
            sorted(
                snapshot.sessions,
                key=lambda s: (not s.blocked_by, STATE_ORDER.get(s.state, 2), -(s.query_seconds or 0)),
            )
        )
        problem = self.query_one("#pg-statements-problem", Static)
        set_text(
            problem,
            Text(clean(snapshot.statements_problem), style=styles.WARNING)
            if snapshot.statements_problem
            else Text(),
        )
        problem.display = bool(snapshot.statements_problem)
        self.statements.set_items(snapshot.statements or ())
        self.tables.set_items(snapshot.tables)

    @on(VirtualTable.Sorted, "#pg-sessions")
    def _sessions_sorted(self) -> None:
        sort = self.sessions.sort_column
        heading = f"Sessions by {sort[0].label.lower()} {arrow(*sort)}" if sort else SESSIONS_HEADING
        self.query_one("#pg-sessions-heading", Static).update(heading)

    def action_detail(self) -> None:
        focused = self.app.focused
        item = focused.selected if isinstance(focused, VirtualTable) else None
        if item is None or not hasattr(item, "query"):
            return
        title = f"pid {item.pid} · {item.user} · {item.application}" if hasattr(item, "pid") else "statement"
        self.post_message(ShowText(title, item.query))


def _when(moment: datetime | None) -> float:
    return moment.timestamp() if moment is not None else float("-inf")
