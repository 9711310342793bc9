"""The Slow log tab: SLOWLOG GET newest first, what is new since the last look marked, one entry in full."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from probes.format import clean
from probes.redis import RedisSnapshot, SlowEntry
from tui.widgets import styles
from tui.widgets.dialogs import ShowText
from tui.widgets.render import clock_time, set_text, since
from tui.widgets.virtual_table import Column, VirtualTable, arrow

SLOW_MS = 10.0  # the SlowRedisOperations alert's threshold: operations slower than 10 ms
COMMAND_CELLS = 400  # the command column's width: longer command lines are cut (the full entry is on enter)
NEW_MARK = "●"


def command_line(entry: SlowEntry, limit: int = COMMAND_CELLS) -> Text:
    """The command and its arguments on one line; keys and values are untrusted, so plain text, cleaned."""
    parts: list[str] = []
    length = 0
    for arg in entry.args:
        if length > limit:  # no need to clean a 512 MB argument to show 400 cells of it
            break
        part = clean(arg[: limit + 1])
        parts.append(part)
        length += len(part) + 1
    return Text(" ".join(parts))


def search_text(entry: SlowEntry) -> str:
    """What `/` looks in: the command line as shown, the client and its name."""
    return f"{command_line(entry).plain} {entry.client} {entry.client_name}"


def entry_title(entry: SlowEntry) -> str:
    who = " ".join(x for x in (entry.client, entry.client_name) if x)
    return f"slow log #{entry.id} · {entry.duration_ms:.1f} ms · {clock_time(entry.started_at)}" + (
        f" · {who}" if who else ""
    )


def entry_text(entry: SlowEntry) -> str:
    """Every argument on its own line, each cleaned to one line, so a line is always one whole argument."""
    return "\n".join(clean(arg) for arg in entry.args) or "(no arguments logged)"


class SlowlogPanel(Vertical):
    """SLOWLOG GET as a table that repaints only the rows that changed; `enter` shows one entry in full."""

    DEFAULT_CSS = """
    SlowlogPanel { padding: 0 1; }
    SlowlogPanel > Static { height: auto; }
    SlowlogPanel > VirtualTable { height: 1fr; }
    """
    BINDINGS = [Binding("enter", "detail", "Full entry")]

    def __init__(self, now: Callable[[], datetime], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.now = now
        self.seen_id: int | None = None  # the newest entry the user had seen before this look
        self._latest_id: int | None = None  # the newest entry read while the tab was on screen
        self._visible = False
        self._newest: int | None = None  # of the last read, seen or not
        self._entries: tuple[SlowEntry, ...] | None = None
        self._snapshot: RedisSnapshot | None = None
        self.table: VirtualTable[SlowEntry] = VirtualTable(
            self._columns(),
            key=lambda e: str(e.id),
            search_text=search_text,
            empty="the slow log is empty",
            what="slow log entries",
            sort_cycle=("duration", "time"),
            id="slowlog-table",
        )

    def _columns(self) -> list[Column[SlowEntry]]:
        def new(entry: SlowEntry) -> Text:
            return Text(NEW_MARK, style=styles.HIGHLIGHT) if self.is_new(entry) else Text("")

        def duration(entry: SlowEntry) -> Text:
            ms = entry.duration_ms
            return Text(f"{ms:>8.1f} ms", style=styles.FIRING if ms >= SLOW_MS else styles.PLAIN)

        return [
            Column("new", "NEW", 3, new),
            Column(
                "time",
                "TIME",
                9,
                lambda e: Text(clock_time(e.started_at)),
                sort_key=lambda e: (-e.started_at.timestamp(), -e.id),
                descending=True,
            ),
            Column(
                "duration",
                "DURATION",
                11,
                duration,
                sort_key=lambda e: -e.duration_us,
                descending=True,
            ),
            Column("client", "CLIENT", 21, lambda e: Text(clean(e.client))),
            Column("name", "NAME", 16, lambda e: Text(clean(e.client_name))),
            Column("command", "COMMAND", COMMAND_CELLS, command_line),
        ]

    def compose(self) -> ComposeResult:
        yield Static(Text("connecting to Redis…", style=styles.MUTED), id="slowlog-status")
        yield self.table

    def is_new(self, entry: SlowEntry) -> bool:
        return self.seen_id is not None and entry.id > self.seen_id

    # -- what the user has seen --------------------------------------------------------------------

    def on_show(self, _event: events.Show) -> None:
        """A new look at the tab: what was on screen during the last look is no longer new."""
        self._visible = True
        self.call_after_refresh(self._scroll_to_cursor)
        if self._latest_id is not None and self._latest_id != self.seen_id:
            self.seen_id = self._latest_id
            self.table.redraw()  # the NEW cells depend on seen_id, not on the rows
            self._set_status()

    def on_hide(self, _event: events.Hide) -> None:
        self._visible = False

    def _scroll_to_cursor(self) -> None:
        """As near the top as the cursor allows: the table scrolled while hidden (it had no height then)."""
        rows = max(1, self.table.scrollable_content_region.height - 1)
        self.table.scroll_to(y=max(0, self.table.cursor - rows + 1), animate=False)

    # -- drawing -------------------------------------------------------------------------------------

    def show(self, snapshot: RedisSnapshot) -> None:
        self._snapshot = snapshot
        entries = snapshot.slowlog
        if entries is not None:
            newest = max((e.id for e in entries), default=-1)
            if self.seen_id is None:
                # the first read: what was logged before oncall started is not news
                self.seen_id = self._latest_id = newest
            elif self._newest is not None and newest < self._newest:
                self.seen_id = self._latest_id = -1  # ids went back: a restart; all listed are new
            self._newest = newest
            if self._visible:
                self._latest_id = newest
            # an entry read again keeps its object, so the table's line cache still holds its row
            before = {e.id: e for e in self._entries or ()}
            self._entries = tuple(
                old if (old := before.get(e.id)) is not None and old == e else e for e in entries
            )
            following = self.table.cursor == 0
            self.table.set_items(self._entries)
            if following:
                self.table.cursor = 0  # on the newest entry: stay on the newest, as a tail does
        self.table.display = entries is not None
        self._set_status()

    @on(VirtualTable.Sorted)
    def _set_status(self) -> None:
        if self._snapshot is None:
            return
        sort = self.table.sort_column
        order = f"by {sort[0].label.lower()} {arrow(*sort)}" if sort is not None else "newest first"
        set_text(
            self.query_one("#slowlog-status", Static),
            status_text(self._snapshot, self._entries, self.now(), self.seen_id, order),
        )

    def action_detail(self) -> None:
        entry = self.table.selected
        if entry is None or not self.table.display:
            return
        self.post_message(ShowText(entry_title(entry), entry_text(entry)))


def status_text(
    snapshot: RedisSnapshot,
    entries: tuple[SlowEntry, ...] | None,
    now: datetime,
    seen_id: int | None,
    order: str = "newest first",
) -> Text:
    health = snapshot.health
    text = Text()
    why = snapshot.blocked_reason("SLOWLOG GET")
    if not health.answering:
        label = "readings refused" if health.state == "forbidden" else clean(health.state)
        text.append(f"Redis {label}: ", style=styles.FIRING)
        text.append(clean(health.last_error or ""))
        if snapshot.fetched_at and entries is not None:
            text.append(
                f" — showing the slow log read {since(snapshot.fetched_at, now)} ago", style=styles.WARNING
            )
        text.append("\n")
    if snapshot.slowlog is None:
        if why:
            head, _, detail = clean(why).partition(": ")
            text.append("⊘ SLOWLOG GET ", style=styles.WARNING_STRONG)
            text.append(head, style=styles.WARNING_STRONG)
            text.append(f" — {detail}" if detail else "")
            text.append(
                "\nThe slow log can't be read with these credentials; the Redis tab still works. "
                "Ask for +slowlog|get in the ACL, or read it in the provider's console.",
                style=styles.MUTED,
            )
        elif health.answering:
            text.append("the slow log was not read", style=styles.MUTED)
        text.rstrip()
        return text
    if entries is None:
        return text
    count = len(entries)
    text.append(f"{count} entr{'y' if count == 1 else 'ies'}", style=styles.STRONG)
    text.append(f", {order}")
    if entries:
        text.append(f" · newest {since(entries[0].started_at, now)} ago")
        fresh = sum(1 for e in entries if seen_id is not None and e.id > seen_id)
        if fresh:
            text.append(f" · {NEW_MARK} {fresh} new since your last look", style=styles.HIGHLIGHT)
    threshold = snapshot.config.get("slowlog-log-slower-than") if snapshot.config else None
    if threshold and threshold.lstrip("-").isdigit():
        micro = int(threshold)
        logged = f"logged above {micro / 1000:g} ms" if micro >= 0 else "logging disabled"
        text.append(f" · {logged}", style=styles.MUTED)
    text.append(f" · red: {SLOW_MS:g} ms or more", style=styles.MUTED)
    return text
