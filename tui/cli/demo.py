"""`--demo` on the command line: the scripted incident's sources, the same ones `oncall --demo` watches."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from probes.base import utc_now
from probes.kubernetes import pod_summary
from tui.cli.servers import PodsReport
from tui.config.paths import default_store
from tui.config.settings import Settings
from tui.demo.kube_objects import NAMESPACE
from tui.demo.scenario import ANCHOR_KEY, demo_anchor
from tui.demo.sources import DemoSources
from tui.demo.sources import demo_sources as build_demo_sources
from tui.sessions.backend import open_store
from tui.sessions.store import StoreError


def demo_pods_report(demo: DemoSources) -> PodsReport:
    """The demo namespace's pods, summarised as `oncall snapshot` summarises a real one."""
    rows = demo.kube.start_pods().rows()
    return PodsReport(demo.kube.health, NAMESPACE, "demo", pod_summary(rows))


def demo_store(settings: Settings) -> Path:
    """The store `oncall --demo` keeps: the configured one, else the demo's own."""
    return settings.store.path or default_store(demo=True)


def stored_anchor(path: Path, now: datetime, url: str | None = None) -> datetime:
    """The demo incident's start as the app keeps it (read only: the CLI never writes it), else now; from
    the shared PostgreSQL store when `url` names one, as the app's demo then keeps it there."""
    stored: str | None = None
    if url is not None or path.is_file():
        try:
            store = open_store(path, url, read_only=True)
            try:
                stored = store.get_meta(ANCHOR_KEY)
            finally:
                store.close()
        except StoreError:
            stored = None
    return demo_anchor(stored, now)[0]


def demo_sources(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> DemoSources:
    """The scripted incident at the moment the app's demo shows it (the same anchor), nothing real reached."""
    url = settings.store.url.reveal() if settings.store.url is not None else None
    anchor = stored_anchor(demo_store(settings), clock(), url)
    return build_demo_sources(settings.prometheus, anchor, clock)
