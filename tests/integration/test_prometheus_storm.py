"""An alert storm on a real Prometheus (the lab with one rule over a gauge of 300 label sets): each poll
reads the alerts in one request, gives each alert its rule, and hands an unchanged alert back as the same
object; the dashboard shows them all and keeps its selection across polls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from probes.prometheus import ALLOWED_REQUESTS, PrometheusProbe
from tests.helpers import make_app, wait_for
from tests.labs import LabError, require
from tests.labs.prometheus import STORM_ALERT, PrometheusLab, prometheus_binary
from tui.config.settings import PrometheusSettings
from tui.widgets.alerts import AlertsTable

pytestmark = pytest.mark.integration

STORM = 300


class Recorder(httpx.AsyncHTTPTransport):
    """The real network, with every request the probe sent kept for the test to look at."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await super().handle_async_request(request)


@pytest.fixture(scope="module")
def storm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusLab]:
    require(prometheus_binary(), "prometheus is not installed (apt-get install prometheus)")
    lab = PrometheusLab(Path(tmp_path_factory.mktemp("storm")), storm=STORM)
    try:
        lab.start()
        lab.wait_for_storm()
    except LabError as exc:
        lab.stop()
        pytest.fail(str(exc))
    try:
        yield lab
    finally:
        lab.stop()


async def test_each_poll_reads_the_storm_in_one_request_and_reuses_what_did_not_change(storm):
    recorder = Recorder()
    async with PrometheusProbe(PrometheusSettings(url=storm.url, timeout=5), transport=recorder) as probe:
        first = await probe.poll()
        after_first = len(recorder.requests)
        second = await probe.poll()
        third = await probe.poll()
    paths = [r.url.path for r in recorder.requests]
    assert sorted(paths[:after_first]) == ["/api/v1/alerts", "/api/v1/rules"]
    assert paths[after_first:] == ["/api/v1/alerts", "/api/v1/alerts"]  # the rules were read once
    assert {(r.method, r.url.path, r.url.query.decode()) for r in recorder.requests} <= ALLOWED_REQUESTS
    stormed = [a for a in third.alerts if a.name == STORM_ALERT]
    assert len(stormed) == STORM and third.health.state == "ok"
    assert {a.expression for a in stormed} == {"storm_queue_backlog > 0"}
    assert {a.for_seconds for a in stormed} == {0.0}
    assert len({a.fingerprint for a in stormed}) == STORM
    # Prometheus evaluates the rule again every 5 s, but an alert whose state, value and start are the
    # same is the object the last poll made
    same = {a.fingerprint: a for a in first.alerts}
    assert all(a is same[a.fingerprint] for a in second.alerts if a.name == STORM_ALERT)


async def test_the_dashboard_shows_the_storm_and_keeps_the_selection_across_polls(storm, tmp_path):
    app = make_app(tmp_path, demo=False, prometheus_url=storm.url, timeout=5.0)  # polled every 0.2 s
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count >= STORM, timeout=20, what=f"{STORM} alerts shown")
        table.move_cursor(row=STORM // 2, animate=False)
        await pilot.pause()
        chosen = table.selected
        assert chosen is not None
        for _ in range(3):
            polled = app.snapshot
            await wait_for(lambda: app.snapshot is not polled, timeout=10, what="another poll")  # noqa: B023
        await pilot.pause()
        assert table.selected is not None and table.selected.fingerprint == chosen.fingerprint
        assert table.cursor_row == STORM // 2
