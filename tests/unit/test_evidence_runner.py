"""The evidence runner without a screen: one read per question a round asks, the key sampler paced, `r`
reading again at once, and nothing more once the checklist is gone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from probes.base import Reading
from tests.helpers import REPO
from tui.triage.registry import Sources
from tui.triage.runbook import Section, load_runbook
from tui.triage.runner import Evidence, EvidenceRunner

SEED = REPO / "examples" / "inmidst" / "RUNBOOK.md"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


class CountingRedis:
    """A Redis source that answers every read and remembers the commands it was asked."""

    configured = True

    def __init__(self) -> None:
        self.asked: list[tuple[str, ...]] = []

    async def read(self, command, *, limit=None, pattern=None) -> Reading:
        self.asked.append(tuple(command))
        return Reading(
            source="redis", what=" ".join(command), read_at=NOW, lines=(f"answer {len(self.asked)}",)
        )


class CountingPostgres:
    """A PostgreSQL source that answers every statement and remembers the statements it was asked."""

    configured = True

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def run_statement(self, statement: str, *, max_rows: int = 0) -> Reading:
        self.asked.append(statement)
        return Reading(source="postgresql", what=statement, read_at=NOW, lines=(f"answer {len(self.asked)}",))


class Checklist:
    """What the runner needs of a screen: the section shown, whether it is shown, and where rounds go."""

    def __init__(self, section: Section) -> None:
        self.section: Section | None = section
        self.shown = True
        self.rounds: list[Evidence] = []

    def show_evidence(self, evidence: Evidence) -> None:
        self.rounds.append(evidence)


async def _until(condition, what: str) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def _runner(
    slug: str, redis: CountingRedis | None = None, postgres: CountingPostgres | None = None
) -> tuple[EvidenceRunner, Checklist]:
    runbook = load_runbook(SEED)
    section = runbook.section(slug)
    assert section is not None
    checklist = Checklist(section)
    runner = EvidenceRunner(
        checklist, lambda s: Sources(redis=redis, postgres=postgres), servers=None, runbook=runbook
    )
    return runner, checklist


async def test_two_causes_asking_the_same_read_share_one_read_a_round() -> None:
    postgres = CountingPostgres()
    runner, checklist = _runner("slow-database-queries", postgres=postgres)
    task = asyncio.create_task(runner.run())
    try:
        await _until(lambda: len(checklist.rounds) == 1, "the first round")
        evidence = checklist.rounds[0]
        # "missing indexes" and "inefficient queries" both look at the costliest statements: asked once,
        # shown under both
        shared = evidence.causes[0]
        assert shared is evidence.causes[3]
        assert postgres.asked.count(shared.what) == 1
        assert set(evidence.steps) == {0, 1, 2}
    finally:
        task.cancel()


async def test_the_key_sampler_waits_for_r_while_the_other_reads_come_every_round(monkeypatch) -> None:
    monkeypatch.setattr("tui.triage.runner.EVIDENCE_EVERY", 0.05)  # rounds come quickly; the minute doesn't
    redis = CountingRedis()
    runner, checklist = _runner("slow-redis-operations", redis)
    task = asyncio.create_task(runner.run())
    try:
        await _until(lambda: len(checklist.rounds) == 2, "two rounds")
        first, again = checklist.rounds[:2]
        assert redis.asked.count(("SLOWLOG", "GET", "10")) >= 2  # read every round
        assert again.steps[1] is first.steps[1]  # `redis-cli --bigkeys` kept: the sampler walks the keyspace
        sampled = redis.asked.count(("BIGKEYS",))

        runner.reread()  # `r`: everything again, the sampler included
        await _until(lambda: redis.asked.count(("BIGKEYS",)) > sampled, "the sampler on `r`")

        checklist.shown = False  # the checklist closed: the runner stops after the round it is in
        await asyncio.wait_for(task, timeout=2)
        shown = len(checklist.rounds)
        await asyncio.sleep(0.1)
        assert len(checklist.rounds) == shown
    finally:
        task.cancel()
