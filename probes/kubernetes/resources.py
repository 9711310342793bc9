"""What the probe's plain reads return: a `ResourceSnapshot` of typed rows (events, nodes, HPAs, PVCs,
services, network policies, pod metrics) with the read's own health, and a container's `LogTail`.

Each `*_row` builder turns one object's JSON, as the API server sends it, into its row, with the columns
kubectl would print (a node's STATUS, an HPA's TARGETS); a missing field is an empty value, never an error.
Pods have their own module, `rows`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from probes.base import SourceHealth
from probes.kubernetes.rows import Labels, as_dict, as_int, as_labels, as_text, parse_quantity, parse_time
from probes.redact import redact_text

T = TypeVar("T")


@dataclass(frozen=True)
class ResourceSnapshot(Generic[T]):
    """One read of one resource; a failure keeps the last items, marked by health, for that panel only."""

    resource: str  # "events", "nodes", "pod metrics", ...
    items: tuple[T, ...]
    health: SourceHealth
    fetched_at: datetime | None  # when `items` were read; older than health.checked_at when stale


@dataclass(frozen=True, slots=True)
class KubeEvent:
    namespace: str
    type: str  # "Warning" or "Normal"
    reason: str  # "BackOff", "OOMKilling", "FailedScheduling", ...
    message: str
    object: str  # "Pod/inmidst-api-7d9f-abcde"
    involved_kind: str
    involved_name: str
    count: int
    first_seen: datetime | None
    last_seen: datetime | None
    source: str  # the component that reported it, e.g. "kubelet"


@dataclass(frozen=True, slots=True)
class NodeRow:
    name: str
    ready: str  # "True", "False" or "Unknown"
    memory_pressure: bool
    disk_pressure: bool
    pid_pressure: bool
    unschedulable: bool
    roles: tuple[str, ...]
    kubelet_version: str
    cpu_allocatable: float | None  # cores
    memory_allocatable: float | None  # bytes
    created_at: datetime | None
    conditions: tuple[tuple[str, str, str], ...]  # (type, status, message)

    @property
    def status(self) -> str:
        """kubectl's STATUS column: Ready / NotReady / Unknown, with SchedulingDisabled."""
        words = {"True": "Ready", "False": "NotReady"}.get(self.ready, "Unknown")
        return f"{words},SchedulingDisabled" if self.unschedulable else words


@dataclass(frozen=True, slots=True)
class HpaRow:
    namespace: str
    name: str
    target: str  # "Deployment/inmidst-api"
    min_replicas: int
    max_replicas: int
    current_replicas: int
    desired_replicas: int
    metrics: str  # kubectl's TARGETS column, e.g. "cpu: 85%/70%"
    at_max: bool  # scaled out as far as it may: more load will not add pods


@dataclass(frozen=True, slots=True)
class PvcRow:
    namespace: str
    name: str
    phase: str  # Bound, Pending, Lost
    volume: str
    capacity: str
    access_modes: tuple[str, ...]
    storage_class: str
    labels: Labels


@dataclass(frozen=True, slots=True)
class ServiceRow:
    namespace: str
    name: str
    type: str
    cluster_ip: str
    ports: str  # "80/TCP,5432/TCP"
    selector: Labels


@dataclass(frozen=True, slots=True)
class NetworkPolicyRow:
    namespace: str
    name: str
    pod_selector: str  # "app=inmidst-api", or "<all pods>"
    policy_types: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PodMetrics:
    namespace: str
    name: str
    cpu: float  # cores
    memory: float  # bytes
    containers: tuple[tuple[str, float, float], ...]  # (name, cores, bytes)
    timestamp: datetime | None


LOG_TAIL_MAX = 5000  # lines: a larger tail would make the log view the slowest thing on screen
LOG_BYTES_MAX = 4 * 1024 * 1024  # a chatty pod's 5000 lines of 10 kB must not fill the memory


@dataclass(frozen=True)
class LogTail:
    namespace: str
    pod: str
    container: str | None
    previous: bool
    lines: tuple[str, ...]
    truncated: bool  # the server sent more than the bound; the oldest lines were dropped
    containers: tuple[str, ...]  # when the pod has several and none was named: the ones to choose from
    health: SourceHealth
    fetched_at: datetime | None


# --- JSON to rows -----------------------------------------------------------------------------


def event_row(item: dict[str, Any]) -> KubeEvent:
    metadata = as_dict(item.get("metadata"))
    involved = as_dict(item.get("involvedObject"))
    series = as_dict(item.get("series"))
    source = as_dict(item.get("source"))
    last = (
        parse_time(series.get("lastObservedTime"))
        or parse_time(item.get("lastTimestamp"))
        or parse_time(item.get("eventTime"))
        or parse_time(metadata.get("creationTimestamp"))
    )
    first = parse_time(item.get("firstTimestamp")) or parse_time(item.get("eventTime")) or last
    kind, name = as_text(involved.get("kind")), as_text(involved.get("name"))
    return KubeEvent(
        namespace=as_text(metadata.get("namespace")),
        type=as_text(item.get("type")) or "Normal",
        reason=as_text(item.get("reason")),
        # a failed probe's output, a kubelet error: may quote a URL or token as the process printed it
        message=redact_text(as_text(item.get("message")).strip()),
        object=f"{kind}/{name}" if kind else name,
        involved_kind=kind,
        involved_name=name,
        count=as_int(series.get("count")) or as_int(item.get("count")) or 1,
        first_seen=first,
        last_seen=last,
        source=as_text(source.get("component")) or as_text(item.get("reportingComponent")),
    )


def event_order(event: KubeEvent) -> tuple[int, float]:
    newest = -(event.last_seen.timestamp() if event.last_seen else 0.0)
    return (0 if event.type == "Warning" else 1, newest)


def node_row(item: dict[str, Any]) -> NodeRow:
    metadata = as_dict(item.get("metadata"))
    status = as_dict(item.get("status"))
    conditions = {as_text(as_dict(c).get("type")): as_dict(c) for c in status.get("conditions") or []}
    labels = as_dict(metadata.get("labels"))
    roles = tuple(
        sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/") and "/" in k)
    )
    allocatable = as_dict(status.get("allocatable"))

    def pressed(kind: str) -> bool:
        return as_text(conditions.get(kind, {}).get("status")) == "True"

    return NodeRow(
        name=as_text(metadata.get("name")),
        ready=as_text(conditions.get("Ready", {}).get("status")) or "Unknown",
        memory_pressure=pressed("MemoryPressure"),
        disk_pressure=pressed("DiskPressure"),
        pid_pressure=pressed("PIDPressure"),
        unschedulable=as_dict(item.get("spec")).get("unschedulable") is True,
        roles=roles,
        kubelet_version=as_text(as_dict(status.get("nodeInfo")).get("kubeletVersion")),
        cpu_allocatable=parse_quantity(allocatable.get("cpu")),
        memory_allocatable=parse_quantity(allocatable.get("memory")),
        created_at=parse_time(metadata.get("creationTimestamp")),
        conditions=tuple(
            (kind, as_text(c.get("status")), as_text(c.get("message")))
            for kind, c in sorted(conditions.items())
        ),
    )


def _hpa_metric(spec: dict[str, Any], current: dict[str, Any] | None) -> str:
    """One entry of kubectl's TARGETS column for autoscaling/v2, e.g. "cpu: 85%/70%"."""
    kind = as_text(spec.get("type"))
    body = as_dict(spec.get(_camel(kind)))
    now = as_dict((current or {}).get(_camel(kind)))
    name = as_text(as_dict(body.get("metric")).get("name")) or as_text(body.get("name"))
    target = as_dict(body.get("target"))
    value = as_dict(now.get("current"))
    if as_text(target.get("type")) == "Utilization":
        have = value.get("averageUtilization")
        shown = f"{have}%" if have is not None else "<unknown>"
        return f"{name}: {shown}/{target.get('averageUtilization')}%"
    want = target.get("averageValue") or target.get("value")
    have = value.get("averageValue") or value.get("value")
    return f"{name}: {have if have is not None else '<unknown>'}/{want}"


def _camel(kind: str) -> str:
    return kind[:1].lower() + kind[1:] if kind else ""


def hpa_row(item: dict[str, Any]) -> HpaRow:
    metadata = as_dict(item.get("metadata"))
    spec = as_dict(item.get("spec"))
    status = as_dict(item.get("status"))
    ref = as_dict(spec.get("scaleTargetRef"))
    specs = [as_dict(m) for m in spec.get("metrics") or []]
    currents = [as_dict(m) for m in status.get("currentMetrics") or []]
    metrics = ", ".join(
        _hpa_metric(m, currents[i] if i < len(currents) else None) for i, m in enumerate(specs)
    )
    maximum = as_int(spec.get("maxReplicas"))
    current = as_int(status.get("currentReplicas"))
    return HpaRow(
        namespace=as_text(metadata.get("namespace")),
        name=as_text(metadata.get("name")),
        target=f"{as_text(ref.get('kind'))}/{as_text(ref.get('name'))}",
        min_replicas=as_int(spec.get("minReplicas")) or 1,
        max_replicas=maximum,
        current_replicas=current,
        desired_replicas=as_int(status.get("desiredReplicas")),
        metrics=metrics or "<none>",
        at_max=maximum > 0 and current >= maximum,
    )


def pvc_row(item: dict[str, Any]) -> PvcRow:
    metadata = as_dict(item.get("metadata"))
    spec = as_dict(item.get("spec"))
    status = as_dict(item.get("status"))
    capacity = as_dict(status.get("capacity")).get("storage") or as_dict(
        as_dict(spec.get("resources")).get("requests")
    ).get("storage")
    return PvcRow(
        namespace=as_text(metadata.get("namespace")),
        name=as_text(metadata.get("name")),
        phase=as_text(status.get("phase")) or "Pending",
        volume=as_text(spec.get("volumeName")),
        capacity=as_text(capacity),
        access_modes=tuple(as_text(m) for m in status.get("accessModes") or spec.get("accessModes") or []),
        storage_class=as_text(spec.get("storageClassName")),
        labels=as_labels(metadata.get("labels")),
    )


def service_row(item: dict[str, Any]) -> ServiceRow:
    metadata = as_dict(item.get("metadata"))
    spec = as_dict(item.get("spec"))
    ports = ",".join(
        f"{as_dict(p).get('port')}/{as_text(as_dict(p).get('protocol')) or 'TCP'}"
        for p in spec.get("ports") or []
    )
    return ServiceRow(
        namespace=as_text(metadata.get("namespace")),
        name=as_text(metadata.get("name")),
        type=as_text(spec.get("type")) or "ClusterIP",
        cluster_ip=as_text(spec.get("clusterIP")),
        ports=ports or "<none>",
        selector=as_labels(spec.get("selector")),
    )


def _selector_text(selector: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in sorted(as_dict(selector.get("matchLabels")).items())]
    for expression in selector.get("matchExpressions") or []:
        e = as_dict(expression)
        values = ",".join(as_text(v) for v in e.get("values") or [])
        operator = as_text(e.get("operator"))
        key = as_text(e.get("key"))
        if operator == "Exists":
            parts.append(key)
        elif operator == "DoesNotExist":
            parts.append(f"!{key}")
        else:
            parts.append(f"{key} {operator.lower()} ({values})")
    return ",".join(parts) or "<all pods>"


def network_policy_row(item: dict[str, Any]) -> NetworkPolicyRow:
    metadata = as_dict(item.get("metadata"))
    spec = as_dict(item.get("spec"))
    return NetworkPolicyRow(
        namespace=as_text(metadata.get("namespace")),
        name=as_text(metadata.get("name")),
        pod_selector=_selector_text(as_dict(spec.get("podSelector"))),
        policy_types=tuple(as_text(t) for t in spec.get("policyTypes") or ["Ingress"]),
    )


def metrics_row(item: dict[str, Any]) -> PodMetrics:
    metadata = as_dict(item.get("metadata"))
    containers = tuple(
        (
            as_text(as_dict(c).get("name")),
            parse_quantity(as_dict(as_dict(c).get("usage")).get("cpu")) or 0.0,
            parse_quantity(as_dict(as_dict(c).get("usage")).get("memory")) or 0.0,
        )
        for c in item.get("containers") or []
    )
    return PodMetrics(
        namespace=as_text(metadata.get("namespace")),
        name=as_text(metadata.get("name")),
        cpu=sum(c[1] for c in containers),
        memory=sum(c[2] for c in containers),
        containers=containers,
        timestamp=parse_time(item.get("timestamp")),
    )
