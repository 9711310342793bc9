"""Pytest fixtures for the Kubernetes API simulator: `kube_sim` (the lab loaded) and `kube_sim_factory`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tui.lab.kube_sim import KubeSimulator, SimulatorError


def _start(workdir: Path, **options: Any) -> KubeSimulator:
    try:
        return KubeSimulator(workdir, **options).start()
    except SimulatorError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def kube_sim(tmp_path: Path) -> Iterator[KubeSimulator]:
    """A simulator over TLS with lab_cluster() and its logs applied; `.kubeconfig()` points a client at it."""
    sim = _start(tmp_path / "kube-sim", lab=True)
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def kube_sim_factory(tmp_path: Path) -> Iterator[Callable[..., KubeSimulator]]:
    """Start simulators with other options (`pods=10_000`, `tls=False`); all stopped after."""
    started: list[KubeSimulator] = []

    def start(**options: Any) -> KubeSimulator:
        sim = _start(tmp_path / f"kube-sim-{len(started)}", **options)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()
