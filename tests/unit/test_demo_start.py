"""oncall --demo starts without the client libraries its first screen doesn't need: the Kubernetes client,
psycopg, redis and DuckDB load after the alerts, when their tabs start or a reading asks for them; pglast
at the first SQL a runbook step or the command line classifies; httpx's own command line never. Nor do
Kubernetes' row models and Helm's decoder load before the first pods are read."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import probes.postgres
import probes.prometheus
from tui.demo import postgres as demo_postgres
from tui.demo.sources import LaterRedis, demo_sources

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 27, 3, 14, 0, tzinfo=UTC)
# what the app's module and the demo's sources load when built, as `oncall --demo` does before its alerts
START = """
import sys
from datetime import UTC, datetime
import tui.main
import tui.app
import screens.dashboard
from probes.prometheus import PrometheusSettings
from tui.demo.sources import LaterRedis, demo_sources
sources = demo_sources(PrometheusSettings(), datetime.now(UTC), lambda: datetime.now(UTC))
LaterRedis(sources)
LOADED = ("kubernetes", "psycopg", "redis", "duckdb", "pglast", "httpx._main", "click", "pygments",
          "probes.kubernetes.rows", "probes.kubernetes.resources", "probes.kubernetes.helm")
print(" ".join(m for m in LOADED if sys.modules.get(m) is not None))
"""


def test_the_app_and_the_demos_sources_load_no_client_library() -> None:
    done = subprocess.run([sys.executable, "-c", START], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.split() == []


def test_the_demos_database_says_what_the_probe_says() -> None:
    assert demo_postgres.SOURCE == probes.postgres.SOURCE
    assert demo_postgres.NOT_CONFIGURED == probes.postgres.NOT_CONFIGURED
    assert demo_postgres.STATEMENT_ROWS == probes.postgres.STATEMENT_ROWS


def test_the_demos_redis_is_made_at_its_first_read_and_reads_as_before() -> None:
    sources = demo_sources(probes.prometheus.PrometheusSettings(), T0, lambda: T0)
    later = LaterRedis(sources)
    assert later.configured and later.last_snapshot is None
    assert sources.made_redis() is None  # nothing made (nor loaded) yet
    settings = later.settings

    snapshot = asyncio.run(later.poll())
    made = sources.made_redis()
    assert made is not None and made.settings == settings  # the server it said before is the one read
    assert snapshot.health.answering and snapshot.info is not None
    assert later.last_snapshot is snapshot
