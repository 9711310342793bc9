"""The activity query's answer, read in Python: positional session arrays and one-pass counts."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from probes.postgres.snapshot import SESSION_FIELDS, counts_from_json, pressure_from, sessions_from_json

NOW = datetime(2026, 1, 1, 3, 0, 0, tzinfo=UTC)


def session(pid: int, **values: object) -> list[object]:
    row: dict[str, object] = dict.fromkeys(SESSION_FIELDS)
    row.update({"pid": pid, "backend_type": "client backend", "query": "SELECT 1"})
    row.update(values)
    return [row[name] for name in SESSION_FIELDS]


def test_sessions_get_their_ages_from_the_servers_clock_and_their_client_as_written() -> None:
    text = json.dumps(
        [
            session(1, state="idle", client_addr=None, client_port=-1),
            session(
                2,
                state="active",
                client_addr="10.0.0.5",
                client_port=53122,
                query_start="2026-01-01T02:59:30+00:00",
                xact_start="2026-01-01T02:55:00+00:00",
                wait_event_type="Lock",
                blocked_by=[7, 8],
            ),
            session(3, backend_type="autovacuum worker", client_addr=None, client_port=None),
        ]
    )
    by_pid = {s.pid: s for s in sessions_from_json(text, NOW)}
    assert by_pid[1].client == "local"
    assert by_pid[2].client == "10.0.0.5:53122"
    assert by_pid[3].client is None
    assert by_pid[2].query_seconds == 30.0 and by_pid[2].xact_seconds == 300.0
    assert by_pid[1].query_seconds is None
    assert by_pid[2].blocked_by == (7, 8) and by_pid[1].blocked_by == ()
    assert sessions_from_json(None, NOW) == ()


def test_counts_cover_clients_by_state_and_application_and_every_idle_session() -> None:
    counts = counts_from_json(
        json.dumps(
            [
                ["idle", "api", True, 1800],
                ["active", "api", True, 100],
                ["idle in transaction", "worker", True, 50],
                [None, "", True, 3],  # hidden from a role without pg_read_all_stats
                ["idle", "", False, 2],  # e.g. a walsender: idle, not a client
            ]
        )
    )
    assert counts.clients == 1953 and counts.idle == 1802
    assert counts.by_state == {"idle": 1800, "active": 100, "idle in transaction": 50, "unknown": 3}
    assert counts.by_application == {"api": 1900, "worker": 50, "": 3}
    row = {"max_connections": 2100, "superuser_reserved": 3, "reserved": 0}
    pressure = pressure_from(row, (), 300.0, counts)
    assert pressure.used == 1954  # oncall's own session counts as used, not in the lists
    assert pressure.by_state[0] == ("idle", 1800)
    assert pressure.by_application[0] == ("api", 1900)
