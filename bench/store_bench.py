"""Time the session store: one durable set_step commit, and one observer reload after a change; then, on
a real PostgreSQL, the push latency from a driver's commit to an observer (another process, blocked in
wait_change on LISTEN) having reloaded the change."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.timing import report
from tui.sessions.backend import Store, open_store
from tui.sessions.store import SessionStore, StepState

FIRED = datetime(2026, 11, 27, 3, 12, 5, tzinfo=UTC)


def _measure(action: Callable[[], object], rounds: int) -> list[float]:
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--steps", type=int, default=12, help="steps in the session (a long runbook section)")
    parser.add_argument("--notes", type=int, default=30, help="notes already in the session")
    parser.add_argument("--dir", type=Path, default=None, help="where to put the store (default: a temp dir)")
    parser.add_argument("--changes", type=int, default=200, help="changes pushed to the PostgreSQL observer")
    parser.add_argument("--no-push", action="store_true", help="skip the PostgreSQL push latency")
    parser.add_argument("--observer", metavar="URL", help=argparse.SUPPRESS)  # the observer process
    parser.add_argument("--file-observer", metavar="PATH", help=argparse.SUPPRESS)  # the SQLite one
    parser.add_argument("--poll", action="store_true", help=argparse.SUPPRESS)  # it waits as before
    args = parser.parse_args()
    if args.observer:
        _observe(args.observer, args.changes)
        return
    if args.file_observer:
        _observe_file(Path(args.file_observer), args.changes, poll=args.poll)
        return

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / "sessions.db"
        writer = SessionStore.open(path)
        session = writer.open_session(
            fingerprint="bench",
            alertname="HighApiErrorRate",
            active_at=datetime(2026, 11, 27, 3, 12, 5, tzinfo=UTC),
            section_slug="high-api-error-rate",
            summary="API 5xx error rate above 5%",
            labels=(("severity", "critical"), ("namespace", "production")),
            who="alice",
        )
        for n in range(args.notes):
            writer.add_note(
                session.id, f"note {n}: looked at the ingress logs", "alice", step_index=n % args.steps
            )
        observer = SessionStore.open(path, read_only=True)

        flip = iter(range(10**9))

        def commit_step() -> None:
            n = next(flip)
            # Alternate states so every call is a real change (the same state again is a no-op).
            writer.set_step(
                session.id, n % args.steps, "done" if (n // args.steps) % 2 == 0 else "pending", "alice"
            )

        def reload() -> None:
            observer.data_version()
            current = observer.latest_active()
            assert current is not None
            observer.timeline(current.id)

        commits = _measure(commit_step, args.rounds)
        reloads = []
        for _ in range(args.rounds):
            commit_step()
            reloads += _measure(reload, 1)
        polls = _measure(observer.data_version, args.rounds)
        timeline_size = len(observer.timeline(session.id))
        observer.close()
        writer.close()

    print(
        f"store in {path.parent} ({args.steps} steps, {args.notes} notes, "
        f"timeline ends at {timeline_size} entries)"
    )
    report("set_step commit (synchronous=FULL)", commits)
    report("observer reload (latest+timeline)", reloads)
    report("observer poll (data_version)", polls)
    file_latency(args.changes, args.steps, args.dir)
    if not args.no_push:
        push_latency(args.changes, args.steps, args.dir)


def _observe(url: str, changes: int) -> None:
    """The observer process: blocked in wait_change (LISTEN), reload on each change, say how late it was."""
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "q.db", url, read_only=True) as store:
        version = store.wait_change(0)
        print("ready", flush=True)
        _report_changes(store, version, changes, 5.0)


OLD_WAIT = 0.25  # seconds: how long the observer slept between looks at data_version before it watched


def _observe_file(path: Path, changes: int, *, poll: bool) -> None:
    """The SQLite observer process: blocked in wait_change (the file's event), or, with `poll`, sleeping
    OLD_WAIT between looks at data_version as before; reload on each change, say how late it was."""
    with SessionStore.open(path, read_only=True) as store:
        if poll:
            store.poll_only()  # wait_change sleeps its timeout, then reads data_version
        version = store.wait_change(0)
        print("ready" if poll or store.watched else "ready (no inotify: polling)", flush=True)
        _report_changes(store, version, changes, OLD_WAIT if poll else 5.0)


def _report_changes(store: Store, version: int, changes: int, timeout: float) -> None:
    """Reload at each change the store's wait reports after `version`, as the observer's screen does, and
    print each new tick's number and how late it was (ms) until `changes` ticks were seen."""
    last = -1
    while last < changes - 1:
        current = store.wait_change(timeout)
        if current == version:
            continue
        version = current
        session = store.latest_active()  # what the observer's screen reloads
        if session is None or not session.steps:
            continue
        newest = max(session.steps.values(), key=lambda record: record.at)
        number, sent = newest.evidence.split()
        seen = time.time()
        if int(number) > last:
            last = int(number)
            print(f"{last} {(seen - float(sent)) * 1000:.3f}", flush=True)


def _file_run(path: Path, changes: int, steps: int, *, poll: bool) -> list[float]:
    """The driver here, the observer in another process: each commit's time to the observer's reload."""
    driver = SessionStore.open(path)
    session = driver.open_session(
        fingerprint=f"bench-{poll}",
        alertname="HighApiErrorRate",
        active_at=FIRED,
        section_slug="high-api-error-rate",
        summary="API 5xx error rate above 5%",
        labels=(("severity", "critical"),),
        who="alice",
    )
    command = [
        sys.executable,
        "-m",
        "bench.store_bench",
        "--file-observer",
        str(path),
        "--changes",
        str(changes),
    ]
    observer = subprocess.Popen(command + (["--poll"] if poll else []), stdout=subprocess.PIPE, text=True)
    assert observer.stdout is not None
    latencies: list[float] = []
    try:
        ready = observer.stdout.readline().strip()
        if not ready.startswith("ready"):
            raise RuntimeError("the observer process did not start")
        if ready != "ready":
            print(f"SQLite observer: {ready.removeprefix('ready ').strip('()')}")
        for n in range(changes):
            time.sleep(0.02)  # ticks apart, as a driver's are: the observer is back in its wait
            state: StepState = "done" if (n // steps) % 2 == 0 else "pending"
            driver.set_step(session.id, n % steps, state, "alice", evidence=f"{n} {time.time():.6f}")
            number, latency = observer.stdout.readline().split()
            assert int(number) == n, (number, n)
            latencies.append(float(latency))
        observer.wait(timeout=30)
    finally:
        if observer.poll() is None:
            observer.kill()
            observer.wait()
        driver.close()
    return latencies


def file_latency(changes: int, steps: int, where: Path | None) -> None:
    """SQLite: the driver's commit to an observer process having reloaded it, watching the file (inotify)
    and, in the same run, polling data_version every 0.25 s as it did before."""
    with tempfile.TemporaryDirectory(dir=where) as tmp:
        watched = _file_run(Path(tmp) / "watched.db", changes, steps, poll=False)
        polled = _file_run(Path(tmp) / "polled.db", changes, steps, poll=True)
    print(f"SQLite, driver and observer as two processes ({changes} changes)")
    report("file watch: commit -> observer reloaded", watched)
    report("  competitor: 0.25 s data_version poll", polled)
    ordered = sorted(watched)
    p50, p95 = ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    verdict = "meets" if p95 < 100 else "MISSES"
    print(f"SQLite observer lag p50 {p50:.1f} ms, p95 {p95:.1f} ms: {verdict} the p95 < 100 ms goal")


def push_latency(changes: int, steps: int, where: Path | None) -> None:
    """Driver here, observer in another process, both on a real PostgreSQL started for the run."""
    try:
        import psycopg

        from tests.labs.postgres import SUPERUSER, PgLab
    except ImportError as exc:
        print(f"push latency: skipped ({exc})")
        return
    with tempfile.TemporaryDirectory(dir=where) as tmp:
        try:
            lab = PgLab(Path(tmp) / "pg").start()
        except Exception as exc:  # no server binaries here: say so, keep the SQLite numbers
            print(f"push latency: skipped, no PostgreSQL could be started ({exc})")
            return
        observer: subprocess.Popen[str] | None = None
        try:
            with psycopg.connect(lab.dsn(SUPERUSER, "postgres"), autocommit=True) as conn:
                conn.execute("CREATE DATABASE bench")
            url = lab.dsn(SUPERUSER, "bench")
            driver = open_store(Path(tmp) / "driver.db", url)
            session = driver.open_session(
                fingerprint="bench",
                alertname="HighApiErrorRate",
                active_at=FIRED,
                section_slug="high-api-error-rate",
                summary="API 5xx error rate above 5%",
                labels=(("severity", "critical"),),
                who="alice",
            )
            observer = subprocess.Popen(
                [sys.executable, "-m", "bench.store_bench", "--observer", url, "--changes", str(changes)],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert observer.stdout is not None
            if observer.stdout.readline().strip() != "ready":
                raise RuntimeError("the observer process did not start")
            latencies: list[float] = []
            commits: list[float] = []
            for n in range(changes):
                state: StepState = "done" if (n // steps) % 2 == 0 else "pending"
                sent = time.time()
                start = time.perf_counter()
                driver.set_step(session.id, n % steps, state, "alice", evidence=f"{n} {sent:.6f}")
                commits.append((time.perf_counter() - start) * 1000)
                number, latency = observer.stdout.readline().split()
                assert int(number) == n, (number, n)
                latencies.append(float(latency))
            driver.close()
            observer.wait(timeout=30)
        finally:
            if observer is not None and observer.poll() is None:
                observer.kill()
                observer.wait()
            lab.destroy()
    print(f"PostgreSQL push, driver and observer as two processes ({changes} changes)")
    report("set_step commit + NOTIFY (PostgreSQL)", commits)
    report("push: commit -> observer reloaded", latencies)
    ordered = sorted(latencies)
    p50, p95 = ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    verdict = "meets" if p95 < 200 else "MISSES"
    print(f"push latency p50 {p50:.1f} ms, p95 {p95:.1f} ms: {verdict} the 200 ms goal")


if __name__ == "__main__":
    main()
