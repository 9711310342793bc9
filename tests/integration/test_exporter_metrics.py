"""Every metric the shipped alert rules read exists in the real output of the exporters the README tells users
to run (Debian's postgres_exporter 0.11 with the shipped queries file, redis_exporter 1.45), of the API's own
/metrics (the lab's stand-in) and of Prometheus (`up`), scraped from real processes against real servers."""

from __future__ import annotations

import contextlib
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import yaml

from tests.labs import free_port, require
from tests.labs.exporters import (
    ExporterProcess,
    closed_port,
    metric_names,
    parse_metrics,
    promql_metric_names,
    start_exporter,
)
from tests.labs.postgres import APP_NAME, ROLE_PASSWORDS, PgLab
from tests.labs.redis import ADMIN_PASSWORD, RedisLab
from tui.lab import exporters
from tui.lab.exporters import (
    API_METRICS,
    POSTGRES_EXPORTER_PACKAGE,
    POSTGRES_QUERIES,
    REDIS_EXPORTER_PACKAGE,
    install_hint,
    postgres_exporter_command,
    redis_exporter_command,
)

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "inmidst"
RULES = EXAMPLE / "alerts.yml"
RULE_TESTS = EXAMPLE / "alerts_test.yml"
PROMETHEUS_OWN = {"up"}  # written by Prometheus itself for every target it scrapes
EXPORTER_ROLE = "postgres_exporter"
STAT_STATEMENTS = ("pg_stat_statements_seconds_total", "pg_stat_statements_calls_total")
REDIS_RULE_METRICS = (
    "redis_commands_duration_seconds_total",
    "redis_commands_processed_total",
    "redis_keyspace_hits_total",
    "redis_keyspace_misses_total",
    "redis_memory_used_bytes",
    "redis_memory_max_bytes",
    "redis_up",
)


def _rules() -> list[dict[str, object]]:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in doc["groups"] for rule in group["rules"]]


def _rule_metrics() -> set[str]:
    return set().union(*(promql_metric_names(str(rule["expr"])) for rule in _rules()))


def _postgres_exporter() -> Path:
    binary = exporters.postgres_exporter_binary()
    require(binary, install_hint(POSTGRES_EXPORTER_PACKAGE))
    assert binary is not None
    return binary


def _redis_exporter() -> Path:
    binary = exporters.redis_exporter_binary()
    require(binary, install_hint(REDIS_EXPORTER_PACKAGE))
    assert binary is not None
    return binary


def _exporter_dsn(pg: PgLab) -> str:
    return pg.dsn(EXPORTER_ROLE, "inmidst")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("exporters")


@pytest.fixture(scope="module")
def pg_exporter(pg_server: PgLab, workdir: Path) -> Iterator[ExporterProcess]:
    """postgres_exporter as the README runs it: the shipped queries file, a pg_monitor role."""
    binary = _postgres_exporter()
    port = free_port()
    process = start_exporter(
        postgres_exporter_command(_exporter_dsn(pg_server), port, binary=binary), port, workdir
    )
    yield process
    process.stop()


@pytest.fixture(scope="module")
def redis_exporter(redis_server: RedisLab, workdir: Path) -> Iterator[ExporterProcess]:
    binary = _redis_exporter()
    port = free_port()
    url = redis_server.url(user=None, password=ADMIN_PASSWORD)
    process = start_exporter(redis_exporter_command(url, port, binary=binary), port, workdir)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def api(pg_server: PgLab, redis_server: RedisLab, workdir: Path) -> Iterator[ExporterProcess]:
    """The lab's stand-in API (python -m tui.lab.api) on the suite's PostgreSQL and Redis, after a few
    requests (its request counter has no series before the first one)."""
    port = free_port()
    argv = [sys.executable, "-m", "tui.lab.api", "--port", str(port), "--dsn", pg_server.dsn("inmidst")]
    argv += ["--redis", redis_server.url(user=None, password=ADMIN_PASSWORD)]
    root = str(Path(__file__).resolve().parents[2])
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    process = start_exporter((argv, env), port, workdir)
    # the suite's database has no `items` table: the item lookup answers 503, counted all the same
    for path in ("/api/catalog", "/api/items/1"):
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10).close()
    yield process
    process.stop()


# --- the metric names a rule reads ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('up{job="inmidst-api"} == 0', {"up"}),
        ("sum by (instance) (rate(a_total[5m])) / sum without (le) (b)", {"a_total", "b"}),
        ('histogram_quantile(0.95, sum by (le) (rate(x_bucket{job=~"a|b"}[5m:1m])))', {"x_bucket"}),
        ("a / on (instance) group_left (version) b > bool 1e3", {"a", "b"}),
        ('label_replace(m, "dst", "$1", "src", "(sum)") offset 5m unless n', {"m", "n"}),
        ('{__name__="by_name", job="x"} or absent(missing)', {"by_name", "missing"}),
        (
            "redis_memory_used_bytes / (redis_memory_max_bytes > 0) > 0.8",
            {"redis_memory_used_bytes", "redis_memory_max_bytes"},
        ),
        ("topk(5, x:recorded:rate5m) and vector(1) > Inf", {"x:recorded:rate5m"}),
    ],
)
def test_promql_metric_names_finds_selectors_not_functions_labels_strings_or_keywords(
    expr: str, names: set[str]
) -> None:
    assert promql_metric_names(expr) == names


def test_the_shipped_rules_read_sixteen_metrics() -> None:
    assert _rule_metrics() == {
        "up",
        *API_METRICS,
        "pg_stat_activity_count",
        "pg_settings_max_connections",
        *STAT_STATEMENTS,
        "pg_up",
        *REDIS_RULE_METRICS,
    }


def test_parse_metrics_reads_names_labels_and_values() -> None:
    text = (
        "# HELP x_total Things.\n# TYPE x_total counter\n"
        'x_total{a="1",b="say \\"hi\\", {ok}"} 3\n'
        "y 1.5e+07\n\n"
        "z{} NaN 1700000000000\n"
    )

    samples = parse_metrics(text)

    assert [(s.name, s.labels, s.value) for s in samples[:2]] == [
        ("x_total", {"a": "1", "b": 'say \\"hi\\", {ok}'}, 3.0),
        ("y", {}, 1.5e7),
    ]
    assert samples[2].name == "z"


# --- against the real exporters ------------------------------------------------------------------------


def test_every_metric_the_shipped_rules_read_is_exported(
    pg_exporter: ExporterProcess, redis_exporter: ExporterProcess, api: ExporterProcess
) -> None:
    exported = (
        metric_names(pg_exporter.scrape())
        | metric_names(redis_exporter.scrape())
        | metric_names(api.scrape())
        | PROMETHEUS_OWN
    )

    assert sorted(_rule_metrics() - exported) == []


def test_the_api_exports_the_metrics_its_alerts_read(api: ExporterProcess) -> None:
    api_rule_metrics = {m for m in _rule_metrics() if m.startswith("http_")}

    assert set(API_METRICS) == api_rule_metrics
    assert api_rule_metrics <= metric_names(api.scrape())


def test_the_rule_tests_feed_series_shaped_like_the_real_output(
    pg_exporter: ExporterProcess, redis_exporter: ExporterProcess, api: ExporterProcess
) -> None:
    """alerts_test.yml's input series carry the names and label names the real processes export (plus the
    job and instance labels Prometheus adds), so the unit tests test what production will evaluate."""
    real: dict[str, set[frozenset[str]]] = {}
    for process in (pg_exporter, redis_exporter, api):
        for sample in parse_metrics(process.scrape()):
            real.setdefault(sample.name, set()).add(frozenset(sample.labels))
    suite = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))

    wrong: list[str] = []
    for group in suite["tests"]:
        for series in group["input_series"]:
            name, _, labels_text = series["series"].partition("{")
            if name in PROMETHEUS_OWN:
                continue
            labels = {pair.split("=", 1)[0].strip() for pair in labels_text.rstrip("}").split(", ") if pair}
            if frozenset(labels - {"job", "instance"}) not in real.get(name, set()):
                wrong.append(f"{group['name']}: {series['series']} (real: {real.get(name)})")

    assert wrong == []


def test_stat_statements_counters_come_from_the_shipped_queries_file(
    pg_server: PgLab, pg_exporter: ExporterProcess
) -> None:
    def app_counters() -> tuple[float, float]:
        samples = parse_metrics(pg_exporter.scrape())
        mine = [
            s for s in samples if s.labels.get("user") == "inmidst" and s.labels.get("datname") == "inmidst"
        ]
        calls = sum(s.value for s in mine if s.name == "pg_stat_statements_calls_total")
        seconds = sum(s.value for s in mine if s.name == "pg_stat_statements_seconds_total")
        return calls, seconds

    calls_before, seconds_before = app_counters()
    # the application runs statements: 5 calls of 40 ms
    with psycopg.connect(pg_server.dsn("inmidst"), autocommit=True, application_name=APP_NAME) as conn:
        for _ in range(5):
            # not `SELECT pg_sleep(...)`: pg_stat_statements would count it as the suite's top statement
            conn.execute("SELECT count(*) FROM pg_sleep(0.04)")
    calls_after, seconds_after = app_counters()
    page = pg_exporter.scrape()

    loaded = [s for s in parse_metrics(page) if s.name == "pg_exporter_user_queries_load_error"]
    assert [(s.labels["filename"], s.value) for s in loaded] == [(str(POSTGRES_QUERIES), 0)]
    assert calls_after - calls_before >= 5
    assert seconds_after - seconds_before >= 0.2
    assert "# TYPE pg_stat_statements_calls_total counter" in page
    assert "# TYPE pg_stat_statements_seconds_total counter" in page
    # the exporter's own scrape queries are left out: they would dilute the application's average
    users = {s.labels["user"] for s in parse_metrics(page) if s.name in STAT_STATEMENTS}
    assert "inmidst" in users
    assert EXPORTER_ROLE not in users


def test_without_the_queries_file_postgres_exporter_has_no_stat_statements_counters(
    pg_server: PgLab, pg_exporter: ExporterProcess, workdir: Path
) -> None:
    """Why the queries file ships: postgres_exporter 0.11 alone never exports what SlowDatabaseQueries
    reads."""
    assert POSTGRES_QUERIES.is_file()
    port = free_port()
    command = postgres_exporter_command(
        _exporter_dsn(pg_server), port, queries=None, binary=_postgres_exporter()
    )
    assert not any("extend.query-path" in arg for arg in command[0])
    bare = start_exporter(command, port, workdir)
    try:
        names = metric_names(bare.scrape())
    finally:
        bare.stop()

    assert "pg_up" in names and "pg_stat_activity_count" in names
    assert not set(STAT_STATEMENTS) & names
    assert set(STAT_STATEMENTS) <= metric_names(pg_exporter.scrape())


def test_redis_exporter_exports_what_the_redis_alerts_divide(
    redis_server: RedisLab, redis_exporter: ExporterProcess
) -> None:
    admin = redis_server.admin()
    try:
        admin.set("exporter:check", "1")
        admin.get("exporter:check")
        admin.get("exporter:missing")
    finally:
        admin.delete("exporter:check")  # the session's server stays empty for the modules after this one
        admin.close()

    samples = parse_metrics(redis_exporter.scrape())
    values = {s.name: s.value for s in samples if not s.labels}

    assert set(REDIS_RULE_METRICS) <= {s.name for s in samples}
    assert values["redis_up"] == 1
    assert values["redis_memory_max_bytes"] == 64 * 1024 * 1024  # the lab's maxmemory 64mb
    assert values["redis_keyspace_hits_total"] >= 1 and values["redis_keyspace_misses_total"] >= 1
    assert {s.labels["cmd"] for s in samples if s.name == "redis_commands_duration_seconds_total"} >= {
        "get",
        "set",
    }


def test_up_goes_to_zero_when_the_server_is_unreachable(workdir: Path) -> None:
    """What PostgreSQLDown (pg_up == 0) and RedisDown (redis_up == 0) fire on; the password stays out of
    the exporter's argv and its error log."""
    password = ROLE_PASSWORDS[EXPORTER_ROLE]
    dsn = f"host=127.0.0.1 port={closed_port()} dbname=inmidst user={EXPORTER_ROLE} password={password}"
    pg_port, redis_port = free_port(), free_port()
    pg_command = postgres_exporter_command(dsn, pg_port, binary=_postgres_exporter())
    redis_command = redis_exporter_command(
        f"redis://:{password}@127.0.0.1:{closed_port()}/0", redis_port, binary=_redis_exporter()
    )
    assert password not in " ".join(pg_command[0] + redis_command[0])
    pg = start_exporter(pg_command, pg_port, workdir)
    redis = start_exporter(redis_command, redis_port, workdir)
    try:
        pg_page, redis_page = pg.scrape(), redis.scrape()
        time.sleep(0.2)  # the error line reaches the log
        pg_log = pg.log()
    finally:
        pg.stop()
        redis.stop()

    assert [s.value for s in parse_metrics(pg_page) if s.name == "pg_up"] == [0]
    assert [s.value for s in parse_metrics(redis_page) if s.name == "redis_up"] == [0]
    assert "connection refused" in pg_log
    # the DSN went in as a URL: the form postgres_exporter logs with its password replaced
    assert password not in pg_log and "PASSWORD_REMOVED" in pg_log


def test_exporter_commands_listen_on_loopback_and_name_the_package_when_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dummy = Path("/opt/exporter")
    argv, env = postgres_exporter_command(
        "host=127.0.0.1 port=5432 dbname=inmidst user=x", 9187, binary=dummy
    )
    assert argv == [
        str(dummy),
        "--web.listen-address=127.0.0.1:9187",
        "--log.level=warn",
        f"--extend.query-path={POSTGRES_QUERIES}",
    ]
    # lib/pq would require TLS by default, which a loopback PostgreSQL rarely has
    assert env == {"DATA_SOURCE_NAME": "postgresql://x@127.0.0.1:5432/inmidst?sslmode=disable"}
    argv, env = redis_exporter_command("redis://u:p%40ss@127.0.0.1:6379/0", 9121, binary=dummy)
    assert argv == [
        str(dummy),
        "--redis.addr=redis://127.0.0.1:6379/0",
        "--web.listen-address=127.0.0.1:9121",
    ]
    assert env == {"REDIS_USER": "u", "REDIS_PASSWORD": "p@ss"}

    monkeypatch.setattr(exporters, "postgres_exporter_binary", lambda: None)
    monkeypatch.setattr(exporters, "redis_exporter_binary", lambda: None)
    with pytest.raises(exporters.ExporterMissing, match=r"apt-get install prometheus-postgres-exporter\)"):
        postgres_exporter_command("host=127.0.0.1", 9187)
    with pytest.raises(exporters.ExporterMissing, match=r"apt-get install prometheus-redis-exporter\)"):
        redis_exporter_command("redis://127.0.0.1:6379/0", 9121)
