"""What oncall reads from a cluster, and what the role it runs with may do there, as the API server says.

`READS` is every (API group, resource, verbs) the probe sends, the least a role needs; the shipped example
roles (examples/rbac/) grant exactly these, and a test proves the probe sends nothing else. `oncall check`
asks the API server two self-reviews (the only POSTs oncall sends, which create nothing: see the client's
SELF_REVIEWS) and `access_notes` turns the answers into warnings: Secrets readable that oncall does not need,
Secrets not readable that Helm history does need, and verbs beyond reading, which oncall never uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from probes.kubernetes.helm import HELM_ROLE_EXAMPLE

ROLE_EXAMPLE = "examples/rbac/oncall-role.yaml"
READ_VERBS = ("get", "list", "watch")


@dataclass(frozen=True)
class Read:
    """One resource the probe reads, with the verbs it sends (a cluster-scoped one needs a ClusterRole)."""

    group: str  # "" for the core API
    resource: str  # the plural, with its subresource: "pods/log"
    verbs: tuple[str, ...]
    cluster_scoped: bool = False


# Every read the probe sends, by the API server's names for it; Helm history adds HELM_READS.
READS: tuple[Read, ...] = (
    Read("", "pods", ("list", "watch")),  # the informer; a named pod is picked out of a list
    Read("", "pods/log", ("get",)),
    Read("", "events", ("list",)),
    Read("", "services", ("list",)),
    Read("", "persistentvolumeclaims", ("list",)),
    Read("autoscaling", "horizontalpodautoscalers", ("list",)),
    Read("networking.k8s.io", "networkpolicies", ("list",)),
    Read("metrics.k8s.io", "pods", ("list",)),
    Read("", "nodes", ("list",), cluster_scoped=True),
)
HELM_READS: tuple[Read, ...] = (Read("", "secrets", ("list",)),)
# what every authenticated user may do (system:basic-user): asking the API server about oneself
SELF_REVIEW_RESOURCES = frozenset(
    {
        ("authorization.k8s.io", "selfsubjectaccessreviews"),
        ("authorization.k8s.io", "selfsubjectrulesreviews"),
        ("authentication.k8s.io", "selfsubjectreviews"),
    }
)


def reads(helm_history: bool) -> tuple[Read, ...]:
    """What the probe reads with these settings."""
    return READS + (HELM_READS if helm_history else ())


@dataclass(frozen=True)
class AccessAnswers:
    """The two self-reviews' answers: `secrets` (may the role list secrets in the namespace; None when the
    review failed) and `rules` (the SelfSubjectRulesReview status; None when it failed), each failure said."""

    namespace: str
    secrets: bool | None
    rules: Mapping[str, Any] | None
    problems: tuple[str, ...] = ()


def _covers(values: Iterable[str], wanted: str) -> bool:
    values = list(values)
    return "*" in values or wanted in values


def _beyond_reading(rules: Sequence[Mapping[str, Any]]) -> list[str]:
    """The rules' verbs that are not reads, as "create, delete on pods, pods/exec" ("* on *" for an admin);
    the self-reviews every user may create are left out."""
    found: dict[tuple[str, ...], dict[str, None]] = {}  # verbs → resources, in the order the rules give
    for rule in rules:
        verbs = tuple(str(v) for v in rule.get("verbs") or [] if v not in READ_VERBS)
        groups = [str(g) for g in rule.get("apiGroups") or []]
        for resource in rule.get("resources") or []:
            if verbs and not any((g, resource) in SELF_REVIEW_RESOURCES for g in groups):
                found.setdefault(verbs, {})[str(resource)] = None
    return [f"{', '.join(verbs)} on {', '.join(resources)}" for verbs, resources in found.items()]


def _missing(rules: Sequence[Mapping[str, Any]], needed: Iterable[Read]) -> list[str]:
    """The needed reads no rule grants, as "list events"."""
    missing = []
    for read in needed:
        for verb in read.verbs:
            granted = any(
                _covers(rule.get("apiGroups") or [], read.group)
                and _covers(rule.get("resources") or [], read.resource)
                and _covers(rule.get("verbs") or [], verb)
                and not rule.get("resourceNames")
                for rule in rules
            )
            if not granted:
                name = f"{read.resource}.{read.group}" if read.group else read.resource
                missing.append(f"{verb} {name}")
    return missing


def access_notes(answers: AccessAnswers, helm_history: bool) -> tuple[list[str], list[str]]:
    """(warnings, notes) about the role: a warning is something to fix, a note something not known."""
    warnings: list[str] = []
    notes = list(answers.problems)
    where = f"namespace {answers.namespace}"
    if answers.secrets is True and not helm_history:
        warnings.append(
            f"the role can read every Secret in {where}, which oncall does not need with Helm history off: "
            f"bind the least-privilege role in {ROLE_EXAMPLE} instead"
        )
    if answers.secrets is False and helm_history:
        warnings.append(
            f"Helm history is on but the role may not list secrets in {where}: the Deploys tab and the Helm "
            f"evidence stay empty; bind the role in {HELM_ROLE_EXAMPLE}, or set helm_history = false"
        )
    if answers.rules is not None:
        rules = [r for r in answers.rules.get("resourceRules") or [] if isinstance(r, Mapping)]
        extra = _beyond_reading(rules)
        if extra:
            example = HELM_ROLE_EXAMPLE if helm_history else ROLE_EXAMPLE
            warnings.append(
                f"the role may do more than read in {where} ({'; '.join(extra)}): oncall only reads, and a "
                f"role that can only read ({example}) is safer"
            )
        missing = _missing(rules, READS)  # secrets: the access review above is the server's own answer
        if answers.rules.get("incomplete"):
            notes.append("the API server's list of the role's rules is incomplete (another authorizer)")
        elif missing:
            warnings.append(f"the role may not {', '.join(missing)} in {where}: those panels stay empty")
    return warnings, notes
