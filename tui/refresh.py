"""The pace of every poller: paused or not (P), and the refresh interval the user picked (+ and -).

Each poller polls, delivers, then waits here: for its own delay (its refresh, or its backoff after
failures), or for the interval the user picked (never below the source's floor), or, while paused, until
resumed; `r` (a wake) polls once even while paused. Textual-free: the app owns one and shows its state.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

T = TypeVar("T")

STEPS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)  # the intervals + and - step through, in seconds
# the shortest interval a source is polled at, whatever is picked: the Kubernetes round is three lists
# and a checklist's evidence round reads every step and cause at once: never more than every 5 s
FLOORS = {"prometheus": 1.0, "postgresql": 1.0, "redis": 1.0, "kubernetes": 2.0, "evidence": 5.0}


def seconds_text(seconds: float) -> str:
    return f"{seconds:g}s"


class RefreshPace:
    """Paused or not, and the picked interval (None: each source's own refresh); counts every poll."""

    def __init__(self, refreshes: Iterable[float] = ()) -> None:
        self.paused = False
        self.interval: float | None = None
        self.refreshes = sorted(set(refreshes))  # the sources' own refreshes, shown until one is picked
        self.polls: dict[str, int] = {}  # polls per source since start
        self._changed = asyncio.Event()

    # -- what the user changes ----------------------------------------------------------------------

    def toggle_pause(self) -> bool:
        self.paused = not self.paused
        self._wake_waiters()
        return self.paused

    def slower(self) -> float:
        """The next longer step (from the longest of the sources' own refreshes when none is picked)."""
        current = self.interval if self.interval is not None else max(self.refreshes, default=STEPS[2])
        self.interval = next((s for s in STEPS if s > current), STEPS[-1])
        self._wake_waiters()
        return self.interval

    def faster(self) -> float | None:
        """The next shorter step (from the shortest of the sources' own refreshes when none is picked); a
        source configured faster than every step keeps its own."""
        current = self.interval if self.interval is not None else min(self.refreshes, default=STEPS[2])
        self.interval = next((s for s in reversed(STEPS) if s < current), self.interval)
        self._wake_waiters()
        return self.interval

    def every_text(self) -> str:
        """What the header says: `5s`, or `2-5s` while the sources keep refreshes of their own."""
        if self.interval is not None:
            return seconds_text(self.interval)
        if not self.refreshes:
            return "-"
        low, high = self.refreshes[0], self.refreshes[-1]
        return seconds_text(low) if low == high else f"{low:g}-{seconds_text(high)}"

    def _wake_waiters(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # -- what the pollers do ----------------------------------------------------------------------

    def delay(self, source: str, wanted: float, base: float) -> float:
        """The wait before `source`'s next poll: its own (`wanted`), or the picked interval above its floor;
        a source backing off (`wanted` above its refresh `base`) never polls sooner for it."""
        if self.interval is None:
            return wanted
        picked = max(self.interval, FLOORS.get(source, 1.0))
        return picked if wanted <= base else max(wanted, picked)

    async def wait(self, source: str, wanted: float, base: float, wake: asyncio.Event) -> None:
        """Until `source` is due again: the delay passed while not paused, or woken (`r`) even when paused."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        while not wake.is_set():
            remaining = None if self.paused else self.delay(source, wanted, base) - (loop.time() - started)
            if remaining is not None and remaining <= 0:
                return
            changed = self._changed
            waits = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(changed.wait())]
            try:
                await asyncio.wait(waits, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waits:
                    waiter.cancel()

    async def run(
        self,
        source: str,
        poll: Callable[[], Awaitable[T]],
        deliver: Callable[[T], Awaitable[None] | None],
        next_delay: Callable[[], float],
        base: float,
        wake: asyncio.Event,
    ) -> None:
        """Poll, deliver, wait, for good: the next poll is scheduled when this one ends, never overlapping."""
        while True:
            result = await poll()
            self.polls[source] = self.polls.get(source, 0) + 1
            delivered = deliver(result)
            if inspect.isawaitable(delivered):
                await delivered
            wanted = next_delay()  # drawn once per wait: a backoff's jitter is not re-rolled by a key
            wake.clear()
            await self.wait(source, wanted, base, wake)
