"""The evidence runner: a section's steps and causes read again and again while someone looks at them.

Each round reads every step's plan and every cause's read through the registry; a read that steps and
causes share runs once per round. Each round goes to the subscriber, which draws it. No Textual here: the
checklist screen subscribes, and tests can drive a runner with any subscriber.

The expensive read, the key sampler (`redis-cli --bigkeys`), is the Redis probe's one shared sample: a
round never waits for a run. While the probe's last sample is young enough (SAMPLE_MAX_AGE) a round shows
it, with its age, and nothing is sent; when there is none, the round shows "sampling…" (or what it showed
before) while the probe's one run goes, and the next round comes as soon as it ends. `r` asks a new run
only when the last is older than SAMPLE_MIN_AGE: opening a section, or pressing `r`, costs the server
its other reads' few commands, not a walk of the keyspace. A source without a shared sample (a test's
stand-in) is read like any other, on `r` or once a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from probes.base import Reading
from tui.triage.commands import ConfiguredServers, LiveRead
from tui.triage.plans import CausePlan, StepPlan, plan_causes, plans
from tui.triage.registry import Sources, gather, what_of
from tui.triage.runbook import Runbook, Section

EVIDENCE_EVERY = 5.0  # seconds between re-reads of the steps' evidence while the checklist is open
# the key sampler (--bigkeys) walks the keyspace: the probe's shared sample, never waited for by a round
EXPENSIVE = frozenset({"bigkeys"})
EXPENSIVE_EVERY = 60.0  # a source without a shared sample: re-read on `r` or once a minute, not every 5 s
SAMPLING = "sampling the keyspace (one bounded run, shared by the whole app)…"

T = TypeVar("T")


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
        wait: Callable[[asyncio.Event], Coroutine[Any, Any, None]] | None = None,
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
        self._planned: tuple[Section, Sequence[StepPlan], tuple[CausePlan, ...]] | None = None
        self._kept: dict[LiveRead, Reading] = {}  # an expensive read as last read, shown while a run goes
        self._sampling: tuple[Any, asyncio.Future[Any]] | None = None  # (probe, its run a round saw going)

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
            await self._wait_or_sample()

    def _plans_of(self, section: Section) -> tuple[Sequence[StepPlan], tuple[CausePlan, ...]]:
        """The section's step and cause plans, made once per section shown (each SQL command planned
        goes through the guard's parser): a round every 5 s re-reads, it doesn't re-plan."""
        planned = self._planned
        if planned is None or planned[0] is not section:
            current, causes = plans(section, self._servers), plan_causes(section, self._runbook)
            planned = self._planned = (section, current, causes)
        return planned[1], planned[2]

    async def _wait_or_sample(self) -> None:
        """The pace's wait, cut short when the probe's run a round saw going has ended: its rows now."""
        sampling, self._sampling = self._sampling, None
        if sampling is None:
            await _detached(self._wait(self._wake))
            return
        sampler, running = sampling
        if not running.done():
            waiting = _detached(self._wait(self._wake))
            try:
                await asyncio.wait({waiting, running}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiting.cancel()
            if not running.done():
                return  # woken (`r`) or the pace's time: a round, as ever
        if not sampler.sample_fresh():  # the probe keeps no sample after all: never a round per run
            await _detached(self._wait(self._wake))

    async def _round(self, section: Section, sources: Sources, expensive: bool) -> Evidence:
        current, causes = self._plans_of(section)
        once: dict[LiveRead, asyncio.Task[Reading]] = {}  # a read that steps and causes share runs once
        fresh = self._wake.is_set()  # `r`
        if any(r.read in EXPENSIVE for plan in current for r in plan.reads) or any(
            c.read is not None and c.read.read in EXPENSIVE for c in causes
        ):
            once.update(self._expensive_reads(current, causes, sources, fresh))
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
        shared = any(read in once for read in plan.reads if read.read in EXPENSIVE)
        if not expensive and not shared and kept and any(read.read in EXPENSIVE for read in plan.reads):
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
        if not expensive and read not in once and kept is not None and read.read in EXPENSIVE:
            return kept
        return await _read_once(read, sources, once)

    def _expensive_reads(
        self, current: Sequence[StepPlan], causes: tuple[CausePlan, ...], sources: Sources, fresh: bool
    ) -> dict[LiveRead, asyncio.Task[Reading]]:
        """The key sampler's reads of this round, when the source keeps one shared sample: read from it
        when it is young enough (nothing sent), else shown as under way (or as last read) while the
        probe's one run goes; {} for a source without a shared sample."""
        sampler: Any = sources.redis
        if sampler is None or not hasattr(sampler, "sample_soon"):
            return {}
        # None: the last sample is young enough; the probe's run outlives this checklist: none of its context
        running = contextvars.Context().run(sampler.sample_soon, fresh=fresh)
        if running is not None:
            self._sampling = (sampler, running)
        reads = [r for plan in current for r in plan.reads if r.read in EXPENSIVE]
        reads += [c.read for c in causes if c.read is not None and c.read.read in EXPENSIVE]
        tasks: dict[LiveRead, asyncio.Task[Reading]] = {}
        for read in reads:
            if read in tasks:
                continue
            if running is None or sampler.sample_fresh():
                tasks[read] = _detached(self._keep(read, gather(read, sources)))
            else:
                tasks[read] = asyncio.ensure_future(self._shown_meanwhile(read))
        return tasks

    async def _keep(self, read: LiveRead, reading: Awaitable[Reading]) -> Reading:
        self._kept[read] = got = await reading
        return got

    async def _shown_meanwhile(self, read: LiveRead) -> Reading:
        return self._kept.get(read) or Reading.failed(read.source, what_of(read), SAMPLING)


async def _read_once(
    read: LiveRead, sources: Sources, once: dict[LiveRead, asyncio.Task[Reading]]
) -> Reading:
    if read not in once:
        once[read] = _detached(gather(read, sources))
    return await once[read]


def _detached(work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """`work` as a task of an empty context, cancelled with whoever awaits it.

    A task copies its creator's context, and every timer it starts keeps that copy until the timer falls due,
    cancelled or not (a read's READ_TIMEOUT, the pace's wait). Started from the checklist's worker, the copy
    holds the worker and so the checklist: a closed checklist stayed in memory up to 15 s after its last
    read. The reads and waits need nothing of the screen's context."""
    return asyncio.get_running_loop().create_task(work, context=contextvars.Context())


def _every(seconds: float) -> Callable[[asyncio.Event], Coroutine[Any, Any, None]]:
    async def wait(wake: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=seconds)

    return wait
