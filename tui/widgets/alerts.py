"""The alerts table: firing before pending, then severity, then age; every cell is plain Text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from probes.prometheus import FiringAlert, alert_sort_key, format_value
from tui.widgets import styles
from tui.widgets.render import SEVERITY_STYLE, plain, since


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
