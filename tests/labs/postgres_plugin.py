"""Pytest fixtures for the PostgreSQL lab: `pg_server`, `pg_conditions` and `pg_factory`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.labs import LabError, require
from tests.labs.postgres import PgConditions, PgLab, postgres_bindir


def _start(workdir: Path) -> PgLab:
    require(postgres_bindir(), "PostgreSQL server binaries are not installed (apt-get install postgresql)")
    lab = PgLab(workdir)
    try:
        return lab.start()
    except LabError as exc:
        lab.destroy()
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgLab]:
    """One real PostgreSQL for the session (roles, tables, pg_stat_statements); tests never stop it."""
    lab = _start(tmp_path_factory.mktemp("postgres"))
    try:
        yield lab
    finally:
        lab.destroy()


@pytest.fixture(scope="module")
def pg_conditions(pg_server: PgLab) -> Iterator[PgConditions]:
    """The lab's conditions held open for one test module: idle, idle in transaction, a lock on `orders`
    and its waiter, a slow pg_sleep. The idle-in-transaction session is older than 1 s when it returns;
    all are released when the module ends, so other modules can read `orders` again."""
    conditions = PgConditions(pg_server)
    try:
        yield conditions.start()
    finally:
        conditions.stop()


@pytest.fixture
def pg_factory(tmp_path: Path) -> Iterator[Callable[[], PgLab]]:
    """Start a private PostgreSQL a test may stop, restart or lock up (the session one must keep running)."""
    started: list[PgLab] = []

    def start() -> PgLab:
        lab = _start(tmp_path / f"postgres-{len(started)}")
        started.append(lab)
        return lab

    yield start
    for lab in started:
        lab.destroy()
