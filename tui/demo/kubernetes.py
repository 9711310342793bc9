"""The demo's cluster: the lab namespace served from memory through the probe's own parsers and cache.

It answers the same calls the app makes of KubernetesProbe, so the Pods, Events, Logs and Deploys
tabs work with no API server, and the checklist's live readings come out in the probe's own kubectl
layout. Its script: an API pod is OOMKilled half a minute into the incident.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from probes import kubernetes as kube  # its models and printers load at the first read (probes.lazy)
from probes.base import Reading, SourceHealth
from probes.kubernetes import KubernetesSettings
from tui.demo.cluster import API_PODS, crash_container, lab_cluster, lab_logs
from tui.demo.kube_objects import NAMESPACE, Obj, event, pod_metrics
from tui.triage.selectors import matches, parse_selector

if TYPE_CHECKING:
    # the informer and the readings load the Kubernetes client library: the demo's first screen (its
    # alerts) doesn't wait for it, they load when the Pods tab starts and at the first reading
    from probes.kubernetes.informer import PodCache

T = TypeVar("T")
CRASH_AFTER = timedelta(seconds=30)  # after the incident's start, the first API pod is OOMKilled
CRASHING_POD = API_PODS[0]
RUN_BEFORE_OOM = timedelta(seconds=20)  # how long each restart of the crashing pod runs before its next OOM
DEMO_CONTEXT = "demo"  # the demo's only kubeconfig context
LOG_EVERY = timedelta(seconds=5)  # a followed demo container logs a new line this often on the scripted clock


def crash_times(first: datetime, now: datetime) -> list[datetime]:
    """When the crashing pod was OOMKilled up to now: the kubelet's back-off doubles from 10s to 5 minutes."""
    times, moment, backoff = [first], first, timedelta(seconds=10)
    while True:
        moment = moment + backoff + RUN_BEFORE_OOM
        if moment > now:
            return times
        times.append(moment)
        backoff = min(backoff * 2, timedelta(minutes=5))


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class DemoKubernetes:
    """Kubernetes for `oncall --demo`, labelled as the demo cluster in its health detail."""

    def __init__(self, anchor: datetime, clock: Callable[[], datetime]) -> None:
        # the demo's cluster opts into Helm history, as a team would with [kubernetes] helm_history = true:
        # its Deploys tab shows the release's revisions (off by default, as reading them takes Secrets)
        self.settings = KubernetesSettings(refresh=2.0, helm_history=True)
        self.anchor = anchor
        self.clock = clock
        objects = lab_cluster(now=clock())
        self._objects = objects
        self._pods = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Pod"}
        self._events = [o for o in objects if o["kind"] == "Event"]
        self._secrets = [o for o in objects if o["kind"] == "Secret"]
        self._metrics = [o for o in objects if o["kind"] == "PodMetrics"]
        self._logs = {
            (ns, pod, container, previous): lines for ns, pod, container, lines, previous in lab_logs()
        }
        self._cache: PodCache | None = None  # made when the pods are first asked for
        self._crashed = False
        self._started = clock()

    @property
    def health(self) -> SourceHealth:
        now = self.clock()
        return SourceHealth("kubernetes", "ok", checked_at=now, last_success=now, detail="demo cluster")

    @property
    def namespace(self) -> str:
        return self.settings.namespace or NAMESPACE

    @property
    def context(self) -> str:
        return DEMO_CONTEXT

    def contexts(self) -> tuple[str, ...]:
        return (DEMO_CONTEXT,)

    def retargeted(self, settings: KubernetesSettings) -> DemoKubernetes:
        """The same scripted cluster seen from another namespace (its objects all live in `production`)."""
        other = copy.copy(self)  # shares the script's objects: this one is dropped by whoever retargets
        other.settings = settings
        other._cache = None
        return other

    def _seen(self, obj: Obj) -> bool:
        """In the namespace looked at (every namespace with `:ns all`)."""
        return self.settings.all_namespaces or _namespace(obj) == self.namespace

    @property
    def cache(self) -> PodCache:
        if self._cache is None:
            from probes.kubernetes.informer import PodCache

            self._cache = PodCache()
        return self._cache

    def start_pods(self) -> PodCache:
        self.cache.replace_all([kube.pod_row(obj) for obj in self._pods.values() if self._seen(obj)], "1")
        self._advance()
        return self.cache

    def _advance(self) -> None:
        """Play the script up to now: the pod crash, with the events a kubelet would report, then the
        crash loop: each restart runs RUN_BEFORE_OOM, is OOMKilled again and waits the kubelet's back-off."""
        at = self.anchor + CRASH_AFTER
        now = self.clock()
        if now < at:
            return
        if not self._crashed:
            self._first_crash(at)
        crashes = crash_times(at, now)
        pod = self._pods[CRASHING_POD]
        restarts = int(pod["status"]["containerStatuses"][0].get("restartCount", 0))
        if len(crashes) > restarts:
            pod = copy.deepcopy(pod)
            for moment in crashes[restarts:]:
                crash_container(pod, reason="OOMKilled", exit_code=137, at=_rfc3339(moment))
            self._pods[CRASHING_POD] = pod
            if self._seen(pod) and self._cache is not None:
                self._cache.upsert(kube.pod_row(pod))

    def _first_crash(self, at: datetime) -> None:
        self._crashed = True
        pod = self._pods[CRASHING_POD]
        # a container waiting in CrashLoopBackOff burns next to no CPU and holds next to no memory
        self._metrics = [
            pod_metrics(pod, NAMESPACE, usage={"api": ("2m", "12Mi")}) if _name(m) == CRASHING_POD else m
            for m in self._metrics
        ]
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

    def _snapshot(self, resource: str, items: tuple[T, ...]) -> kube.ResourceSnapshot[T]:
        now = self.clock()
        health = SourceHealth("kubernetes", "ok", checked_at=now, last_success=now, detail=f"demo {resource}")
        return kube.ResourceSnapshot(resource, items, health, now)

    async def events(
        self, namespace: str | None = None, involved: str | None = None, limit: int = 200
    ) -> kube.ResourceSnapshot[kube.KubeEvent]:
        self._advance()
        name = involved.rpartition("/")[2] if involved else None
        seen = [e for e in self._events if (_namespace(e) == namespace if namespace else self._seen(e))]
        rows = sorted(
            (r for r in map(kube.event_row, seen) if name is None or r.involved_name == name),
            key=kube.event_order,
        )
        return self._snapshot("events", tuple(rows[:limit]))

    def _kind(self, kind: str) -> list[Obj]:
        return [o for o in self._objects if o["kind"] == kind]

    async def nodes(self) -> kube.ResourceSnapshot[kube.NodeRow]:
        return self._snapshot(
            "nodes", tuple(sorted((kube.node_row(o) for o in self._kind("Node")), key=lambda n: n.name))
        )

    async def hpas(self, namespace: str | None = None) -> kube.ResourceSnapshot[kube.HpaRow]:
        rows = sorted((kube.hpa_row(o) for o in self._kind("HorizontalPodAutoscaler")), key=lambda h: h.name)
        return self._snapshot("hpas", tuple(rows))

    async def pvcs(
        self, label_selector: str | None = None, namespace: str | None = None
    ) -> kube.ResourceSnapshot[kube.PvcRow]:
        terms = parse_selector(label_selector) or ()
        rows = sorted(
            (
                kube.pvc_row(o)
                for o in self._kind("PersistentVolumeClaim")
                if matches((o["metadata"].get("labels") or {}).items(), terms)
            ),
            key=lambda p: p.name,
        )
        return self._snapshot("pvcs", tuple(rows))

    async def services(self, namespace: str | None = None) -> kube.ResourceSnapshot[kube.ServiceRow]:
        rows = sorted((kube.service_row(o) for o in self._kind("Service")), key=lambda r: r.name)
        return self._snapshot("services", tuple(rows))

    async def network_policies(
        self, namespace: str | None = None
    ) -> kube.ResourceSnapshot[kube.NetworkPolicyRow]:
        rows = sorted((kube.network_policy_row(o) for o in self._kind("NetworkPolicy")), key=lambda r: r.name)
        return self._snapshot("network policies", tuple(rows))

    async def pod_metrics(self, namespace: str | None = None) -> kube.ResourceSnapshot[kube.PodMetrics]:
        seen = [m for m in self._metrics if (_namespace(m) == namespace if namespace else self._seen(m))]
        return self._snapshot("pod metrics", tuple(kube.metrics_row(m) for m in seen))

    async def helm_history(
        self, release: str, namespace: str | None = None
    ) -> kube.ResourceSnapshot[kube.HelmRevision]:
        if not self.settings.helm_history:
            from probes.kubernetes.helm import helm_history_off

            return helm_history_off(self.clock())
        where = namespace or self.namespace
        releases = [s for s in self._secrets if _release(s) == release and _namespace(s) == where]
        revisions, _ = kube.history_from_secrets(releases)
        return self._snapshot("helm history", revisions)

    async def logs(
        self,
        namespace: str | None,
        pod: str,
        container: str | None = None,
        tail: int = 200,
        previous: bool = False,
    ) -> kube.LogTail:
        return self._read_logs(namespace, pod, container, tail, previous)

    def _read_logs(
        self, namespace: str | None, pod: str, container: str | None, tail: int, previous: bool
    ) -> kube.LogTail:
        self._advance()
        lines = self._logs.get((namespace or NAMESPACE, pod, container or "", previous))
        now = self.clock()
        if lines is not None and not previous:
            lines = [*lines, *self._ticking_lines(pod, now)]
        if lines is None:
            words = "previous terminated container" if previous else "container"
            health = SourceHealth(
                "kubernetes",
                "down",
                checked_at=now,
                last_error=f"no {words} {container!r} logs in pod {pod!r} (demo)",
            )
            return kube.LogTail(namespace or NAMESPACE, pod, container, previous, (), False, (), health, None)
        health = SourceHealth("kubernetes", "ok", checked_at=now, last_success=now)
        return kube.LogTail(
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

    def _ticking_lines(self, pod: str, now: datetime) -> list[str]:
        """The lines a running container logged since the demo started, one per LOG_EVERY of its clock."""
        count = max(0, int((now - self._started) / LOG_EVERY))
        first = max(0, count - 500)  # no follow keeps more than a tail
        return [
            f'{{"level":"info","msg":"GET /healthz 200","pod":"{pod}","seq":{i + 1},'
            f'"time":"{_rfc3339(self._started + LOG_EVERY * (i + 1))}"}}'
            for i in range(first, count)
        ]

    # live triage: the probe's readings, answered from the objects above by the probe's own steps

    async def pods_reading(self, selector: str | None, namespace: str | None = None) -> Reading:
        """`kubectl get pods [-l selector]`, as KubernetesProbe.read_pods_reading prints it."""
        from probes.kubernetes.readings import pods_reading_from

        namespace = namespace or NAMESPACE
        what = kube.kubectl(namespace, "get pods", selector)
        return pods_reading_from(what, namespace, selector, self._pod_items(namespace, selector), self.clock)

    async def logs_reading(
        self,
        selector: str,
        tail: int,
        namespace: str | None = None,
        container: str | None = None,
        previous: bool = False,
    ) -> Reading:
        """`kubectl logs -l selector --tail=N --prefix`, as KubernetesProbe.read_logs_reading picks pods."""
        from probes.kubernetes.readings import logs_reading_from

        namespace = namespace or NAMESPACE
        what, tail = kube.logs_command(namespace, selector, tail, container, previous)
        return logs_reading_from(
            what,
            namespace,
            selector,
            self._pod_items(namespace, selector),
            container,
            previous,
            lambda pod, name: self._read_logs(namespace, pod, name, tail, previous),
            self.clock,
        )

    async def describe_reading(self, selector: str, namespace: str | None = None) -> Reading:
        """`kubectl describe pod -l selector` through the probe's describe_pod_lines, events included."""
        from probes.kubernetes.readings import describe_reading_from

        namespace = namespace or NAMESPACE
        what = kube.kubectl(namespace, "describe pod", selector)
        items = self._pod_items(namespace, selector)
        return describe_reading_from(
            what, namespace, selector, items, lambda pod: self._pod_events(namespace, pod), self.clock
        )

    async def top_reading(self, selector: str, namespace: str | None = None) -> Reading:
        """`kubectl top pods -l selector` from the lab's PodMetrics, in kubectl top's units."""
        from probes.kubernetes.readings import top_reading_from

        namespace = namespace or NAMESPACE
        what = kube.kubectl(namespace, "top pods", selector)
        items = self._pod_items(namespace, selector)
        metrics = [kube.metrics_row(m) for m in self._metrics if _namespace(m) == namespace]
        return top_reading_from(what, namespace, selector, items, metrics, self.clock)

    async def jsonpath_reading(
        self, selector: str | None, jsonpath: str, namespace: str | None = None
    ) -> Reading:
        """`kubectl get pods [-l selector] -o jsonpath=TEMPLATE` over the pods as kubectl prints them."""
        from probes.kubernetes.readings import jsonpath_reading_from

        namespace = namespace or NAMESPACE

        def pod_list() -> Obj | str:
            items = self._pod_items(namespace, selector)
            if isinstance(items, str):
                return items
            return {"apiVersion": "v1", "kind": "PodList", "items": copy.deepcopy(items)}

        what = kube.jsonpath_command(namespace, selector, jsonpath)
        return jsonpath_reading_from(what, jsonpath, pod_list, self.clock)

    def _pod_items(self, namespace: str, selector: str | None) -> list[Obj] | str:
        """The pods of a namespace the selector matches, sorted by name, as of now; or why it can't match."""
        self._advance()
        terms = parse_selector(selector)
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
