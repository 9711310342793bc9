"""The Kubernetes source: `KubernetesProbe`, what the app, the CLI and the triage runner hold.

It reads one cluster through an `ApiConnection` (the `client` module): pods are watched by a `PodInformer`
into a cache the UI draws from; events, logs, nodes, HPAs, PVCs, services, network policies, pod metrics
and Helm history are plain reads that each keep their own health, so a 403 on one marks only its panel;
a runbook's kubectl commands are read as Readings by the `readings` module. Nothing here raises. The
sync `read_*` methods block (for threads and tools); the async ones run them off the event loop.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from probes.base import Reading, SourceHealth, utc_now
from probes.kubernetes import readings
from probes.kubernetes.access import AccessAnswers, access_notes
from probes.kubernetes.client import (
    SOURCE,
    ApiConnection,
    ClusterTarget,
    ReadError,
    ReadOnlyApiClient,
    api_path,
    kubeconfig_contexts,
    log_problem,
    server_message,
)
from probes.kubernetes.helm import (
    HELM_ROLE_EXAMPLE,
    HelmRevision,
    helm_history_off,
    history_from_secrets,
    release_selector,
)
from probes.kubernetes.informer import WATCH_SECONDS, PodCache, PodInformer
from probes.kubernetes.plain import PlainReads
from probes.kubernetes.printers import jsonpath_command, kubectl, logs_command
from probes.kubernetes.resources import (
    LOG_BYTES_MAX,
    LOG_TAIL_MAX,
    HpaRow,
    KubeEvent,
    LogTail,
    NetworkPolicyRow,
    NodeRow,
    PodMetrics,
    PvcRow,
    ResourceSnapshot,
    ServiceRow,
    event_order,
    event_row,
    hpa_row,
    metrics_row,
    network_policy_row,
    node_row,
    pvc_row,
    service_row,
)
from probes.kubernetes.rows import PodRow, pod_row

if TYPE_CHECKING:
    from probes.kubernetes.settings import KubernetesSettings


class KubernetesProbe(PlainReads):
    """Reads one cluster through a read-only client: pods are watched, the rest are plain reads."""

    def __init__(
        self,
        settings: KubernetesSettings,
        *,
        env: Mapping[str, str] = os.environ,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(ApiConnection(settings, env), clock)  # sends nothing: no request until a read
        self.settings = settings
        self._env = env
        self._informer: PodInformer | None = None

    # connection and lifecycle

    def connect(self) -> SourceHealth:
        """Build the client from the settings (no request is sent); the result is the config's health."""
        self.close()
        self._conn = ApiConnection(self.settings, self._env)
        return self.health

    @property
    def target(self) -> ClusterTarget | None:
        return self._conn.target

    @property
    def namespace(self) -> str:
        return self.target.namespace if self.target else (self.settings.namespace or "default")

    @property
    def context(self) -> str | None:
        return self.target.context if self.target else self.settings.context

    def contexts(self) -> tuple[str, ...]:
        """The kubeconfig's contexts (none in cluster, or without a usable kubeconfig)."""
        return () if self.settings.in_cluster else kubeconfig_contexts(self.settings, self._env)

    def retargeted(self, settings: KubernetesSettings) -> KubernetesProbe:
        """A probe of its own for another context or namespace: this one keeps reading until closed."""
        return KubernetesProbe(settings, env=self._env, clock=self._clock)

    @property
    def api_client(self) -> ReadOnlyApiClient | None:
        return self._conn.api

    @property
    def health(self) -> SourceHealth:
        """The source's overall health: the config, then the pod watch when one runs."""
        if self._conn.problem is not None:
            problem = self._conn.problem
            if problem.state == "not-configured":
                return SourceHealth.not_configured(SOURCE, str(problem))
            return SourceHealth(
                source=SOURCE, state="down", checked_at=self._clock(), last_error=str(problem)
            )
        if self._informer is not None:
            watch = self._informer.health
            with self._lock:
                unreachable = self._unreachable
            # an open watch on a server that stopped answering looks fine until its read timeout (half a
            # minute); a plain read it has not answered since the watch was last known good says so now
            heard = self._informer.heard_at
            if (
                unreachable is not None
                and watch.state == "ok"
                and unreachable.checked_at is not None
                and heard is not None
                and unreachable.checked_at > heard
            ):
                return replace(unreachable, last_success=heard, detail=watch.detail)
            return watch
        return self._health.get("pods") or SourceHealth(source=SOURCE, state="ok", endpoint=self.endpoint)

    def close(self) -> None:
        self.stop_pods()
        self._conn.close()

    def __enter__(self) -> KubernetesProbe:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # pods

    def start_pods(
        self,
        namespace: str | None = None,
        *,
        all_namespaces: bool = False,
        label_selector: str | None = None,
        watch_seconds: int = WATCH_SECONDS,
    ) -> PodCache:
        """Start the pod informer (once); the returned cache fills as the list arrives."""
        if self._informer is not None:
            return self._informer.cache
        if self._conn.api is None or self.target is None:
            return PodCache()
        all_namespaces = all_namespaces or self.settings.all_namespaces
        self._informer = PodInformer(
            self._conn.api,
            self.target,
            namespace=None if all_namespaces else (namespace or self.namespace),
            label_selector=label_selector,
            timeout=self.settings.timeout,
            watch_seconds=watch_seconds,
            clock=self._clock,
            backoff_max=self.settings.backoff_max,
        ).start()
        return self._informer.cache

    @property
    def informer(self) -> PodInformer | None:
        return self._informer

    @property
    def pods(self) -> PodCache | None:
        return self._informer.cache if self._informer else None

    def stop_pods(self, timeout: float = 2.0) -> None:
        if self._informer is not None:
            self._informer.stop(timeout)
            self._informer = None

    def read_pods(
        self, namespace: str | None = None, label_selector: str | None = None
    ) -> ResourceSnapshot[PodRow]:
        """One plain list of pods, for one-shot reports; the UI watches through start_pods instead."""

        def read() -> tuple[PodRow, ...]:
            body = self._conn.get_json(
                api_path("api", "v1", "namespaces", namespace or self.namespace, "pods"),
                "pods",
                labelSelector=label_selector,
            )
            rows = (pod_row(item) for item in body.get("items") or [])
            return tuple(sorted(rows, key=lambda r: (r.namespace, r.name)))

        return self._read("pods", read)

    async def list_pods(
        self, namespace: str | None = None, label_selector: str | None = None
    ) -> ResourceSnapshot[PodRow]:
        return await asyncio.to_thread(self.read_pods, namespace, label_selector)

    # check: what `oncall check` runs

    def read_check(self) -> SourceHealth:
        """The server's version and one pod (reachability, credentials, the right to list pods), then what the
        role may do: degraded, with warnings, when it can read Secrets it does not need, can't read those Helm
        history needs, or can do more than read."""
        started = time.perf_counter()
        try:
            version = self._conn.get_path("/version")
            self._conn.get_json(
                api_path("api", "v1", "namespaces", self.namespace, "pods"), "pods", limit=1
            )  # the body is not needed: the 200 is the proof
        except Exception as exc:
            if self._conn.problem is not None:
                return self.health
            error = self._conn.explain(exc)
            return SourceHealth(
                source=SOURCE,
                state=error.state,
                checked_at=self._clock(),
                last_error=str(error),
                endpoint=self.endpoint,
            )
        latency = time.perf_counter() - started
        warnings, notes = access_notes(self.read_access(), self.settings.helm_history)
        now = self._clock()
        git = version.get("gitVersion", "?") if isinstance(version, dict) else "?"
        context = f"context {self.target.context}, " if self.target and self.target.context else ""
        detail = f"Kubernetes {git} ({context}namespace {self.namespace}); pods readable"
        helm = "Helm history on" if self.settings.helm_history else "Helm history off"
        return SourceHealth(
            source=SOURCE,
            state="degraded" if warnings else "ok",
            checked_at=now,
            last_success=now,
            latency=latency,
            last_error="; ".join(warnings) or None,
            detail="; ".join([detail, helm, *notes]),
            endpoint=self.endpoint,
        )

    def read_access(self) -> AccessAnswers:
        """What the role may do in the namespace, from the API server's two self-reviews (what `kubectl auth
        can-i` asks): may it list secrets, and all its rules. Only `oncall check` asks; a review the server
        refuses or doesn't know (403, an old server) is a note, not a failure."""
        namespace = self.namespace
        problems: list[str] = []
        secrets: bool | None = None
        rules: dict[str, Any] | None = None
        attributes = {"namespace": namespace, "verb": "list", "group": "", "resource": "secrets"}
        try:
            status = self._conn.review("SelfSubjectAccessReview", {"resourceAttributes": attributes})
            secrets = status.get("allowed") is True and status.get("denied") is not True
        except Exception as exc:
            problems.append(f"could not ask whether the role may list secrets ({self._conn.explain(exc)})")
        try:
            rules = self._conn.review("SelfSubjectRulesReview", {"namespace": namespace})
        except Exception as exc:
            problems.append(f"could not list the role's rules ({self._conn.explain(exc)})")
        return AccessAnswers(namespace, secrets, rules, tuple(problems))

    async def check(self) -> SourceHealth:
        return await asyncio.to_thread(self.read_check)

    # events

    def read_events(
        self, namespace: str | None = None, involved: str | None = None, limit: int = 200
    ) -> ResourceSnapshot[KubeEvent]:
        """Events, warnings first then newest; `involved` is a pod (or "Kind/name") to narrow to."""
        selector = None
        if involved:
            kind, _, name = involved.rpartition("/")
            selector = f"involvedObject.name={name}" + (f",involvedObject.kind={kind}" if kind else "")

        def read() -> tuple[KubeEvent, ...]:
            if namespace is None and self.settings.all_namespaces:
                path = api_path("api", "v1", "events")
            else:
                path = api_path("api", "v1", "namespaces", namespace or self.namespace, "events")
            body = self._conn.get_json(path, "events", fieldSelector=selector)
            events = [event_row(item) for item in body.get("items") or []]
            events.sort(key=event_order)
            return tuple(events[: max(0, limit)])

        return self._read("events", read)

    async def events(
        self, namespace: str | None = None, involved: str | None = None, limit: int = 200
    ) -> ResourceSnapshot[KubeEvent]:
        return await asyncio.to_thread(self.read_events, namespace, involved, limit)

    # logs

    def read_logs(
        self,
        namespace: str | None,
        pod: str,
        container: str | None = None,
        tail: int = 200,
        previous: bool = False,
    ) -> LogTail:
        """The last `tail` lines (at most LOG_TAIL_MAX) of a container, or of its previous instance."""
        namespace = namespace or self.namespace
        tail = max(1, min(tail, LOG_TAIL_MAX))
        started = time.perf_counter()
        containers: tuple[str, ...] = ()
        try:
            kwargs: dict[str, Any] = {
                "tail_lines": tail,
                "limit_bytes": LOG_BYTES_MAX,
                "_preload_content": False,
                "_request_timeout": self._conn.request_timeout(),
            }
            if container:
                kwargs["container"] = container
            if previous:
                kwargs["previous"] = True
            # raw bytes (not preloaded): the generated method's declared `str` is not what comes back
            response: Any = k8s.CoreV1Api(self._conn.client()).read_namespaced_pod_log(
                pod, namespace, **kwargs
            )
            data = response.data
        except Exception as exc:
            error = self._conn.explain(exc)
            message = str(error)
            if isinstance(exc, ApiException) and exc.status == 400:
                message, containers = log_problem(server_message(exc), pod, previous)
            health = self._failed_health("logs", error.state, message)
            return LogTail(namespace, pod, container, previous, (), False, containers, health, None)
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
        lines = text.splitlines()
        truncated = len(lines) > tail or len(data) >= LOG_BYTES_MAX
        lines = lines[-tail:]
        what = f"{len(lines)} line{'s' if len(lines) != 1 else ''}" + (" (previous)" if previous else "")
        health = self._ok_health("logs", what, time.perf_counter() - started)
        return LogTail(
            namespace, pod, container, previous, tuple(lines), truncated, (), health, health.last_success
        )

    async def logs(
        self,
        namespace: str | None,
        pod: str,
        container: str | None = None,
        tail: int = 200,
        previous: bool = False,
    ) -> LogTail:
        return await asyncio.to_thread(self.read_logs, namespace, pod, container, tail, previous)

    # cluster objects

    def read_nodes(self) -> ResourceSnapshot[NodeRow]:
        def read() -> tuple[NodeRow, ...]:
            body = self._conn.json(k8s.CoreV1Api(self._conn.client()).list_node, "nodes")
            return tuple(sorted((node_row(item) for item in body.get("items") or []), key=lambda n: n.name))

        return self._read("nodes", read)

    async def nodes(self) -> ResourceSnapshot[NodeRow]:
        return await asyncio.to_thread(self.read_nodes)

    def read_hpas(self, namespace: str | None = None) -> ResourceSnapshot[HpaRow]:
        return self._listed(
            "hpas",
            lambda c: k8s.AutoscalingV2Api(c).list_namespaced_horizontal_pod_autoscaler,
            "horizontalpodautoscalers",
            hpa_row,
            namespace,
        )

    async def hpas(self, namespace: str | None = None) -> ResourceSnapshot[HpaRow]:
        return await asyncio.to_thread(self.read_hpas, namespace)

    def read_pvcs(
        self, label_selector: str | None = None, namespace: str | None = None
    ) -> ResourceSnapshot[PvcRow]:
        return self._listed(
            "pvcs",
            lambda c: k8s.CoreV1Api(c).list_namespaced_persistent_volume_claim,
            "persistentvolumeclaims",
            pvc_row,
            namespace,
            label_selector=label_selector,
        )

    async def pvcs(
        self, label_selector: str | None = None, namespace: str | None = None
    ) -> ResourceSnapshot[PvcRow]:
        return await asyncio.to_thread(self.read_pvcs, label_selector, namespace)

    def read_services(self, namespace: str | None = None) -> ResourceSnapshot[ServiceRow]:
        return self._listed(
            "services", lambda c: k8s.CoreV1Api(c).list_namespaced_service, "services", service_row, namespace
        )

    async def services(self, namespace: str | None = None) -> ResourceSnapshot[ServiceRow]:
        return await asyncio.to_thread(self.read_services, namespace)

    def read_network_policies(self, namespace: str | None = None) -> ResourceSnapshot[NetworkPolicyRow]:
        return self._listed(
            "network policies",
            lambda c: k8s.NetworkingV1Api(c).list_namespaced_network_policy,
            "networkpolicies",
            network_policy_row,
            namespace,
        )

    async def network_policies(self, namespace: str | None = None) -> ResourceSnapshot[NetworkPolicyRow]:
        return await asyncio.to_thread(self.read_network_policies, namespace)

    def read_pod_metrics(self, namespace: str | None = None) -> ResourceSnapshot[PodMetrics]:
        """CPU and memory per pod from metrics.k8s.io; without metrics-server that's a state, not an error."""

        def read() -> tuple[PodMetrics, ...]:
            try:
                if namespace is None and self.settings.all_namespaces:
                    path = api_path("apis", "metrics.k8s.io", "v1beta1", "pods")
                else:
                    path = api_path(
                        "apis", "metrics.k8s.io", "v1beta1", "namespaces", namespace or self.namespace, "pods"
                    )
                body = self._conn.get_json(path, "pods.metrics.k8s.io")
            except ApiException as exc:
                if exc.status == 404:
                    raise ReadError("metrics-server not installed", "not-configured", 404) from None
                if exc.status == 503:
                    raise ReadError(
                        f"metrics-server not answering: {server_message(exc)}", "down", 503
                    ) from None
                raise
            return tuple(sorted((metrics_row(i) for i in body.get("items") or []), key=lambda m: m.name))

        return self._read("pod metrics", read)

    async def pod_metrics(self, namespace: str | None = None) -> ResourceSnapshot[PodMetrics]:
        return await asyncio.to_thread(self.read_pod_metrics, namespace)

    def read_helm_history(self, release: str, namespace: str | None = None) -> ResourceSnapshot[HelmRevision]:
        """A release's revisions, newest first, from its Secrets (the Helm 3 default storage); with
        helm_history off (the default) nothing is sent, and the snapshot says why and how to turn it on."""
        if not self.settings.helm_history:
            return helm_history_off(self._clock())

        def read() -> tuple[HelmRevision, ...]:
            try:
                body = self._conn.get_json(
                    api_path("api", "v1", "namespaces", namespace or self.namespace, "secrets"),
                    "secrets",
                    labelSelector=release_selector(release),
                )
            except ApiException as exc:
                if exc.status == 403:  # helm_history is on, the role is not: say which role would do
                    message = f"forbidden: {server_message(exc)}; Helm history needs {HELM_ROLE_EXAMPLE}"
                    raise ReadError(message, "forbidden", 403) from None
                raise
            revisions, skipped = history_from_secrets(body.get("items") or [])
            if skipped and not revisions:
                raise ReadError(f"{skipped} Helm release secrets of {release} could not be decoded")
            return revisions

        return self._read("helm history", read)

    async def helm_history(
        self, release: str, namespace: str | None = None
    ) -> ResourceSnapshot[HelmRevision]:
        return await asyncio.to_thread(self.read_helm_history, release, namespace)

    # live triage: a runbook's kubectl command as a Reading (the `readings` module reads and shapes it)

    def read_pods_reading(self, selector: str | None, namespace: str | None = None) -> Reading:
        """`kubectl get pods [-l selector]`: NAME, READY, STATUS, RESTARTS, AGE as kubectl prints them."""
        namespace = namespace or self.namespace
        what = kubectl(namespace, "get pods", selector)
        return readings.read_pods_reading(self._conn, what, namespace, selector, self._clock)

    async def pods_reading(self, selector: str | None, namespace: str | None = None) -> Reading:
        return await asyncio.to_thread(self.read_pods_reading, selector, namespace)

    def read_logs_reading(
        self,
        selector: str,
        tail: int,
        namespace: str | None = None,
        container: str | None = None,
        previous: bool = False,
    ) -> Reading:
        """`kubectl logs -l selector --tail=N --prefix`: a few pods' last `tail` lines each."""
        namespace = namespace or self.namespace
        what, tail = logs_command(namespace, selector, tail, container, previous)

        def tail_of(pod: str, name: str | None) -> LogTail:
            return self.read_logs(namespace, pod, name, tail, previous)

        return readings.read_logs_reading(
            self._conn, what, namespace, selector, container, previous, tail_of, self._clock
        )

    async def logs_reading(
        self,
        selector: str,
        tail: int,
        namespace: str | None = None,
        container: str | None = None,
        previous: bool = False,
    ) -> Reading:
        return await asyncio.to_thread(self.read_logs_reading, selector, tail, namespace, container, previous)

    def read_describe_reading(self, selector: str, namespace: str | None = None) -> Reading:
        """`kubectl describe pod -l selector`, the lines that matter in triage, in kubectl's layout."""
        namespace = namespace or self.namespace
        what = kubectl(namespace, "describe pod", selector)
        return readings.read_describe_reading(self._conn, what, namespace, selector, self._clock)

    async def describe_reading(self, selector: str, namespace: str | None = None) -> Reading:
        return await asyncio.to_thread(self.read_describe_reading, selector, namespace)

    def read_top_reading(self, selector: str, namespace: str | None = None) -> Reading:
        """`kubectl top pods -l selector`: NAME, CPU(cores), MEMORY(bytes) from metrics.k8s.io."""
        namespace = namespace or self.namespace
        what = kubectl(namespace, "top pods", selector)
        return readings.read_top_reading(self._conn, what, namespace, selector, self._clock)

    async def top_reading(self, selector: str, namespace: str | None = None) -> Reading:
        return await asyncio.to_thread(self.read_top_reading, selector, namespace)

    def read_jsonpath_reading(
        self, selector: str | None, jsonpath: str, namespace: str | None = None
    ) -> Reading:
        """`kubectl get pods [-l selector] -o jsonpath=TEMPLATE`: the same text, as lines, tabs expanded."""
        namespace = namespace or self.namespace
        what = jsonpath_command(namespace, selector, jsonpath)
        return readings.read_jsonpath_reading(self._conn, what, namespace, selector, jsonpath, self._clock)

    async def jsonpath_reading(
        self, selector: str | None, jsonpath: str, namespace: str | None = None
    ) -> Reading:
        return await asyncio.to_thread(self.read_jsonpath_reading, selector, jsonpath, namespace)
