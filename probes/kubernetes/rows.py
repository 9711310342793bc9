"""Pods as kubectl prints them: PodRow from a pod's JSON, with the STATUS column computed as kubectl does."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

Labels = tuple[tuple[str, str], ...]  # sorted (name, value) pairs: hashable and immutable

# kubectl shows "Unknown" for a pod being deleted on a node that stopped answering
NODE_LOST = "NodeLost"
_TERMINAL_PHASES = ("Succeeded", "Failed")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ContainerRow:
    name: str
    image: str
    init: bool  # an init container (sidecars included)
    state: str  # "running", "waiting", "terminated" or "unknown"
    reason: str  # the waiting/terminated reason, e.g. "CrashLoopBackOff", "OOMKilled"; "" when running
    ready: bool
    restarts: int
    started_at: datetime | None  # when the current state began
    last_termination_reason: str  # from lastState.terminated, e.g. "OOMKilled"; "" when none
    last_exit_code: int | None
    last_finished_at: datetime | None
    requests_cpu: str  # as written in the spec, e.g. "250m"; "" when unset
    requests_memory: str  # e.g. "256Mi"
    limits_cpu: str
    limits_memory: str


@dataclass(frozen=True, slots=True)
class PodCondition:
    type: str  # "Ready", "PodScheduled", "ContainersReady", "Initialized", ...
    status: str  # "True", "False", "Unknown"
    reason: str
    message: str
    last_transition: datetime | None


@dataclass(frozen=True, slots=True)
class PodRow:
    namespace: str
    name: str
    uid: str
    labels: Labels
    node: str  # "" while unscheduled
    phase: str  # status.phase: Pending, Running, Succeeded, Failed, Unknown
    status: str  # the STATUS column of `kubectl get pods`
    ready: str  # "2/3", as kubectl's READY column
    ready_count: int
    container_count: int
    restarts: int  # the RESTARTS column: sum over containers (sidecars only once initialised)
    last_restart_at: datetime | None  # newest lastState.terminated.finishedAt
    last_termination_reason: str  # of the container that restarted last, e.g. "OOMKilled"; "" when none
    last_exit_code: int | None
    created_at: datetime | None
    deleting: bool  # metadata.deletionTimestamp is set
    message: str  # status.message, e.g. why it was evicted
    ip: str
    owner: str  # "ReplicaSet/inmidst-api-7d9f" of the controller; "" when none
    resource_version: str
    containers: tuple[ContainerRow, ...]  # init containers first, as in the spec
    conditions: tuple[PodCondition, ...]

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def label(self, name: str, default: str = "") -> str:
        for key, value in self.labels:
            if key == name:
                return value
        return default

    @property
    def oom_killed(self) -> bool:
        """The pod is, or last restarted because it was, OOMKilled."""
        return self.status == "OOMKilled" or self.last_termination_reason == "OOMKilled"


def parse_time(value: object) -> datetime | None:
    """A Kubernetes RFC3339 timestamp ("2024-05-01T10:00:00Z") as an aware datetime; None if absent."""
    if not isinstance(value, str) or not value:
        return None
    return _parse_time(value)


@functools.lru_cache(maxsize=8192)  # a relist of 10,000 pods repeats the same few thousand timestamps
def _parse_time(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _labels(value: object) -> Labels:
    raw = _dict(value)
    return tuple(sorted((str(k), str(v)) for k, v in raw.items()))


def _restartable(spec: dict[str, Any] | None) -> bool:
    """A sidecar: an init container with restartPolicy Always (Kubernetes 1.28+)."""
    return spec is not None and spec.get("restartPolicy") == "Always"


def _condition_true(conditions: list[Any], kind: str) -> bool:
    return any(_dict(c).get("type") == kind and _dict(c).get("status") == "True" for c in conditions)


def _terminated_words(terminated: dict[str, Any], prefix: str = "") -> str:
    """kubectl's words for a terminated state: its reason, else Signal:N, else ExitCode:N."""
    reason = _str(terminated.get("reason"))
    if reason:
        return prefix + reason
    signal = _int(terminated.get("signal"))
    if signal:
        return f"{prefix}Signal:{signal}"
    return f"{prefix}ExitCode:{_int(terminated.get('exitCode'))}"


def pod_status(pod: dict[str, Any]) -> tuple[str, int, int, int, datetime | None]:
    """The STATUS, ready count, container count, restarts and last restart time, as kubectl's printPod.

    A port of printPod in kubernetes/pkg/printers/internalversion/printers.go, so the words match what
    the on-call engineer sees in `kubectl get pods`.
    """
    metadata = _dict(pod.get("metadata"))
    spec = _dict(pod.get("spec"))
    status = _dict(pod.get("status"))
    conditions = _list(status.get("conditions"))
    init_specs = [_dict(c) for c in _list(spec.get("initContainers"))]
    init_by_name = {_str(c.get("name")): c for c in init_specs}

    phase = _str(status.get("phase"))
    reason = _str(status.get("reason")) or phase
    for condition in conditions:
        c = _dict(condition)
        if c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    total = len(_list(spec.get("containers"))) + sum(1 for c in init_specs if _restartable(c))
    ready = 0
    restarts = 0
    sidecar_restarts = 0
    last_restart: datetime | None = None
    sidecar_last_restart: datetime | None = None

    initializing = False
    init_statuses = _list(status.get("initContainerStatuses"))
    for index, raw in enumerate(init_statuses):
        container = _dict(raw)
        count = _int(container.get("restartCount"))
        restarts += count
        finished = parse_time(_dict(_dict(container.get("lastState")).get("terminated")).get("finishedAt"))
        if finished and (last_restart is None or finished > last_restart):
            last_restart = finished
        sidecar = _restartable(init_by_name.get(_str(container.get("name"))))
        if sidecar:
            sidecar_restarts += count
            if finished and (sidecar_last_restart is None or finished > sidecar_last_restart):
                sidecar_last_restart = finished
        state = _dict(container.get("state"))
        terminated = state.get("terminated")
        waiting = _dict(state.get("waiting"))
        if isinstance(terminated, dict) and _int(terminated.get("exitCode")) == 0:
            continue
        if sidecar and container.get("started") is True:
            if container.get("ready") is True:
                ready += 1
            continue
        if isinstance(terminated, dict):
            reason = _terminated_words(terminated, "Init:")
        elif _str(waiting.get("reason")) and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + _str(waiting.get("reason"))
        else:
            reason = f"Init:{index}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _condition_true(conditions, "Initialized"):
        restarts = sidecar_restarts
        last_restart = sidecar_last_restart
        has_running = False
        for raw in reversed(_list(status.get("containerStatuses"))):
            container = _dict(raw)
            restarts += _int(container.get("restartCount"))
            finished = parse_time(
                _dict(_dict(container.get("lastState")).get("terminated")).get("finishedAt")
            )
            if finished and (last_restart is None or finished > last_restart):
                last_restart = finished
            state = _dict(container.get("state"))
            waiting = _dict(state.get("waiting"))
            terminated = state.get("terminated")
            if _str(waiting.get("reason")):
                reason = _str(waiting.get("reason"))
            elif isinstance(terminated, dict):
                reason = _terminated_words(terminated)
            elif container.get("ready") is True and isinstance(state.get("running"), dict):
                has_running = True
                ready += 1
        # a pod whose last container completed while another still runs is shown as running
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(conditions, "Ready") else "NotReady"

    if metadata.get("deletionTimestamp"):
        if status.get("reason") == NODE_LOST:
            reason = "Unknown"
        elif phase not in _TERMINAL_PHASES:
            reason = "Terminating"
    return reason, ready, total, restarts, last_restart


def _resources(spec: dict[str, Any]) -> tuple[str, str, str, str]:
    resources = _dict(spec.get("resources"))
    requests = _dict(resources.get("requests"))
    limits = _dict(resources.get("limits"))
    return (
        str(requests.get("cpu", "")),
        str(requests.get("memory", "")),
        str(limits.get("cpu", "")),
        str(limits.get("memory", "")),
    )


def _container_row(spec: dict[str, Any], status: dict[str, Any], *, init: bool) -> ContainerRow:
    state = _dict(status.get("state"))
    kind, reason, started = "unknown", "", None
    if isinstance(state.get("running"), dict):
        kind, started = "running", parse_time(state["running"].get("startedAt"))
    elif isinstance(state.get("waiting"), dict):
        kind, reason = "waiting", _str(state["waiting"].get("reason"))
    elif isinstance(state.get("terminated"), dict):
        terminated = state["terminated"]
        kind, reason = "terminated", _terminated_words(terminated)
        started = parse_time(terminated.get("startedAt"))
    last = _dict(_dict(status.get("lastState")).get("terminated"))
    cpu_request, memory_request, cpu_limit, memory_limit = _resources(spec)
    return ContainerRow(
        name=_str(spec.get("name")) or _str(status.get("name")),
        image=_str(spec.get("image")) or _str(status.get("image")),
        init=init,
        state=kind,
        reason=reason,
        ready=status.get("ready") is True,
        restarts=_int(status.get("restartCount")),
        started_at=started,
        last_termination_reason=_terminated_words(last) if last else "",
        last_exit_code=_int(last.get("exitCode")) if last else None,
        last_finished_at=parse_time(last.get("finishedAt")) if last else None,
        requests_cpu=cpu_request,
        requests_memory=memory_request,
        limits_cpu=cpu_limit,
        limits_memory=memory_limit,
    )


def _containers(spec: dict[str, Any], status: dict[str, Any]) -> tuple[ContainerRow, ...]:
    rows: list[ContainerRow] = []
    for spec_key, status_key, init in (
        ("initContainers", "initContainerStatuses", True),
        ("containers", "containerStatuses", False),
    ):
        statuses = {_str(_dict(s).get("name")): _dict(s) for s in _list(status.get(status_key))}
        for raw in _list(spec.get(spec_key)):
            container = _dict(raw)
            rows.append(_container_row(container, statuses.get(_str(container.get("name")), {}), init=init))
    return tuple(rows)


def _owner(metadata: dict[str, Any]) -> str:
    refs = [_dict(r) for r in _list(metadata.get("ownerReferences"))]
    chosen = next((r for r in refs if r.get("controller") is True), refs[0] if refs else None)
    return f"{_str(chosen.get('kind'))}/{_str(chosen.get('name'))}" if chosen else ""


def pod_row(obj: dict[str, Any]) -> PodRow:
    """One pod's JSON (as the API returns it) as a PodRow; tolerant of missing fields."""
    metadata = _dict(obj.get("metadata"))
    spec = _dict(obj.get("spec"))
    status = _dict(obj.get("status"))
    words, ready, total, restarts, last_restart = pod_status(obj)
    containers = _containers(spec, status)
    # the reason of the container whose restart was the most recent one
    restarted = [c for c in containers if c.last_termination_reason]
    last = max(restarted, key=lambda c: c.last_finished_at or _EPOCH) if restarted else None
    conditions = tuple(
        PodCondition(
            type=_str(c.get("type")),
            status=_str(c.get("status")),
            reason=_str(c.get("reason")),
            message=_str(c.get("message")),
            last_transition=parse_time(c.get("lastTransitionTime")),
        )
        for c in map(_dict, _list(status.get("conditions")))
    )
    return PodRow(
        namespace=_str(metadata.get("namespace")),
        name=_str(metadata.get("name")),
        uid=_str(metadata.get("uid")),
        labels=_labels(metadata.get("labels")),
        node=_str(spec.get("nodeName")),
        phase=_str(status.get("phase")),
        status=words,
        ready=f"{ready}/{total}",
        ready_count=ready,
        container_count=total,
        restarts=restarts,
        last_restart_at=last_restart,
        last_termination_reason=last.last_termination_reason if last else "",
        last_exit_code=last.last_exit_code if last else None,
        created_at=parse_time(metadata.get("creationTimestamp")),
        deleting=bool(metadata.get("deletionTimestamp")),
        message=_str(status.get("message")),
        ip=_str(status.get("podIP")),
        owner=_owner(metadata),
        resource_version=_str(metadata.get("resourceVersion")),
        containers=containers,
        conditions=conditions,
    )


def restarts_text(row: PodRow, now: datetime) -> str:
    """kubectl's RESTARTS column: "5 (3m ago)" when the last restart time is known, else "5"."""
    if row.restarts and row.last_restart_at is not None:
        return f"{row.restarts} ({_age((now - row.last_restart_at).total_seconds())} ago)"
    return str(row.restarts)


def _age(seconds: float) -> str:
    s = max(0, int(seconds))
    if s < 120:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        hours, minutes = divmod(s // 60, 60)
        return f"{hours}h{minutes}m" if minutes and hours < 8 else f"{hours}h"
    return f"{s // 86400}d"


_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")
_SUFFIX = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}


def parse_quantity(text: object) -> float | None:
    """A Kubernetes quantity ("250m", "1.5", "256Mi", "1e3", "12345n") as a float; None if not one."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    if not isinstance(text, str):
        return None
    match = _QUANTITY.match(text.strip())
    if match is None or match.group(2) not in _SUFFIX:
        return None
    try:
        return float(Decimal(match.group(1)) * _SUFFIX[match.group(2)])
    except InvalidOperation:
        return None
