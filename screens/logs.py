"""Pod logs (`l`): the last 200 lines, the previous container with `p`, a filter, and follow."""

from __future__ import annotations

from collections import deque

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import Input, Log, Static

from probes.format import clean
from probes.kubernetes import PodRow
from screens.contract import ConsoleScreen
from tui.widgets.bindings import focus_now, typing
from tui.widgets.footer import KeyFooter
from tui.widgets.header import StatusHeader
from tui.widgets.pod_view import logs_title

TAIL = 200
KEEP = 5000  # lines kept while following: a chatty pod can't grow memory or slow the screen without bound
FOLLOW_EVERY = 2.0  # seconds


class LogsScreen(ConsoleScreen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("p", "previous", "Previous container"),
        Binding("c", "container", "Next container"),
        Binding("f", "follow", "Follow"),
        # priority: the letters typed right after it are routed once it has moved the focus to the box
        Binding("slash", "filter", "Filter", key_display="/", priority=True),
    ]
    AUTO_FOCUS = "#logs"
    DEFAULT_CSS = """
    LogsScreen #logs-title { height: auto; padding: 0 1; background: $panel; }
    LogsScreen Input { display: none; }
    LogsScreen Input.-shown { display: block; }
    LogsScreen Log { height: 1fr; }
    """

    def __init__(self, pod: PodRow) -> None:
        super().__init__()
        self.pod = pod
        self.containers = [c.name for c in pod.containers if not c.init] or [c.name for c in pod.containers]
        self.container = self.containers[0] if self.containers else None
        self.previous = False
        self.following = False
        self.lines: deque[str] = deque(maxlen=KEEP)
        self.needle = ""
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        yield Static(id="logs-title")
        yield Input(placeholder="show only lines containing… (esc clears)", id="logs-filter")
        yield Log(max_lines=KEEP, id="logs")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.reload()

    def _title(self, problem: str | None = None) -> Text:
        return logs_title(
            self.pod,
            self.container,
            len(self.containers),
            tail=TAIL,
            previous=self.previous,
            following=self.following,
            needle=self.needle,
            problem=problem,
        )

    def _draw(self) -> None:
        log = self.query_one(Log)
        log.clear()
        shown = (
            [line for line in self.lines if self.needle.lower() in line.lower()]
            if self.needle
            else self.lines
        )
        log.write_lines([clean(line) for line in shown])

    @work(exclusive=True, group="logs")
    async def reload(self) -> None:
        lines, problem = await self.console.load_pod_logs(self.pod, self.container, self.previous, TAIL)
        self.lines.clear()
        self.lines.extend(lines)
        self.query_one("#logs-title", Static).update(self._title(problem))
        self._draw()

    @work(exclusive=True, group="logs")
    async def _follow_tick(self) -> None:
        if self.console.paused:  # P: nothing polls, following included
            return
        lines, problem = await self.console.load_pod_logs(self.pod, self.container, self.previous, TAIL)
        new = _after(list(self.lines), lines)
        self.lines.extend(new)
        log = self.query_one(Log)
        log.write_lines([clean(line) for line in new if self.needle.lower() in line.lower()])
        if problem:
            self.query_one("#logs-title", Static).update(self._title(problem))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "filter":
            return not typing(self)  # a `/` typed in the filter is part of it (`/healthz`)
        # one container: "next container" has nowhere to go, so it is not offered
        return len(self.containers) > 1 if action == "container" else True

    def action_back(self) -> None:
        """esc: out of the filter (cleared) first, as its placeholder says, then out of the logs."""
        box = self.query_one(Input)
        if box.has_class("-shown"):
            box.value = ""
            box.remove_class("-shown")
            self.needle = ""
            self.query_one("#logs-title", Static).update(self._title())
            self._draw()
            self.query_one(Log).focus()
            return
        self.app.pop_screen()

    def action_previous(self) -> None:
        self.previous = not self.previous
        self.reload()

    def action_container(self) -> None:
        if len(self.containers) > 1 and self.container is not None:
            self.container = self.containers[
                (self.containers.index(self.container) + 1) % len(self.containers)
            ]
            self.reload()

    def action_follow(self) -> None:
        self.following = not self.following
        if self.following:
            self._timer = self.set_interval(FOLLOW_EVERY, self._follow_tick)
        elif self._timer is not None:
            self._timer.stop()
        self.query_one("#logs-title", Static).update(self._title())

    def action_filter(self) -> None:
        box = self.query_one(Input)
        box.add_class("-shown")
        focus_now(box)  # the letters typed right after `/` go to the box, not the log

    @on(Input.Changed, "#logs-filter")
    def _filter(self, event: Input.Changed) -> None:
        self.needle = event.value
        self.query_one("#logs-title", Static).update(self._title())
        self._draw()

    @on(Input.Submitted, "#logs-filter")
    def _filter_done(self) -> None:
        focus_now(self.query_one(Log))


def _after(have: list[str], fresh: list[str]) -> list[str]:
    """The lines of a new tail that come after what we have: tails overlap while following.

    Lines carry their timestamps, so an overlap is a real overlap, not two equal messages.
    """
    for k in range(min(len(have), len(fresh)), 0, -1):
        if have[-k:] == fresh[:k]:
            return fresh[k:]
    return fresh
