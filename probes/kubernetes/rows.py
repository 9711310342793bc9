"""Pods as kubectl prints them: PodRow from a pod's JSON, with the STATUS column computed as kubectl does.

Also the pieces every other module here reads JSON with: Kubernetes timestamps and quantities, and the
`as_*` field readers that turn a missing or mistyped field into its empty value instead of an exception;
and the pod summary (`oncall snapshot`, the header), which is counted from these rows."""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from probes.format import human_duration

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


class PodRows(tuple[PodRow, ...]):
    """The cache's pods, sorted, and how far the first list has got: `complete` once it has all of them,
    `expected` the pods the API server said the list holds (0 while it has not said)."""

    complete: bool = True
    expected: int = 0

    def __new__(cls, rows: Any = (), *, complete: bool = True, expected: int = 0) -> PodRows:
        made = super().__new__(cls, rows)
        made.complete = complete
        made.expected = expected
        return made


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


# JSON field readers: the value as the type expected, or that type's empty value when it is anything else


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: object) -> str:
    return value if isinstance(value, str) else ""


def as_int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def as_text(value: object) -> str:
    """Any value as text (a number too), "" for None: for fields printed as the server sent them."""
    return value if isinstance(value, str) else ("" if value is None else str(value))


def as_labels(value: object) -> Labels:
    """A labels (or selector) map as sorted pairs."""
    raw = as_dict(value)
    return tuple(sorted((str(k), str(v)) for k, v in raw.items()))


# --- sharing what 10,000 pods repeat ------------------------------------------------------------
# Pods of one ReplicaSet carry the same labels, images, conditions and words: each PodRow keeps one
# shared copy of those, not the fresh strings json.loads made for each pod (a third of the rows' memory).

# Distinct values kept per table; past it the table starts again (never unbounded). A table also keeps the
# values of pods long gone: a shift of rolling deployments adds thousands of conditions (each with its own
# transition time, ~350 an hour in bench.soak_bench), and each table's whole bound is memory the process
# keeps once it has filled (65,536 held up to ~40 MiB of the departed). Sharing pays off among the pods of
# a list, which repeat a few values: 4,096 costs bench.kube_bench's 10,000 pods nothing (110 MiB).
_SHARED_MAX = 4_096
_shared_labels: dict[Labels, Labels] = {}
_shared_conditions: dict[tuple[PodCondition, ...], tuple[PodCondition, ...]] = {}
_shared_condition: dict[tuple[Any, ...], PodCondition] = {}  # by the condition's JSON values
_shared_container: dict[ContainerRow, ContainerRow] = {}
_shared_containers: dict[tuple[ContainerRow, ...], tuple[ContainerRow, ...]] = {}


def _share(table: dict[Any, Any], value: Any) -> Any:
    shared = table.get(value)
    if shared is not None:
        return shared
    if len(table) >= _SHARED_MAX:
        table.clear()
    table[value] = value
    return value


def _word(value: object) -> str:
    """A string field many pods repeat (a namespace, a node, a phase, an image), shared."""
    return sys.intern(value) if isinstance(value, str) else ""


def _shared_labels_of(value: object) -> Labels:
    raw = as_dict(value)
    if not raw:
        return ()
    pairs = tuple(sorted((sys.intern(str(k)), sys.intern(str(v))) for k, v in raw.items()))
    return _share(_shared_labels, pairs)


def _restartable(spec: dict[str, Any] | None) -> bool:
    """A sidecar: an init container with restartPolicy Always (Kubernetes 1.28+)."""
    return spec is not None and spec.get("restartPolicy") == "Always"


def _condition_true(conditions: list[Any], kind: str) -> bool:
    return any(as_dict(c).get("type") == kind and as_dict(c).get("status") == "True" for c in conditions)


def _terminated_words(terminated: dict[str, Any], prefix: str = "") -> str:
    """kubectl's words for a terminated state: its reason, else Signal:N, else ExitCode:N."""
    reason = as_str(terminated.get("reason"))
    if reason:
        return prefix + reason
    signal = as_int(terminated.get("signal"))
    if signal:
        return f"{prefix}Signal:{signal}"
    return f"{prefix}ExitCode:{as_int(terminated.get('exitCode'))}"


def pod_status(pod: dict[str, Any]) -> tuple[str, int, int, int, datetime | None]:
    """The STATUS, ready count, container count, restarts and last restart time, as kubectl's printPod.

    A port of printPod in kubernetes/pkg/printers/internalversion/printers.go, so the words match what
    the on-call engineer sees in `kubectl get pods`.
    """
    metadata = as_dict(pod.get("metadata"))
    spec = as_dict(pod.get("spec"))
    status = as_dict(pod.get("status"))
    conditions = as_list(status.get("conditions"))
    init_specs = [as_dict(c) for c in as_list(spec.get("initContainers"))]
    init_by_name = {as_str(c.get("name")): c for c in init_specs}

    phase = as_str(status.get("phase"))
    reason = as_str(status.get("reason")) or phase
    for condition in conditions:
        c = as_dict(condition)
        if c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    total = len(as_list(spec.get("containers"))) + sum(1 for c in init_specs if _restartable(c))
    ready = 0
    restarts = 0
    sidecar_restarts = 0
    last_restart: datetime | None = None
    sidecar_last_restart: datetime | None = None

    initializing = False
    init_statuses = as_list(status.get("initContainerStatuses"))
    for index, raw in enumerate(init_statuses):
        container = as_dict(raw)
        count = as_int(container.get("restartCount"))
        restarts += count
        finished = parse_time(
            as_dict(as_dict(container.get("lastState")).get("terminated")).get("finishedAt")
        )
        if finished and (last_restart is None or finished > last_restart):
            last_restart = finished
        sidecar = _restartable(init_by_name.get(as_str(container.get("name"))))
        if sidecar:
            sidecar_restarts += count
            if finished and (sidecar_last_restart is None or finished > sidecar_last_restart):
                sidecar_last_restart = finished
        state = as_dict(container.get("state"))
        terminated = state.get("terminated")
        waiting = as_dict(state.get("waiting"))
        if isinstance(terminated, dict) and as_int(terminated.get("exitCode")) == 0:
            continue
        if sidecar and container.get("started") is True:
            if container.get("ready") is True:
                ready += 1
            continue
        if isinstance(terminated, dict):
            reason = _terminated_words(terminated, "Init:")
        elif as_str(waiting.get("reason")) and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + as_str(waiting.get("reason"))
        else:
            reason = f"Init:{index}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _condition_true(conditions, "Initialized"):
        restarts = sidecar_restarts
        last_restart = sidecar_last_restart
        has_running = False
        for raw in reversed(as_list(status.get("containerStatuses"))):
            container = as_dict(raw)
            restarts += as_int(container.get("restartCount"))
            finished = parse_time(
                as_dict(as_dict(container.get("lastState")).get("terminated")).get("finishedAt")
            )
            if finished and (last_restart is None or finished > last_restart):
                last_restart = finished
            state = as_dict(container.get("state"))
            waiting = as_dict(state.get("waiting"))
            terminated = state.get("terminated")
            if as_str(waiting.get("reason")):
                reason = as_str(waiting.get("reason"))
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
    resources = as_dict(spec.get("resources"))
    requests = as_dict(resources.get("requests"))
    limits = as_dict(resources.get("limits"))
    return (
        sys.intern(str(requests.get("cpu", ""))),
        sys.intern(str(requests.get("memory", ""))),
        sys.intern(str(limits.get("cpu", ""))),
        sys.intern(str(limits.get("memory", ""))),
    )


def _container_row(spec: dict[str, Any], status: dict[str, Any], *, init: bool) -> ContainerRow:
    state = as_dict(status.get("state"))
    kind, reason, started = "unknown", "", None
    if isinstance(state.get("running"), dict):
        kind, started = "running", parse_time(state["running"].get("startedAt"))
    elif isinstance(state.get("waiting"), dict):
        kind, reason = "waiting", as_str(state["waiting"].get("reason"))
    elif isinstance(state.get("terminated"), dict):
        terminated = state["terminated"]
        kind, reason = "terminated", _terminated_words(terminated)
        started = parse_time(terminated.get("startedAt"))
    last = as_dict(as_dict(status.get("lastState")).get("terminated"))
    cpu_request, memory_request, cpu_limit, memory_limit = _resources(spec)
    row = ContainerRow(
        name=_word(spec.get("name")) or _word(status.get("name")),
        image=_word(spec.get("image")) or _word(status.get("image")),
        init=init,
        state=kind,
        reason=sys.intern(reason),
        ready=status.get("ready") is True,
        restarts=as_int(status.get("restartCount")),
        started_at=started,
        last_termination_reason=sys.intern(_terminated_words(last)) if last else "",
        last_exit_code=as_int(last.get("exitCode")) if last else None,
        last_finished_at=parse_time(last.get("finishedAt")) if last else None,
        requests_cpu=cpu_request,
        requests_memory=memory_request,
        limits_cpu=cpu_limit,
        limits_memory=memory_limit,
    )
    return _share(_shared_container, row)


def _containers(spec: dict[str, Any], status: dict[str, Any]) -> tuple[ContainerRow, ...]:
    rows: list[ContainerRow] = []
    for spec_key, status_key, init in (
        ("initContainers", "initContainerStatuses", True),
        ("containers", "containerStatuses", False),
    ):
        statuses = {as_str(as_dict(s).get("name")): as_dict(s) for s in as_list(status.get(status_key))}
        for raw in as_list(spec.get(spec_key)):
            container = as_dict(raw)
            rows.append(_container_row(container, statuses.get(as_str(container.get("name")), {}), init=init))
    return tuple(rows)


def _owner(metadata: dict[str, Any]) -> str:
    refs = [as_dict(r) for r in as_list(metadata.get("ownerReferences"))]
    chosen = next((r for r in refs if r.get("controller") is True), refs[0] if refs else None)
    return sys.intern(f"{as_str(chosen.get('kind'))}/{as_str(chosen.get('name'))}") if chosen else ""


def _condition(raw: dict[str, Any]) -> PodCondition:
    """A pod condition; the same values as a condition seen before give that one (most pods share them)."""
    key = tuple(raw.get(field) for field in ("type", "status", "reason", "message", "lastTransitionTime"))
    try:
        shared = _shared_condition.get(key)
    except TypeError:  # a value that is not a string (a list, an object): nothing to share
        shared, key = None, ()
    if shared is not None:
        return shared
    condition = PodCondition(
        type=_word(raw.get("type")),
        status=_word(raw.get("status")),
        reason=_word(raw.get("reason")),
        message=as_str(raw.get("message")),
        last_transition=parse_time(raw.get("lastTransitionTime")),
    )
    if key:
        if len(_shared_condition) >= _SHARED_MAX:  # bounded like the other tables
            _shared_condition.clear()
        _shared_condition[key] = condition
    return condition


def pod_row(obj: dict[str, Any]) -> PodRow:
    """One pod's JSON (as the API returns it) as a PodRow; tolerant of missing fields."""
    metadata = as_dict(obj.get("metadata"))
    spec = as_dict(obj.get("spec"))
    status = as_dict(obj.get("status"))
    words, ready, total, restarts, last_restart = pod_status(obj)
    containers = _containers(spec, status)
    # the reason of the container whose restart was the most recent one
    restarted = [c for c in containers if c.last_termination_reason]
    last = max(restarted, key=lambda c: c.last_finished_at or _EPOCH) if restarted else None
    conditions = tuple(_condition(c) for c in map(as_dict, as_list(status.get("conditions"))))
    return PodRow(
        namespace=_word(metadata.get("namespace")),
        name=as_str(metadata.get("name")),
        uid=as_str(metadata.get("uid")),
        labels=_shared_labels_of(metadata.get("labels")),
        node=_word(spec.get("nodeName")),
        phase=_word(status.get("phase")),
        status=sys.intern(words),
        ready=sys.intern(f"{ready}/{total}"),
        ready_count=ready,
        container_count=total,
        restarts=restarts,
        last_restart_at=last_restart,
        last_termination_reason=last.last_termination_reason if last else "",
        last_exit_code=last.last_exit_code if last else None,
        created_at=parse_time(metadata.get("creationTimestamp")),
        deleting=bool(metadata.get("deletionTimestamp")),
        message=as_str(status.get("message")),
        ip=as_str(status.get("podIP")),
        owner=_owner(metadata),
        resource_version=as_str(metadata.get("resourceVersion")),
        containers=_share(_shared_containers, containers),
        conditions=_share(_shared_conditions, conditions),
    )


def restarts_text(row: PodRow, now: datetime) -> str:
    """kubectl's RESTARTS column: "5 (3m ago)" when the last restart time is known, else "5"."""
    if row.restarts and row.last_restart_at is not None:
        return f"{row.restarts} ({human_duration((now - row.last_restart_at).total_seconds())} ago)"
    return str(row.restarts)


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


def pod_summary(rows: tuple[PodRow, ...] | list[PodRow]) -> dict[str, Any]:
    """Counts by STATUS, total restarts and OOMKilled pods, for `oncall snapshot` and the header."""
    by_status: dict[str, int] = {}
    for row in rows:
        by_status[row.status] = by_status.get(row.status, 0) + 1
    return {
        "pods": len(rows),
        "by_status": dict(sorted(by_status.items(), key=lambda kv: (-kv[1], kv[0]))),
        "restarts": sum(row.restarts for row in rows),
        "oom_killed": sorted(row.key for row in rows if row.oom_killed),
        "not_ready": sorted(
            row.key for row in rows if row.ready_count < row.container_count and row.status != "Completed"
        ),
    }
