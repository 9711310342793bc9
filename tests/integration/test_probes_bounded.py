"""A dashboard open for a whole shift: what a probe keeps of what it sent stays bounded, however many polls,
while still showing the newest commands the read-only tests check (the leak the soak found, bench.soak_bench:
every command and statement of every refresh kept since start)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from probes.base import SentLog
from probes.postgres import PostgresProbe
from probes.redis import RedisProbe, check_command
from tests.labs.postgres import PgLab
from tests.labs.redis import RedisLab
from tui.config.settings import PostgresSettings, load_settings

pytestmark = pytest.mark.integration

KEPT = 12  # a small bound, so a few dozen polls go round it several times
POLLS = 60


def test_the_record_keeps_the_newest_entries_in_order_and_no_more_than_twice_its_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(SentLog, "KEPT", 5)
    log: SentLog[int] = SentLog()
    sizes = []
    for n in range(100):
        log.append(n)
        sizes.append(len(log))
    log.extend(range(100, 130))
    assert max(sizes) < 10 and len(log) < 10
    assert log[-5:] == [125, 126, 127, 128, 129]  # the newest, in order
    assert log == list(range(130 - len(log), 130))  # still compared as the list the tests check


async def test_redis_polls_leave_the_record_of_commands_flat(
    redis_server: RedisLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SentLog, "KEPT", KEPT)
    settings = load_settings(env={"REDIS_URL": redis_server.url()}, cwd=tmp_path, user_config_dir=tmp_path)
    sizes = []
    async with RedisProbe(settings.redis) as probe:
        for _ in range(POLLS):
            snapshot = await probe.poll()
            assert snapshot.health.state == "ok", snapshot.health.last_error
            sizes.append(len(probe.sent))
    assert any(b < a for a, b in itertools.pairwise(sizes))  # it went round the bound
    assert max(sizes) < 2 * KEPT, sizes  # before: one more entry per command, 3+ a poll, forever
    assert max(sizes[POLLS // 2 :]) <= max(sizes[: POLLS // 2])  # flat after the first polls
    assert probe.sent[-1][0] in {"INFO", "SLOWLOG", "LATENCY", "CONFIG"}  # the newest commands are there
    assert all(check_command(*sent) for sent in probe.sent)


async def test_postgres_polls_leave_the_record_of_statements_flat(
    pg_server: PgLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SentLog, "KEPT", KEPT)
    sizes = []
    async with PostgresProbe(PostgresSettings(dsn=pg_server.dsn("oncall_monitor"))) as probe:
        for _ in range(POLLS):
            snapshot = await probe.poll()
            assert snapshot.health.state == "ok", snapshot.health.last_error
            sizes.append(len(probe.sent))
        last_round_trips = probe.round_trips
    assert any(b < a for a, b in itertools.pairwise(sizes))  # it went round the bound
    assert max(sizes) < 2 * KEPT, sizes
    assert max(sizes[POLLS // 2 :]) <= max(sizes[: POLLS // 2])
    n = last_round_trips  # the newest entries are the last poll's statements, as the poll before sent them
    assert n and probe.sent[-n:] == probe.sent[-2 * n : -n]
    # and each statement is held once however often it was sent (a 3.8 KB text every 5 s for a shift)
    assert len({id(statement) for statement in probe.sent}) == len(set(probe.sent))
