"""The alerts table (firing before pending, then severity, then age; every cell plain Text) and the status
line above it."""

from __future__ import annotations

import asyncio
import operator
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Span, Text
from textual._types import SegmentLines
from textual.binding import Binding
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widgets import DataTable, Input
from textual.widgets.data_table import Row, RowKey

from probes.alertmanager import AlertStatus, AmSnapshot
from probes.format import clean
from probes.prometheus import AlertsSnapshot, FiringAlert, alert_order_key, format_value
from tui.widgets import styles
from tui.widgets.render import SEVERITY_STYLE, plain, since

PROMETHEUS_OFF = (
    "Prometheus is not configured: set PROMETHEUS_URL or [prometheus] url in oncall.toml. "
    "Press b to browse the runbook."
)


def alerts_status(
    snapshot: AlertsSnapshot | None,
    now: datetime,
    runbook_error: str | None,
    *,
    prometheus_set: bool,
    muted: tuple[int, int] | None = None,
) -> Text:
    """The line above the alerts: how many fire, or why there is nothing to show (and how old what is)."""
    if runbook_error:
        return Text.assemble(("Runbook not loaded: ", styles.FIRING), clean(runbook_error))
    if snapshot is None:
        if not prometheus_set:
            return Text(PROMETHEUS_OFF, style=styles.WARNING)
        return Text("Asking Prometheus for alerts…", style=styles.MUTED)
    health = snapshot.health
    if health.state in ("down", "forbidden"):
        text = Text.assemble((f"Prometheus {health.state}: ", styles.FIRING), clean(health.last_error or ""))
        if snapshot.fetched_at:
            text.append(f" — showing alerts from {since(snapshot.fetched_at, now)} ago", style=styles.WARNING)
        return text
    if health.state == "not-configured":
        return Text(PROMETHEUS_OFF, style=styles.WARNING)
    firing = sum(1 for a in snapshot.alerts if a.state == "firing")
    pending = len(snapshot.alerts) - firing
    if muted is None:
        text = Text.assemble(
            (f"{firing} firing", styles.FIRING if firing else styles.OK), f", {pending} pending"
        )
    else:  # Alertmanager's view: the silenced and inhibited ones counted apart from those still firing
        silenced, inhibited = muted
        active = firing - silenced - inhibited
        text = Text.assemble(
            (f"{active} firing", styles.FIRING if active else styles.OK),
            (f" · {silenced} silenced · {inhibited} inhibited", styles.MUTED),
            f", {pending} pending",
        )
    if health.state == "degraded" and health.last_error:
        text.append(f" — {clean(health.last_error)}", style=styles.WARNING)
    if not snapshot.alerts:
        text.append("  all quiet. Press b to browse the runbook.", style=styles.MUTED)
    return text


MATCHER = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(=~|!~|!=|=)(.*)$", re.DOTALL)


@dataclass(frozen=True)
class AlertFilter:
    """What `/` typed over the alerts, karma-style: space-separated `label=value`, `label!=value`,
    `label=~regex`, `label!~regex` (regexes match the whole value, as in Prometheus) and bare words (found
    in the alert's name or summary, any case). Every term must hold. `error` says why it is not a filter."""

    text: str
    terms: tuple[Callable[[FiringAlert], bool], ...] = ()
    error: str | None = None

    def __bool__(self) -> bool:
        return bool(self.text.strip())

    def matches(self, alert: FiringAlert) -> bool:
        return self.error is not None or all(term(alert) for term in self.terms)


def _label(alert: FiringAlert, name: str) -> str:
    return alert.name if name == "alertname" else alert.label(name)


def _term(token: str) -> Callable[[FiringAlert], bool]:
    found = MATCHER.match(token)
    if found is None:
        word = token.casefold()
        return lambda a: word in a.name.casefold() or word in a.summary.casefold()
    name, op, value = found.groups()
    if op in ("=", "!="):
        equal = op == "="
        return lambda a: (_label(a, name) == value) is equal
    try:
        pattern = re.compile(value)
    except re.error as error:
        raise ValueError(f"bad regex in {token}: {error}") from error
    wanted = op == "=~"
    return lambda a: (pattern.fullmatch(_label(a, name)) is not None) is wanted


def parse_filter(text: str) -> AlertFilter:
    """The filter for `text`; a bad regex or an unclosed quote gives an AlertFilter with an error."""
    try:
        tokens = shlex.split(text)
        return AlertFilter(text, tuple(_term(t) for t in tokens))
    except ValueError as error:
        return AlertFilter(text, error=str(error))


def filter_status(shown: int, total: int, alert_filter: AlertFilter) -> Text:
    """The status line's second half while a filter is set: the filter and how many it lets through."""
    if not alert_filter:
        return Text()
    text = Text("\nfilter ", style=styles.MUTED)
    text.append(clean(alert_filter.text), style=styles.STRONG)
    if alert_filter.error is not None:
        text.append(f"  not applied: {clean(alert_filter.error)}", style=styles.ERROR)
    else:
        text.append(f"  {shown} of {total} shown", style=styles.WARNING if shown < total else styles.MUTED)
    text.append("  (/ edits, esc clears)", style=styles.MUTED)
    return text


def alertmanager_status(am: AmSnapshot | None, now: datetime) -> Text:
    """The status line's Alertmanager part: where its view comes from, or why it is missing or old."""
    if am is None:
        return Text("\nAsking Alertmanager for silences and inhibitions…", style=styles.MUTED)
    health = am.health
    if health.answering:
        text = Text("\nAlertmanager ", style=styles.MUTED)
        text.append(clean(health.endpoint or ""), style=styles.MUTED)
        groups = len(am.groups)
        by = sorted({clean(name) for group in am.groups for name, _ in group.labels})
        text.append(f": {groups} group{'s' if groups != 1 else ''}", style=styles.MUTED)
        if by:
            text.append(" by " + ", ".join(by), style=styles.MUTED)
        if health.state == "degraded" and health.last_error:
            text.append(f" — {clean(health.last_error)}", style=styles.WARNING)
        return text
    text = Text.assemble(
        ("\nAlertmanager " + health.state + ": ", styles.FIRING), clean(health.last_error or "")
    )
    if am.fetched_at:
        text.append(f" — states from {since(am.fetched_at, now)} ago", style=styles.WARNING)
    else:
        text.append(" — alerts shown as Prometheus has them", style=styles.WARNING)
    return text


def group_title(labels: tuple[tuple[str, str], ...]) -> str:
    """An Alertmanager group as its grouping labels' values: "HighApiLatency", "api, production"."""
    return ", ".join(clean(v) for _, v in labels) or "(all)"


def fit(text: Text, width: int) -> Text:
    """`text` cut to `width` cells, ending in "…" when it was cut."""
    if text.cell_len <= width:
        return text
    cut = text.copy()
    cut.truncate(max(width, 1), overflow="ellipsis")
    return cut


class AlertsTable(DataTable["AlertCell"]):
    DEFAULT_CSS = """
    AlertsTable { height: 1fr; }
    """
    BINDINGS = [
        # enter is the table's own key (a DataTable.RowSelected the dashboard answers), shown in the footer
        Binding("enter", "select_cursor", "Checklist", key_display="⏎"),
        # priority: the box takes the focus before the next key is routed, so `/severity=critical` typed in
        # one burst lands in the box
        Binding("slash", "filter", "Filter alerts", key_display="/", priority=True),
        Binding("escape", "clear_filter", "Clear filter", key_display="esc"),
    ]

    class FilterChanged(Message):
        """The rows were filtered anew: the screen redraws the status line."""

    # (label, width, essential): the essential columns show at any width, the others only when the summary
    # keeps SUMMARY_ROOM cells beside them
    COLUMNS: tuple[tuple[str, int, bool], ...] = (
        ("State", 7, True),
        ("Severity", 8, True),
        ("Alert", 24, True),
        ("Since", 6, False),
        ("Value", 8, False),
    )
    # with Alertmanager configured: its grouping first, and each alert's state there beside the name
    AM_COLUMNS: tuple[tuple[str, int, bool], ...] = (
        ("Group", 18, True),
        ("State", 7, True),
        ("Severity", 8, True),
        ("Alert", 24, True),
        ("Alertmanager", 38, True),
        ("Since", 6, False),
        ("Value", 8, False),
    )
    SUMMARY_ROOM = 30

    def __init__(self, open_filter: Callable[[], None] | None = None, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.open_filter = open_filter  # `/`: the screen's filter box, opened before the next key
        self.alerts: list[FiringAlert] = []  # the rows, as shown (filtered)
        self.every_alert: list[FiringAlert] = []
        self.filter = AlertFilter("")
        self._now: datetime | None = None
        self._widths: tuple[tuple[str, int], ...] = ()
        self.am_on = False  # Alertmanager configured: its columns show, whether or not it answers
        self.am: AmSnapshot | None = None
        self.am_status: dict[str, AlertStatus] = {}  # by oncall's fingerprint, as of the last redraw
        # Row i of the table shows self.alerts[i]: its cells are AlertCells, drawn from that alert when the
        # row is on screen, so a poll that changes nothing touches no row, and one that changes a few
        # redraws the lines on screen, not 5,000 rows of cells.
        self._input: tuple[FiringAlert, ...] = ()  # the alerts of the last show(), as given
        self._shown_am: AmSnapshot | None = None  # the Alertmanager view the rows were ordered with
        self._order: dict[str, tuple[FiringAlert, tuple[object, ...]]] = {}  # by fingerprint: sort keys
        self._longest = 0  # cells of the longest alert name
        self._row_cells: dict[int, dict[str, Text]] = {}  # the cells of the rows drawn since the last show()
        self._drawn: tuple[tuple[int, int], tuple[str, ...]] | None = None  # rows on screen, their Since
        self._stale = False  # time moved on since the rows were last drawn: redraw them when scrolled to
        self._frame_styles: dict[str, Style] | None = None  # while a frame is drawn: styles looked up once
        # set by the first frame drawn after the first show(): what waits for the first alerts to be on
        # screen (the other tabs, the other sources) waits for this, not for a refresh's callback, which can
        # come before that paint
        self.first_drawn = asyncio.Event()
        self._shown_once = False

    def on_mount(self) -> None:
        self._fit_columns()

    def action_filter(self) -> None:
        if self.open_filter is not None:
            self.open_filter()

    def _layout(self) -> tuple[tuple[str, int], ...]:
        """Column widths for the table's width: the summary takes what is left, so the table never scrolls
        sideways; Since and Value give way to the summary on a narrow screen."""
        pad = 2 * self.cell_padding
        # a vertical scrollbar's room is kept even when there is none, so that one appearing never makes the
        # table scroll sideways
        room = self.content_region.width - self.styles.scrollbar_size_vertical
        longest = self._longest
        if self.am_on:
            return self._am_layout(room, pad, longest)
        columns = [
            (label, max(5, min(width, longest or width)) if label == "Alert" else width, essential)
            for label, width, essential in self.COLUMNS
        ]
        chosen = [(label, width) for label, width, essential in columns if essential]
        used = sum(width + pad for _, width in chosen) + pad
        for label, width, essential in columns:
            if not essential and room - used - width - pad >= self.SUMMARY_ROOM:
                chosen.insert([c[0] for c in self.COLUMNS].index(label), (label, width))
                used += width + pad
        return (*chosen, ("Summary", max(1, room - used)))

    def _am_layout(self, room: int, pad: int, longest: int) -> tuple[tuple[str, int], ...]:
        """With Alertmanager: state, severity and name, Since where Alertmanager's state keeps 20 cells, then
        that state in the room left (at most its full width); the group column, Value and the summary only
        where there is room after that (the rows stay in Alertmanager's groups either way)."""
        spec = {label: width for label, width, _ in self.AM_COLUMNS}
        groups = [s.group for s in self.am_status.values() if s.group]
        group = max(5, min(spec["Group"], max((cell_len(group_title(g.labels)) for g in groups), default=5)))
        # grouped by more than the alert's name: the group says something the name doesn't, so it shows
        # before Alertmanager's state takes its full width
        telling = any(name != "alertname" for g in groups for name, _ in g.labels)
        alert = max(5, min(spec["Alert"], longest or spec["Alert"]))
        used = spec["State"] + spec["Severity"] + 3 * pad + (group + pad if telling else 0)
        # how long it has fired matters more than the rest of Alertmanager's words: Since comes first
        since_fits = room - used - alert - pad - 20 - spec["Since"] - pad >= 0
        used += spec["Since"] + pad if since_fits else 0
        state = max(20, min(spec["Alertmanager"], room - used - alert - pad))
        alert = max(5, min(alert, room - used - state - pad))  # a narrow screen: the name gives way first
        used += alert + state + pad
        chosen: list[tuple[str, int]] = []
        if telling or room - used - group - pad >= 0:
            chosen.append(("Group", group))
            used += 0 if telling else group + pad
        chosen += [("State", spec["State"]), ("Severity", spec["Severity"]), ("Alert", alert)]
        chosen.append(("Alertmanager", state))
        if since_fits:
            chosen.append(("Since", spec["Since"]))
        for label in ("Value",) if since_fits else ("Since", "Value"):
            if room - used - spec[label] - pad >= self.SUMMARY_ROOM:
                chosen.append((label, spec[label]))
                used += spec[label] + pad
        if room - used - pad >= 10:
            chosen.append(("Summary", room - used - pad))
        return tuple(chosen)

    def _fit_columns(self) -> None:
        widths = self._layout()
        if widths == self._widths:
            return
        self._widths = widths
        keep = self.cursor_row
        self.clear(columns=True)
        for label, width in widths:
            self.add_column(label, width=width, key=label.lower())
        self._row_cells.clear()
        self._sync_rows()
        if self.alerts:
            self.move_cursor(row=min(keep, len(self.alerts) - 1), animate=False)

    def on_resize(self) -> None:
        self._fit_columns()

    @property
    def selected(self) -> FiringAlert | None:
        if not self.alerts or self.cursor_row < 0 or self.cursor_row >= len(self.alerts):
            return None
        return self.alerts[self.cursor_row]

    def set_filter(self, alert_filter: AlertFilter) -> None:
        self.filter = alert_filter
        if self._now is not None:
            self.show(self._input, self._now, changed=True)
        self.post_message(self.FilterChanged())
        self.refresh_bindings()  # esc clears only while there is a filter

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return bool(self.filter) if action == "clear_filter" else True

    def action_clear_filter(self) -> None:
        self.set_filter(AlertFilter(""))

    def set_alertmanager(self, am: AmSnapshot | None) -> None:
        """Alertmanager's latest view: the rows redrawn with it (grouped, states, dimmed when muted)."""
        self.am_on = True
        self.am = am
        if self._now is not None:
            self.show(self._input, self._now, changed=True)
        else:
            self._fit_columns()

    def status_of(self, alert: FiringAlert) -> AlertStatus | None:
        return self.am_status.get(alert.fingerprint)

    def muted_counts(self) -> tuple[int, int]:
        """(silenced, inhibited) among every alert, filtered or not."""
        kinds = [
            self.am_status[a.fingerprint].kind for a in self.every_alert if a.fingerprint in self.am_status
        ]
        return kinds.count("silenced"), kinds.count("inhibited")

    def _grouped(self, alerts: list[FiringAlert]) -> list[FiringAlert]:
        """Alertmanager's groups in the order of their first alert; the usual order within each group."""
        order: dict[object, list[FiringAlert]] = {}
        for alert in alerts:
            status = self.am_status.get(alert.fingerprint)
            group = status.group.labels if status and status.group else None
            order.setdefault(group, []).append(alert)
        return [alert for members in order.values() for alert in members]

    def show(self, alerts: tuple[FiringAlert, ...], now: datetime, *, changed: bool = False) -> None:
        """Redraw, keeping the cursor on the same alert (by fingerprint) when it is still there. The probe
        hands an unchanged alert back as the same object: when every alert is, nothing is sorted or
        redrawn again but the Since cells on screen (`changed`: the filter or Alertmanager's view did)."""
        keep = self.selected.fingerprint if self.selected else None
        self._now = now
        self._shown_once = True
        same = not changed and len(alerts) == len(self._input) and all(map(operator.is_, alerts, self._input))
        if self.am_on and self.am is not None and self.am is not self._shown_am:
            same = False  # Alertmanager's view came since: its states and groups are drawn again
        self._row_cells.clear()
        if same:
            self._redraw_since()
            return
        before = self.alerts
        self._input = alerts
        self._shown_am = self.am
        self.every_alert = sorted(alerts, key=self._sort_key)
        if self.am_on:
            am = self.am
            self.am_status = (
                {a.fingerprint: am.status(a.labels, now) for a in self.every_alert}
                if am is not None and am.fetched_at is not None
                else {}
            )
            self.every_alert = self._grouped(self.every_alert)
        self.alerts = [a for a in self.every_alert if self.filter.matches(a)]
        self._longest = max((cell_len(clean(name)) for name in {a.name for a in alerts}), default=0)
        if self._layout() != self._widths:
            self._fit_columns()  # a longer alert name: the columns change, and the rows are drawn there
        else:
            self._sync_rows()  # when the number of rows changed, Textual draws them all again anyway
            if self.am_on:  # Alertmanager's groups and states: any row may read differently
                self._touch(range(len(self.alerts)))
            else:
                self._touch(
                    i for i, alert in enumerate(self.alerts) if i >= len(before) or before[i] is not alert
                )
        if keep is not None:
            row = self.cursor_row
            if not (0 <= row < len(self.alerts) and self.alerts[row].fingerprint == keep):
                row = next((i for i, a in enumerate(self.alerts) if a.fingerprint == keep), -1)
                if row >= 0:
                    self.move_cursor(row=row, animate=False)

    def render_lines(self, crop: Region) -> list[Strip]:
        # the table's style and its rows' are the same for every line of a frame: looked up once a frame,
        # not on every line (each look walks the DOM: ~0.5 ms a line, a quarter of a screen's cost)
        self._frame_styles = {}
        try:
            return super().render_lines(crop)
        finally:
            self._frame_styles = None
            # drawn within the compositor's refresh that writes it (unless the app holds its updates back,
            # as it does while it starts): a waiter resumes after that write
            if self._shown_once and not getattr(self.app, "_batch_count", 0):
                self.first_drawn.set()

    @property
    def rich_style(self) -> Style:
        frame = getattr(self, "_frame_styles", None)
        if frame is None:
            return super().rich_style
        style = frame.get("table")
        if style is None:
            style = frame["table"] = super().rich_style
        return style

    def _get_row_style(self, row_index: int, base_style: Style) -> Style:
        frame = self._frame_styles
        if frame is None or 0 <= row_index < self.fixed_rows:
            return super()._get_row_style(row_index, base_style)
        key = (
            "header"
            if row_index == -1
            else ("odd" if row_index % 2 else "even")
            if self.zebra_stripes
            else ""
        )
        style = frame.get(key)
        if style is None:
            style = frame[key] = super()._get_row_style(row_index, base_style)
        return style

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> SegmentLines:
        """A body cell drawn straight to its one line of segments, as DataTable draws it through rich's
        Styled(Padding(cell)) (~0.2 ms a cell, 60 ms for a screen of alerts: every row that shows another
        alert after a poll); the header and anything else as DataTable draws it."""
        if row_index < 0 or column_index < 0 or not (0 <= row_index < len(self.alerts)):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        if row_key is None or column_key is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        cache_key = (
            row_key,
            column_key,
            base_style,
            cursor,
            hover,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        lines = self._cell_render_cache.get(cache_key)
        if lines is not None:
            return lines
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            row_index < self.fixed_rows or column_index < self.fixed_columns,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        pre = base_style + Style.from_meta({"row": row_index, "column": column_index}) + component_style
        pad = self.cell_padding
        inner = max(0, width - 2 * pad)
        label = str(self.ordered_columns[column_index].label)
        text = self.cell_text(row_index, label)
        if text.spans:  # several styles in one cell (none of the alerts' cells has them): rich lays it out
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        content = text.plain[:inner] if cell_len(text.plain) <= inner else fit(text, inner).plain
        used = cell_len(content)
        blank = pre + post_style
        segments = [Segment(" " * pad, blank)] if pad else []
        if content:
            style = text.style if isinstance(text.style, Style) else self.app.console.get_style(text.style)
            segments.append(Segment(content, pre + style + post_style))
        if inner - used + pad:
            segments.append(Segment(" " * (inner - used + pad), blank))
        lines = [segments]
        self._cell_render_cache[cache_key] = lines
        return lines

    def _sort_key(self, alert: FiringAlert) -> tuple[object, ...]:
        """alert_order_key, computed once for each alert object (it is the same at any time)."""
        known = self._order.get(alert.fingerprint)
        if known is not None and known[0] is alert:
            return known[1]
        key = alert_order_key(alert)
        self._order[alert.fingerprint] = (alert, key)
        if len(self._order) > 2 * len(self._input) + 100:
            current = {a.fingerprint for a in self._input}
            self._order = {fp: entry for fp, entry in self._order.items() if fp in current}
        return key

    def _sync_rows(self) -> None:
        """As many rows as there are alerts to show, added or taken away at the end in one step. The rows
        are only places: their cells read the alert of their row when drawn, and the columns have fixed
        widths. DataTable's remove_row renumbers every row (5,000 alerts resolving one by one would be
        O(n²)) and add_row measures each new row's cells (~40 µs a row, 0.2 s for a storm), so its row
        bookkeeping is done here directly, as add_row and remove_row do it."""
        have = self.row_count
        want = len(self.alerts) if self._widths and self._now is not None else 0
        if want == have:
            return
        locations, data, rows = self._row_locations, self._data, self.rows
        for row in range(want, have):
            key = RowKey(str(row))
            del locations[key], data[key], rows[key]  # type: ignore[index]  # TwoWayDict has __delitem__
        columns = [(column.key, str(column.label)) for column in self.ordered_columns]
        for row in range(have, want):
            key = RowKey(str(row))
            locations[key] = row
            data[key] = {column: AlertCell(self, row, label) for column, label in columns}
            rows[key] = Row(key, 1)
        # the rows' offsets and order are worked out again; the cells drawn before are kept (Textual's count
        # of changes stays: a new one would draw every cell on screen again), _touch forgets those that
        # show another alert now
        self._offset_cache.clear()
        self._ordered_row_cache.clear()
        self._require_update_dimensions = True  # the virtual size, when idle
        self.cursor_coordinate = self.cursor_coordinate  # kept on the rows left
        if have == 0 and self.show_cursor:
            self._highlight_cursor()  # as add_row does for the first row: there is a selection now
        self.check_idle()
        self.refresh()

    def _touch(self, rows: Iterable[int] = ()) -> None:
        """Draw again the cells of `rows` (they show another alert now) and every Since cell (the time went
        on). Only those of Textual's drawn cells are forgotten: a DataTable draws each cell on its own
        (~0.1 ms), and telling it a cell changed (update_cell) would redraw every cell on screen and walk
        all 5,000 rows again for their offsets. The cells read their row's alert when drawn: nothing else
        needs updating."""
        self._stale = False
        self._drawn = self._on_screen()
        changed = {str(row) for row in rows}
        drawn = self._cell_render_cache
        for key in list(drawn.keys()):
            if key[1].value == "since" or key[0].value in changed:
                drawn.discard(key)
        self._row_render_cache.clear()  # the lines, made again of the cells kept and those drawn again
        self._line_cache.clear()
        self.refresh()

    def _on_screen(self) -> tuple[tuple[int, int], tuple[str, ...]]:
        """The rows on screen and what their Since cells say now."""
        top = int(self.scroll_y)
        rows = range(top, min(len(self.alerts), top + max(1, self.size.height)))
        now = self._now
        ages = tuple(since(self.alerts[row].active_at, now) for row in rows) if now is not None else ()
        return (rows.start, rows.stop), ages

    def _redraw_since(self) -> None:
        """Only the time went by: the lines on screen are drawn again when one of their Since cells reads
        differently; those off screen when they are scrolled to."""
        if self._on_screen() != self._drawn:
            self._touch()  # their Since cells only
        else:
            self._stale = True

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if self._stale and round(old) != round(new):
            self._touch()

    def cell_text(self, row: int, label: str) -> Text:
        """What row `row`'s cell in column `label` shows now."""
        cells = self._row_cells.get(row)
        if cells is None:
            if not (0 <= row < len(self.alerts)) or self._now is None:
                return Text("")
            alert = self.alerts[row]
            cells = self._cells(alert, self._now)
            if self.am_on:
                previous = self.am_status.get(self.alerts[row - 1].fingerprint) if row else None
                self._am_cells(alert, cells, previous)
            widths = dict(self._widths)
            cells = {name: fit(cell, widths.get(name, cell.cell_len)) for name, cell in cells.items()}
            if len(self._row_cells) > 500:
                self._row_cells.clear()
            self._row_cells[row] = cells
        return cells.get(label, Text(""))

    def _cells(self, alert: FiringAlert, now: datetime) -> dict[str, Text]:
        firing = alert.state == "firing"
        return {
            "State": Text(
                "FIRING" if firing else "pending", style=styles.FIRING if firing else styles.WARNING
            ),
            "Severity": plain(alert.severity or "-", SEVERITY_STYLE.get(alert.severity, styles.PLAIN)),
            "Alert": plain(alert.name, styles.STRONG),
            "Since": Text(since(alert.active_at, now)),
            "Value": plain(format_value(alert.value)),
            "Summary": plain(alert.summary),
        }

    def _am_cells(self, alert: FiringAlert, cells: dict[str, Text], previous: AlertStatus | None) -> None:
        status = self.am_status.get(alert.fingerprint)
        if status is None:
            cells["Alertmanager"] = Text("…" if self.am is None else "unknown", style=styles.MUTED)
            cells["Group"] = Text("")
            return
        group = status.group
        first = group is None or previous is None or previous.group != group
        cells["Group"] = plain(group_title(group.labels), styles.STRONG) if (group and first) else Text("")
        if status.kind == "active":
            cells["Alertmanager"] = plain(status.text, styles.PLAIN)
        elif status.kind == "not-received":
            cells["Alertmanager"] = plain(status.text, styles.MUTED)
        else:
            cells["Alertmanager"] = plain(status.text, styles.MUTED_ITALIC)
        if status.muted:  # shown, never hidden: dimmed
            for cell in cells.values():
                base = cell.style
                cell.style = (
                    base + Style.parse(styles.MUTED) if isinstance(base, Style) else f"{base} {styles.MUTED}"
                )


class AlertCell:
    """A cell of the alerts table: what its row's alert shows in its column, read when Textual draws the row
    (only the rows on screen are drawn), so the table never holds 5,000 rows of Text."""

    __slots__ = ("label", "row", "table")

    def __init__(self, table: AlertsTable, row: int, label: str) -> None:
        self.table = table
        self.row = row
        self.label = label

    @property
    def text(self) -> Text:
        return self.table.cell_text(self.row, self.label)

    @property
    def plain(self) -> str:
        return self.text.plain

    @property
    def style(self) -> str | Style:
        return self.text.style

    @property
    def spans(self) -> list[Span]:
        return self.text.spans

    @property
    def cell_len(self) -> int:
        return self.text.cell_len

    def __str__(self) -> str:
        return self.plain

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.text


class FilterBox(Input):
    """The box `/` opens over the alerts: enter applies the filter, esc clears it; both go back to the
    alerts (the screen does that on Submitted and Cleared)."""

    BINDINGS = [
        Binding("enter", "submit", "Apply filter", key_display="⏎"),
        Binding("escape", "clear", "Clear filter", key_display="esc"),
    ]

    class Cleared(Message):
        pass

    def action_clear(self) -> None:
        self.value = ""
        self.post_message(self.Cleared())
