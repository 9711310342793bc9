"""The alerts table (firing before pending, then severity, then age; every cell plain Text) and the status
line above it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from probes.format import clean
from probes.prometheus import AlertsSnapshot, FiringAlert, alert_sort_key, format_value
from tui.widgets import styles
from tui.widgets.render import SEVERITY_STYLE, plain, since

PROMETHEUS_OFF = (
    "Prometheus is not configured: set PROMETHEUS_URL or [prometheus] url in oncall.toml. "
    "Press b to browse the runbook."
)


def alerts_status(
    snapshot: AlertsSnapshot | None, now: datetime, runbook_error: str | None, *, prometheus_set: bool
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
    text = Text.assemble((f"{firing} firing", styles.FIRING if firing else styles.OK), f", {pending} pending")
    if health.state == "degraded" and health.last_error:
        text.append(f" — {clean(health.last_error)}", style=styles.WARNING)
    if not snapshot.alerts:
        text.append("  all quiet. Press b to browse the runbook.", style=styles.MUTED)
    return text


class AlertsTable(DataTable[Text]):
    DEFAULT_CSS = """
    AlertsTable { height: 1fr; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.alerts: list[FiringAlert] = []

    FIXED = (("State", 7), ("Severity", 8), ("Alert", 24), ("Since", 6), ("Value", 8))

    def on_mount(self) -> None:
        for label, width in self.FIXED:
            self.add_column(label, width=width, key=label.lower())
        self.add_column("Summary", width=self._summary_width(), key="summary")

    def _summary_width(self) -> int:
        # The summary takes what the fixed columns leave, so the table never scrolls sideways.
        used = sum(width + 2 * self.cell_padding for _, width in self.FIXED) + 2 * self.cell_padding
        return max(10, self.scrollable_content_region.width - used - 1)

    def on_resize(self) -> None:
        if "summary" in self.columns:
            self.columns[ColumnKey("summary")].width = self._summary_width()
            self.refresh()

    @property
    def selected(self) -> FiringAlert | None:
        if not self.alerts or self.cursor_row < 0 or self.cursor_row >= len(self.alerts):
            return None
        return self.alerts[self.cursor_row]

    def show(self, alerts: tuple[FiringAlert, ...], now: datetime) -> None:
        """Redraw, keeping the cursor on the same alert (by fingerprint) when it is still there."""
        keep = self.selected.fingerprint if self.selected else None
        self.alerts = sorted(alerts, key=lambda a: alert_sort_key(a, now))
        self.clear()
        for alert in self.alerts:
            firing = alert.state == "firing"
            self.add_row(
                Text("FIRING" if firing else "pending", style=styles.FIRING if firing else styles.WARNING),
                plain(alert.severity or "-", SEVERITY_STYLE.get(alert.severity, styles.PLAIN)),
                plain(alert.name, styles.STRONG),
                Text(since(alert.active_at, now)),
                plain(format_value(alert.value)),
                plain(alert.summary),
                key=alert.fingerprint,
            )
        if keep is not None:
            for row, alert in enumerate(self.alerts):
                if alert.fingerprint == keep:
                    self.move_cursor(row=row, animate=False)
                    break
