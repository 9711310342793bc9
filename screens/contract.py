"""What screens use from the app, as a typed contract: the app (tui/app.py, the layer above) implements it."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar, cast

from textual.screen import Screen

from tui.widgets.header import HeaderState

if TYPE_CHECKING:
    from textual.signal import Signal

    from probes.base import KubernetesSource, PostgresSource, PrometheusSource, RedisSource
    from probes.kubernetes import KubeEvent, PodRow, ResourceSnapshot
    from probes.prometheus import AlertsSnapshot, FiringAlert
    from tui.sessions.store import IncidentSession, StepState
    from tui.triage.commands import ConfiguredServers
    from tui.triage.registry import Sources
    from tui.triage.runbook import Runbook, Section, SectionMatch

ResultT = TypeVar("ResultT")


class Console(HeaderState, Protocol):
    """The oncall app as screens see it: the sources' state, the runbook, and the incident session store.

    The header's part (now, demo, observer, healths, the followed session...) is `HeaderState`.
    """

    # -- the sources and what they last read ---------------------------------------------------------

    @property
    def probe(self) -> PrometheusSource: ...

    @property
    def kube(self) -> KubernetesSource: ...

    @property
    def postgres(self) -> PostgresSource: ...

    @property
    def redis(self) -> RedisSource: ...

    @property
    def snapshot(self) -> AlertsSnapshot | None: ...

    @property
    def pods(self) -> tuple[PodRow, ...]: ...

    @property
    def pods_changed(self) -> Signal[tuple[PodRow, ...]]: ...

    @property
    def kube_reads(self) -> Mapping[str, ResourceSnapshot[object]]: ...

    @property
    def kube_read(self) -> Signal[ResourceSnapshot[object]]: ...

    @property
    def releases(self) -> list[tuple[str, str | None]]: ...

    def refresh_now(self) -> None: ...

    def start_sources(self) -> None:
        """The first alerts are on screen: the other sources start now (once; later calls do nothing)."""

    async def wait_refresh(self, source: str, every: float, wake: asyncio.Event) -> None: ...

    def sample_redis_keys(self) -> None: ...

    async def pod_events(self, pod: PodRow) -> tuple[tuple[KubeEvent, ...], str | None]: ...

    async def load_pod_logs(
        self, pod: PodRow, container: str | None, previous: bool, tail: int
    ) -> tuple[list[str], str | None]: ...

    # -- the runbook and the triage reads --------------------------------------------------------------

    @property
    def runbook(self) -> Runbook | None: ...

    @property
    def runbook_error(self) -> str | None: ...

    @property
    def runbook_ready(self) -> bool: ...  # read (or failed): `runbook` won't wait

    async def wait_runbook(self) -> None: ...  # until the runbook is read, the event loop free meanwhile

    @property
    def servers(self) -> ConfiguredServers: ...

    def section_for(self, alert: FiringAlert) -> SectionMatch: ...

    def section(self, slug: str | None) -> Section | None: ...

    def evidence_sources(self, alert: FiringAlert | None, section: Section | None = None) -> Sources: ...

    # -- incident sessions ------------------------------------------------------------------------------

    async def find_session(self, alert: FiringAlert) -> IncidentSession | None: ...

    async def open_session(self, alert: FiringAlert) -> IncidentSession | None: ...

    async def set_step(
        self, session: IncidentSession, index: int, state: StepState, *, evidence: str = ""
    ) -> IncidentSession | None: ...

    async def add_note(
        self, session: IncidentSession, text: str, step_index: int | None
    ) -> IncidentSession | None: ...

    async def export_session(self, session: IncidentSession) -> Path | None: ...


class ConsoleScreen(Screen[ResultT]):
    """A screen that reads the app through `Console` (typed), not through untyped `self.app.*`."""

    @property
    def console(self) -> Console:
        return cast("Console", self.app)
