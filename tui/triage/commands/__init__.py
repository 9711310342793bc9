"""The command classifier: each runbook command as a live read with its parameters, mutating, or unknown.

oncall never runs a runbook command's own program; a live read names what a probe reads instead:
- kubernetes: pods (KubernetesProbe.list_pods or the pod informer), describe-pods (those pods and their
  events), logs (KubernetesProbe.logs of each pod), top-pods (pod_metrics), events, nodes, hpas, pvcs,
  services, network-policies, helm-history (the probe methods of those names);
- postgresql: sql, the one statement the PostgreSQL guard (check_sql) allowed;
- redis: info, slowlog, config-get, latency (INFO [section], SLOWLOG GET [n], CONFIG GET name, LATENCY
  LATEST), scan (SCAN with MATCH pattern), bigkeys (RedisProbe.sample_keys); each on the probe's allowlist.

One module per program (shell, kubectl, helm, sql, redis_cli), the shared types in `model`, the flag parser
in `options`, the server a database client names in `servers`, and `classifier` putting them together.
"""

from tui.triage.commands.classifier import classify
from tui.triage.commands.model import (
    Classified,
    ConfiguredServers,
    LineFilter,
    LiveRead,
    Mutating,
    ReadName,
    ReadParams,
    Server,
    Source,
    Unknown,
)
from tui.triage.commands.servers import configured_servers

__all__ = [
    "Classified",
    "ConfiguredServers",
    "LineFilter",
    "LiveRead",
    "Mutating",
    "ReadName",
    "ReadParams",
    "Server",
    "Source",
    "Unknown",
    "classify",
    "configured_servers",
]
