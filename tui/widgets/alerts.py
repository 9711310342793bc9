"""The alerts table (firing before pending, then severity, then age; every cell plain Text) and the status
line above it."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Input

from probes.alertmanager import AlertStatus, AmSnapshot
from probes.format import clean
from probes.prometheus import AlertsSnapshot, FiringAlert, alert_sort_key, format_value
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


class AlertsTable(DataTable[Text]):
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
        longest = max((cell_len(clean(a.name)) for a in self.every_alert), default=0)
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
        self._add_rows()
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
            self.show(tuple(self.every_alert), self._now)
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
            self.show(tuple(self.every_alert), self._now)
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

    def show(self, alerts: tuple[FiringAlert, ...], now: datetime) -> None:
        """Redraw, keeping the cursor on the same alert (by fingerprint) when it is still there."""
        keep = self.selected.fingerprint if self.selected else None
        self._now = now
        self.every_alert = sorted(alerts, key=lambda a: alert_sort_key(a, now))
        if self.am_on:
            am = self.am
            self.am_status = (
                {a.fingerprint: am.status(a.labels, now) for a in self.every_alert}
                if am is not None and am.fetched_at is not None
                else {}
            )
            self.every_alert = self._grouped(self.every_alert)
        self.alerts = [a for a in self.every_alert if self.filter.matches(a)]
        if self._layout() != self._widths:
            self._fit_columns()  # a longer alert name: the columns change, and the rows are drawn there
        else:
            self.clear()
            self._add_rows()
        if keep is not None:
            for row, alert in enumerate(self.alerts):
                if alert.fingerprint == keep:
                    self.move_cursor(row=row, animate=False)
                    break

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

    def _add_rows(self) -> None:
        if self._now is None:
            return
        previous: AlertStatus | None = None
        for alert in self.alerts:
            cells = self._cells(alert, self._now)
            if self.am_on:
                self._am_cells(alert, cells, previous)
                previous = self.am_status.get(alert.fingerprint)
            self.add_row(*(fit(cells[label], width) for label, width in self._widths), key=alert.fingerprint)


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
