"""A runbook's kubectl command read as a `Reading`: `get pods`, `logs -l`, `describe pod -l`, `top pods -l`
and `get pods -o jsonpath=`, each as kubectl would print it.

Each reading has two halves. The `*_reading_from` functions shape pods already read into the Reading (the
demo's scripted cluster uses them too, so both read alike); the `read_*_reading` functions, which the
probe's methods of the same name call, fetch those pods from the API server through an `ApiConnection`.
Nothing here raises: a failure is a failed Reading that says why in plain words.

The pods are redacted (probes/redact.py) before any printer or jsonpath template sees them: a template
such as `{.items[*].spec.containers[*].env}` prints DB_PASSWORD's name and ••••, never its value; log lines
go through the text rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from kubernetes.client.exceptions import ApiException

from probes.base import Reading
from probes.kubernetes.client import SOURCE, ApiConnection, ReadError, api_path, server_message
from probes.kubernetes.jsonpath import JsonPathError
from probes.kubernetes.jsonpath import parse as jsonpath_parse
from probes.kubernetes.jsonpath import render as jsonpath_render
from probes.kubernetes.printers import (
    POD_COLUMNS,
    TOP_COLUMNS,
    describe_pod_lines,
    has_previous,
    kubectl_list,
    log_container,
    no_pods,
    pod_name,
    pods_columns,
    restarts,
    top_columns,
)
from probes.kubernetes.resources import LogTail, PodMetrics, metrics_row
from probes.kubernetes.rows import as_dict, as_text, pod_row
from probes.redact import active as active_redactor
from probes.redact import redact_object

LOGS_PODS_MAX = 5  # pods a `kubectl logs -l` reading reads: a Deployment of 40 would flood the step
DESCRIBE_PODS_MAX = 10  # pods a `kubectl describe pod -l` reading describes (one events request each)
READING_ROWS_MAX = 500  # rows of a table reading
READING_LINES_MAX = 5000  # lines of a jsonpath reading

# the pods a selector matches, sorted by name; or why none could be read
PodItems = list[dict[str, Any]] | str


def pods_reading_from(
    what: str, namespace: str, selector: str | None, items: PodItems, clock: Callable[[], datetime]
) -> Reading:
    """`kubectl get pods [-l selector]` of these pods: NAME, READY, STATUS, RESTARTS, AGE."""
    if isinstance(items, str):
        return Reading.failed(SOURCE, what, items)
    now = clock()
    rows = [pods_columns(pod_row(item), now) for item in items]
    reading = Reading.table(SOURCE, what, POD_COLUMNS, rows, read_at=now, limit=READING_ROWS_MAX)
    return replace(reading, problem=no_pods(namespace, selector)) if not rows else reading


def logs_reading_from(
    what: str,
    namespace: str,
    selector: str,
    items: PodItems,
    container: str | None,
    previous: bool,
    read_logs: Callable[[str, str | None], LogTail],
    clock: Callable[[], datetime],
) -> Reading:
    """`kubectl logs -l selector --prefix` of these pods, each one's tail from `read_logs(pod, container)`.

    At most LOGS_PODS_MAX pods, those that restarted most; with `previous`, only pods whose container has
    a terminated instance.
    """
    if isinstance(items, str):
        return Reading.failed(SOURCE, what, items)
    chosen = [(item, log_container(item, container)) for item in items]
    if previous:
        chosen = [(item, name) for item, name in chosen if has_previous(item, name)]
    if not chosen:
        why = no_pods(namespace, selector)
        if items:
            why = f"no pod matching -l {selector} has a previous terminated container"
        return Reading.failed(SOURCE, what, why, read_at=clock())
    kept = sorted(chosen, key=lambda c: (-restarts(c[0]), pod_name(c[0])))[:LOGS_PODS_MAX]
    lines: list[str] = []
    problems: list[tuple[str, str]] = []
    truncated = len(chosen) > len(kept)
    for item, name in sorted(kept, key=lambda c: pod_name(c[0])):
        pod = pod_name(item)
        logs = read_logs(pod, name or None)
        if logs.fetched_at is None:
            problems.append((pod, logs.health.last_error or "cannot read logs"))
            continue
        truncated = truncated or logs.truncated
        lines.extend(f"[pod/{pod}/{name}] {line}" for line in logs.lines)
    now = clock()
    if len(problems) == len(kept):
        messages = {message for _, message in problems}
        if len(messages) == 1:
            return Reading.failed(SOURCE, what, messages.pop())
        return Reading.failed(SOURCE, what, "; ".join(f"{pod}: {m}" for pod, m in problems))
    reading = Reading.text(SOURCE, what, active_redactor().lines(lines), read_at=now)
    problem = None
    if problems:
        problem = f"logs of {len(problems)} of {len(kept)} pods not read: " + "; ".join(
            f"{pod}: {m}" for pod, m in problems
        )
    return replace(reading, truncated=truncated, problem=problem)


def describe_reading_from(
    what: str,
    namespace: str,
    selector: str,
    items: PodItems,
    pod_events: Callable[[dict[str, Any]], list[dict[str, Any]] | str],
    clock: Callable[[], datetime],
) -> Reading:
    """`kubectl describe pod -l selector` of these pods (at most DESCRIBE_PODS_MAX), with their events.

    `pod_events(pod)` gives a pod's events, or why they could not be read: the pods are still described,
    and no more events are asked for.
    """
    if isinstance(items, str):
        return Reading.failed(SOURCE, what, items)
    if not items:
        return Reading.failed(SOURCE, what, no_pods(namespace, selector), read_at=clock())
    lines: list[str] = []
    events_problem: str | None = None
    for index, item in enumerate(items[:DESCRIBE_PODS_MAX]):
        events: list[dict[str, Any]] | None = None
        if events_problem is None:
            found = pod_events(item)
            if isinstance(found, str):
                events_problem = found
            else:
                events = found
        if index:
            lines += ["", ""]  # kubectl separates described objects so
        lines += describe_pod_lines(redact_object(item), redact_object(events), clock())
    reading = Reading.text(SOURCE, what, lines, read_at=clock())
    return replace(
        reading,
        truncated=len(items) > DESCRIBE_PODS_MAX,
        problem=f"events not read: {events_problem}" if events_problem else None,
    )


def top_reading_from(
    what: str,
    namespace: str,
    selector: str,
    items: PodItems,
    metrics: list[PodMetrics],
    clock: Callable[[], datetime],
) -> Reading:
    """`kubectl top pods -l selector`: NAME, CPU(cores), MEMORY(bytes) of these pods from their metrics."""
    if isinstance(items, str):
        return Reading.failed(SOURCE, what, items)
    now = clock()
    if not items:
        return Reading.failed(SOURCE, what, no_pods(namespace, selector), read_at=now)
    names = {pod_name(item) for item in items}
    rows = [top_columns(m) for m in sorted(metrics, key=lambda m: m.name) if m.name in names]
    if not rows:
        return Reading.failed(
            SOURCE, what, f"metrics not available yet for pods matching -l {selector}", read_at=now
        )
    return Reading.table(SOURCE, what, TOP_COLUMNS, rows, read_at=now, limit=READING_ROWS_MAX)


def jsonpath_reading_from(
    what: str,
    jsonpath: str,
    pod_list: Callable[[], dict[str, Any] | str],
    clock: Callable[[], datetime],
) -> Reading:
    """`kubectl get pods -o jsonpath=TEMPLATE` over `pod_list()` (a PodList, or why it can't be read).

    The template is parsed before the pods are read; values of one `{}` are space-separated on one line,
    as kubectl prints them, and tabs are expanded.
    """
    try:
        template = jsonpath_parse(jsonpath)
    except JsonPathError as exc:
        return Reading.failed(SOURCE, what, str(exc))
    body = pod_list()
    if isinstance(body, str):
        return Reading.failed(SOURCE, what, body)
    now = clock()
    try:
        text = jsonpath_render(template, kubectl_list(redact_object(body)))
    except JsonPathError as exc:
        return Reading.failed(SOURCE, what, f'error executing jsonpath "{jsonpath}": {exc}', read_at=now)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [line.expandtabs(8) for line in lines]
    reading = Reading.text(SOURCE, what, lines[:READING_LINES_MAX], read_at=now)
    return replace(reading, truncated=len(lines) > READING_LINES_MAX)


# --- the same readings, of pods read from the API server ------------------------------------------


def _guarded(conn: ApiConnection, what: str, read: Callable[[], Reading]) -> Reading:
    """Run a triage read; any failure is a failed Reading in plain words (a 403 with the server's)."""
    try:
        return read()
    except Exception as exc:
        return Reading.failed(SOURCE, what, str(conn.explain(exc)))


def _pod_items(conn: ApiConnection, namespace: str, selector: str | None) -> list[dict[str, Any]]:
    """The pods' JSON as the API returns them, sorted by name."""
    body = conn.get_json(
        api_path("api", "v1", "namespaces", namespace, "pods"), "pods", labelSelector=selector
    )
    items = [as_dict(item) for item in body.get("items") or []]
    return sorted(items, key=pod_name)


def _pod_events(conn: ApiConnection, namespace: str, pod: dict[str, Any]) -> list[dict[str, Any]]:
    """The events of one pod, as kubectl describe asks for them (by name and kind, then by uid)."""
    name = pod_name(pod)
    body = conn.get_json(
        api_path("api", "v1", "namespaces", namespace, "events"),
        "events",
        fieldSelector=f"involvedObject.name={name},involvedObject.kind=Pod",
    )
    uid = as_text(as_dict(pod.get("metadata")).get("uid"))
    events = [as_dict(item) for item in body.get("items") or []]
    # a StatefulSet's pod keeps its name across instances: only this one's events
    return [e for e in events if not uid or as_text(as_dict(e.get("involvedObject")).get("uid")) in ("", uid)]


def read_pods_reading(
    conn: ApiConnection, what: str, namespace: str, selector: str | None, clock: Callable[[], datetime]
) -> Reading:
    """`kubectl get pods [-l selector]` from the API server."""
    return _guarded(
        conn,
        what,
        lambda: pods_reading_from(what, namespace, selector, _pod_items(conn, namespace, selector), clock),
    )


def read_logs_reading(
    conn: ApiConnection,
    what: str,
    namespace: str,
    selector: str,
    container: str | None,
    previous: bool,
    tail_of: Callable[[str, str | None], LogTail],
    clock: Callable[[], datetime],
) -> Reading:
    """`kubectl logs -l selector --prefix` from the API server: the pods, then `tail_of(pod, container)`.

    Each pod's container is `container`, else its default one (the kubectl.kubernetes.io/default-container
    annotation, else the first), as kubectl picks it. With `previous`, only pods whose container has a
    terminated instance are read. When more pods match than LOGS_PODS_MAX, those that restarted most are.
    """

    def read() -> Reading:
        items = _pod_items(conn, namespace, selector)
        return logs_reading_from(what, namespace, selector, items, container, previous, tail_of, clock)

    return _guarded(conn, what, read)


def read_describe_reading(
    conn: ApiConnection, what: str, namespace: str, selector: str, clock: Callable[[], datetime]
) -> Reading:
    """`kubectl describe pod -l selector` from the API server: the pods, then each one's events.

    Per pod (at most DESCRIBE_PODS_MAX): Name, Namespace, Node, Status, per container its State, Last
    State, Ready, Restart Count, Limits and Requests, then the pod's Events; so `grep -A5 "Last State"`
    finds here what it finds in kubectl's output.
    """

    def events_of(item: dict[str, Any]) -> list[dict[str, Any]] | str:
        try:
            return _pod_events(conn, namespace, item)
        except Exception as exc:  # the pod is still worth showing without its events
            return str(conn.explain(exc))

    def read() -> Reading:
        items = _pod_items(conn, namespace, selector)
        return describe_reading_from(what, namespace, selector, items, events_of, clock)

    return _guarded(conn, what, read)


def read_top_reading(
    conn: ApiConnection, what: str, namespace: str, selector: str, clock: Callable[[], datetime]
) -> Reading:
    """`kubectl top pods -l selector` from the API server: the pods, then their metrics.k8s.io usage."""

    def read() -> Reading:
        items = _pod_items(conn, namespace, selector)
        try:
            body = conn.get_json(
                api_path("apis", "metrics.k8s.io", "v1beta1", "namespaces", namespace, "pods"),
                "pods.metrics.k8s.io",
                labelSelector=selector,
            )
        except ApiException as exc:
            if exc.status == 404:
                raise ReadError(
                    "metrics API not available: metrics.k8s.io is not served (is metrics-server installed?)",
                    "not-configured",
                    404,
                ) from None
            if exc.status == 503:
                raise ReadError(f"metrics API not answering: {server_message(exc)}", "down", 503) from None
            raise
        metrics = [metrics_row(item) for item in body.get("items") or []]
        return top_reading_from(what, namespace, selector, items, metrics, clock)

    return _guarded(conn, what, read)


def read_jsonpath_reading(
    conn: ApiConnection,
    what: str,
    namespace: str,
    selector: str | None,
    jsonpath: str,
    clock: Callable[[], datetime],
) -> Reading:
    """`kubectl get pods [-l selector] -o jsonpath=TEMPLATE` from the API server's pod list.

    The template runs over the pod list as kubectl gives it to its printer (a List whose items carry
    apiVersion and kind); values of one `{}` are space-separated on one line, as kubectl prints them.
    """

    def pod_list() -> dict[str, Any]:
        return conn.get_json(
            api_path("api", "v1", "namespaces", namespace, "pods"), "pods", labelSelector=selector
        )

    return _guarded(conn, what, lambda: jsonpath_reading_from(what, jsonpath, pod_list, clock))
