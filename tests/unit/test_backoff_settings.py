"""backoff_max: how far apart a failing source's polls may drift, set per source in oncall.toml."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from probes.base import Backoff
from probes.kubernetes import KubernetesProbe
from probes.postgres import PostgresProbe
from probes.prometheus import PrometheusProbe
from probes.redis import RedisProbe
from tui.config.settings import ConfigError, load_settings

TOML = """
[prometheus]
url = "http://prometheus:9090"
backoff_max = 12
[kubernetes]
backoff_max = 7.5
[postgres]
dsn = "host=db dbname=app user=oncall"
backoff_max = 20
[redis]
url = "redis://cache:6379/0"
backoff_max = 9
"""


def _load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    conf = tmp_path / "oncall.toml"
    conf.write_text(text)
    return load_settings(config_path=conf, env={}, cwd=tmp_path, user_config_dir=tmp_path)


def test_each_sources_backoff_cap_comes_from_its_table(tmp_path: Path) -> None:
    settings = _load(tmp_path, TOML)
    assert PrometheusProbe(settings.prometheus).backoff.cap == 12
    assert PostgresProbe(settings.postgres).backoff.cap == 20
    assert RedisProbe(settings.redis).backoff.cap == 9
    kube = KubernetesProbe(settings.kubernetes, env={})
    assert settings.kubernetes.backoff_max == 7.5
    kube.close()


def test_a_backoff_max_that_is_not_seconds_is_refused_with_its_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, '[redis]\nurl = "redis://cache:6379/0"\nbackoff_max = "soon"\n')
    assert "redis.backoff_max" in str(error.value)


def test_failing_polls_wait_longer_each_time_up_to_the_cap_and_never_less_than_the_refresh() -> None:
    backoff = Backoff.for_source(refresh=0.5, backoff_max=6.0)
    backoff.rng = random.Random(3)
    waits = []
    for _ in range(8):
        backoff.failure()
        waits.append(backoff.next_delay())
    assert all(0.5 <= w <= 6.0 for w in waits)
    assert all(w >= 3.0 for w in waits[4:])  # from the 4th failure on, between half the cap and the cap
    backoff.success()
    assert backoff.next_delay() == 0.5
    assert (
        Backoff.for_source(refresh=10.0, backoff_max=6.0).cap == 10.0
    )  # a cap below the refresh is the refresh
