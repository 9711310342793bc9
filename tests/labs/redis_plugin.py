"""Pytest fixtures for the Redis lab: `redis_server`, `redis_conditions`, `redis_factory`, `silent_redis`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.labs import LabError, require
from tests.labs.redis import RedisConditions, RedisLab, SilentServer, redis_server_binary


def _start(workdir: Path, **lab_kwargs: Any) -> RedisLab:
    require(redis_server_binary(), "redis-server is not installed (apt-get install redis-server)")
    lab = RedisLab(workdir, **lab_kwargs)
    try:
        return lab.start()
    except LabError as exc:
        lab.destroy()
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisLab]:
    """One real redis-server for the session (64 MB maxmemory, the `oncall` ACL user); tests never stop
    it. Empty unless a module holds `redis_conditions`."""
    lab = _start(tmp_path_factory.mktemp("redis"))
    try:
        yield lab
    finally:
        lab.destroy()


@pytest.fixture(scope="module")
def redis_conditions(redis_server: RedisLab) -> Iterator[RedisConditions]:
    """The lab's conditions on `redis_server` db 0 for one test module: memory at ~85% of maxmemory with
    big:blob / big:list / big:hash, session:/cache:/user: keys (30% with a TTL), a slow log with the
    hostile SET and the slow commands, a 90% hit ratio. Flushed when the module ends."""
    conditions = RedisConditions(redis_server)
    try:
        yield conditions.start()
    finally:
        conditions.stop()


@pytest.fixture
def redis_factory(tmp_path: Path) -> Iterator[Callable[..., RedisLab]]:
    """`start(**RedisLab kwargs)`: a private redis-server a test may kill, restart or start with
    `rename_config=True` (the session one must keep running)."""
    started: list[RedisLab] = []

    def start(**lab_kwargs: Any) -> RedisLab:
        lab = _start(tmp_path / f"redis-{len(started)}", **lab_kwargs)
        started.append(lab)
        return lab

    yield start
    for lab in started:
        lab.destroy()


@pytest.fixture
def silent_redis() -> Iterator[SilentServer]:
    """A loopback port that accepts connections and never answers: `.port`, `.url`."""
    with SilentServer() as server:
        yield server
