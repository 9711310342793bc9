"""kubectl's words and layout, so that a reading of the cluster reads like the command it stands in for.

The command lines as a user would type them (`kubectl`, `logs_command`, `jsonpath_command`), the columns
of `kubectl get pods` and `kubectl top pods`, the triage part of `kubectl describe pod` aligned as Go's
tabwriter does, the times as Go prints them, and the choices kubectl makes (which container `kubectl logs`
reads, the List its printers are handed). Pure functions of JSON and rows: nothing here sends a request.
"""

from __future__ import annotations

import math
import re
import shlex
from datetime import UTC, datetime
from typing import Any

from probes.format import human_duration
from probes.kubernetes.resources import LOG_TAIL_MAX, PodMetrics, event_row
from probes.kubernetes.rows import PodRow, as_dict, as_int, as_text, parse_time, restarts_text

POD_COLUMNS = ("NAME", "READY", "STATUS", "RESTARTS", "AGE")
TOP_COLUMNS = ("NAME", "CPU(cores)", "MEMORY(bytes)")


def _since(moment: datetime | None, now: datetime) -> str:
    return human_duration((now - moment).total_seconds()) if moment else "<unknown>"


def kubectl(namespace: str, words: str, selector: str | None = None) -> str:
    """The command as a user types it: `kubectl -n production get pods -l app=inmidst-api`."""
    command = f"kubectl -n {shlex.quote(namespace)} {words}"
    return command + (f" -l {shlex.quote(selector)}" if selector else "")


def no_pods(namespace: str, selector: str | None) -> str:
    """What kubectl says when nothing matches (and what oncall says for a selector)."""
    if selector:
        return f"no pods match -l {selector} in namespace {namespace}"
    return f"No resources found in {namespace} namespace."


def logs_command(
    namespace: str, selector: str, tail: int, container: str | None, previous: bool
) -> tuple[str, int]:
    """`kubectl logs -l selector --tail=N --prefix` as typed, and the tail it reads."""
    tail = tail if tail > 0 else LOG_TAIL_MAX  # kubectl's --tail=-1: all lines, here bounded
    words = f"logs -l {shlex.quote(selector)} --tail={tail}"
    if container:
        words += f" -c {shlex.quote(container)}"
    return kubectl(namespace, words + (" --previous" if previous else "") + " --prefix"), tail


def jsonpath_command(namespace: str, selector: str | None, jsonpath: str) -> str:
    """`kubectl get pods [-l selector] -o jsonpath=TEMPLATE` as typed."""
    return kubectl(namespace, "get pods", selector) + f" -o jsonpath={shlex.quote(jsonpath)}"


def pod_name(item: dict[str, Any]) -> str:
    """metadata.name of an object's JSON; "" when absent."""
    return as_text(as_dict(item.get("metadata")).get("name"))


def restarts(item: dict[str, Any]) -> int:
    """The restarts of a pod's JSON: the sum over its containers."""
    statuses = as_dict(item.get("status")).get("containerStatuses") or []
    return sum(as_int(as_dict(c).get("restartCount")) for c in statuses)


def pods_columns(row: PodRow, now: datetime) -> tuple[str, ...]:
    """One row of `kubectl get pods`: NAME, READY, STATUS, RESTARTS, AGE."""
    return (row.name, row.ready, row.status, restarts_text(row, now), _since(row.created_at, now))


def top_columns(metrics: PodMetrics) -> tuple[str, ...]:
    """kubectl top's units: millicores rounded up, whole MiB rounded down."""
    millicores = math.ceil(round(metrics.cpu * 1000, 6))
    mebibytes = math.ceil(round(metrics.memory, 3)) // (1024 * 1024)
    return (metrics.name, f"{millicores}m", f"{mebibytes}Mi")


def log_container(item: dict[str, Any], wanted: str | None) -> str:
    """The container `kubectl logs` reads: the one asked for, else the pod's default one."""
    if wanted:
        return wanted
    annotations = as_dict(as_dict(item.get("metadata")).get("annotations"))
    default = as_text(annotations.get("kubectl.kubernetes.io/default-container"))
    names = [as_text(as_dict(c).get("name")) for c in as_dict(item.get("spec")).get("containers") or []]
    if default and default in names:
        return default
    return names[0] if names else ""


def has_previous(item: dict[str, Any], container: str) -> bool:
    for status in as_dict(item.get("status")).get("containerStatuses") or []:
        status = as_dict(status)
        if as_text(status.get("name")) == container:
            return isinstance(as_dict(status.get("lastState")).get("terminated"), dict)
    return False


def kubectl_list(body: dict[str, Any]) -> dict[str, Any]:
    """A pod list as kubectl hands it to its printers: a v1 List whose items name their kind."""
    api_version = as_text(body.get("apiVersion")) or "v1"
    kind = as_text(body.get("kind")).removesuffix("List") or "Pod"
    items = [{"apiVersion": api_version, "kind": kind, **as_dict(item)} for item in body.get("items") or []]
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _rfc1123z(moment: datetime | None) -> str:
    """Go's time.RFC1123Z, as kubectl describe prints times: "Mon, 02 Jan 2006 15:04:05 -0700"."""
    if moment is None:
        return "<unknown>"
    return (
        f"{_DAYS[moment.weekday()]}, {moment.day:02d} {_MONTHS[moment.month - 1]} {moment.year} "
        f"{moment:%H:%M:%S} {moment:%z}"
    )


def _one_line(value: object) -> str:
    """A server's text on one line: a tab or newline in it must not break the layout."""
    return _CONTROL.sub(" ", as_text(value)).strip()


def _tabwriter(lines: list[str], padding: int = 2) -> list[str]:
    """Go's text/tabwriter as kubectl describe uses it: tab-ended cells aligned per block of lines."""
    rows = [line.split("\t") for line in lines]
    widths = [[0] * (len(row) - 1) for row in rows]

    def layout(first: int, last: int, column: int) -> None:
        index = first
        while index < last:
            if column >= len(rows[index]) - 1:
                index += 1
                continue
            start, width = index, 0
            while index < last and column < len(rows[index]) - 1:
                width = max(width, len(rows[index][column]) + padding)
                index += 1
            for line in range(start, index):
                widths[line][column] = width
            layout(start, index, column + 1)

    layout(0, len(rows), 0)
    return [
        "".join(cell.ljust(width) for cell, width in zip(row, widths[i], strict=False)) + row[-1]
        for i, row in enumerate(rows)
    ]


def _describe_state(label: str, state: dict[str, Any]) -> list[str]:
    """kubectl's describeStatus: a container state and its details, one level deeper."""
    running, waiting, terminated = (state.get(k) for k in ("running", "waiting", "terminated"))
    if isinstance(running, dict):
        return [
            f"    {label}:\tRunning",
            f"      Started:\t{_rfc1123z(parse_time(running.get('startedAt')))}",
        ]
    if isinstance(terminated, dict):
        lines = [f"    {label}:\tTerminated"]
        if as_text(terminated.get("reason")):
            lines.append(f"      Reason:\t{_one_line(terminated.get('reason'))}")
        if as_text(terminated.get("message")):
            lines.append(f"      Message:\t{_one_line(terminated.get('message'))}")
        lines.append(f"      Exit Code:\t{as_int(terminated.get('exitCode'))}")
        if as_int(terminated.get("signal")) > 0:
            lines.append(f"      Signal:\t{as_int(terminated.get('signal'))}")
        lines.append(f"      Started:\t{_rfc1123z(parse_time(terminated.get('startedAt')))}")
        lines.append(f"      Finished:\t{_rfc1123z(parse_time(terminated.get('finishedAt')))}")
        return lines
    lines = [f"    {label}:\tWaiting"]
    if isinstance(waiting, dict) and as_text(waiting.get("reason")):
        lines.append(f"      Reason:\t{_one_line(waiting.get('reason'))}")
    return lines


def _describe_containers(title: str, specs: list[Any], statuses: list[Any]) -> list[str]:
    by_name = {as_text(as_dict(s).get("name")): as_dict(s) for s in statuses}
    lines = [f"{title}:"]
    for raw in specs:
        spec = as_dict(raw)
        name = as_text(spec.get("name"))
        lines += [f"  {_one_line(name)}:", f"    Image:\t{_one_line(spec.get('image'))}"]
        status = by_name.get(name)
        if status is not None:
            lines += _describe_state("State", as_dict(status.get("state")))
            last = as_dict(status.get("lastState"))
            if isinstance(last.get("terminated"), dict):
                lines += _describe_state("Last State", last)
            lines.append(f"    Ready:\t{'True' if status.get('ready') is True else 'False'}")
            lines.append(f"    Restart Count:\t{as_int(status.get('restartCount'))}")
        resources = as_dict(spec.get("resources"))
        for kind in ("limits", "requests"):
            amounts = as_dict(resources.get(kind))
            if amounts:
                lines.append(f"    {kind.capitalize()}:")
                lines += [f"      {_one_line(k)}:\t{_one_line(amounts[k])}" for k in sorted(amounts)]
    return lines


def _describe_events(events: list[dict[str, Any]] | None, now: datetime) -> list[str]:
    """kubectl's DescribeEvents: oldest first; "3m4s (x7 over 20m)" for repeated ones."""
    if events is None:
        return ["Events:  <not read>"]
    if not events:
        return ["Events:  <none>"]
    rows = sorted(
        (event_row(e) for e in events), key=lambda e: e.last_seen or datetime.min.replace(tzinfo=UTC)
    )
    lines = ["Events:", "  Type\tReason\tAge\tFrom\tMessage", "  ----\t------\t----\t----\t-------"]
    for event in rows:
        age = _since(event.first_seen, now)
        if event.count > 1:
            age = f"{_since(event.last_seen, now)} (x{event.count} over {age})"
        fields = (event.type, event.reason, age, event.source, event.message)
        lines.append("  " + "\t".join(_one_line(f) for f in fields))
    return _tabwriter(lines)


def describe_pod_lines(pod: dict[str, Any], events: list[dict[str, Any]] | None, now: datetime) -> list[str]:
    """One pod as `kubectl describe pod` lays it out, the triage part: events None when not read."""
    metadata, spec, status = (
        as_dict(pod.get("metadata")),
        as_dict(pod.get("spec")),
        as_dict(pod.get("status")),
    )
    node = as_text(spec.get("nodeName"))
    lines = [
        f"Name:\t{_one_line(metadata.get('name'))}",
        f"Namespace:\t{_one_line(metadata.get('namespace'))}",
        f"Service Account:\t{_one_line(spec.get('serviceAccountName'))}",
        f"Node:\t{_one_line(node)}/{_one_line(status.get('hostIP'))}" if node else "Node:\t<none>",
    ]
    if parse_time(status.get("startTime")):
        lines.append(f"Start Time:\t{_rfc1123z(parse_time(status.get('startTime')))}")
    labels = sorted(f"{_one_line(k)}={_one_line(v)}" for k, v in as_dict(metadata.get("labels")).items())
    lines += (
        [f"Labels:\t{labels[0]}", *(f"\t{label}" for label in labels[1:])] if labels else ["Labels:\t<none>"]
    )
    deleting = parse_time(metadata.get("deletionTimestamp"))
    if deleting is not None:
        lines.append(f"Status:\tTerminating (lasts {_since(deleting, now)})")
        grace = metadata.get("deletionGracePeriodSeconds")
        if isinstance(grace, int):
            lines.append(f"Termination Grace Period:\t{grace}s")
    else:
        lines.append(f"Status:\t{_one_line(status.get('phase'))}")
    for key in ("reason", "message"):
        if as_text(status.get(key)):
            lines.append(f"{key.capitalize()}:\t{_one_line(status.get(key))}")
    lines.append(f"IP:\t{_one_line(status.get('podIP'))}")
    owners = [as_dict(r) for r in metadata.get("ownerReferences") or []]
    owner = next((r for r in owners if r.get("controller") is True), None)
    if owner:
        lines.append(f"Controlled By:\t{_one_line(owner.get('kind'))}/{_one_line(owner.get('name'))}")
    if spec.get("initContainers"):
        lines += _describe_containers(
            "Init Containers", spec.get("initContainers") or [], status.get("initContainerStatuses") or []
        )
    lines += _describe_containers(
        "Containers", spec.get("containers") or [], status.get("containerStatuses") or []
    )
    # kubectl flushes its tab writer before the events table, so the two are aligned apart
    return _tabwriter(lines) + _describe_events(events, now)


# live triage: each reading's steps, over pods read from the API server or held by the demo cluster
