"""Kubernetes objects valid for the strict client models, and the lab namespace the demo and simulator use."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

Obj = dict[str, Any]
NAMESPACE = "production"
DEFAULT_CONTAINERS: tuple[tuple[str, str], ...] = (("api", "ghcr.io/x/api:1.4.2"),)


_NOW: ContextVar[Callable[[], datetime]] = ContextVar("lab_now", default=lambda: datetime.now(UTC))


def lab_now() -> datetime:
    """Now, as the builders see it: the real time, or the demo's clock inside `lab_cluster(now=...)`."""
    return _NOW.get()()


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


def _digest(*parts: str, length: int = 64) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _meta(kind: str, name: str, namespace: str | None, labels: Mapping[str, str] | None, created: Any) -> Obj:
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
    meta = _meta("Pod", name, namespace, labels, created_at)
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
            "imageID": f"{repo}@sha256:{_digest(image)}",
            "containerID": f"containerd://{_digest(namespace, name, c_name)}",
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
                    "containerID": f"containerd://{_digest(namespace, name, c_name, 'previous')}",
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
        status_obj["hostIP"] = "10.0.1." + str(int(_digest(node, length=4), 16) % 200 + 10)
        status_obj["podIP"] = ip or "10.244." + ".".join(
            str(int(_digest(name, length=4)[i : i + 2], 16)) for i in (0, 2)
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
    ip = "10.0.1." + str(int(_digest(name, length=4), 16) % 200 + 10)
    capacity = {"cpu": cpu, "memory": memory, "pods": "110", "ephemeral-storage": "100Gi"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": _meta("Node", name, None, labels, since),
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
                "machineID": _digest("machine", name, length=32),
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
    name = f"{meta['name']}.{_digest(meta['name'], reason, message, length=16)}"
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
        "metadata": _meta("Event", name, involved["namespace"], None, first),
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
    ip = cluster_ip or "10.96." + ".".join(str(int(_digest(name, length=4)[i : i + 2], 16)) for i in (0, 2))
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta("Service", name, namespace, labels or selector, ts(ago=timedelta(days=90))),
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
        "metadata": _meta("PersistentVolumeClaim", name, namespace, labels, ts(ago=timedelta(days=90))),
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
        "metadata": _meta("NetworkPolicy", name, namespace, None, ts(ago=timedelta(days=60))),
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
        "metadata": _meta("HorizontalPodAutoscaler", name, namespace, None, ts(ago=timedelta(days=30))),
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
    meta = _meta("PodMetrics", name, namespace, labels, ts())
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
        "metadata": _meta("NodeMetrics", name, None, None, ts()),
        "timestamp": ts(),
        "window": "30s",
        "usage": {"cpu": cpu, "memory": memory},
    }


def namespace(name: str) -> Obj:
    """A Namespace, Active."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": _meta(
            "Namespace", name, None, {"kubernetes.io/metadata.name": name}, ts(ago=timedelta(days=400))
        ),
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def _helm_time(value: datetime) -> str:
    # Helm writes Go's time.Time: nanoseconds and a numeric offset.
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123+00:00"


def helm_release_secret(
    release: str,
    revision: int,
    *,
    status: str = "deployed",
    chart: str = "in-midst-my-life",
    chart_version: str = "1.4.2",
    app_version: str = "1.4.2",
    description: str = "Upgrade complete",
    namespace: str = NAMESPACE,
    deployed_at: datetime | None = None,
    first_deployed: datetime | None = None,
    values: Mapping[str, Any] | None = None,
) -> Obj:
    """A Helm 3 release Secret: type helm.sh/release.v1, data.release = base64(base64(gzip(release JSON)))."""
    deployed = deployed_at or lab_now() - timedelta(hours=2)
    first = first_deployed or deployed - timedelta(days=30)
    config = dict(values or {"image": {"tag": app_version}, "replicaCount": 3})
    manifest = (
        f"---\n# Source: {chart}/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\n"
        f"metadata:\n  name: inmidst-api\n  labels:\n    app: inmidst-api\n"
        f"    helm.sh/chart: {chart}-{chart_version}\n"
        f"spec:\n  replicas: {config.get('replicaCount', 3)}\n"
    )
    payload = {
        "name": release,
        "info": {
            "first_deployed": _helm_time(first),
            "last_deployed": _helm_time(deployed),
            "deleted": "",
            "description": description,
            "status": status,
            "notes": f"Thank you for installing {chart}.",
        },
        "chart": {
            "metadata": {
                "name": chart,
                "version": chart_version,
                "description": "The in-midst-my-life web application",
                "apiVersion": "v2",
                "appVersion": app_version,
                "type": "application",
            },
            "lock": None,
            "templates": [],
            "values": {"replicaCount": 3},
            "schema": None,
            "files": [],
        },
        "config": config,
        "manifest": manifest,
        "version": revision,
        "namespace": namespace,
    }
    helm_encoded = base64.b64encode(gzip.compress(json.dumps(payload).encode(), mtime=0))
    labels = {
        "name": release,
        "owner": "helm",
        "status": status,
        "version": str(revision),
        "modifiedAt": str(int(deployed.timestamp())),
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "helm.sh/release.v1",
        "metadata": _meta(
            "Secret", f"sh.helm.release.v1.{release}.v{revision}", namespace, labels, ts(deployed)
        ),
        "data": {"release": base64.b64encode(helm_encoded).decode()},
    }


def decode_helm_release(secret: Obj) -> Obj:
    """The release JSON inside a Helm release Secret (the inverse of helm_release_secret; used by tests)."""
    helm_encoded = base64.b64decode(secret["data"]["release"])
    return json.loads(gzip.decompress(base64.b64decode(helm_encoded)))


API_PODS = ("inmidst-api-7d9f8b6c5-4xkzp", "inmidst-api-7d9f8b6c5-9qwhn", "inmidst-api-7d9f8b6c5-tb2lm")
WORKER_PODS = ("inmidst-worker-5b8c9d7f4-hm3vr", "inmidst-worker-5b8c9d7f4-zp8kd")
POSTGRES_POD = "inmidst-postgres-0"
REDIS_POD = "inmidst-redis-0"
NODES = ("node-1", "node-2", "node-3")


def lab_cluster(namespace_name: str = NAMESPACE, *, now: datetime | None = None) -> list[Obj]:
    """A realistic small production namespace: api ×3, worker ×2, postgres, redis, and the rest.

    Ages are relative to `now` (default: the real time), so a demo with a frozen clock is repeatable.
    """
    token = _NOW.set(lambda: now) if now is not None else None
    try:
        return _lab_cluster(namespace_name)
    finally:
        if token is not None:
            _NOW.reset(token)


def _lab_cluster(namespace_name: str) -> list[Obj]:
    ns = namespace_name
    objs: list[Obj] = [namespace(ns)] + [
        node(n, roles=("control-plane",) if n == "node-1" else ("worker",)) for n in NODES
    ]
    api_res = {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
    pods: list[Obj] = []
    for i, name in enumerate(API_PODS):
        pods.append(
            pod(
                name,
                ns,
                labels={"app": "inmidst-api", "pod-template-hash": "7d9f8b6c5", "tier": "backend"},
                containers=[("api", "ghcr.io/in-midst-my-life/api:1.4.2")],
                node=NODES[i % 3],
                owner=("ReplicaSet", "inmidst-api-7d9f8b6c5"),
                created=ts(ago=timedelta(hours=2)),
                **api_res,
            )
        )
    for i, name in enumerate(WORKER_PODS):
        pods.append(
            pod(
                name,
                ns,
                labels={"app": "inmidst-worker", "pod-template-hash": "5b8c9d7f4", "tier": "backend"},
                containers=[
                    ("worker", "ghcr.io/in-midst-my-life/worker:1.4.2"),
                    ("metrics-exporter", "prom/statsd-exporter:v0.26.1"),
                ],
                node=NODES[(i + 1) % 3],
                owner=("ReplicaSet", "inmidst-worker-5b8c9d7f4"),
                created=ts(ago=timedelta(hours=2)),
                requests={"cpu": "100m", "memory": "128Mi"},
                limits={"cpu": "500m", "memory": "256Mi"},
                restarts=2 if i == 1 else 0,
                last_terminated="OOMKilled" if i == 1 else None,
            )
        )
    pods.append(
        pod(
            POSTGRES_POD,
            ns,
            labels={"app": "inmidst-postgres", "tier": "data"},
            containers=[("postgres", "postgres:16.3")],
            node="node-2",
            owner=("StatefulSet", "inmidst-postgres"),
            created=ts(ago=timedelta(days=12)),
            requests={"cpu": "500m", "memory": "1Gi"},
            limits={"memory": "2Gi"},
        )
    )
    pods.append(
        pod(
            REDIS_POD,
            ns,
            labels={"app": "inmidst-redis", "tier": "data"},
            containers=[("redis", "redis:7.2.5")],
            node="node-3",
            owner=("StatefulSet", "inmidst-redis"),
            created=ts(ago=timedelta(days=12)),
            requests={"cpu": "100m", "memory": "512Mi"},
            limits={"memory": "1Gi"},
        )
    )
    objs += pods
    by_name = {p["metadata"]["name"]: p for p in pods}
    recent = ts(ago=timedelta(minutes=3))
    for name in API_PODS:
        objs.append(
            event(
                by_name[name],
                "Scheduled",
                f"Successfully assigned {ns}/{name} to {by_name[name]['spec']['nodeName']}",
                type="Normal",
                component="default-scheduler",
                last_timestamp=ts(ago=timedelta(hours=2)),
            )
        )
        objs.append(
            event(
                by_name[name],
                "Started",
                "Started container api",
                type="Normal",
                container="api",
                last_timestamp=ts(ago=timedelta(hours=2)),
            )
        )
    objs.append(
        event(
            by_name[API_PODS[0]],
            "Unhealthy",
            "Readiness probe failed: HTTP probe failed with statuscode: 503",
            count=7,
            container="api",
            last_timestamp=recent,
            first_timestamp=ts(ago=timedelta(minutes=20)),
        )
    )
    objs.append(
        event(
            by_name[WORKER_PODS[1]],
            "BackOff",
            "Back-off restarting failed container worker in pod "
            f"{WORKER_PODS[1]}_{ns}({by_name[WORKER_PODS[1]]['metadata']['uid']})",
            count=2,
            container="worker",
            last_timestamp=ts(ago=timedelta(minutes=47)),
        )
    )
    objs.append(
        event(
            by_name[POSTGRES_POD],
            "Pulled",
            'Container image "postgres:16.3" already present on machine',
            type="Normal",
            container="postgres",
            last_timestamp=ts(ago=timedelta(days=12)),
        )
    )
    objs += [
        service("inmidst-api", ns, selector={"app": "inmidst-api"}, ports=[(80, 8080)]),
        service("inmidst-postgres", ns, selector={"app": "inmidst-postgres"}, ports=[(5432, 5432)]),
        service("inmidst-redis", ns, selector={"app": "inmidst-redis"}, ports=[(6379, 6379)]),
        pvc("data-inmidst-postgres-0", ns, labels={"app": "inmidst-postgres"}, storage="50Gi"),
        pvc("data-inmidst-redis-0", ns, labels={"app": "inmidst-redis"}, storage="10Gi"),
        hpa(
            "inmidst-api",
            ns,
            min_replicas=3,
            max_replicas=10,
            cpu_target=70,
            cpu_current=85,
            desired_replicas=4,
        ),
        network_policy("default-deny-ingress", ns, ingress_from=[]),
        network_policy("inmidst-api-ingress", ns, pod_selector={"app": "inmidst-api"}, ports=[8080]),
        network_policy(
            "inmidst-postgres-from-backend",
            ns,
            pod_selector={"app": "inmidst-postgres"},
            ingress_from=[{"tier": "backend"}],
            ports=[5432],
        ),
    ]
    usage = {
        API_PODS[0]: {"api": ("870m", "466Mi")},
        API_PODS[1]: {"api": ("250m", "300Mi")},
        API_PODS[2]: {"api": ("310m", "288Mi")},
        WORKER_PODS[0]: {"worker": ("120m", "180Mi"), "metrics-exporter": ("5m", "18Mi")},
        WORKER_PODS[1]: {"worker": ("95m", "241Mi"), "metrics-exporter": ("4m", "17Mi")},
        POSTGRES_POD: {"postgres": ("410m", "1320Mi")},
        REDIS_POD: {"redis": ("60m", "890Mi")},
    }
    objs += [pod_metrics(by_name[name], ns, usage=u) for name, u in usage.items()]
    objs += [
        node_metrics(n, cpu=c, memory=m)
        for n, c, m in zip(NODES, ("1450m", "980m", "720m"), ("7.1Gi", "5.4Gi", "4.2Gi"), strict=True)
    ]
    now = lab_now()
    first = now - timedelta(days=21)
    objs += [
        helm_release_secret(
            "in-midst-my-life",
            1,
            status="superseded",
            chart_version="1.4.0",
            app_version="1.4.0",
            description="Install complete",
            namespace=ns,
            deployed_at=first,
            first_deployed=first,
        ),
        helm_release_secret(
            "in-midst-my-life",
            2,
            status="superseded",
            chart_version="1.4.1",
            app_version="1.4.1",
            namespace=ns,
            deployed_at=now - timedelta(days=6),
            first_deployed=first,
        ),
        helm_release_secret(
            "in-midst-my-life",
            3,
            status="deployed",
            chart_version="1.4.2",
            app_version="1.4.2",
            namespace=ns,
            deployed_at=now - timedelta(hours=2),
            first_deployed=first,
        ),
    ]
    return objs


def lab_logs(namespace_name: str = NAMESPACE) -> list[tuple[str, str, str, list[str], bool]]:
    """Log lines for the lab's pods: (namespace, pod, container, lines, previous)."""
    ns = namespace_name
    out: list[tuple[str, str, str, list[str], bool]] = []
    for i, name in enumerate(API_PODS):
        lines = [
            f'{{"level":"info","msg":"GET /api/orders 200","duration_ms":{12 + n},"pod":"{name}"}}'
            for n in range(40)
        ]
        if i == 0:
            lines += [
                '{"level":"error","msg":"GET /api/orders 503",'
                '"error":"upstream connect error: redis timeout"}',
                '{"level":"warn","msg":"heap usage 91% of limit"}',
            ]
        out.append((ns, name, "api", lines, False))
    out.append((ns, WORKER_PODS[0], "worker", [f"processed job {n}" for n in range(20)], False))
    out.append((ns, WORKER_PODS[1], "worker", [f"processed job {n}" for n in range(5)], False))
    out.append((ns, WORKER_PODS[1], "worker", ["loading batch 4812 (2.1 GB)", "fatal: out of memory"], True))
    out.append((ns, WORKER_PODS[0], "metrics-exporter", ["level=info msg=Accepting StatsD Traffic"], False))
    out.append(
        (ns, POSTGRES_POD, "postgres", ["LOG:  database system is ready to accept connections"], False)
    )
    out.append((ns, REDIS_POD, "redis", ["* Ready to accept connections tcp"], False))
    return out


def generated_pods(count: int, namespaces: int = 1, per_deployment: int = 25) -> Iterator[Obj]:
    """`count` pods for benchmarks, spread over namespaces (production, bench-1, ...) and deployments."""
    names = [NAMESPACE] + [f"bench-{i}" for i in range(1, namespaces)]
    created = ts(ago=timedelta(days=1))
    for i in range(count):
        ns = names[i % len(names)]
        deploy = f"svc-{i // per_deployment:04d}"
        suffix = _digest(str(i), length=5)
        yield pod(
            f"{deploy}-6f7c8d9b5-{suffix}",
            ns,
            labels={"app": deploy, "pod-template-hash": "6f7c8d9b5"},
            containers=[("app", f"ghcr.io/in-midst-my-life/{deploy}:1.0.{i % 7}")],
            node=f"node-{i % 50 + 1}",
            requests={"cpu": "100m", "memory": "128Mi"},
            created=created,
        )


def crash_container(
    obj: Obj, *, container: str | None = None, reason: str = "OOMKilled", exit_code: int = 137, at: str
) -> str:
    """Terminate a container of a pod object as the kubelet reports it: restart counted, CrashLoopBackOff.

    Changes `obj` in place and returns the container's name; KeyError if the pod has no such container.
    """
    metadata = obj["metadata"]
    statuses = obj.setdefault("status", {}).setdefault("containerStatuses", [])
    name = container or (statuses[0]["name"] if statuses else obj["spec"]["containers"][0]["name"])
    status = next((s for s in statuses if s["name"] == name), None)
    if status is None:
        raise KeyError(f"container {name} is not valid for pod {metadata.get('name')}")
    running = (status.get("state") or {}).get("running") or {}
    status["restartCount"] = int(status.get("restartCount", 0)) + 1
    status["lastState"] = {
        "terminated": {
            "exitCode": exit_code,
            "reason": reason,
            "startedAt": running.get("startedAt") or metadata.get("creationTimestamp") or at,
            "finishedAt": at,
            "containerID": status.get("containerID") or f"containerd://{uuid.uuid4().hex}",
        }
    }
    status["state"] = {
        "waiting": {
            "reason": "CrashLoopBackOff",
            "message": f"back-off 10s restarting failed container={name} "
            f"pod={metadata.get('name')}_{metadata.get('namespace')}({metadata.get('uid', '')})",
        }
    }
    status["ready"] = False
    status["started"] = False
    for cond in obj["status"].setdefault("conditions", []):
        if cond.get("type") in ("Ready", "ContainersReady"):
            cond["status"] = "False"
            cond["reason"] = "ContainersNotReady"
            cond["message"] = f"containers with unready status: [{name}]"
            cond["lastTransitionTime"] = at
    return name
