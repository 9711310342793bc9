"""What the simulated API server answers besides objects: Status errors, its version, and API discovery."""

from __future__ import annotations

from typing import Any

from tui.lab.kube_sim.store import READ_VERBS, RESOURCES, ResourceType

USER = "system:serviceaccount:oncall:oncall"
REVIEW_GROUP = "authorization.k8s.io"  # its two self-reviews are answered by the RBAC module, not stored
REVIEW_KINDS = {
    "selfsubjectaccessreviews": "SelfSubjectAccessReview",
    "selfsubjectrulesreviews": "SelfSubjectRulesReview",
}
GIT_VERSION = "v1.30.4"


def status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """A metav1.Status failure body, shaped exactly like the API server's."""
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure"}
    body["message"] = message
    body["reason"] = reason
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


class ApiError(Exception):
    """Raised inside a handler to answer with a Status body."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.body = status(code, reason, message, details)
        self.code = code


def _qualified(rtype: ResourceType) -> str:
    return rtype.key  # `pods`, `horizontalpodautoscalers.autoscaling`: how the real messages name a resource


def not_found(rtype: ResourceType, name: str) -> ApiError:
    details: dict[str, Any] = {"name": name}
    if rtype.group:
        details["group"] = rtype.group
    details["kind"] = rtype.plural
    return ApiError(404, "NotFound", f'{_qualified(rtype)} "{name}" not found', details)


def forbidden(
    rtype: ResourceType, verb: str, namespace: str | None, name: str | None, sub: str = ""
) -> ApiError:
    resource = f"{rtype.plural}/{sub}" if sub else rtype.plural
    subject = f'{_qualified(rtype)} "{name}"' if name else _qualified(rtype)
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    message = (
        f'{subject} is forbidden: User "{USER}" cannot {verb} resource "{resource}" '
        f'in API group "{rtype.group}" {where}'
    )
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if rtype.group:
        details["group"] = rtype.group
    details["kind"] = rtype.plural
    return ApiError(403, "Forbidden", message, details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def discovery_resources(group: str, version: str) -> dict[str, Any]:
    resources = []
    for r in RESOURCES:
        if (r.group, r.version) != (group, version):
            continue
        entry: dict[str, Any] = {
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": list(READ_VERBS) if r.group != "metrics.k8s.io" else ["get", "list"],
        }
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        resources.append(entry)
        if r.key == "pods":
            resources.append(
                {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]}
            )
    api_version = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": api_version,
        "resources": resources,
    }


def group_list() -> dict[str, Any]:
    groups: dict[str, list[str]] = {}
    for r in RESOURCES:
        if r.group and r.version not in groups.setdefault(r.group, []):
            groups[r.group].append(r.version)
    groups[REVIEW_GROUP] = ["v1"]
    items = []
    for group, versions in groups.items():
        gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        items.append({"name": group, "versions": gvs, "preferredVersion": gvs[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": items}


def review_discovery() -> dict[str, Any]:
    """authorization.k8s.io/v1's resources: the self-reviews any user may create."""
    resources = [
        {"name": plural, "singularName": "", "namespaced": False, "kind": kind, "verbs": ["create"]}
        for plural, kind in REVIEW_KINDS.items()
    ]
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{REVIEW_GROUP}/v1",
        "resources": resources,
    }


def page_not_found() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def version_info() -> dict[str, Any]:
    """/version: the build the simulator claims to be."""
    return {
        "major": "1",
        "minor": GIT_VERSION.split(".")[1],
        "gitVersion": GIT_VERSION,
        "gitCommit": "0" * 40,
        "gitTreeState": "clean",
        "buildDate": "2024-08-14T00:00:00Z",
        "goVersion": "go1.22.5",
        "compiler": "gc",
        "platform": "linux/amd64",
    }
