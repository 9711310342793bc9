"""How oncall reaches the Kubernetes API: the settings the probe takes (tui.config fills them from
flags, environment and the TOML file)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class KubernetesSettings:
    kubeconfig: Path | None = None  # None: the client's default, KUBECONFIG or ~/.kube/config
    context: str | None = None  # None: the kubeconfig's current-context
    namespace: str | None = None  # None: the context's namespace, else "default"
    all_namespaces: bool = False  # the pod watch, events and pod metrics span every namespace (`:ns all`)
    in_cluster: bool = False  # use the pod's service account instead of a kubeconfig
    timeout: float = 5.0  # seconds, per request
    refresh: float = 5.0  # seconds between polls of the plain reads (pods are watched)
    backoff_max: float = 30.0  # seconds: the longest wait between retries while the API server is failing
    # read Helm's release Secrets for the Deploys tab and Helm evidence: RBAC can't narrow get/list secrets
    # by label, so the role must read every Secret of the namespace; a team opts into that
    helm_history: bool = False
