"""What oncall may send a cluster beyond GETs (the two self-reviews of `oncall check`, nothing else), and the
example roles in examples/rbac/: exactly what the probe reads, and no Secret without Helm history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from probes.kubernetes.access import READS, SELF_REVIEW_RESOURCES, AccessAnswers, access_notes, reads
from probes.kubernetes.client import ReadOnlyViolation, check_read_only
from tests.helpers import offline_kube_probe

SERVER = "https://k8s:6443"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "rbac"
ACCESS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
RULES = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"


def review(kind: str) -> dict[str, Any]:
    return {"apiVersion": "authorization.k8s.io/v1", "kind": kind, "spec": {"namespace": "production"}}


# --- the read-only guard: the two self-reviews and nothing else -------------------------------------------


def test_the_guard_lets_the_two_self_reviews_through_as_dicts_or_json() -> None:
    check_read_only("POST", SERVER + ACCESS, review("SelfSubjectAccessReview"))
    check_read_only("POST", SERVER + RULES, review("SelfSubjectRulesReview"))
    check_read_only("POST", SERVER + RULES, json.dumps(review("SelfSubjectRulesReview")).encode())
    check_read_only("POST", "https://rancher/k8s/clusters/c-1" + ACCESS, review("SelfSubjectAccessReview"),
                    prefix="/k8s/clusters/c-1")  # fmt: skip


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (ACCESS, "SelfSubjectRulesReview"),  # a review of the other kind
        (RULES, "SelfSubjectAccessReview"),
        (ACCESS, "Pod"),
        (ACCESS, None),  # no body
        ("/apis/authorization.k8s.io/v1/subjectaccessreviews", "SubjectAccessReview"),  # asks about others
        ("/apis/authorization.k8s.io/v1/namespaces/x/localsubjectaccessreviews", "LocalSubjectAccessReview"),
        ("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews/x", "SelfSubjectAccessReview"),
        ("/api/v1/namespaces/production/pods" + ACCESS, "SelfSubjectAccessReview"),  # the path inside another
        ("/api/v1/namespaces/production/pods", "SelfSubjectAccessReview"),  # a pod created under that kind
        ("/apis/authentication.k8s.io/v1/tokenreviews", "TokenReview"),
    ],
)  # fmt: skip
def test_the_guard_refuses_every_other_post(path: str, kind: str | None) -> None:
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": kind, "spec": {}} if kind else None
    with pytest.raises(ReadOnlyViolation, match="refused POST"):
        check_read_only("POST", SERVER + path, body)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_the_guard_refuses_other_methods_on_the_review_paths(method: str) -> None:
    with pytest.raises(ReadOnlyViolation, match=method):
        check_read_only(method, SERVER + ACCESS, review("SelfSubjectAccessReview"))


def test_a_review_under_another_prefix_than_the_servers_is_refused() -> None:
    with pytest.raises(ReadOnlyViolation):
        check_read_only(
            "POST", SERVER + "/elsewhere" + ACCESS, review("SelfSubjectAccessReview"), prefix="/k8s"
        )


# --- the example roles ------------------------------------------------------------------------------------


def granted(name: str) -> tuple[set[tuple[str, str, str]], list[dict[str, Any]]]:
    """(group, resource, verb) the file's roles grant, and its documents."""
    documents = [d for d in yaml.safe_load_all((EXAMPLES / name).read_text()) if d]
    grants = set()
    for document in documents:
        assert document["kind"] in {
            "ServiceAccount",
            "Role",
            "RoleBinding",
            "ClusterRole",
            "ClusterRoleBinding",
        }
        for rule in document.get("rules", []):
            assert not rule.get("resourceNames") and not rule.get("nonResourceURLs")
            grants |= {(g, r, v) for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    return grants, documents


def needed(helm_history: bool) -> set[tuple[str, str, str]]:
    return {(read.group, read.resource, verb) for read in reads(helm_history) for verb in read.verbs}


@pytest.mark.parametrize(
    ("name", "helm_history"), [("oncall-role.yaml", False), ("oncall-role-helm.yaml", True)]
)
def test_each_example_role_grants_exactly_what_the_probe_reads(name: str, helm_history: bool) -> None:
    grants, documents = granted(name)
    reviews = {(group, resource, "create") for group, resource in SELF_REVIEW_RESOURCES}
    assert grants - reviews == needed(helm_history)
    assert {verb for _, _, verb in grants - reviews} <= {"get", "list", "watch"}
    assert {(g, r) for g, r, v in grants & reviews} == {
        ("authorization.k8s.io", "selfsubjectaccessreviews"),
        ("authorization.k8s.io", "selfsubjectrulesreviews"),
    }
    # nodes belong to no namespace: only the ClusterRole may name them, and the Role names everything else
    cluster = {(g, r) for d in documents if d["kind"] == "ClusterRole" for rule in d["rules"]
               for g in rule["apiGroups"] for r in rule["resources"]}  # fmt: skip
    assert {(read.group, read.resource) for read in READS if read.cluster_scoped} <= cluster
    bound = {d["roleRef"]["name"] for d in documents if d["kind"].endswith("Binding")}
    assert bound == {d["metadata"]["name"] for d in documents if d["kind"] in ("Role", "ClusterRole")}


def test_the_role_without_helm_grants_nothing_on_secrets_and_the_helm_one_only_lists_them() -> None:
    plain, _ = granted("oncall-role.yaml")
    helm, _ = granted("oncall-role-helm.yaml")
    assert not [g for g in plain if g[1] in ("secrets", "*") or g[0] == "*"]
    assert {g for g in helm if g[1] == "secrets"} == {("", "secrets", "list")}
    assert helm - plain == {("", "secrets", "list")}


# --- what oncall check says of the role's answers ---------------------------------------------------------


def rules_of(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"resourceRules": list(rules), "nonResourceRules": [], "incomplete": False}


ADMIN = {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}


def test_an_admin_role_is_warned_of_its_secrets_and_its_writes() -> None:
    warnings, notes = access_notes(AccessAnswers("production", True, rules_of(ADMIN)), helm_history=False)
    assert warnings == [
        "the role can read every Secret in namespace production, which oncall does not need with Helm "
        "history off: bind the least-privilege role in examples/rbac/oncall-role.yaml instead",
        "the role may do more than read in namespace production (* on *): oncall only reads, and a role that "
        "can only read (examples/rbac/oncall-role.yaml) is safer",
    ]
    assert notes == []


def test_a_role_missing_reads_and_a_failed_review_are_said() -> None:
    pods = {"verbs": ["get", "list", "watch", "create", "delete"], "apiGroups": [""], "resources": ["pods"]}
    exec_ = {"verbs": ["create"], "apiGroups": [""], "resources": ["pods/exec"]}
    answers = AccessAnswers("production", None, rules_of(pods, exec_), ("could not ask (forbidden)",))
    warnings, notes = access_notes(answers, helm_history=True)
    assert warnings[0] == (
        "the role may do more than read in namespace production (create, delete on pods; create on "
        "pods/exec): oncall only reads, and a role that can only read (examples/rbac/oncall-role-helm.yaml) "
        "is safer"
    )
    assert warnings[1].startswith("the role may not get pods/log, list events, list services,")
    assert "list nodes" in warnings[1] and "secrets" not in warnings[1]
    assert notes == ["could not ask (forbidden)"]


def test_the_probe_client_sends_a_self_review_and_refuses_a_review_of_someone_else(tmp_path: Path) -> None:
    probe = offline_kube_probe(tmp_path)
    api = probe.api_client
    assert api is not None
    sent: list[tuple[str, str]] = []

    def pool_request(method: str, url: str, **kwargs: Any) -> Any:
        sent.append((method, url))
        raise ConnectionRefusedError  # nothing listens: what matters is what was let through

    api.rest_client.pool_manager.request = pool_request  # type: ignore[method-assign]
    authorization = client.AuthorizationV1Api(api)
    spec = {"resourceAttributes": {"namespace": "production", "verb": "list", "resource": "secrets"}}
    with pytest.raises(ReadOnlyViolation):
        authorization.create_subject_access_review(
            {"kind": "SubjectAccessReview", "spec": {**spec, "user": "admin"}}
        )
    with pytest.raises(ReadOnlyViolation):  # a self-review whose body doesn't say what it is
        authorization.create_self_subject_access_review({"spec": spec})
    with pytest.raises(ReadOnlyViolation):
        client.CoreV1Api(api).create_namespaced_pod("production", {"kind": "SelfSubjectAccessReview"})
    assert sent == []
    with pytest.raises(ConnectionRefusedError):
        authorization.create_self_subject_access_review({"kind": "SelfSubjectAccessReview", "spec": spec})
    assert sent == [("POST", "https://127.0.0.1:1" + ACCESS)]
    probe.close()
