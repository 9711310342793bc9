"""The simulator's object store: resource types, objects, one resourceVersion, history, logs."""

from __future__ import annotations

import bisect
import copy
import json
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tui.demo.cluster import crash_container

READ_VERBS = ("get", "list", "watch")
HISTORY_LIMIT = 25_000  # events kept for watch replay (minutes at 100 changes/s); older ones are compacted


def now_rfc3339() -> str:
    """The current time as the API server writes it (second precision, Z)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def dumps(obj: Any) -> bytes:
    """Compact JSON bytes, as the API server sends."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class ResourceType:
    """One API resource: where it lives, what it is called, how it is addressed."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    singular: str = ""
    categories: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        """The store key: `pods` for core resources, `pods.metrics.k8s.io` for the others."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"


RESOURCES: tuple[ResourceType, ...] = (
    ResourceType("", "v1", "pods", "Pod", True, ("po",), "pod", ("all",)),
    ResourceType("", "v1", "events", "Event", True, ("ev",), "event"),
    ResourceType("", "v1", "nodes", "Node", False, ("no",), "node"),
    ResourceType("", "v1", "namespaces", "Namespace", False, ("ns",), "namespace"),
    ResourceType(
        "", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ("pvc",), "persistentvolumeclaim"
    ),
    ResourceType("", "v1", "services", "Service", True, ("svc",), "service", ("all",)),
    ResourceType("", "v1", "secrets", "Secret", True, (), "secret"),
    ResourceType("", "v1", "configmaps", "ConfigMap", True, ("cm",), "configmap"),
    ResourceType("apps", "v1", "deployments", "Deployment", True, ("deploy",), "deployment", ("all",)),
    ResourceType(
        "networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, ("netpol",), "networkpolicy"
    ),
    ResourceType(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        True,
        ("hpa",),
        "horizontalpodautoscaler",
        ("all",),
    ),
    ResourceType("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", True, (), ""),
    ResourceType("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", False, (), ""),
)
BY_KEY = {r.key: r for r in RESOURCES}
BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_KIND = {(r.api_version, r.kind): r for r in RESOURCES}


def resolve(name: str) -> ResourceType:
    """Find a resource by plural, `plural.group`, singular, kind or short name (`po`, `hpa`, `netpol`)."""
    lowered = name.lower()
    if lowered in BY_KEY:
        return BY_KEY[lowered]
    for r in RESOURCES:
        if lowered in (r.singular, r.kind.lower(), *r.short_names):
            return r
    raise KeyError(f"unknown resource {name!r}")


@dataclass
class StoredObject:
    """An object as stored, plus its JSON bytes cached so lists and watches never re-serialize it."""

    obj: dict[str, Any]
    raw: bytes


@dataclass
class WatchEvent:
    """One change in history, with the JSON line a watcher sends ready-made."""

    rv: int
    resource: str
    namespace: str
    type: str
    obj: dict[str, Any]
    line: bytes


@dataclass
class ContainerLogs:
    """A container's log: the running instance's lines and the previous (terminated) instance's."""

    current: list[tuple[str, str]] = field(default_factory=list)
    previous: list[tuple[str, str]] | None = None


def log_timestamp() -> str:
    """RFC3339Nano, as the kubelet prefixes lines with `timestamps=true`."""
    t = time.time_ns()
    return (
        datetime.fromtimestamp(t // 1_000_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        + f".{t % 1_000_000_000:09d}Z"
    )


class ObjectStore:
    """All objects, one monotonic resourceVersion, replayable history; thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.rv = 1
        self.objects: dict[str, dict[tuple[str, str], StoredObject]] = {r.key: {} for r in RESOURCES}
        self._sorted: dict[str, list[tuple[str, str]] | None] = {}
        self.history: list[WatchEvent] = []
        self.history_rvs: list[int] = []
        self.history_offset = 0  # absolute index of history[0], so watchers keep positions across trims
        self.compacted_rv = 0  # watching from a resourceVersion below this answers 410 Expired
        self.watch_generation = 0  # bumped by drop_watches: watchers of an older generation hang up
        self.logs: dict[tuple[str, str, str], ContainerLogs] = {}
        self.denied: dict[str, tuple[set[str], str | None]] = {}
        self.latency = 0.0
        self.unserved: set[str] = set()  # API groups answered 404, as a cluster without their server
        self.bookmark_interval = 5.0

    # --- objects -------------------------------------------------------------------------
    def _next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or replace an object; returns it as stored (uid, creationTimestamp, resourceVersion)."""
        rtype = BY_KIND.get((obj.get("apiVersion", ""), obj.get("kind", "")))
        if rtype is None:
            raise KeyError(f"unsupported kind {obj.get('apiVersion')}/{obj.get('kind')}")
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name"):
            raise ValueError("metadata.name is required")
        if rtype.namespaced:
            meta.setdefault("namespace", "default")
        else:
            meta.pop("namespace", None)
        key = (meta.get("namespace", ""), meta["name"])
        with self.changed:
            existing = self.objects[rtype.key].get(key)
            if existing is not None:
                meta.setdefault("uid", existing.obj["metadata"]["uid"])
                meta.setdefault("creationTimestamp", existing.obj["metadata"]["creationTimestamp"])
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", now_rfc3339())
            self._store(rtype, key, obj, "MODIFIED" if existing else "ADDED")
        return obj

    def _store(self, rtype: ResourceType, key: tuple[str, str], obj: dict[str, Any], kind: str) -> None:
        rv = self._next_rv()
        obj["metadata"]["resourceVersion"] = str(rv)
        stored = StoredObject(obj, dumps(obj))
        if key not in self.objects[rtype.key]:
            self._sorted[rtype.key] = None
        self.objects[rtype.key][key] = stored
        self._record(rtype, key[0], kind, stored, rv)

    def _record(self, rtype: ResourceType, namespace: str, kind: str, stored: StoredObject, rv: int) -> None:
        line = b'{"type":"' + kind.encode() + b'","object":' + stored.raw + b"}\n"
        self.history.append(WatchEvent(rv, rtype.key, namespace, kind, stored.obj, line))
        self.history_rvs.append(rv)
        if len(self.history) > HISTORY_LIMIT:
            drop = len(self.history) // 2
            self.compacted_rv = self.history_rvs[drop - 1]  # events after it are all still kept
            del self.history[:drop], self.history_rvs[:drop]
            self.history_offset += drop
        self.changed.notify_all()

    def apply_many(self, objs: Iterable[dict[str, Any]]) -> int:
        """Apply objects in one go (no per-object round trip); returns how many."""
        count = 0
        for obj in objs:
            self.apply(obj)
            count += 1
        return count

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        stored = self.objects[resource].get((namespace, name))
        return stored.obj if stored else None

    def mutate(self, resource: str, namespace: str, name: str, change: Any) -> dict[str, Any]:
        """Apply `change(obj_copy)` to a stored object and record a MODIFIED event."""
        rtype = BY_KEY[resource]
        with self.changed:
            stored = self.objects[resource].get((namespace, name))
            if stored is None:
                raise KeyError(f'{rtype.plural} "{name}" not found')
            obj = copy.deepcopy(stored.obj)
            change(obj)
            self._store(rtype, (namespace, name), obj, "MODIFIED")
            return obj

    def delete(self, resource: str, namespace: str, name: str) -> dict[str, Any]:
        """Remove an object and record DELETED (with a fresh resourceVersion, as the real one)."""
        rtype = BY_KEY[resource]
        with self.changed:
            stored = self.objects[resource].pop((namespace if rtype.namespaced else "", name), None)
            if stored is None:
                raise KeyError(f'{rtype.plural} "{name}" not found')
            self._sorted[resource] = None
            rv = self._next_rv()
            obj = copy.deepcopy(stored.obj)
            obj["metadata"]["resourceVersion"] = str(rv)
            self._record(rtype, namespace, "DELETED", StoredObject(obj, dumps(obj)), rv)
            return obj

    def items(self, resource: str, namespace: str | None) -> list[StoredObject]:
        """Objects of a resource in key order (namespace, name), like the real list; None = all namespaces."""
        with self.lock:
            keys = self._sorted.get(resource)
            if keys is None:
                keys = sorted(self.objects[resource])
                self._sorted[resource] = keys
            objects = self.objects[resource]
            if namespace:
                start = bisect.bisect_left(keys, (namespace, ""))
                end = bisect.bisect_left(keys, (namespace + "\x00", ""))
                return [objects[k] for k in keys[start:end]]
            return [objects[k] for k in keys]

    # --- history -------------------------------------------------------------------------
    def compact(self) -> int:
        """Forget all history: a watch from any resourceVersion before now gets 410 Expired."""
        with self.changed:
            self.history_offset += len(self.history)
            self.history.clear()
            self.history_rvs.clear()
            self.compacted_rv = self.rv
            self.changed.notify_all()
            return self.rv

    def position_after(self, rv: int) -> int:
        """Absolute history index of the first event newer than rv."""
        return self.history_offset + bisect.bisect_right(self.history_rvs, rv)

    def events_from(self, position: int) -> tuple[list[WatchEvent], int] | None:
        """Events from an absolute history position, and the next position; None if compacted away."""
        if position < self.history_offset:
            return None
        start = position - self.history_offset
        return self.history[start:], self.history_offset + len(self.history)

    def end_position(self) -> int:
        return self.history_offset + len(self.history)

    def drop_watches(self) -> None:
        with self.changed:
            self.watch_generation += 1
            self.changed.notify_all()

    # --- logs ----------------------------------------------------------------------------
    def append_logs(
        self, namespace: str, pod: str, container: str, lines: list[str], previous: bool = False
    ) -> None:
        with self.changed:
            logs = self.logs.setdefault((namespace, pod, container), ContainerLogs())
            stamped = [(log_timestamp(), line) for line in lines]
            if previous:
                logs.previous = (logs.previous or []) + stamped
            else:
                logs.current.extend(stamped)
            self.changed.notify_all()

    def container_logs(self, namespace: str, pod: str, container: str) -> ContainerLogs:
        with self.lock:
            return self.logs.setdefault((namespace, pod, container), ContainerLogs())

    # --- crash ---------------------------------------------------------------------------
    def crash(
        self, namespace: str, pod: str, container: str | None, reason: str = "OOMKilled", exit_code: int = 137
    ) -> dict[str, Any]:
        """Terminate a container as the kubelet reports it: restart counted, CrashLoopBackOff."""
        finished = now_rfc3339()

        def change(obj: dict[str, Any]) -> None:
            name = crash_container(obj, container=container, reason=reason, exit_code=exit_code, at=finished)
            with self.changed:
                logs = self.logs.setdefault((namespace, pod, name), ContainerLogs())
                logs.previous, logs.current = logs.current, []

        return self.mutate("pods", namespace, pod, change)

    def recover(self, namespace: str, pod: str, container: str | None = None) -> dict[str, Any]:
        """Bring crashed containers back to running and ready (the restart succeeded)."""
        started = now_rfc3339()

        def change(obj: dict[str, Any]) -> None:
            for status in obj.get("status", {}).get("containerStatuses", []):
                if container in (None, status["name"]):
                    status["state"] = {"running": {"startedAt": started}}
                    status["ready"] = True
                    status["started"] = True
            if all(s.get("ready") for s in obj["status"].get("containerStatuses", [])):
                for cond in obj["status"].get("conditions", []):
                    if cond.get("type") in ("Ready", "ContainersReady"):
                        cond["status"] = "True"
                        cond.pop("reason", None)
                        cond.pop("message", None)
                        cond["lastTransitionTime"] = started

        return self.mutate("pods", namespace, pod, change)
