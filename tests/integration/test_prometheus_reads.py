"""The live triage reads of the Prometheus probe (an instant query, the scrape targets, PVC usage) against
the lab's real Prometheus: its two scrape jobs (one refused, so down) and its kubelet volume series."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from probes.base import Reading
from probes.prometheus import NOT_CONFIGURED, READ_PATHS, PrometheusProbe
from tests.labs import LabError, require
from tests.labs.prometheus import PrometheusLab, prometheus_binary
from tui.config.settings import PrometheusSettings

pytestmark = pytest.mark.integration

AT = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
TARGET_COLUMNS = ("job", "instance", "health", "last scrape", "last error")
VOLUME_COLUMNS = ("persistentvolumeclaim", "used", "capacity", "used %", "inodes used %")


class Recorder(httpx.AsyncHTTPTransport):
    """The real network, with every request the probe sent kept for the test to look at."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await super().handle_async_request(request)

    def queries(self) -> list[str]:
        return [q for r in self.requests for q in parse_qs(r.url.query.decode()).get("query", [])]


@pytest.fixture(scope="module")
def lab(prometheus_server: PrometheusLab) -> PrometheusLab:
    """The session's Prometheus once it has scraped both jobs (about 5s after it started)."""
    try:
        prometheus_server.wait_for_targets()
    except LabError as exc:
        pytest.fail(str(exc))
    return prometheus_server


def probe_for(
    url: str,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> PrometheusProbe:
    return PrometheusProbe(PrometheusSettings(url=url, timeout=5), transport=transport, clock=clock)


# --- instant queries ---------------------------------------------------------------------------


async def test_query_values_are_readable_highest_first_and_capped_at_the_limit(
    prometheus_server: PrometheusLab,
) -> None:
    async with probe_for(prometheus_server.url) as probe:
        volumes = await probe.query_reading("kubelet_volume_stats_used_bytes", limit=2, what="PVC bytes used")
        vector = await probe.query_reading("vector(8.5e-01)")
        scalar = await probe.query_reading("scalar(vector(0.085))")

    assert volumes.what == "PVC bytes used"
    assert volumes.columns == ("__name__", "namespace", "persistentvolumeclaim", "value")
    assert [(row[2], row[3]) for row in volumes.rows] == [
        ("inmidst-postgres-data", "9.2e+09"),  # production, the fullest
        ("inmidst-postgres-data", "2e+09"),  # staging
    ]
    assert volumes.truncated  # inmidst-redis-data, 1e+09, is left off
    assert (vector.columns, vector.rows) == (("value",), (("0.85",),))
    assert (scalar.columns, scalar.rows) == (("value",), (("0.085",),))


async def test_a_query_matching_nothing_is_an_empty_table_saying_no_series(
    prometheus_server: PrometheusLab,
) -> None:
    async with probe_for(prometheus_server.url) as probe:
        reading = await probe.query_reading('up{job="no-such-job"}')

    assert reading.read_at is not None  # Prometheus answered: nothing matches
    assert (reading.rows, reading.problem) == ((), "no series")


async def test_a_promql_syntax_error_fails_with_prometheus_own_words(
    prometheus_server: PrometheusLab,
) -> None:
    async with probe_for(prometheus_server.url) as probe:
        reading = await probe.query_reading("rate(up{job=")

    assert reading.read_at is None and reading.rows == ()
    assert reading.problem is not None
    assert reading.problem.startswith("HTTP 400 Bad Request from /api/v1/query: bad_data: ")
    assert "parse error" in reading.problem


async def test_a_dead_url_fails_with_connection_refused(closed_url: str) -> None:
    async with probe_for(closed_url) as probe:
        readings = await asyncio.gather(
            probe.query_reading("up"),
            probe.targets_reading(),
            probe.volume_usage_reading("production", "deploy/inmidst-postgres"),
        )

    for reading in readings:
        assert reading.read_at is None
        assert reading.problem == f"connection refused at {closed_url}"


# --- PVC usage from the kubelet's volume metrics -------------------------------------------------


async def test_volume_usage_of_a_workload_is_a_table_of_its_pvcs_in_the_namespace(
    prometheus_server: PrometheusLab,
) -> None:
    async with probe_for(prometheus_server.url) as probe:
        postgres = await probe.volume_usage_reading("production", "deploy/inmidst-postgres")
        namespace = await probe.volume_usage_reading("production", None)

    assert postgres.ok, postgres.problem
    assert postgres.what == "kubelet_volume_stats_* for PVCs in production named like 'inmidst-postgres'"
    assert postgres.columns == VOLUME_COLUMNS
    # staging's inmidst-postgres-data and production's inmidst-redis-data are not it
    assert postgres.rows == (("inmidst-postgres-data", "8.6G", "10.0G", "85.7%", "20.0%"),)
    assert namespace.rows == (
        ("inmidst-postgres-data", "8.6G", "10.0G", "85.7%", "20.0%"),
        ("inmidst-redis-data", "953.7M", "4.7G", "20.0%", ""),  # no inode series for it
    )


async def test_volume_usage_says_so_when_the_kubelet_volume_metrics_are_not_scraped(tmp_path: Path) -> None:
    require(prometheus_binary(), "prometheus is not installed (apt-get install prometheus)")
    bare = PrometheusLab(tmp_path / "prometheus", kubelet_volumes=False)
    try:
        bare.start()
    except LabError as exc:
        pytest.fail(str(exc))
    try:
        async with probe_for(bare.url) as probe:
            reading = await probe.volume_usage_reading("production", "deploy/inmidst-postgres")
    finally:
        bare.stop()

    assert reading.read_at is not None and reading.rows == ()
    assert reading.problem == (
        "Prometheus has no kubelet_volume_stats_* series for PVCs in production named like "
        "'inmidst-postgres': the kubelet's volume metrics are not scraped"
    )


async def test_runbook_text_is_escaped_into_the_query_never_run_as_promql(
    prometheus_server: PrometheusLab,
) -> None:
    recorder = Recorder()
    namespace = 'production"} or up{job="prometheus'
    workload = 'deploy/x.*"} or vector(1) or {a="\\'
    async with probe_for(prometheus_server.url, recorder) as probe:
        reading = await probe.volume_usage_reading(namespace, workload)

    # Prometheus answered, matched nothing: no error, no `up` or vector(1) rows
    assert reading.read_at is not None and reading.rows == ()
    assert reading.problem is not None and "though it has them for other volumes" in reading.problem
    assert recorder.queries()[0] == (
        '{__name__=~"kubelet_volume_stats_(used_bytes|capacity_bytes|inodes_used|inodes)",'
        'namespace="production\\"} or up{job=\\"prometheus",'
        'persistentvolumeclaim=~".*x\\\\.\\\\*\\"\\\\} or vector\\\\(1\\\\) or \\\\{a=\\"\\\\\\\\.*"}'
    )
    assert {(r.method, r.url.path) for r in recorder.requests} <= {("GET", p) for p in READ_PATHS}


# --- failures never raise ----------------------------------------------------------------------

READS: dict[str, Callable[[PrometheusProbe], Awaitable[Reading]]] = {
    "query": lambda p: p.query_reading("up"),
    "targets": lambda p: p.targets_reading(),
    "volumes": lambda p: p.volume_usage_reading("production", "inmidst-postgres"),
}


@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
@pytest.mark.parametrize(
    ("response", "problem"),
    [
        (httpx.Response(403), r"HTTP 403: these credentials may not read /api/v1/\w+"),
        (
            httpx.Response(200, text="<html>proxy login</html>"),
            r"http://prometheus:9090 answered /api/v1/\w+ with text/plain, not JSON",
        ),
        (
            httpx.Response(200, json={"status": "error", "errorType": "timeout", "error": "query timed out"}),
            r"Prometheus reported an error from /api/v1/\w+: timeout: query timed out",
        ),
        (
            httpx.Response(200, json={"status": "success", "data": {}}),
            r"unexpected response shape from /api/v1/\w+: data\.\w+ missing",
        ),
    ],
    ids=["403", "garbage", "status-error", "shape"],
)
async def test_a_bad_answer_is_a_failed_reading_in_plain_words(
    read: Callable[[PrometheusProbe], Awaitable[Reading]], response: httpx.Response, problem: str
) -> None:
    transport = httpx.MockTransport(lambda _request: response)
    async with PrometheusProbe(
        PrometheusSettings(url="http://prometheus:9090"), transport=transport
    ) as probe:
        reading = await read(probe)

    assert reading.source == "prometheus" and reading.read_at is None and reading.rows == ()
    assert re.fullmatch(problem, reading.problem or ""), reading.problem


async def test_a_server_that_hangs_fails_after_the_timeout() -> None:
    async def hang(_request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(10)
        return httpx.Response(200)

    settings = PrometheusSettings(url="http://prometheus:9090", timeout=0.05)
    async with PrometheusProbe(settings, transport=httpx.MockTransport(hang)) as probe:
        reading = await probe.query_reading("up")

    assert reading.read_at is None
    assert reading.problem == "timed out waiting for a response after 0.1s from /api/v1/query"


async def test_not_configured_sends_nothing_and_says_how_to_configure() -> None:
    def refuse(_request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing may be sent")

    async with PrometheusProbe(PrometheusSettings(), transport=httpx.MockTransport(refuse)) as probe:
        for read in READS.values():
            reading = await read(probe)
            assert (reading.read_at, reading.problem) == (None, NOT_CONFIGURED)


# --- scrape targets ----------------------------------------------------------------------------
# Prometheus hands its targets to the scrapers about 5s after start: these tests wait for that, so they
# come last and the tests above run in the meantime.


async def test_query_up_lists_each_lab_target_with_1_or_0_the_up_one_first(lab: PrometheusLab) -> None:
    async with probe_for(lab.url, clock=lambda: AT) as probe:
        reading = await probe.query_reading("up")

    assert reading.ok, reading.problem
    assert (reading.source, reading.what, reading.read_at) == ("prometheus", "up", AT)
    assert reading.columns == ("__name__", "instance", "job", "value")
    assert reading.rows == (
        ("up", f"127.0.0.1:{lab.port}", "prometheus", "1"),
        ("up", lab.down_target, "inmidst-api", "0"),
    )
    assert not reading.truncated


async def test_targets_down_lists_the_refused_target_with_its_last_error(lab: PrometheusLab) -> None:
    async with probe_for(lab.url) as probe:
        reading = await probe.targets_reading()

    assert reading.ok, reading.problem
    assert reading.columns == TARGET_COLUMNS
    [(job, instance, health, last_scrape, last_error)] = reading.rows  # the up target is not shown
    assert (job, instance, health) == ("inmidst-api", lab.down_target, "down")
    assert re.fullmatch(r"\d+s ago", last_scrape), last_scrape
    assert last_error.endswith(f"dial tcp {lab.down_target}: connect: connection refused"), last_error


async def test_all_targets_come_down_first_and_match_filters_on_instance_or_scrape_url(
    lab: PrometheusLab,
) -> None:
    async with probe_for(lab.url) as probe:
        everything = await probe.targets_reading(only_down=False)
        by_port = await probe.targets_reading(only_down=False, match=f":{lab.port}")
        by_url = await probe.targets_reading(only_down=False, match=f"http://{lab.down_target}/metrics")
        nowhere = await probe.targets_reading(match="inmidst-web:3001")
        up_only = await probe.targets_reading(match=f":{lab.port}")

    assert [(r[0], r[2]) for r in everything.rows] == [("inmidst-api", "down"), ("prometheus", "up")]
    assert [(r[0], r[1], r[4]) for r in by_port.rows] == [("prometheus", f"127.0.0.1:{lab.port}", "")]
    assert [r[0] for r in by_url.rows] == ["inmidst-api"]
    assert nowhere.read_at is not None and nowhere.rows == ()
    assert nowhere.problem == "no active target's instance or scrape URL contains 'inmidst-web:3001'"
    assert up_only.rows == () and up_only.problem == f"no target matching ':{lab.port}' is down"


async def test_the_reads_send_only_get_to_the_query_and_targets_paths(lab: PrometheusLab) -> None:
    recorder = Recorder()
    async with probe_for(lab.url, recorder) as probe:
        await probe.query_reading("up")
        await probe.targets_reading(only_down=False)
        await probe.volume_usage_reading("production", "inmidst-postgres")

    sent = {(r.method, r.url.path) for r in recorder.requests}
    assert sent == {("GET", "/api/v1/query"), ("GET", "/api/v1/targets")}
    assert any(r.url.query == b"state=active" for r in recorder.requests)
