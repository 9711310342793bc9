"""2,000 PostgreSQL sessions: event-loop stalls while the tab refreshes, and oncall's server time per refresh
against pg_activity's whole refresh in its default view on the same server and load: the real pg_activity runs
in tmux for a few refreshes, every statement it sends is read back from the server's log (log_statement=all),
and one refresh's set is replayed (prepared, with its parameters, as it sends them) and timed by
pg_stat_statements exactly as oncall's refresh is.

Run: .venv/bin/python -m bench.pg_bench [--sessions 2000] [--refreshes 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import psycopg
from textual.widgets import TabbedContent

from bench.timing import StallMonitor
from probes.postgres import PostgresProbe
from tests.helpers import make_app, wait_for
from tests.labs.postgres import LAB_DB, ROLE_PASSWORDS, PgLab
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


PG_ACTIVITY_APP = "pg_activity"  # the application_name pg_activity connects with

# one entry of the server's log (the lab's log_line_prefix '%m [%p] app=%a '); continuation lines: a tab
_ENTRY = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) \S+ \[(\d+)\] app=(.*?) "
    r"(LOG|DETAIL|ERROR|STATEMENT|HINT):  (.*)$"
)
_EXECUTE = re.compile(r"^(?:execute (\S+?)|statement): (.*)$", re.S)
_PARAM = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')")


@dataclass(frozen=True)
class Logged:
    at: float  # seconds since midnight
    name: str  # the prepared statement's name, or the text for a simple query
    text: str
    params: tuple[str | None, ...]


@dataclass
class Capture:
    per_refresh: list[Logged] = field(default_factory=list)
    refreshes_seen: int = 0
    startup: int = 0  # statements sent once, before the first refresh
    note: str = ""  # why pg_activity could not be captured, when it could not


def logged_statements(log: str, application: str) -> list[Logged]:
    """Every statement the server logged for one application_name, with its bound parameters."""
    found: list[Logged] = []
    entry: list[str] | None = None

    def close(parts: list[str] | None) -> None:
        if not parts:
            return
        stamp, app, level, message = parts[0], parts[1], parts[2], "\n".join(parts[3:])
        if app != application:
            return
        if level == "LOG" and (m := _EXECUTE.match(message)):
            hh, mm, ss = stamp.split(" ")[1].split(":")
            at = int(hh) * 3600 + int(mm) * 60 + float(ss)
            found.append(Logged(at, m.group(1) or m.group(2), m.group(2), ()))
        elif level == "DETAIL" and message.startswith("parameters: ") and found:
            values = tuple(
                None if v == "NULL" else v[1:-1].replace("''", "'") for _, v in _PARAM.findall(message)
            )
            last = found[-1]
            found[-1] = Logged(last.at, last.name, last.text, values)

    for line in log.splitlines():
        if m := _ENTRY.match(line):
            close(entry)
            entry = [m.group(1), m.group(3), m.group(4), m.group(5)]
        elif entry is not None and line.startswith("\t"):
            entry.append(line[1:])
    close(entry)
    return found


def per_refresh_set(statements: list[Logged], gap: float = 0.4) -> Capture:
    """pg_activity's statements of one refresh: its log split into bursts (a refresh sends its statements
    together, then sleeps), the first burst being start-up plus the first refresh; the set is the most
    frequent sequence of statements among the complete bursts after it (the last one may be cut short)."""
    bursts: list[list[Logged]] = []
    for s in statements:
        if bursts and s.at - bursts[-1][-1].at < gap:
            bursts[-1].append(s)
        else:
            bursts.append([s])
    steady = bursts[1:-1]
    if not steady:
        return Capture(
            note=f"pg_activity sent {len(statements)} statements in {len(bursts)} bursts: no refresh"
        )
    shapes = Counter(tuple(s.name for s in b) for b in steady)
    shape, seen = shapes.most_common(1)[0]
    chosen = next(b for b in reversed(steady) if tuple(s.name for s in b) == shape)
    first = {s.name for s in chosen}
    return Capture(
        per_refresh=chosen,
        refreshes_seen=seen,
        startup=sum(1 for s in bursts[0] if s.name not in first),
    )


def capture_pg_activity(lab: PgLab, workdir: Path, refreshes: int = 5) -> Capture:
    """Run the real pg_activity (default view, 1 s refresh) in tmux against the lab, as oncall's role,
    and read what it sent from the server's log (the lab logs every statement with its application_name)."""
    binary = Path(sys.executable).with_name("pg_activity")
    if not binary.exists():
        return Capture(note=f"pg_activity is not installed ({binary}): pip install -e '.[dev]'")
    if shutil.which("tmux") is None:
        return Capture(note="tmux is not installed: pg_activity needs a terminal to run in")
    home = workdir / "pga-home"  # no user config: pg_activity's defaults
    home.mkdir(exist_ok=True)
    session = f"oncall-bench-pga-{os.getpid()}"
    command = shlex.join(
        [
            "env",
            f"HOME={home}",
            f"XDG_CONFIG_HOME={home}",
            f"PGPASSWORD={ROLE_PASSWORDS['oncall_monitor']}",
            str(binary),
            "-h",
            "127.0.0.1",
            "-p",
            str(lab.port),
            "-U",
            "oncall_monitor",
            "-d",
            LAB_DB,
            "--refresh",
            "1",
        ]
    )
    mark = lab.log_mark()
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "200", "-y", "50", command], check=True)
    try:
        deadline = time.monotonic() + refreshes * 3 + 20
        while time.monotonic() < deadline:
            time.sleep(1.0)
            capture = per_refresh_set(_logged_since(lab, mark))
            if capture.refreshes_seen >= refreshes:
                return capture
        screen = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True
        ).stdout.strip()
        capture = per_refresh_set(_logged_since(lab, mark))
        if capture.per_refresh:
            return capture
        return Capture(
            note=f"pg_activity did not refresh within the time allowed; its screen: {screen[:300]!r}"
        )
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def _logged_since(lab: PgLab, mark: int) -> list[Logged]:
    with lab.log_path.open("rb") as log:
        log.seek(mark)
        text = log.read().decode(errors="replace")
    return logged_statements(text, PG_ACTIVITY_APP)


_SPENT = """
SELECT coalesce(sum(total_exec_time), 0), coalesce(sum(calls), 0)
FROM pg_stat_statements WHERE userid = 'oncall_monitor'::regrole
"""


async def _server_times(lab: PgLab, refreshes: int, capture: Capture) -> tuple[float, float, int, float]:
    """Mean server execution time (ms) of one oncall refresh and of one pg_activity refresh (its captured
    statements replayed as it sends them: prepared, with its parameters), as pg_stat_statements counts
    them for oncall's role; and oncall's round trips and statements per refresh."""
    admin = psycopg.connect(lab.admin_dsn, autocommit=True)
    probe = PostgresProbe(PostgresSettings(dsn=lab.dsn("oncall_monitor")))
    try:
        await probe.poll()  # connecting and its session settings are once, as pg_activity's start-up
        admin.execute("SELECT pg_stat_statements_reset()")
        round_trips = 0
        for _ in range(refreshes):
            await probe.poll()
            round_trips += probe.round_trips
    finally:
        await probe.aclose()
    ours, our_calls = admin.execute(_SPENT).fetchone() or (0.0, 0)
    theirs = float("nan")
    if capture.per_refresh:
        with psycopg.connect(lab.dsn("oncall_monitor"), autocommit=True) as conn:
            pgconn = conn.pgconn
            names: dict[str, bytes] = {}
            for s in capture.per_refresh:
                if s.name not in names:
                    names[s.name] = f"bench_{len(names)}".encode()
                    result = pgconn.prepare(names[s.name], s.text.encode())
                    if result.error_message:
                        raise RuntimeError(
                            f"pg_activity's statement does not prepare: {result.error_message.decode()}"
                        )
            admin.execute("SELECT pg_stat_statements_reset()")
            for _ in range(refreshes):
                for s in capture.per_refresh:
                    # NULL is None, as libpq takes it (psycopg's stub says bytes only)
                    params = cast("list[bytes]", [None if v is None else v.encode() for v in s.params])
                    result = pgconn.exec_prepared(names[s.name], params)
                    if result.error_message:
                        raise RuntimeError(f"pg_activity's statement failed: {result.error_message.decode()}")
        spent, _ = admin.execute(_SPENT).fetchone() or (0.0, 0)
        theirs = float(spent) / refreshes
    admin.close()
    return float(ours) / refreshes, theirs, round_trips, float(our_calls) / refreshes


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
            app.screen.query_one("#sources", TabbedContent).active = "tab-postgresql"
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
            shown = len(app.pg_snapshot.sessions) if app.pg_snapshot is not None else 0
        capture = await asyncio.to_thread(capture_pg_activity, lab, workdir)
        ours, theirs, round_trips, statements = await _server_times(lab, refreshes, capture)
        print(
            f"sessions on the server                     {sessions} ({ACTIVE} active, "
            f"{IDLE_IN_TRANSACTION} idle in transaction); {shown} listed"
        )
        print(f"event-loop stalls over {refreshes} refreshes         {stalls}")
        print(
            f"server time of one oncall refresh          {ours:8.2f} ms  "
            f"({round_trips / refreshes:.1f} round trips, {statements:.1f} statements per refresh)"
        )
        if capture.per_refresh:
            print(
                f"server time of one pg_activity refresh     {theirs:8.2f} ms  "
                f"({len(capture.per_refresh)} statements per refresh in its default view, captured with "
                f"log_statement=all over {capture.refreshes_seen} refreshes, "
                f"{capture.startup} more at start-up)"
            )
            for n, s in enumerate(capture.per_refresh, 1):
                print(f"  pg_activity statement {n}                  {_one_line(s.text)}")
            print(
                f"ratio oncall / pg_activity                 {ours / theirs if theirs else float('nan'):8.2f}"
            )
        else:
            print(f"pg_activity not measured                   {capture.note}")
            print(
                "ratio oncall / pg_activity                      n/a  (pg_activity could not run: see above)"
            )
    finally:
        if load is not None:
            load.communicate("", timeout=60)
        lab.destroy()


def _one_line(text: str, width: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--refreshes", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args.sessions, args.refreshes, Path(tmp)))


if __name__ == "__main__":
    main()
