"""What opening a checklist costs the real servers: the Redis key sampler runs once for the whole app (two
checklists and the Redis tab's `x` at once), `r` soon after asks nothing more of it, and every place that
shows the sample says how old it is; a runbook's SQL read is two round trips, read-only."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from textual.widgets import TabbedContent

from probes.base import Reading
from probes.postgres import PostgresProbe
from probes.redis import RedisProbe
from screens.evidence import evidence_text
from tests.helpers import REPO, make_app, screen_text, wait_for
from tests.labs.postgres import PgLab
from tests.labs.redis import RedisConditions, RedisLab
from tui.config.settings import PostgresSettings, load_settings
from tui.triage.plans import plans
from tui.triage.registry import Sources
from tui.triage.runbook import Section, load_runbook
from tui.triage.runner import Evidence, EvidenceRunner

pytestmark = pytest.mark.integration

SEED = REPO / "examples" / "inmidst" / "RUNBOOK.md"


class Shown:
    """A checklist as the runner sees it: its section, shown until the test ends, each round kept."""

    def __init__(self, section: Section) -> None:
        self.section: Section | None = section
        self.shown = True
        self.rounds: list[Evidence] = []

    def show_evidence(self, evidence: Evidence) -> None:
        self.rounds.append(evidence)


def _bigkeys(evidence: Evidence) -> Reading | None:
    """The `redis-cli --bigkeys` reading of a round, once it holds the sample's rows."""
    for index, plan in enumerate(plans(evidence.section, None)):
        for read, reading in zip(plan.reads, evidence.steps.get(index, ()), strict=False):
            if read.read == "bigkeys" and reading.rows:
                return reading
    return None


def _scans(admin) -> int:
    return int(admin.info("commandstats").get("cmdstat_scan", {}).get("calls", 0))


async def test_two_checklists_and_the_x_key_share_one_sampler_run_whose_age_is_shown(
    tmp_path: Path, redis_server: RedisLab, redis_conditions: RedisConditions
) -> None:
    settings = load_settings(env={"REDIS_URL": redis_server.url()}, cwd=tmp_path, user_config_dir=tmp_path)
    probe = RedisProbe(replace(settings.redis, refresh=0.3))
    runbook = load_runbook(SEED)
    section = runbook.section("slow-redis-operations")
    assert section is not None
    admin = redis_conditions.admin
    app = make_app(tmp_path, demo=False, redis=probe)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: app.redis_snapshot is not None, timeout=10, what="the first Redis read")
        app.screen.query_one("#sources", TabbedContent).active = "tab-redis"
        await pilot.pause()
        admin.config_resetstat()  # from here, commandstats counts SCANs of this test only
        # the Redis tab's x, and two checklists opened on the section with `redis-cli --bigkeys`, at once
        await pilot.press("x")
        checklists = [Shown(section), Shown(section)]
        runners = [
            EvidenceRunner(shown, lambda s: Sources(redis=probe), servers=None, runbook=runbook)
            for shown in checklists
        ]
        tasks = [asyncio.create_task(runner.run()) for runner in runners]
        try:
            await wait_for(
                lambda: all(shown.rounds and _bigkeys(shown.rounds[-1]) for shown in checklists),
                timeout=20,
                what="the sample in both checklists",
            )
            await wait_for(lambda: probe.sampling is None, timeout=20, what="the run's end")
            sample = probe._sample
            assert sample is not None and sample.complete
            assert sample.scanned == redis_conditions.total_keys
            scans = sum(1 for sent in probe.sent if sent[0] == "SCAN")
            assert probe.sampler_runs == 1
            assert _scans(admin) == scans >= 2  # the server saw the keyspace walked once
            for shown in checklists:
                reading = _bigkeys(shown.rounds[-1])
                assert reading is not None and reading.read_at == sample.taken_at
                assert reading.rows[0][0] in ("big:blob", "big:list", "big:hash")

            # `r` right after: the other reads again, the sample as it is (younger than SAMPLE_MIN_AGE)
            before = len(checklists[0].rounds)
            runners[0].reread()
            await wait_for(lambda: len(checklists[0].rounds) > before, timeout=10, what="the re-read")
            assert probe.sampler_runs == 1 and _scans(admin) == scans

            # the Redis tab shows the same sample and how old it is
            await wait_for(
                lambda: f"sampled {sample.scanned:,} keys" in screen_text(app), timeout=10, what="the tab"
            )
            assert " ago" in screen_text(app).split(f"sampled {sample.scanned:,} keys", 1)[1].split("\n")[0]
        finally:
            for shown in checklists:
                shown.shown = False
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    # the checklist says when the sample was taken, not "read"
    plan = next(p for p in plans(section, None) if any(r.read == "bigkeys" for r in p.reads))
    reading = _bigkeys(checklists[0].rounds[-1])
    assert reading is not None and reading.read_at is not None
    text = evidence_text(plan, (reading,), reading.read_at + timedelta(minutes=2), rows=3).plain
    assert "sampled 2m ago" in text or "sampled 2 min ago" in text, text


async def test_a_runbook_sql_read_is_two_round_trips_inside_a_read_only_transaction(
    tmp_path: Path, pg_server: PgLab
) -> None:
    probe = PostgresProbe(PostgresSettings(dsn=pg_server.dsn("oncall_monitor")))
    trace_path = tmp_path / "libpq.trace"
    try:
        assert (await probe.run_statement("SELECT 1")).ok  # the session, opened
        assert probe._conn is not None
        with trace_path.open("w") as trace:
            probe._conn.pgconn.trace(trace.fileno())
            mark = pg_server.log_mark()
            reading = await probe.run_statement("SELECT count(*) FROM pg_stat_activity")
            literal = await probe.run_statement("SELECT 1 AS one")
            probe._conn.pgconn.untrace()
        assert reading.ok and int(reading.rows[0][0]) >= 1
        assert literal.ok and literal.rows == (("1",),)
        lines = trace_path.read_text().splitlines()
        # each ReadyForQuery ends one round trip: the client waited for the server once
        ready = [i for i, line in enumerate(lines) if "\tReadyForQuery\t" in line]
        begins = [i for i, line in enumerate(lines) if '\tParse\t "" "BEGIN READ ONLY"' in line]
        assert len(begins) == 2, lines
        second = begins[1]
        # BEGIN READ ONLY with the guard's catalog check, then DECLARE, FETCH and ROLLBACK: two each
        assert [sum(1 for i in ready if i < second), sum(1 for i in ready if i > second)] == [2, 2], lines
        logged = pg_server.statements_logged("oncall", since=mark)
        assert logged[0] == "BEGIN READ ONLY" and logged[-1] == "ROLLBACK", logged
        starts = ("BEGIN READ ONLY", "WITH", "SELECT", "DECLARE", "FETCH", "ROLLBACK")
        assert all(s.lstrip().upper().startswith(starts) for s in logged), logged
    finally:
        await probe.aclose()
