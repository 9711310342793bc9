"""kubectl's JSONPath subset: what `kubectl get -o jsonpath=...` prints, checked on a small pod list."""

from __future__ import annotations

from typing import Any

import pytest

from probes.kubernetes import JsonPathError
from probes.kubernetes.jsonpath import evaluate


def pod(name: str, phase: str, restarts: list[int], **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": f"c{i}"} for i in range(len(restarts))]},
        "status": {
            "phase": phase,
            "containerStatuses": [
                {"name": f"c{i}", "restartCount": n, "ready": n == 0} for i, n in enumerate(restarts)
            ],
        },
    }


PODS = {
    "apiVersion": "v1",
    "kind": "List",
    "metadata": {"resourceVersion": ""},
    "items": [
        pod("api-1", "Running", [3], app="api", **{"app.kubernetes.io/name": "api"}),
        pod("api-2", "Running", [0]),
        pod("worker-1", "Pending", [0, 1], app="worker"),
    ],
}


@pytest.mark.parametrize(
    ("template", "printed"),
    [
        ("{.items[*].status.containerStatuses[*].restartCount}", "3 0 0 1"),
        ("{.items[*].metadata.name}", "api-1 api-2 worker-1"),
        ('{range .items[*]}{.metadata.name}{"\\t"}{end}', "api-1\tapi-2\tworker-1\t"),
        (
            '{range .items[*]}{.metadata.name}:{range .spec.containers[*]}[{.name}]{end}{"\\n"}{end}',
            "api-1:[c0]\napi-2:[c0]\nworker-1:[c0][c1]\n",
        ),
        ('{.items[?(@.status.phase=="Pending")].metadata.name}', "worker-1"),
        ("{.items[?(@.status.phase!='Pending')].metadata.name}", "api-1 api-2"),
        ("{.items[?(@.status.containerStatuses[0].restartCount>0)].metadata.name}", "api-1"),
        ("{.items[*].status.containerStatuses[?(@.ready==false)].name}", "c0 c1"),
        ("{.items[?(@.metadata.labels.app)].metadata.name}", "api-1 worker-1"),
        ("{.items[0].metadata.labels.app\\.kubernetes\\.io/name}", "api"),
        ("{.items[0].metadata['name']}", "api-1"),
        ("{.items[0].metadata.labels['app.kubernetes.io/name']}", "api"),
        ("{.items[2].metadata['name','labels']}", 'worker-1 {"app":"worker"}'),
        ("{.items[-1].metadata.name}", "worker-1"),
        ("{.items[-2:].metadata.name}", "api-2 worker-1"),
        ("{.items[0:3:2].metadata.name}", "api-1 worker-1"),
        ("{.items[0].status.containerStatuses[0]}", '{"name":"c0","ready":false,"restartCount":3}'),
        ("{.items[1].status.containerStatuses[0].ready}", "true"),
        ("{.kind} has {.items[*].kind}", "List has Pod Pod Pod"),
        ("{.items[*].metadata.missing}x", "x"),
        ("{$.metadata}", '{"resourceVersion":""}'),
        ("no braces at all", "no braces at all"),
        ("{..restartCount}", "3 0 0 1"),
        ("{.items[0].metadata.labels.*}", "api api"),
        ("{.items[5:5].metadata.name}", ""),
    ],
)
def test_prints_what_kubectl_prints(template: str, printed: str) -> None:
    assert evaluate(template, PODS) == printed


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{.items[0].metadata.name", "unclosed action"),
        ("{range .items[*]}{.metadata.name}", "unclosed range"),
        ("{.metadata.name}{end}", "not in range, nothing to end"),
        ("{.items[x]}", "invalid array index x"),
        ("{.items[0:1:2:3]}", "invalid array index"),
        ("{.a,.b}", "unrecognized character in action: ','"),
        ("{.items[9].metadata.name}", "array index out of bounds: index 9, length 3"),
        ("{.items[0:9]}", "array index out of bounds: index 8, length 3"),
        ("{.kind[0]}", "string is not array or slice"),
        ("{.metadata[?(@.x)]}", "is not array or slice and cannot be filtered"),
    ],
)
def test_errors_in_kubectls_words(template: str, message: str) -> None:
    with pytest.raises(JsonPathError, match=message.replace("[", r"\[").replace("(", r"\(")):
        evaluate(template, PODS)


def test_maps_print_as_compact_json_with_sorted_keys_and_go_escapes() -> None:
    data = {"a": {"z": 1, "b": "<html> & more", "m": [1.5, 2.0, None, True]}}
    assert evaluate("{.a}", data) == '{"b":"\\u003chtml\\u003e \\u0026 more","m":[1.5,2,null,true],"z":1}'
    assert evaluate("{.a.m[*]}", data) == "1.5 2 <nil> true"
