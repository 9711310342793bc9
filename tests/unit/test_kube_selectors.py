"""The simulator's label and field selectors match objects as the Kubernetes API server does."""

from __future__ import annotations

import pytest

from tui.demo.kube_objects import event, pod
from tui.lab.kube_sim.selectors import (
    SelectorError,
    check_fields,
    fields_match,
    labels_match,
    parse_field_selector,
    parse_label_selector,
)

API = pod("api-0", labels={"app": "inmidst-api", "tier": "backend", "canary": "true"})
DB = pod("db-0", labels={"app": "inmidst-postgres", "tier": "data"}, node="node-2", phase="Pending")


def matches(selector: str) -> list[str]:
    reqs = parse_label_selector(selector)
    return [p["metadata"]["name"] for p in (API, DB) if labels_match(p, reqs)]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("", ["api-0", "db-0"]),
        ("app=inmidst-api", ["api-0"]),
        ("app==inmidst-api", ["api-0"]),
        ("app!=inmidst-api", ["db-0"]),
        ("tier in (data, cache)", ["db-0"]),
        ("tier notin (data)", ["api-0"]),
        ("canary", ["api-0"]),
        ("!canary", ["db-0"]),
        ("tier=backend,canary=true", ["api-0"]),
        ("tier=backend,canary=false", []),
        ("missing!=x", ["api-0", "db-0"]),
        (" app = inmidst-api , tier in (backend) ", ["api-0"]),
    ],
)
def test_label_selector_matches_like_the_api_server(selector: str, expected: list[str]) -> None:
    assert matches(selector) == expected


@pytest.mark.parametrize(
    "selector", ["app in (a", "app=a b", "=x", "app=,", "a,", "app in ()", "!", "app=(x)"]
)
def test_invalid_label_selector_is_refused(selector: str) -> None:
    with pytest.raises(SelectorError, match="unable to parse requirement"):
        parse_label_selector(selector)


def test_field_selectors_on_pods_and_events() -> None:
    reqs = parse_field_selector("spec.nodeName=node-2,status.phase!=Running")
    check_fields("pods", reqs)
    assert [fields_match("pods", p, reqs) for p in (API, DB)] == [False, True]
    warning = event(API, "BackOff", "Back-off restarting failed container")
    by_pod = parse_field_selector("involvedObject.name=api-0,involvedObject.kind=Pod,type==Warning")
    assert fields_match("events", warning, by_pod)
    assert not fields_match("events", warning, parse_field_selector("involvedObject.name=db-0"))
    assert fields_match(
        "pods", API, parse_field_selector(r"metadata.name=api-0,metadata.namespace=production")
    )


def test_unknown_field_is_refused() -> None:
    with pytest.raises(SelectorError, match="not a known field selector"):
        check_fields("pods", parse_field_selector("spec.color=blue"))
    with pytest.raises(SelectorError):
        parse_field_selector("no-operator")
