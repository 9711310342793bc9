"""Kubernetes objects as an API server returns them, valid for the strict client models: the builders the
demo's cluster and the API simulator are made of."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

Obj = dict[str, Any]
NAMESPACE = "production"
DEFAULT_CONTAINERS: tuple[tuple[str, str], ...] = (("api", "ghcr.io/x/api:1.4.2"),)


_NOW: ContextVar[Callable[[], datetime]] = ContextVar("lab_now", default=lambda: datetime.now(UTC))


def lab_now() -> datetime:
    """Now, as the builders see it: the real time, or the clock `clock_at` set (the demo's)."""
    return _NOW.get()()


@contextmanager
def clock_at(now: datetime | None) -> Iterator[None]:
    """Inside, the builders take `now` for the current time (None: the real time stays)."""
    token = _NOW.set(lambda: now) if now is not None else None
    try:
        yield
    finally:
        if token is not None:
            _NOW.reset(token)


def ts(value: datetime | str | None = None, *, ago: timedelta | None = None) -> str:
    """An API timestamp (RFC3339, seconds, Z) from a datetime, a string, or `ago` before now."""
    if isinstance(value, str):
        return value
    when = value or lab_now()
    if ago is not None:
        when -= ago
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stable_uid(*parts: str) -> str:
    """A uid derived from the object's identity, so builders referring to each other agree."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def digest(*parts: str, length: int = 64) -> str:
    """A stable hex digest of the parts: image digests, container ids, addresses."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def object_meta(
    kind: str, name: str, namespace: str | None, labels: Mapping[str, str] | None, created: Any
) -> Obj:
    """metadata: name, a stable uid, namespace, labels and creation time."""
    meta: Obj = {"name": name, "uid": stable_uid(kind, namespace or "", name)}
    if namespace is not None:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(labels)
    if created is not None:
        meta["creationTimestamp"] = ts(created)
    return meta


def pod(
    name: str,
    namespace: str = NAMESPACE,
    *,
    labels: Mapping[str, str] | None = None,
    containers: Sequence[tuple[str, str]] = DEFAULT_CONTAINERS,
    node: str | None = "node-1",
    phase: str = "Running",
    ready: bool = True,
    requests: Mapping[str, str] | None = None,
    limits: Mapping[str, str] | None = None,
    created: datetime | str | None = None,
    restarts: int = 0,
    last_terminated: str | None = None,
    reason: str | None = None,
    message: str | None = None,
    ip: str | None = None,
    owner: tuple[str, str] | None = None,
) -> Obj:
    """A Pod as the kubelet reports it: spec, conditions and one status per container (with imageID)."""
    created_at = ts(created) if created is not None else ts(ago=timedelta(days=2))
    meta = object_meta("Pod", name, namespace, labels, created_at)
    if owner:
        kind, owner_name = owner
        meta["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": kind,
                "name": owner_name,
                "uid": stable_uid(kind, namespace, owner_name),
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    resources: Obj = {}
    if requests:
        resources["requests"] = dict(requests)
    if limits:
        resources["limits"] = dict(limits)
    spec: Obj = {
        "containers": [
            {
                "name": c_name,
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "resources": resources,
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
            }
            for c_name, image in containers
        ],
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "serviceAccountName": "default",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
    }
    if node:
        spec["nodeName"] = node
    running = phase == "Running"
    statuses = []
    for index, (c_name, image) in enumerate(containers):
        restarted = restarts if index == 0 else 0  # restarts and last_terminated describe the first container
        repo = image.rsplit(":", 1)[0]
        state: Obj
        if running:
            state = {"running": {"startedAt": created_at}}
        elif phase == "Pending":
            state = {"waiting": {"reason": "ContainerCreating"}}
        elif reason == "Evicted":
            state = {}  # the evicted container is gone: kubectl then shows the pod's reason, Evicted
        else:
            state = {
                "terminated": {
                    "exitCode": 0 if phase == "Succeeded" else 1,
                    "reason": "Completed" if phase == "Succeeded" else "Error",
                    "startedAt": created_at,
                    "finishedAt": created_at,
                }
            }
        status: Obj = {
            "name": c_name,
            "image": image,
            "imageID": f"{repo}@sha256:{digest(image)}",
            "containerID": f"containerd://{digest(namespace, name, c_name)}",
            "ready": running and ready,
            "started": running,
            "restartCount": restarted,
            "state": state,
            "lastState": {},
        }
        if last_terminated and restarted:
            finished = ts(ago=timedelta(minutes=47))
            status["lastState"] = {
                "terminated": {
                    "exitCode": 137 if last_terminated == "OOMKilled" else 1,
                    "reason": last_terminated,
                    "startedAt": ts(ago=timedelta(hours=3)),
                    "finishedAt": finished,
                    "containerID": f"containerd://{digest(namespace, name, c_name, 'previous')}",
                }
            }
            if running:
                state["running"]["startedAt"] = finished
        if phase == "Pending" and not node:
            status = {}
        if status:
            statuses.append(status)
    all_ready = "True" if running and ready else "False"
    conditions = [
        {
            "type": "PodReadyToStartContainers",
            "status": "True" if node else "False",
            "lastTransitionTime": created_at,
        },
        {"type": "Initialized", "status": "True", "lastTransitionTime": created_at},
        {"type": "Ready", "status": all_ready, "lastTransitionTime": created_at},
        {"type": "ContainersReady", "status": all_ready, "lastTransitionTime": created_at},
        {"type": "PodScheduled", "status": "True" if node else "False", "lastTransitionTime": created_at},
    ]
    if not node:
        conditions = [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "0/3 nodes are available: 3 Insufficient memory.",
                "lastTransitionTime": created_at,
            }
        ]
    status_obj: Obj = {
        "phase": phase,
        "conditions": conditions,
        "qosClass": "Burstable" if requests else "BestEffort",
    }
    if statuses:
        status_obj["containerStatuses"] = statuses
    if node:
        status_obj["hostIP"] = "10.0.1." + str(int(digest(node, length=4), 16) % 200 + 10)
        status_obj["podIP"] = ip or "10.244." + ".".join(
            str(int(digest(name, length=4)[i : i + 2], 16)) for i in (0, 2)
        )
        status_obj["startTime"] = created_at
    if reason:
        status_obj["reason"] = reason
    if message:
        status_obj["message"] = message
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status_obj}


def node(
    name: str,
    *,
    ready: bool = True,
    roles: Sequence[str] = ("worker",),
    pressure: Sequence[str] = (),
    cpu: str = "4",
    memory: str = "16Gi",
    kubelet_version: str = "v1.30.4",
    created: datetime | str | None = None,
    unschedulable: bool = False,
) -> Obj:
    """A Node with the kubelet's conditions (Ready and the pressures) and capacity."""
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
    labels.update({f"node-role.kubernetes.io/{role}": "" for role in roles})
    heartbeat = ts()
    since = ts(created) if created is not None else ts(ago=timedelta(days=40))
    conditions = []
    for kind, reason_ok, reason_bad in (
        ("MemoryPressure", "KubeletHasSufficientMemory", "KubeletHasInsufficientMemory"),
        ("DiskPressure", "KubeletHasNoDiskPressure", "KubeletHasDiskPressure"),
        ("PIDPressure", "KubeletHasSufficientPID", "KubeletHasInsufficientPID"),
    ):
        bad = kind in pressure
        conditions.append(
            {
                "type": kind,
                "status": "True" if bad else "False",
                "reason": reason_bad if bad else reason_ok,
                "message": f"kubelet has {'' if bad else 'no '}{kind}",
                "lastHeartbeatTime": heartbeat,
                "lastTransitionTime": since,
            }
        )
    conditions.append(
        {
            "type": "Ready",
            "status": "True" if ready else "Unknown",
            "reason": "KubeletReady" if ready else "NodeStatusUnknown",
            "message": "kubelet is posting ready status" if ready else "Kubelet stopped posting node status.",
            "lastHeartbeatTime": heartbeat,
            "lastTransitionTime": since,
        }
    )
    ip = "10.0.1." + str(int(digest(name, length=4), 16) % 200 + 10)
    capacity = {"cpu": cpu, "memory": memory, "pods": "110", "ephemeral-storage": "100Gi"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": object_meta("Node", name, None, labels, since),
        "spec": {"podCIDR": "10.244.0.0/24", **({"unschedulable": True} if unschedulable else {})},
        "status": {
            "capacity": capacity,
            "allocatable": capacity,
            "conditions": conditions,
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": stable_uid("boot", name),
                "containerRuntimeVersion": "containerd://1.7.20",
                "kernelVersion": "6.1.0-23-amd64",
                "kubeProxyVersion": kubelet_version,
                "kubeletVersion": kubelet_version,
                "machineID": digest("machine", name, length=32),
                "operatingSystem": "linux",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "systemUUID": stable_uid("system", name),
            },
        },
    }


def event(
    involved_pod: Obj,
    reason: str,
    message: str,
    *,
    type: str = "Warning",
    count: int = 1,
    last_timestamp: datetime | str | None = None,
    first_timestamp: datetime | str | None = None,
    component: str = "kubelet",
    container: str | None = None,
) -> Obj:
    """A core/v1 Event about a pod, with the pod's uid so `kubectl describe pod` finds it."""
    meta = involved_pod["metadata"]
    last = ts(last_timestamp) if last_timestamp is not None else ts()
    first = ts(first_timestamp) if first_timestamp is not None else last
    name = f"{meta['name']}.{digest(meta['name'], reason, message, length=16)}"
    involved: Obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "name": meta["name"],
        "namespace": meta.get("namespace", NAMESPACE),
        "uid": meta.get("uid") or stable_uid("Pod", meta.get("namespace", NAMESPACE), meta["name"]),
    }
    if container:
        involved["fieldPath"] = f"spec.containers{{{container}}}"
    source: Obj = {"component": component}
    if component == "kubelet":
        source["host"] = (involved_pod.get("spec") or {}).get("nodeName") or "node-1"
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": object_meta("Event", name, involved["namespace"], None, first),
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "type": type,
        "count": count,
        "firstTimestamp": first,
        "lastTimestamp": last,
        "source": source,
        "reportingComponent": component,
        "reportingInstance": source.get("host", ""),
    }


def service(
    name: str,
    namespace: str = NAMESPACE,
    *,
    selector: Mapping[str, str] | None = None,
    ports: Sequence[tuple[int, int]] = ((80, 8080),),
    type: str = "ClusterIP",
    cluster_ip: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> Obj:
    """A Service with ClusterIP and ports (port → targetPort)."""
    ip = cluster_ip or "10.96." + ".".join(str(int(digest(name, length=4)[i : i + 2], 16)) for i in (0, 2))
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_meta("Service", name, namespace, labels or selector, ts(ago=timedelta(days=90))),
        "spec": {
            "type": type,
            "clusterIP": ip,
            "clusterIPs": [ip],
            "selector": dict(selector or {"app": name}),
            "ports": [
                {"name": f"p{port}", "port": port, "targetPort": target, "protocol": "TCP"}
                for port, target in ports
            ],
            "sessionAffinity": "None",
        },
        "status": {"loadBalancer": {}},
    }


def pvc(
    name: str,
    namespace: str = NAMESPACE,
    *,
    labels: Mapping[str, str] | None = None,
    storage: str = "20Gi",
    storage_class: str = "standard",
    phase: str = "Bound",
) -> Obj:
    """A PersistentVolumeClaim, bound to a volume unless phase says otherwise."""
    volume = f"pvc-{stable_uid('PersistentVolumeClaim', namespace, name)}"
    status: Obj = {"phase": phase}
    if phase == "Bound":
        status.update({"accessModes": ["ReadWriteOnce"], "capacity": {"storage": storage}})
    spec: Obj = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": storage}},
        "storageClassName": storage_class,
        "volumeMode": "Filesystem",
    }
    if phase == "Bound":
        spec["volumeName"] = volume
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": object_meta("PersistentVolumeClaim", name, namespace, labels, ts(ago=timedelta(days=90))),
        "spec": spec,
        "status": status,
    }


def network_policy(
    name: str,
    namespace: str = NAMESPACE,
    *,
    pod_selector: Mapping[str, str] | None = None,
    ingress_from: Sequence[Mapping[str, str]] | None = None,
    ports: Sequence[int] = (),
    policy_types: Sequence[str] = ("Ingress",),
) -> Obj:
    """A networking.k8s.io/v1 NetworkPolicy; ingress_from=[] denies all ingress, None allows from anywhere."""
    spec: Obj = {
        "podSelector": {"matchLabels": dict(pod_selector)} if pod_selector else {},
        "policyTypes": list(policy_types),
    }
    if ingress_from is not None:
        rules = []
        if ingress_from:
            rule: Obj = {"from": [{"podSelector": {"matchLabels": dict(sel)}} for sel in ingress_from]}
            if ports:
                rule["ports"] = [{"protocol": "TCP", "port": p} for p in ports]
            rules.append(rule)
        spec["ingress"] = rules
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": object_meta("NetworkPolicy", name, namespace, None, ts(ago=timedelta(days=60))),
        "spec": spec,
    }


def hpa(
    name: str,
    namespace: str = NAMESPACE,
    *,
    target: str | None = None,
    min_replicas: int = 3,
    max_replicas: int = 10,
    cpu_target: int = 70,
    cpu_current: int | None = 85,
    current_replicas: int = 3,
    desired_replicas: int | None = None,
) -> Obj:
    """An autoscaling/v2 HorizontalPodAutoscaler on CPU utilization, with status and conditions."""
    now = ts(ago=timedelta(minutes=5))
    status: Obj = {
        "currentReplicas": current_replicas,
        "desiredReplicas": desired_replicas if desired_replicas is not None else current_replicas,
        "conditions": [
            {
                "type": "AbleToScale",
                "status": "True",
                "reason": "ReadyForNewScale",
                "lastTransitionTime": now,
                "message": "recommended size matches current size",
            },
            {
                "type": "ScalingActive",
                "status": "True",
                "reason": "ValidMetricFound",
                "lastTransitionTime": now,
                "message": "the HPA was able to successfully calculate a replica count "
                "from cpu resource utilization",
            },
            {
                "type": "ScalingLimited",
                "status": "False",
                "reason": "DesiredWithinRange",
                "lastTransitionTime": now,
                "message": "the desired count is within the acceptable range",
            },
        ],
    }
    if cpu_current is not None:
        status["currentMetrics"] = [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "current": {"averageUtilization": cpu_current, "averageValue": "595m"},
                },
            }
        ]
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": object_meta("HorizontalPodAutoscaler", name, namespace, None, ts(ago=timedelta(days=30))),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target or name},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": cpu_target},
                    },
                }
            ],
        },
        "status": status,
    }


def pod_metrics(
    pod_or_name: Obj | str,
    namespace: str = NAMESPACE,
    *,
    usage: Mapping[str, tuple[str, str]] | None = None,
    cpu: str = "250m",
    memory: str = "300Mi",
) -> Obj:
    """metrics.k8s.io/v1beta1 PodMetrics; per-container (cpu, memory); defaults for each container."""
    if isinstance(pod_or_name, dict):
        name = pod_or_name["metadata"]["name"]
        namespace = pod_or_name["metadata"].get("namespace", namespace)
        containers = [c["name"] for c in pod_or_name["spec"]["containers"]]
        labels = pod_or_name["metadata"].get("labels")
    else:
        name, containers, labels = pod_or_name, list(usage or {"api": (cpu, memory)}), None
    usage = dict(usage or {c: (cpu, memory) for c in containers})
    meta = object_meta("PodMetrics", name, namespace, labels, ts())
    return {
        "apiVersion": "metrics.k8s.io/v1beta1",
        "kind": "PodMetrics",
        "metadata": meta,
        "timestamp": ts(),
        "window": "30s",
        "containers": [{"name": c, "usage": {"cpu": u[0], "memory": u[1]}} for c, u in usage.items()],
    }


def node_metrics(name: str, *, cpu: str = "1200m", memory: str = "6Gi") -> Obj:
    """metrics.k8s.io/v1beta1 NodeMetrics."""
    return {
        "apiVersion": "metrics.k8s.io/v1beta1",
        "kind": "NodeMetrics",
        "metadata": object_meta("NodeMetrics", name, None, None, ts()),
        "timestamp": ts(),
        "window": "30s",
        "usage": {"cpu": cpu, "memory": memory},
    }


def namespace(name: str) -> Obj:
    """A Namespace, Active."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": object_meta(
            "Namespace", name, None, {"kubernetes.io/metadata.name": name}, ts(ago=timedelta(days=400))
        ),
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }
