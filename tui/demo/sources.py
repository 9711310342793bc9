"""The scripted incident's sources, built one way for the app (`oncall --demo`) and the CLI (`--demo`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import httpx

from probes.prometheus import PrometheusSettings
from tui.demo.kubernetes import DemoKubernetes
from tui.demo.postgres import DemoPostgres
from tui.demo.redis import DemoRedis
from tui.demo.scenario import DEMO_URL, DemoIncident


@dataclass(frozen=True)
class DemoSources:
    """Prometheus (its settings and the transport answering for it), the cluster, the database, the cache."""

    prometheus: PrometheusSettings
    transport: httpx.AsyncBaseTransport
    kube: DemoKubernetes
    postgres: DemoPostgres
    redis: DemoRedis


def demo_sources(
    prometheus: PrometheusSettings, anchor: datetime, clock: Callable[[], datetime]
) -> DemoSources:
    """The incident that started at `anchor`, as `clock` moves: nothing real is reached (no URL, no token)."""
    return DemoSources(
        prometheus=replace(prometheus, url=DEMO_URL, token=None, password=None),
        transport=DemoIncident(anchor, clock).transport(),
        kube=DemoKubernetes(anchor, clock),
        postgres=DemoPostgres(anchor, clock),
        redis=DemoRedis(anchor, clock),
    )
