"""The demo's production namespace (api ×3, worker ×2, postgres, redis and what surrounds them), its logs,
and the crash its script plays. The demo serves it from memory; tui/lab/kube_sim serves it over HTTP."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from tui.demo.helm_release import helm_release_secret
from tui.demo.kube_objects import (
    NAMESPACE,
    Obj,
    clock_at,
    event,
    hpa,
    lab_now,
    namespace,
    network_policy,
    node,
    node_metrics,
    pod,
    pod_metrics,
    pvc,
    service,
    ts,
)

API_PODS = ("inmidst-api-7d9f8b6c5-4xkzp", "inmidst-api-7d9f8b6c5-9qwhn", "inmidst-api-7d9f8b6c5-tb2lm")
WORKER_PODS = ("inmidst-worker-5b8c9d7f4-hm3vr", "inmidst-worker-5b8c9d7f4-zp8kd")
POSTGRES_POD = "inmidst-postgres-0"
REDIS_POD = "inmidst-redis-0"
NODES = ("node-1", "node-2", "node-3")


def lab_cluster(namespace_name: str = NAMESPACE, *, now: datetime | None = None) -> list[Obj]:
    """A realistic small production namespace: api ×3, worker ×2, postgres, redis, and the rest.

    Ages are relative to `now` (default: the real time), so a demo with a frozen clock is repeatable.
    """
    with clock_at(now):
        return _lab_cluster(namespace_name)


def _lab_cluster(namespace_name: str) -> list[Obj]:
    ns = namespace_name
    objs: list[Obj] = [namespace(ns)] + [
        node(n, roles=("control-plane",) if n == "node-1" else ("worker",)) for n in NODES
    ]
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
                requests={"cpu": "250m", "memory": "256Mi"},
                limits={"cpu": "1", "memory": "512Mi"},
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
