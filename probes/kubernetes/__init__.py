"""Kubernetes, read-only: what the rest of oncall may use of this source is exported here.

Inside, one room each: `client` (the read-only API client, kubeconfig, errors in plain words), `informer`
(pods by list + watch into a cache), `rows` (pods as kubectl prints them) and `resources` (the other
objects as typed rows), `printers` (kubectl's words and layout), `readings` (a runbook's kubectl command as
a Reading), `probe` (KubernetesProbe, which ties them together), `helm` (release history from Secrets),
`jsonpath` (kubectl's JSONPath templates) and `settings`.

Names load their module on first use: importing the package (say, for its settings) must not import the
Kubernetes client library, which takes about half a second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from probes.lazy import lazy_names

if TYPE_CHECKING:
    from probes.kubernetes.client import (
        ClusterTarget,
        ReadOnlyApiClient,
        ReadOnlyViolation,
        check_read_only,
        explain,
    )
    from probes.kubernetes.helm import HelmRevision, history_from_secrets
    from probes.kubernetes.informer import PodCache, PodChanges, PodInformer
    from probes.kubernetes.jsonpath import JsonPathError
    from probes.kubernetes.printers import POD_COLUMNS, TOP_COLUMNS, jsonpath_command, kubectl, logs_command
    from probes.kubernetes.probe import KubernetesProbe
    from probes.kubernetes.readings import (
        describe_reading_from,
        jsonpath_reading_from,
        logs_reading_from,
        pods_reading_from,
        top_reading_from,
    )
    from probes.kubernetes.resources import (
        HpaRow,
        KubeEvent,
        LogTail,
        NetworkPolicyRow,
        NodeRow,
        PodMetrics,
        PvcRow,
        ResourceSnapshot,
        ServiceRow,
        event_order,
        event_row,
        hpa_row,
        metrics_row,
        network_policy_row,
        node_row,
        pvc_row,
        service_row,
    )
    from probes.kubernetes.rows import PodRow, PodRows, parse_quantity, pod_row, pod_summary, restarts_text
    from probes.kubernetes.settings import KubernetesSettings

# each exported name and the module it lives in
_HOMES = {
    "client": ("ClusterTarget", "ReadOnlyApiClient", "ReadOnlyViolation", "check_read_only", "explain"),
    "helm": ("HelmRevision", "history_from_secrets"),
    "informer": ("PodCache", "PodChanges", "PodInformer"),
    "jsonpath": ("JsonPathError",),
    "printers": ("POD_COLUMNS", "TOP_COLUMNS", "jsonpath_command", "kubectl", "logs_command"),
    "probe": ("KubernetesProbe",),
    "readings": (
        "describe_reading_from",
        "jsonpath_reading_from",
        "logs_reading_from",
        "pods_reading_from",
        "top_reading_from",
    ),
    "resources": (
        "HpaRow",
        "KubeEvent",
        "LogTail",
        "NetworkPolicyRow",
        "NodeRow",
        "PodMetrics",
        "PvcRow",
        "ResourceSnapshot",
        "ServiceRow",
        "event_order",
        "event_row",
        "hpa_row",
        "metrics_row",
        "network_policy_row",
        "node_row",
        "pvc_row",
        "service_row",
    ),
    "rows": ("PodRow", "PodRows", "parse_quantity", "pod_row", "pod_summary", "restarts_text"),
    "settings": ("KubernetesSettings",),
}
__getattr__ = lazy_names(__name__, globals(), _HOMES)


__all__ = [
    "POD_COLUMNS",
    "TOP_COLUMNS",
    "ClusterTarget",
    "HelmRevision",
    "HpaRow",
    "JsonPathError",
    "KubeEvent",
    "KubernetesProbe",
    "KubernetesSettings",
    "LogTail",
    "NetworkPolicyRow",
    "NodeRow",
    "PodCache",
    "PodChanges",
    "PodInformer",
    "PodMetrics",
    "PodRow",
    "PodRows",
    "PvcRow",
    "ReadOnlyApiClient",
    "ReadOnlyViolation",
    "ResourceSnapshot",
    "ServiceRow",
    "check_read_only",
    "describe_reading_from",
    "event_order",
    "event_row",
    "explain",
    "history_from_secrets",
    "hpa_row",
    "jsonpath_command",
    "jsonpath_reading_from",
    "kubectl",
    "logs_command",
    "logs_reading_from",
    "metrics_row",
    "network_policy_row",
    "node_row",
    "parse_quantity",
    "pod_row",
    "pod_summary",
    "pods_reading_from",
    "pvc_row",
    "restarts_text",
    "service_row",
    "top_reading_from",
]
