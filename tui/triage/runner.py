"""The evidence runner: a section's steps and causes read again and again while someone looks at them.

Each round reads every step's plan and every cause's read through the registry; a read that steps and
causes share runs once per round; the expensive ones (the key sampler) are read on `r` or once a minute and
kept in between. Each round goes to the subscriber, which draws it. No Textual here: the checklist screen
subscribes, and tests can drive a runner with any subscriber.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from probes.base import Reading
from tui.triage.commands import ConfiguredServers, LiveRead
from tui.triage.plans import CausePlan, StepPlan, plan_causes, plans
from tui.triage.registry import Sources, gather
from tui.triage.runbook import Runbook, Section

EVIDENCE_EVERY = 5.0  # seconds between re-reads of the steps' evidence while the checklist is open
# the key sampler (--bigkeys) walks the keyspace: it is re-read on `r` or once a minute, not every 5 s
EXPENSIVE = frozenset({"bigkeys"})
EXPENSIVE_EVERY = 60.0


@dataclass(frozen=True)
class Evidence:
    """One round of a section's evidence: each step's readings, and the reading bearing on each cause."""

    section: Section
    steps: dict[int, tuple[Reading, ...]]  # step index -> its readings, in the plan's order
    cause_plans: tuple[CausePlan, ...]
    causes: dict[int, Reading]  # cause index -> the reading that bears on it (causes with a read only)


class EvidenceSubscriber(Protocol):
    """Who shows the evidence: the section it shows now, and whether it is still there to show it."""

    @property
    def section(self) -> Section | None: ...

    @property
    def shown(self) -> bool: ...

    def show_evidence(self, evidence: Evidence) -> None: ...


class EvidenceRunner:
    """Reads the subscriber's section's evidence until the subscriber is gone; `reread()` reads at once."""

    def __init__(
        self,
        subscriber: EvidenceSubscriber,
        sources: Callable[[Section], Sources],
        servers: ConfiguredServers | None,
        runbook: Runbook | None,
        wait: Callable[[asyncio.Event], Awaitable[None]] | None = None,
    ) -> None:
        self._subscriber = subscriber
        # between rounds: the app's pace (paused, or the interval picked with + and -), else EVIDENCE_EVERY;
        # either way a wake (`r`) ends the wait
        self._wait = wait or _every(EVIDENCE_EVERY)
        self._sources = sources  # the sources as they are now, for the section being read
        self._servers = servers
        self._runbook = runbook
        self._wake = asyncio.Event()
        self.steps: dict[int, tuple[Reading, ...]] = {}  # as last shown: kept for the expensive reads
        self.causes: dict[int, Reading] = {}

    def reread(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Every step's reads, again and again while the subscriber is shown."""
        expensive_at = float("-inf")
        loop = asyncio.get_running_loop()
        while True:
            section = self._subscriber.section
            if section is not None:
                sources = self._sources(section)
                again = self._wake.is_set() or loop.time() - expensive_at >= EXPENSIVE_EVERY
                if again:
                    expensive_at = loop.time()
                evidence = await self._round(section, sources, again)
                if not self._subscriber.shown:
                    return  # closed (or replaced) while the reads were out
                if self._subscriber.section is section:
                    self.steps, self.causes = evidence.steps, evidence.causes
                    self._subscriber.show_evidence(evidence)
            self._wake.clear()
            await self._wait(self._wake)

    async def _round(self, section: Section, sources: Sources, expensive: bool) -> Evidence:
        current = plans(section, self._servers)
        causes = plan_causes(section, self._runbook)
        once: dict[LiveRead, asyncio.Task[Reading]] = {}  # a read that steps and causes share runs once
        results = await asyncio.gather(
            *(self._step_readings(i, plan, sources, expensive, once) for i, plan in enumerate(current))
        )
        read_causes = [(i, c.read) for i, c in enumerate(causes) if c.read is not None]
        cause_results = await asyncio.gather(
            *(self._cause_reading(i, read, sources, expensive, once) for i, read in read_causes)
        )
        indexes = [i for i, _ in read_causes]
        return Evidence(
            section, dict(enumerate(results)), causes, dict(zip(indexes, cause_results, strict=True))
        )

    async def _step_readings(
        self,
        index: int,
        plan: StepPlan,
        sources: Sources,
        expensive: bool,
        once: dict[LiveRead, asyncio.Task[Reading]],
    ) -> tuple[Reading, ...]:
        kept = self.steps.get(index)
        if not expensive and kept and any(read.read in EXPENSIVE for read in plan.reads):
            return kept
        return tuple(await asyncio.gather(*(_read_once(read, sources, once) for read in plan.reads)))

    async def _cause_reading(
        self,
        index: int,
        read: LiveRead,
        sources: Sources,
        expensive: bool,
        once: dict[LiveRead, asyncio.Task[Reading]],
    ) -> Reading:
        kept = self.causes.get(index)
        if not expensive and kept is not None and read.read in EXPENSIVE:
            return kept
        return await _read_once(read, sources, once)


async def _read_once(
    read: LiveRead, sources: Sources, once: dict[LiveRead, asyncio.Task[Reading]]
) -> Reading:
    if read not in once:
        once[read] = asyncio.ensure_future(gather(read, sources))
    return await once[read]


def _every(seconds: float) -> Callable[[asyncio.Event], Awaitable[None]]:
    async def wait(wake: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=seconds)

    return wait
