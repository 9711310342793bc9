"""The simulator's RBAC: the rules a test binds to its one user, the self-reviews answered from them as the
API server answers them, and the check every read passes (a real 403 when no rule allows it).

With no roles set the user is a cluster admin, as a kubeconfig from a cluster's installer is; `set` takes
Roles, ClusterRoles and their bindings as Kubernetes objects (the examples/rbac/ files as they are), and
every binding is taken to bind the simulator's user. Every user may ask about itself and read discovery, as
system:basic-user and system:discovery allow on a real cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui.lab.kube_sim.api import USER, bad_request

# system:basic-user and system:discovery/system:public-info-viewer, bound to every authenticated user
BASIC_RULES: tuple[dict[str, Any], ...] = (
    {
        "verbs": ["create"],
        "apiGroups": ["authorization.k8s.io"],
        "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
    },
    {"verbs": ["create"], "apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"]},
)
BASIC_NON_RESOURCE: tuple[dict[str, Any], ...] = (
    {
        "verbs": ["get"],
        "nonResourceURLs": [
            "/api",
            "/api/*",
            "/apis",
            "/apis/*",
            "/healthz",
            "/livez",
            "/openapi",
            "/openapi/*",
            "/readyz",
            "/version",
            "/version/",
        ],
    },
)
ADMIN_RULE: dict[str, Any] = {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}
ADMIN_NON_RESOURCE: dict[str, Any] = {"verbs": ["*"], "nonResourceURLs": ["*"]}
ADMIN_BINDING = 'ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin"'
_ACCOUNT = USER.removeprefix("system:serviceaccount:").replace(":", "/")
SUBJECT = f'ServiceAccount "{_ACCOUNT}"'


@dataclass(frozen=True)
class Grant:
    """One rule as bound: where it applies (a namespace, or None for a ClusterRoleBinding's whole cluster)."""

    namespace: str | None
    rule: dict[str, Any]
    binding: str  # how the API server's reason names it: 'RoleBinding "ns/x" of Role "y"'


def _has(values: Any, wanted: str) -> bool:
    return isinstance(values, list) and ("*" in values or wanted in values)


def rule_allows(rule: dict[str, Any], verb: str, group: str, resource: str, name: str | None) -> bool:
    names = rule.get("resourceNames") or []
    return (
        _has(rule.get("verbs"), verb)
        and _has(rule.get("apiGroups"), group)
        and _has(rule.get("resources"), resource)
        and (not names or (name is not None and name in names))
    )


def _url_allows(rule: dict[str, Any], verb: str, path: str) -> bool:
    if not _has(rule.get("verbs"), verb):
        return False
    for url in rule.get("nonResourceURLs") or []:
        if url == path or url == "*" or (url.endswith("*") and path.startswith(url[:-1])):
            return True
    return False


class Authorizer:
    """The rules bound to the simulator's user; None means cluster admin (the default)."""

    def __init__(self) -> None:
        self.grants: list[Grant] | None = None

    def set(self, objects: list[dict[str, Any]] | None) -> None:
        """Bind these Roles and ClusterRoles (through the bindings among `objects`); None: cluster admin."""
        if objects is None:
            self.grants = None
            return
        roles: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for obj in objects:
            if obj.get("kind") in ("Role", "ClusterRole"):
                meta = obj.get("metadata") or {}
                where = meta.get("namespace", "") if obj["kind"] == "Role" else ""
                roles[(obj["kind"], where, meta.get("name", ""))] = list(obj.get("rules") or [])
        grants: list[Grant] = []
        for obj in objects:
            kind, meta, ref = obj.get("kind"), obj.get("metadata") or {}, obj.get("roleRef") or {}
            if kind not in ("RoleBinding", "ClusterRoleBinding"):
                continue
            namespace = meta.get("namespace") if kind == "RoleBinding" else None
            if kind == "RoleBinding" and not namespace:
                raise ValueError(f"RoleBinding {meta.get('name')} has no namespace")
            ref_kind, ref_name = ref.get("kind"), ref.get("name", "")
            key = (ref_kind, (namespace or "") if ref_kind == "Role" else "", ref_name)
            if key not in roles:
                raise ValueError(f"{kind} {meta.get('name')} refers to {ref_kind} {ref_name}, not given")
            shown = f"{namespace}/{meta.get('name')}" if namespace else meta.get("name")
            binding = f'{kind} "{shown}" of {ref_kind} "{ref_name}"'
            grants += [Grant(namespace, rule, binding) for rule in roles[key]]
        self.grants = grants

    def allowed_by(
        self, verb: str, group: str, resource: str, namespace: str | None, name: str | None
    ) -> str | None:
        """The binding that allows this request (the reason the API server gives), or None."""
        if self.grants is None:
            return ADMIN_BINDING
        for rule in BASIC_RULES:
            if rule_allows(rule, verb, group, resource, name):
                return 'ClusterRoleBinding "system:basic-user" of ClusterRole "system:basic-user"'
        for grant in self.grants:
            if (grant.namespace is None or grant.namespace == namespace) and rule_allows(
                grant.rule, verb, group, resource, name
            ):
                return grant.binding
        return None

    def url_allowed_by(self, verb: str, path: str) -> str | None:
        if self.grants is None:
            return ADMIN_BINDING
        if any(_url_allows(rule, verb, path) for rule in BASIC_NON_RESOURCE):
            return 'ClusterRoleBinding "system:discovery" of ClusterRole "system:discovery"'
        for grant in self.grants:
            if grant.namespace is None and _url_allows(grant.rule, verb, path):
                return grant.binding
        return None

    def access_review(self, spec: Any) -> dict[str, Any]:
        """A SelfSubjectAccessReview's status: allowed, with the reason RBAC gives, or not (never `denied`:
        RBAC only allows; a webhook authorizer is what denies)."""
        spec = spec if isinstance(spec, dict) else {}
        resource, url = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
        if (resource is None) == (url is None):
            raise bad_request("exactly one of nonResourceAttributes or resourceAttributes must be specified")
        if resource is not None:
            plural = str(resource.get("resource") or "")
            if resource.get("subresource"):
                plural += f"/{resource['subresource']}"
            by = self.allowed_by(
                str(resource.get("verb") or ""),
                str(resource.get("group") or ""),
                plural,
                resource.get("namespace") or None,
                resource.get("name") or None,
            )
        else:
            by = self.url_allowed_by(str(url.get("verb") or ""), str(url.get("path") or ""))
        if by is None:
            return {"allowed": False}
        return {"allowed": True, "reason": f"RBAC: allowed by {by} to {SUBJECT}"}

    def rules_review(self, spec: Any) -> dict[str, Any]:
        """A SelfSubjectRulesReview's status: every rule that applies in the namespace (the cluster's too)."""
        namespace = spec.get("namespace") if isinstance(spec, dict) else None
        if not namespace:
            raise bad_request("no namespace on request")
        if self.grants is None:
            resource_rules = [ADMIN_RULE, *BASIC_RULES]
            non_resource = [ADMIN_NON_RESOURCE, *BASIC_NON_RESOURCE]
        else:
            applying = [g.rule for g in self.grants if g.namespace in (None, namespace)]
            resource_rules = [_resource_rule(r) for r in applying if r.get("resources")] + list(BASIC_RULES)
            non_resource = [r for r in applying if r.get("nonResourceURLs")] + list(BASIC_NON_RESOURCE)
        return {"resourceRules": resource_rules, "nonResourceRules": non_resource, "incomplete": False}


def _resource_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A PolicyRule as a rules review lists it: verbs, apiGroups, resources, resourceNames when set."""
    shown = {key: list(rule.get(key) or []) for key in ("verbs", "apiGroups", "resources")}
    if rule.get("resourceNames"):
        shown["resourceNames"] = list(rule["resourceNames"])
    return shown
