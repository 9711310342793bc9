"""Pytest fixtures for the Alertmanager lab: `alertmanager_lab`, a private real Alertmanager fed by a private
real Prometheus (the lab's rules), which a test may stop."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.labs import LabError, require
from tests.labs.alertmanager import AlertmanagerLab, alertmanager_binary
from tests.labs.prometheus import PrometheusLab, prometheus_binary


@dataclass(frozen=True)
class AlertingLab:
    alertmanager: AlertmanagerLab
    prometheus: PrometheusLab


@pytest.fixture
def alertmanager_lab(tmp_path: Path) -> Iterator[AlertingLab]:
    """A real Alertmanager (group_by alertname, critical inhibits warning) and a real Prometheus sending the
    lab's alerts to it; both have received the firing alerts when the test starts."""
    require(alertmanager_binary(), "alertmanager is not installed (apt-get install prometheus-alertmanager)")
    require(prometheus_binary(), "prometheus is not installed (apt-get install prometheus)")
    am = AlertmanagerLab(tmp_path / "alertmanager")
    prometheus: PrometheusLab | None = None
    try:
        am.start()
        prometheus = PrometheusLab(tmp_path / "prometheus", alertmanager=am.target).start()
        am.wait_for_alerts({"HighApiErrorRate", "HighRedisMemory", "HighApiLatency", "MarkupInLabels"})
    except LabError as exc:
        am.stop()
        if prometheus is not None:
            prometheus.stop()
        pytest.fail(str(exc))
    try:
        yield AlertingLab(am, prometheus)
    finally:
        prometheus.stop()
        am.stop()
