"""Pytest fixtures for the Prometheus lab: `prometheus_server` and `prometheus_factory`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.labs import LabError, require
from tests.labs.prometheus import PrometheusLab, prometheus_binary


def _start(workdir: Path) -> PrometheusLab:
    require(prometheus_binary(), "prometheus is not installed (apt-get install prometheus)")
    try:
        return PrometheusLab(workdir).start()
    except LabError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def prometheus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusLab]:
    """One real Prometheus for the session, its lab alerts already firing; `.url` is its base URL."""
    lab = _start(tmp_path_factory.mktemp("prometheus"))
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def prometheus_factory(tmp_path: Path) -> Iterator[Callable[[], PrometheusLab]]:
    """Start a private Prometheus a test may stop (the session one must keep running)."""
    started: list[PrometheusLab] = []

    def start() -> PrometheusLab:
        lab = _start(tmp_path / f"prometheus-{len(started)}")
        started.append(lab)
        return lab

    yield start
    for lab in started:
        lab.stop()
