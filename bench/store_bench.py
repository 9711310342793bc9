"""Time the session store: one durable set_step commit, and one observer reload after a change."""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.timing import report
from tui.sessions.store import SessionStore


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
    args = parser.parse_args()

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


if __name__ == "__main__":
    main()
