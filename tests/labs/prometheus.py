"""The Prometheus lab: a real Prometheus on loopback whose rules fire the lab's alerts, and a down target."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.labs import LabError, free_port, stop_process

PROMETHEUS_BIN = Path("/usr/bin/prometheus")  # the Debian package CI installs (v2.42)
START_TIMEOUT = 20.0  # seconds for the server to come up and its alerts to fire

# Alerts the lab's rules make fire (or stay pending) within a second or two of start.
LAB_FIRING = ("HighApiErrorRate", "HighRedisMemory", "HighApiLatency", "MarkupInLabels")
LAB_PENDING = ("SlowDatabaseQueries", "HighApiLatency")
# Server text that must never be taken as markup or reach a terminal raw.
HOSTILE_TEXT = "[/bold] [link=x]click[/link] \x1b[31mred"

PROMETHEUS_CONFIG = """\
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - rules.yml
  # the shipped runbook's own alerting rules: their metrics don't exist here, so they never fire, but
  # their expressions are there to read, as on a real Prometheus (a step evaluates its alert's expression)
  - runbook-alerts.yml
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:{port}"]
  # a port the lab holds bound but never listens on: every scrape is refused, so the target is down
  - job_name: inmidst-api
    static_configs:
      - targets: ["127.0.0.1:{down_port}"]
"""

# Only for a lab given an Alertmanager: its alerts are sent there as they fire.
ALERTING_CONFIG = """\
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["{target}"]
"""

# What the kubelet exports for PVCs, as recording rules put first in the lab group: evaluated before its
# alerts, so the series exist once the alerts fire. Usage 85.7% and inodes 20% for inmidst-postgres-data.
KUBELET_VOLUME_RULES = """\
      - record: kubelet_volume_stats_used_bytes
        expr: vector(9.2e9)
        labels: {namespace: production, persistentvolumeclaim: inmidst-postgres-data}
      - record: kubelet_volume_stats_capacity_bytes
        expr: vector(1.0737418240e10)
        labels: {namespace: production, persistentvolumeclaim: inmidst-postgres-data}
      - record: kubelet_volume_stats_inodes_used
        expr: vector(131072)
        labels: {namespace: production, persistentvolumeclaim: inmidst-postgres-data}
      - record: kubelet_volume_stats_inodes
        expr: vector(655360)
        labels: {namespace: production, persistentvolumeclaim: inmidst-postgres-data}
      - record: kubelet_volume_stats_used_bytes
        expr: vector(1.0e9)
        labels: {namespace: production, persistentvolumeclaim: inmidst-redis-data}
      - record: kubelet_volume_stats_capacity_bytes
        expr: vector(5.0e9)
        labels: {namespace: production, persistentvolumeclaim: inmidst-redis-data}
      - record: kubelet_volume_stats_used_bytes
        expr: vector(2.0e9)
        labels: {namespace: staging, persistentvolumeclaim: inmidst-postgres-data}
      - record: kubelet_volume_stats_capacity_bytes
        expr: vector(1.0737418240e10)
        labels: {namespace: staging, persistentvolumeclaim: inmidst-postgres-data}
"""

# for: 0s fires at the first evaluation; for: 1h stays pending for the whole test run.
PROMETHEUS_RULES = r"""
groups:
  - name: lab
    interval: 1s
    rules:
      - alert: HighApiErrorRate
        expr: vector(0.085)
        for: 0s
        labels:
          severity: critical
          service: inmidst-api
        annotations:
          summary: API 5xx error rate is 8.5%
          runbook_url: https://github.com/in-midst-my-life/infra/blob/main/docs/RUNBOOK.md#high-api-error-rate
      - alert: HighRedisMemory
        expr: vector(0.91)
        for: 0s
        labels:
          severity: warning
          service: redis
        annotations:
          summary: Redis uses 91% of maxmemory
      - alert: SlowDatabaseQueries
        expr: vector(0.75)
        for: 1h
        labels:
          severity: warning
          service: postgresql
        annotations:
          summary: Average query takes 750ms
      # the same alertname from two rules: the probe must give each alert its own expression and for
      - alert: HighApiLatency
        expr: vector(2.5) > 2
        for: 0s
        labels:
          severity: warning
          route: /api/orders
        annotations:
          summary: p95 latency 2.5s on /api/orders
      - alert: HighApiLatency
        expr: vector(2.1) > 2
        for: 2h
        labels:
          severity: info
          route: /api/search
        annotations:
          summary: p95 latency 2.1s on /api/search
      - alert: MarkupInLabels
        expr: vector(1)
        for: 0s
        labels:
          severity: info
          hostile: "[/bold] [link=x]click[/link] \x1b[31mred"
        annotations:
          summary: "[/bold] [link=x]click[/link] \x1b[31mred"
"""


# The alert storm (PrometheusLab(storm=N)): one gauge with N label sets, one rule over it that fires at once.
STORM_ALERT = "StormQueueBacklog"
STORM_SCRAPE = """\
  - job_name: storm
    scrape_interval: 5s
    static_configs:
      - targets: ["{target}"]
"""
STORM_RULES = """\
groups:
  - name: storm
    interval: 5s
    rules:
      - alert: StormQueueBacklog
        expr: storm_queue_backlog > 0
        for: 0s
        labels:
          severity: warning
          service: inmidst-worker
        annotations:
          summary: "Queue {{ $labels.queue }} on {{ $labels.shard }} has {{ $value }} jobs waiting"
          description: Workers are not keeping up with the queue.
"""


def storm_metrics(count: int) -> str:
    """The storm exporter's page: storm_queue_backlog for `count` queues, each a label set of its own."""
    lines = ["# HELP storm_queue_backlog Jobs waiting.", "# TYPE storm_queue_backlog gauge"]
    lines += [
        f'storm_queue_backlog{{queue="queue-{i:05d}",shard="shard-{i % 64:02d}",zone="zone-{i % 3}"}} '
        f"{10 + i % 90}"
        for i in range(count)
    ]
    return "\n".join(lines) + "\n"


def prometheus_binary() -> Path | None:
    if PROMETHEUS_BIN.is_file():
        return PROMETHEUS_BIN
    found = shutil.which("prometheus")
    return Path(found) if found else None


@dataclass
class PrometheusLab:
    """A real Prometheus on 127.0.0.1 whose rules fire the LAB_* alerts."""

    workdir: Path
    binary: Path = field(default_factory=lambda: prometheus_binary() or PROMETHEUS_BIN)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    kubelet_volumes: bool = True  # record the KUBELET_VOLUME_RULES series
    alertmanager: str | None = None  # host:port of an Alertmanager to send the alerts to (none by default)
    storm: int = 0  # an alert storm: this many more alerts firing from one rule (see STORM_RULES)
    down_port: int = 0  # the inmidst-api target: bound by the lab, never listening, so scrapes are refused
    _down_socket: socket.socket | None = field(default=None, init=False, repr=False)
    _exporter: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def down_target(self) -> str:
        """host:port of the lab's down target (job inmidst-api)."""
        return f"127.0.0.1:{self.down_port}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stderr_path(self) -> Path:
        return self.workdir / "prometheus.stderr"

    def start(self, timeout: float = START_TIMEOUT) -> PrometheusLab:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self._down_socket = _bound_not_listening()
        self.down_port = self._down_socket.getsockname()[1]
        config = PROMETHEUS_CONFIG.format(port=self.port, down_port=self.down_port)
        if self.alertmanager:
            config += ALERTING_CONFIG.format(target=self.alertmanager)
        rules = PROMETHEUS_RULES
        if self.storm:
            config = config.replace("rule_files:\n", "rule_files:\n  - storm.yml\n", 1)
            config += STORM_SCRAPE.format(target=f"127.0.0.1:{self._start_storm_exporter()}")
            (self.workdir / "storm.yml").write_text(STORM_RULES)
        (self.workdir / "prometheus.yml").write_text(config)
        if self.kubelet_volumes:
            rules = rules.replace("    rules:\n", "    rules:\n" + KUBELET_VOLUME_RULES, 1)
        (self.workdir / "rules.yml").write_text(rules)
        shipped = Path(__file__).resolve().parents[2] / "examples" / "inmidst" / "alerts.yml"
        (self.workdir / "runbook-alerts.yml").write_text(shipped.read_text(encoding="utf-8"))
        args = [
            str(self.binary),
            f"--config.file={self.workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--storage.tsdb.retention.time=1h",
            "--log.level=warn",
        ]
        if self.alertmanager:
            # alerts go out again every second, not every minute: the first sends are lost while Prometheus
            # is still finding its Alertmanager
            args.append("--rules.alert.resend-delay=1s")
        with self.stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(
                args, stdout=subprocess.DEVNULL, stderr=stderr, cwd=self.workdir, env=_clean_env()
            )
        try:
            self._wait_for_alerts(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._down_socket is not None:
            self._down_socket.close()
            self._down_socket = None
        stop_process(self.process)
        self.process = None
        stop_process(self._exporter)
        self._exporter = None

    def _start_storm_exporter(self) -> int:
        """A static exporter in its own process: one gauge with `storm` label sets, served as a file."""
        exported = self.workdir / "storm-exporter"
        exported.mkdir(parents=True, exist_ok=True)
        (exported / "metrics").write_text(storm_metrics(self.storm))
        port = free_port()
        self._exporter = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "http.server",
                str(port),
                "--bind",
                "127.0.0.1",
                "--directory",
                str(exported),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_clean_env(),
        )
        return port

    def wait_for_storm(self, timeout: float = 120.0) -> int:
        """Until all `storm` alerts fire (the gauge scraped, the rule evaluated); how many fire."""
        deadline = time.monotonic() + timeout
        firing = 0
        while time.monotonic() < deadline:
            try:
                firing = sum(
                    1
                    for a in self.alerts()
                    if a["labels"].get("alertname") == STORM_ALERT and a["state"] == "firing"
                )
            except (OSError, ValueError, KeyError):
                firing = 0
            if firing >= self.storm:
                return firing
            time.sleep(0.5)
        raise LabError(
            f"prometheus at {self.url}: {firing} of {self.storm} storm alerts firing after {timeout:g}s"
        )

    def alerts(self) -> list[dict[str, Any]]:
        """The server's /api/v1/alerts, read directly (not through the code under test)."""
        with _opener().open(f"{self.url}/api/v1/alerts", timeout=2) as response:
            return json.load(response)["data"]["alerts"]

    def targets(self) -> list[dict[str, object]]:
        """The server's active targets, read directly (not through the code under test)."""
        with _opener().open(f"{self.url}/api/v1/targets?state=active", timeout=2) as response:
            return json.load(response)["data"]["activeTargets"]

    def wait_for_targets(self, timeout: float = START_TIMEOUT) -> None:
        """Until both scrape jobs have been scraped once (the down one with its error). Prometheus hands
        its targets to the scrapers about 5s after start, so start() doesn't wait for this: tests of
        targets do."""
        deadline = time.monotonic() + timeout
        health: dict[str, str] = {}
        while time.monotonic() < deadline:
            try:
                health = {str(t["scrapePool"]): str(t["health"]) for t in self.targets()}
            except (OSError, ValueError, KeyError):
                health = {}
            if health.keys() >= {"prometheus", "inmidst-api"} and "unknown" not in health.values():
                return
            time.sleep(0.2)
        raise LabError(f"prometheus at {self.url} did not scrape its targets within {timeout:g}s: {health}")

    def _wait_for_alerts(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        wanted = {(name, "firing") for name in LAB_FIRING} | {(name, "pending") for name in LAB_PENDING}
        seen: set[tuple[str, str]] = set()
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise LabError(f"prometheus exited with {self.process.returncode}:\n{self._stderr()}")
            try:
                seen = {(str(a["labels"]["alertname"]), str(a["state"])) for a in self.alerts()}
            except (OSError, ValueError, KeyError):
                seen = set()  # not listening yet
            if wanted <= seen:
                return
            time.sleep(0.2)
        raise LabError(
            f"prometheus at {self.url} did not fire the lab alerts within {timeout:g}s; "
            f"missing {sorted(wanted - seen)}\n{self._stderr()}"
        )

    def _stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-4000:]
        except OSError:
            return "(no stderr)"


def _bound_not_listening() -> socket.socket:
    """A loopback socket bound to a free port and never listening: connecting to it is refused, and no
    other server can take the port while the lab holds it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def _opener() -> urllib.request.OpenerDirector:
    # loopback must never go through a proxy from the environment
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
