"""The demo's cluster: the lab namespace served from memory through the probe's own parsers and cache.

It answers the same calls the app makes of KubernetesProbe, so the Pods, Events, Logs and Deploys
tabs work with no API server, and the checklist's live readings come out in the probe's own kubectl
layout. Its script: an API pod is OOMKilled half a minute into the incident.
"""

from __future__ import annotations

import copy
import shlex
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from probes.health import SourceHealth
from probes.helm import HelmRevision, history_from_secrets
from probes.jsonpath import JsonPathError
from probes.jsonpath import parse as jsonpath_parse
from probes.jsonpath import render as jsonpath_render
from probes.kube_status import pod_row
from probes.kubernetes import (
    DESCRIBE_PODS_MAX,
    LOG_TAIL_MAX,
    LOGS_PODS_MAX,
    POD_COLUMNS,
    READING_LINES_MAX,
    READING_ROWS_MAX,
    SOURCE,
    TOP_COLUMNS,
    KubeEvent,
    LogTail,
    PodCache,
    PodMetrics,
    ResourceSnapshot,
    describe_pod_lines,
    event_order,
    event_row,
    has_previous,
    kubectl,
    kubectl_list,
    log_container,
    metrics_row,
    no_pods,
    pods_columns,
    restarts,
    top_columns,
)
from probes.reading import Reading
from tui.core.components import Selector, command_selectors, matches
from tui.core.config import KubernetesSettings
from tui.core.kube_lab import API_PODS, NAMESPACE, Obj, crash_container, event, lab_cluster, lab_logs

CRASH_AFTER = timedelta(seconds=30)  # after the incident's start, the first API pod is OOMKilled
CRASHING_POD = API_PODS[0]


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class DemoKubernetes:
    """Kubernetes for `oncall --demo`, labelled as the demo cluster in its health detail."""

    def __init__(self, anchor: datetime, clock: Callable[[], datetime]) -> None:
        self.settings = KubernetesSettings(refresh=2.0)
        self.anchor = anchor
        self.clock = clock
        objects = lab_cluster(now=clock())
        self._pods = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Pod"}
        self._events = [o for o in objects if o["kind"] == "Event"]
        self._secrets = [o for o in objects if o["kind"] == "Secret"]
        self._metrics = [o for o in objects if o["kind"] == "PodMetrics"]
        self._logs = {
            (ns, pod, container, previous): lines for ns, pod, container, lines, previous in lab_logs()
        }
        self.cache = PodCache()
        self._crashed = False

    @property
    def health(self) -> SourceHealth:
        now = self.clock()
        return SourceHealth("kubernetes", "ok", checked_at=now, last_success=now, detail="demo cluster")

    def start_pods(self) -> PodCache:
        self.cache.replace_all([pod_row(obj) for obj in self._pods.values()], "1")
        self._advance()
        return self.cache

    def _advance(self) -> None:
        """Play the script up to now: the pod crash, with the events a kubelet would report."""
        at = self.anchor + CRASH_AFTER
        if self._crashed or self.clock() < at:
            return
        self._crashed = True
        pod = copy.deepcopy(self._pods[CRASHING_POD])
        crash_container(pod, reason="OOMKilled", exit_code=137, at=_rfc3339(at))
        self._pods[CRASHING_POD] = pod
        self.cache.upsert(pod_row(pod))
        self._events.append(
            event(
                pod,
                "OOMKilling",
                "Memory cgroup out of memory: Killed process 41 (node)",
                last_timestamp=_rfc3339(at),
            )
        )
        self._events.append(
            event(
                pod,
                "BackOff",
                f"Back-off restarting failed container api in pod {CRASHING_POD}",
                last_timestamp=_rfc3339(at + timedelta(seconds=12)),
            )
        )
        key = (NAMESPACE, CRASHING_POD, "api", False)
        self._logs[(NAMESPACE, CRASHING_POD, "api", True)] = [
            *self._logs.get(key, []),
            '{"level":"error","msg":"JavaScript heap out of memory"}',
        ]
        self._logs[key] = ['{"level":"info","msg":"listening on :3001"}']

    def _snapshot(self, resource: str, items: tuple[object, ...]) -> ResourceSnapshot[object]:
        now = self.clock()
        health = SourceHealth("kubernetes", "ok", checked_at=now, last_success=now, detail=f"demo {resource}")
        return ResourceSnapshot(resource, items, health, now)

    async def events(
        self, namespace: str | None = None, involved: str | None = None, limit: int = 200
    ) -> ResourceSnapshot[KubeEvent]:
        self._advance()
        name = involved.rpartition("/")[2] if involved else None
        rows = [event_row(e) for e in self._events]
        rows = sorted((r for r in rows if name is None or r.involved_name == name), key=event_order)
        return self._snapshot("events", tuple(rows[:limit]))  # type: ignore[return-value]

    async def pod_metrics(self, namespace: str | None = None) -> ResourceSnapshot[PodMetrics]:
        return self._snapshot("pod metrics", tuple(metrics_row(m) for m in self._metrics))  # type: ignore[return-value]

    async def helm_history(
        self, release: str, namespace: str | None = None
    ) -> ResourceSnapshot[HelmRevision]:
        revisions, _ = history_from_secrets([s for s in self._secrets if _release(s) == release])
        return self._snapshot("helm history", revisions)  # type: ignore[return-value]

    async def logs(
        self,
        namespace: str | None,
        pod: str,
        container: str | None = None,
        tail: int = 200,
        previous: bool = False,
    ) -> LogTail:
        lines = self._logs.get((namespace or NAMESPACE, pod, container or "", previous))
        now = self.clock()
        if lines is None:
            words = "previous terminated container" if previous else "container"
            health = SourceHealth(
                "kubernetes",
                "down",
                checked_at=now,
                last_error=f"no {words} {container!r} logs in pod {pod!r} (demo)",
            )
            return LogTail(namespace or NAMESPACE, pod, container, previous, (), False, (), health, None)
        health = SourceHealth("kubernetes", "ok", checked_at=now, last_success=now)
        return LogTail(
            namespace or NAMESPACE,
            pod,
            container,
            previous,
            tuple(lines[-tail:]),
            len(lines) > tail,
            (),
            health,
            now,
        )

    # live triage: the probe's readings, answered from the objects above in the probe's own layout

    async def pods_reading(self, selector: str | None, namespace: str | None = None) -> Reading:
        """`kubectl get pods [-l selector]`, as KubernetesProbe.read_pods_reading prints it."""
        namespace = namespace or NAMESPACE
        what = kubectl(namespace, "get pods", selector)
        items = self._pod_items(namespace, selector)
        if isinstance(items, str):
            return Reading.failed(SOURCE, what, items)
        now = self.clock()
        rows = [pods_columns(pod_row(item), now) for item in items]
        reading = Reading.table(SOURCE, what, POD_COLUMNS, rows, read_at=now, limit=READING_ROWS_MAX)
        return replace(reading, problem=no_pods(namespace, selector)) if not rows else reading

    async def logs_reading(
        self,
        selector: str,
        tail: int,
        namespace: str | None = None,
        container: str | None = None,
        previous: bool = False,
    ) -> Reading:
        """`kubectl logs -l selector --tail=N --prefix`, as KubernetesProbe.read_logs_reading picks pods."""
        namespace = namespace or NAMESPACE
        tail = tail if tail > 0 else LOG_TAIL_MAX
        words = f"logs -l {shlex.quote(selector)} --tail={tail}"
        if container:
            words += f" -c {shlex.quote(container)}"
        what = kubectl(namespace, words + (" --previous" if previous else "") + " --prefix")
        items = self._pod_items(namespace, selector)
        if isinstance(items, str):
            return Reading.failed(SOURCE, what, items)
        chosen = [(item, log_container(item, container)) for item in items]
        if previous:
            chosen = [(item, name) for item, name in chosen if has_previous(item, name)]
        if not chosen:
            why = no_pods(namespace, selector)
            if items:
                why = f"no pod matching -l {selector} has a previous terminated container"
            return Reading.failed(SOURCE, what, why, read_at=self.clock())
        kept = sorted(chosen, key=lambda c: (-restarts(c[0]), _name(c[0])))[:LOGS_PODS_MAX]
        lines: list[str] = []
        problems: list[tuple[str, str]] = []
        truncated = len(chosen) > len(kept)
        for item, name in sorted(kept, key=lambda c: _name(c[0])):
            pod = _name(item)
            logs = await self.logs(namespace, pod, name or None, tail, previous)
            if logs.fetched_at is None:
                problems.append((pod, logs.health.last_error or "cannot read logs"))
                continue
            truncated = truncated or logs.truncated
            lines.extend(f"[pod/{pod}/{name}] {line}" for line in logs.lines)
        if len(problems) == len(kept):
            messages = {message for _, message in problems}
            if len(messages) == 1:
                return Reading.failed(SOURCE, what, messages.pop())
            return Reading.failed(SOURCE, what, "; ".join(f"{pod}: {m}" for pod, m in problems))
        problem = None
        if problems:
            problem = f"logs of {len(problems)} of {len(kept)} pods not read: " + "; ".join(
                f"{pod}: {m}" for pod, m in problems
            )
        reading = Reading.text(SOURCE, what, lines, read_at=self.clock())
        return replace(reading, truncated=truncated, problem=problem)

    async def describe_reading(self, selector: str, namespace: str | None = None) -> Reading:
        """`kubectl describe pod -l selector` through the probe's describe_pod_lines, events included."""
        namespace = namespace or NAMESPACE
        what = kubectl(namespace, "describe pod", selector)
        items = self._pod_items(namespace, selector)
        if isinstance(items, str):
            return Reading.failed(SOURCE, what, items)
        now = self.clock()
        if not items:
            return Reading.failed(SOURCE, what, no_pods(namespace, selector), read_at=now)
        lines: list[str] = []
        for index, item in enumerate(items[:DESCRIBE_PODS_MAX]):
            if index:
                lines += ["", ""]  # kubectl separates described objects so
            lines += describe_pod_lines(item, self._pod_events(namespace, item), now)
        reading = Reading.text(SOURCE, what, lines, read_at=now)
        return replace(reading, truncated=len(items) > DESCRIBE_PODS_MAX)

    async def top_reading(self, selector: str, namespace: str | None = None) -> Reading:
        """`kubectl top pods -l selector` from the lab's PodMetrics, in kubectl top's units."""
        namespace = namespace or NAMESPACE
        what = kubectl(namespace, "top pods", selector)
        items = self._pod_items(namespace, selector)
        if isinstance(items, str):
            return Reading.failed(SOURCE, what, items)
        now = self.clock()
        if not items:
            return Reading.failed(SOURCE, what, no_pods(namespace, selector), read_at=now)
        names = {_name(item) for item in items}
        metrics = sorted(
            (metrics_row(m) for m in self._metrics if _namespace(m) == namespace), key=lambda m: m.name
        )
        rows = [top_columns(m) for m in metrics if m.name in names]
        if not rows:
            return Reading.failed(
                SOURCE, what, f"metrics not available yet for pods matching -l {selector}", read_at=now
            )
        return Reading.table(SOURCE, what, TOP_COLUMNS, rows, read_at=now, limit=READING_ROWS_MAX)

    async def jsonpath_reading(
        self, selector: str | None, jsonpath: str, namespace: str | None = None
    ) -> Reading:
        """`kubectl get pods [-l selector] -o jsonpath=TEMPLATE` over the pods as kubectl prints them."""
        namespace = namespace or NAMESPACE
        what = kubectl(namespace, "get pods", selector) + f" -o jsonpath={shlex.quote(jsonpath)}"
        try:
            template = jsonpath_parse(jsonpath)
        except JsonPathError as exc:
            return Reading.failed(SOURCE, what, str(exc))
        items = self._pod_items(namespace, selector)
        if isinstance(items, str):
            return Reading.failed(SOURCE, what, items)
        now = self.clock()
        body = {"apiVersion": "v1", "kind": "PodList", "items": copy.deepcopy(items)}
        try:
            text = jsonpath_render(template, kubectl_list(body))
        except JsonPathError as exc:
            return Reading.failed(SOURCE, what, f'error executing jsonpath "{jsonpath}": {exc}', read_at=now)
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        lines = [line.expandtabs(8) for line in lines]
        reading = Reading.text(SOURCE, what, lines[:READING_LINES_MAX], read_at=now)
        return replace(reading, truncated=len(lines) > READING_LINES_MAX)

    def _pod_items(self, namespace: str, selector: str | None) -> list[Obj] | str:
        """The pods of a namespace the selector matches, sorted by name, as of now; or why it can't match."""
        self._advance()
        terms = _selector_terms(selector)
        if terms is None:
            return f"the demo cluster matches equality selectors only (app=x,tier=y), not -l {selector}"
        pods = [p for p in self._pods.values() if _namespace(p) == namespace]
        chosen = [p for p in pods if matches((p["metadata"].get("labels") or {}).items(), terms)]
        return sorted(chosen, key=_name)

    def _pod_events(self, namespace: str, pod: Obj) -> list[Obj]:
        """One pod's events, as kubectl describe finds them: by name and kind, then by uid."""
        uid = pod["metadata"].get("uid", "")
        return [
            e
            for e in self._events
            if _namespace(e) == namespace
            and (e.get("involvedObject") or {}).get("kind") == "Pod"
            and (e.get("involvedObject") or {}).get("name") == _name(pod)
            and (not uid or (e.get("involvedObject") or {}).get("uid", "") in ("", uid))
        ]

    def close(self) -> None:
        """Nothing to stop: the demo cluster lives in memory."""


def _release(secret: Obj) -> str:
    return str((secret.get("metadata") or {}).get("labels", {}).get("name", ""))


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _namespace(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("namespace", ""))


def _selector_terms(selector: str | None) -> Selector | None:
    """A label selector's equality terms, parsed as the runbook's `kubectl -l` is; () for all pods."""
    if not selector or not selector.strip():
        return ()
    found = command_selectors(shlex.join(("kubectl", "-l", selector)))
    return found[0] if found else None
