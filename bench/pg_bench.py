"""2,000 PostgreSQL sessions: event-loop stalls while the tab refreshes, and oncall's server time per refresh
against pg_activity's activity query on the same server and load.

Run: .venv/bin/python -m bench.pg_bench [--sessions 2000] [--refreshes 20]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

from bench.timing import StallMonitor
from probes.postgres import PostgresProbe
from tests.helpers import make_app, wait_for
from tests.labs.postgres import PgLab
from tui.config.settings import PostgresSettings

ACTIVE = 100  # sessions running a query the whole time
IDLE_IN_TRANSACTION = 50


LOAD = """
import sys, time, psycopg
dsn, sessions, active, idle_tx = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
held = []
for i in range(sessions):
    conn = psycopg.connect(dsn, autocommit=True, application_name=f"inmidst-api-{i % 20}")
    if i < active:
        conn.pgconn.send_query(b"SELECT pg_sleep(600) /* bench load */")  # runs on, never awaited
    elif i < active + idle_tx:
        conn.autocommit = False
        conn.execute("SELECT 1")
    held.append(conn)
print("ready", flush=True)
sys.stdin.read()  # hold them until the benchmark closes our stdin
"""


def _load(lab: PgLab, sessions: int) -> subprocess.Popen[str]:
    """Real sessions, held by another process (as an application's would be): most idle, some idle in
    transaction, some running pg_sleep."""
    load = subprocess.Popen(
        [
            sys.executable,
            "-c",
            LOAD,
            lab.dsn("inmidst"),
            str(sessions),
            str(ACTIVE),
            str(IDLE_IN_TRANSACTION),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert load.stdout is not None
    if load.stdout.readline().strip() != "ready":
        raise RuntimeError("the load process could not open its sessions")
    return load


def _pg_activity_query() -> sql.Composed:
    """pg_activity's own activity query for PostgreSQL 13+, composed as pg_activity composes it."""
    from pgactivity import queries

    text = queries.get("get_pg_activity_post_130000")
    return sql.SQL(text).format(
        duration_column=sql.Identifier("query_start"),
        min_duration=sql.Placeholder("min_duration"),
        dbname_filter=sql.Literal(None),  # no database filter, as pg_activity runs by default
    )


async def _server_times(lab: PgLab, refreshes: int) -> tuple[float, float, int]:
    """Mean server execution time (ms) of one oncall refresh and of one pg_activity activity query."""
    admin = psycopg.connect(lab.admin_dsn, autocommit=True)
    admin.execute("SELECT pg_stat_statements_reset()")
    probe = PostgresProbe(PostgresSettings(dsn=lab.dsn("oncall_monitor")))
    try:
        for _ in range(refreshes):
            await probe.poll()
        round_trips = probe.round_trips
    finally:
        await probe.aclose()
    with psycopg.connect(lab.dsn("oncall_monitor"), autocommit=True) as conn:
        query = _pg_activity_query()
        for _ in range(refreshes):
            conn.execute(query, {"min_duration": 0, "dbname_filter": None}).fetchall()
    rows = admin.execute("SELECT query, calls, total_exec_time FROM pg_stat_statements").fetchall()
    admin.close()
    ours = sum(
        total
        for text, _, total in rows
        if text.lstrip().startswith(("WITH activity AS", "SELECT s.query", "SELECT schemaname, relname"))
    )
    theirs = sum(total for text, _, total in rows if "a.backend_xmin AS xmin" in text)
    return ours / refreshes, theirs / refreshes, round_trips


async def run(sessions: int, refreshes: int, workdir: Path) -> None:
    lab = PgLab(workdir / "pg", max_connections=sessions + 100).start()
    load = None
    try:
        load = await asyncio.to_thread(_load, lab, sessions)
        probe = PostgresProbe(PostgresSettings(dsn=lab.dsn("oncall_monitor"), refresh=0.5))
        app = make_app(workdir, demo=False, postgres=probe)
        monitor = StallMonitor()
        async with app.run_test(size=(160, 48)) as pilot:
            await wait_for(
                lambda: app.pg_snapshot is not None and app.pg_snapshot.pressure is not None,
                timeout=60,
                what="the first read",
            )
            app.screen.query_one("#sources").active = "tab-postgresql"
            await pilot.press("z")
            await asyncio.sleep(0.5)  # the zoom's own relayout is a key press, not a refresh: not counted
            monitor.start()
            seen = 0
            last = None
            while seen < refreshes:
                await asyncio.sleep(0.05)
                if app.pg_snapshot is not last:
                    last, seen = app.pg_snapshot, seen + 1
            stalls = monitor.summary()
            shown = len(app.pg_snapshot.sessions)
        ours, theirs, round_trips = await _server_times(lab, refreshes)
        print(
            f"sessions on the server                     {sessions} ({ACTIVE} active, "
            f"{IDLE_IN_TRANSACTION} idle in transaction); {shown} listed"
        )
        print(f"event-loop stalls over {refreshes} refreshes         {stalls}")
        print(f"server time of one oncall refresh          {ours:8.2f} ms  ({round_trips} round trips)")
        print(f"server time of pg_activity's activity query {theirs:7.2f} ms  (1 of its queries per refresh)")
        print(f"ratio oncall / pg_activity                 {ours / theirs if theirs else float('nan'):8.2f}")
    finally:
        if load is not None:
            load.communicate("", timeout=60)
        lab.destroy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--refreshes", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args.sessions, args.refreshes, Path(tmp)))


if __name__ == "__main__":
    main()
