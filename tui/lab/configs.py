"""The lab's config files: redis.conf, Prometheus (scrape jobs, scaled rules), Alertmanager, kubeconfig."""

from __future__ import annotations

import json
from pathlib import Path

from tui.config.paths import example_dir
from tui.lab.kube_sim import KubeSimulator
from tui.lab.rules import scale_rules
from tui.lab.state import LAB_NAMESPACE, LabState

KUBE_CONTEXT = "lab"

_REDIS_CONF = """\
bind 127.0.0.1
port {port}
dir "{folder}"
daemonize no
protected-mode yes
save ""
appendonly no
maxmemory 64mb
maxmemory-policy noeviction
slowlog-log-slower-than 10000
slowlog-max-len 128
latency-monitor-threshold 5
"""

_ALERTMANAGER = """\
route:
  receiver: lab
  group_wait: 1s
  group_interval: 5s
  repeat_interval: 1h
receivers:
  - name: lab
"""


def shipped_rules() -> Path:
    return example_dir() / "alerts.yml"


def _port(state: LabState, name: str) -> int:
    return state.services[name].port


def prometheus_config(state: LabState) -> str:
    """Scrape every second, evaluate every second, alert to the lab's Alertmanager; jobs as the rules
    name them (inmidst-api) and one per exporter."""
    jobs = {
        "prometheus": _port(state, "prometheus"),
        "inmidst-api": _port(state, "api"),
        "postgres": _port(state, "postgres-exporter"),
        "redis": _port(state, "redis-exporter"),
    }
    lines = [
        "global:",
        "  scrape_interval: 1s",
        "  scrape_timeout: 1s",
        "  evaluation_interval: 1s",
        "rule_files:",
        "  - alerts.yml",
        "alerting:",
        "  alertmanagers:",
        "    - static_configs:",
        f'        - targets: ["127.0.0.1:{_port(state, "alertmanager")}"]',
        "scrape_configs:",
    ]
    for job, port in jobs.items():
        lines += [
            f"  - job_name: {job}",
            # postgres_exporter 0.11 takes ~1 s to answer with PostgreSQL down: a 1 s timeout loses pg_up 0
            *(["    scrape_interval: 2s", "    scrape_timeout: 2s"] if job == "postgres" else []),
            "    static_configs:",
            f'      - targets: ["127.0.0.1:{port}"]',
        ]
    return "\n".join(lines) + "\n"


def write_all(state: LabState) -> None:
    """Every file the lab's processes read, from the ports in `state`."""
    root = state.root
    redis_folder = root / "redis"
    redis_folder.mkdir(parents=True, exist_ok=True)
    conf = _REDIS_CONF.format(port=state.redis_port, folder=redis_folder)
    (root / "redis.conf").write_text(conf, encoding="utf-8")
    prometheus = root / "prometheus"
    prometheus.mkdir(parents=True, exist_ok=True)
    (prometheus / "prometheus.yml").write_text(prometheus_config(state), encoding="utf-8")
    rules = scale_rules(shipped_rules().read_text(encoding="utf-8"), state.factor)
    (prometheus / "alerts.yml").write_text(rules, encoding="utf-8")
    alertmanager = root / "alertmanager"
    alertmanager.mkdir(parents=True, exist_ok=True)
    (alertmanager / "alertmanager.yml").write_text(_ALERTMANAGER, encoding="utf-8")
    state.kubeconfig = str(write_kubeconfig(state))


def write_kubeconfig(state: LabState) -> Path:
    """A kubeconfig with the context `lab`: the simulator over plain HTTP on loopback, its bearer token."""
    sim = KubeSimulator(state.root, tls=False, token=state.kube_token)
    sim.port = _port(state, "kube-sim")
    return sim.kubeconfig(LAB_NAMESPACE, KUBE_CONTEXT)


def toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value)
