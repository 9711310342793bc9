"""What the app keeps reading from Kubernetes for the dashboard: the pod watch (the informer's cache, looked
at often, copied only when it moved) and the rounds of plain reads (events, pod metrics, Helm history when
the team turned it on)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from probes.base import KubernetesSource

if TYPE_CHECKING:  # the row models load with the first pods, after the first alerts are drawn
    from probes.kubernetes import PodRow, ResourceSnapshot

GC_PAUSE_MAX = 30.0  # seconds the collector may wait for the first pod list
PODS_POLL = 0.25  # seconds between looks at the pod cache's version: a crash shows within a second
FIRST_PAGE_POLL = 0.05  # until the first page of the first list is read: it is drawn as soon as it comes


async def watch_pods(
    kube: KubernetesSource, looked: Callable[[], None], changed: Callable[[tuple[PodRow, ...]], None]
) -> None:
    """Start the pod cache and follow it for good: `looked()` at every look, `changed(rows)` when it moved."""
    # The first full list makes tens of thousands of long-lived objects at once: collecting while
    # they arrive would walk them again and again (100+ ms stalls with 10,000 pods), so the
    # collector waits until the cache is complete, then leaves those objects alone for good.
    gc.freeze()
    gc.disable()
    give_up = asyncio.get_running_loop().time() + GC_PAUSE_MAX
    frozen = False
    try:
        cache = await asyncio.to_thread(kube.start_pods)
        version = -1
        while True:
            looked()
            if cache.version != version:
                version = cache.version
                changed(await asyncio.to_thread(cache.rows))  # a 10,000-pod sort stays off the loop
            if not frozen and (cache.synced or asyncio.get_running_loop().time() > give_up):
                gc.freeze()
                gc.enable()
                frozen = True
            # the rest of the first list is drawn at the usual pace: redrawing after every page would take
            # the time the list needs to come in
            await asyncio.sleep(FIRST_PAGE_POLL if not len(cache) and not cache.synced else PODS_POLL)
    finally:
        gc.enable()
        gc.unfreeze()  # leaving: what this app held may be collected again


async def read_round(
    kube: KubernetesSource,
    releases: Sequence[tuple[str, str | None]],
    last: Mapping[str, ResourceSnapshot[Any]],
) -> list[ResourceSnapshot[Any]]:
    """One round of the plain reads. Each read fails on its own; while the pod watch fails too, the API server
    is down as a whole, and one read (events) finds out when it is back: the others keep their rows (`last`),
    marked with its failure."""
    events = await kube.events()
    snapshots: list[ResourceSnapshot[Any]] = [events]
    if events.health.answering or kube.health.answering:
        others: list[Awaitable[ResourceSnapshot[Any]]] = [kube.pod_metrics()]
        if kube.settings.helm_history:
            others += [kube.helm_history(release, namespace) for release, namespace in releases]
        else:
            # off: the probe sends nothing and answers at once with why (whatever the release), which the
            # Deploys tab shows
            others.append(kube.helm_history(""))
        snapshots += await asyncio.gather(*others)
    else:
        snapshots += [
            replace(old, health=events.health)
            for resource, old in last.items()
            if resource != events.resource
        ]
    return snapshots
