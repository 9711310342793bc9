"""10,000 pods in memory: rows of one ReplicaSet share what they repeat, and read exactly as before."""

from __future__ import annotations

import json

from probes.kubernetes.informer import PodCache
from probes.kubernetes.rows import PodRows, pod_row
from tui.lab.kube_sim.fixtures import generated_pods


def _fresh(obj: dict) -> dict:
    return json.loads(json.dumps(obj))  # as json.loads hands each page over: new strings every time


def test_pods_of_one_replicaset_share_labels_conditions_and_containers() -> None:
    pods = list(generated_pods(8))
    first, second = pod_row(_fresh(pods[0])), pod_row(_fresh(pods[7]))  # one deployment, one image
    assert first.name != second.name
    assert first.labels is second.labels and first.labels == (
        ("app", "svc-0000"),
        ("pod-template-hash", "6f7c8d9b5"),
    )
    assert first.conditions is second.conditions and first.conditions
    assert first.namespace is second.namespace and first.node != second.node  # node-1, node-8
    assert first.containers is second.containers  # same image, same state, same start


def test_a_shared_row_is_equal_to_one_read_alone() -> None:
    obj = next(iter(generated_pods(1)))
    once = pod_row(_fresh(obj))
    again = pod_row(_fresh(obj))
    assert once == again and once.status == "Running" and once.ready == "1/1"
    odd = _fresh(obj)
    odd["status"]["conditions"].append({"type": ["not", "a", "string"], "status": {"x": 1}})
    assert pod_row(odd).conditions[-1].type == ""  # an unhashable value is read as empty, never a crash


def test_the_cache_says_how_far_the_first_list_has_got() -> None:
    cache = PodCache()
    rows = [pod_row(_fresh(obj)) for obj in generated_pods(5)]
    cache.add_page(rows[:2], expected=5)
    shown = cache.rows()
    assert isinstance(shown, PodRows) and (len(shown), shown.complete, shown.expected) == (2, False, 5)
    cache.replace_all(rows, "7")
    done = cache.rows()
    assert (len(done), done.complete, done.expected) == (5, True, 5) and cache.synced
