"""Evidence latency and cost per section of the seed runbook, against the suite's real servers.

`.venv/bin/python -m bench.evidence_bench [--opens 10] [--rereads 2]` starts the labs the integration tests
use (the Kubernetes simulator, PostgreSQL with the inmidst data and its held sessions, Redis with its ~6,000
keys and slow log, Prometheus with its alerts). It opens each section of examples/inmidst/RUNBOOK.md once
cold (the process's first open of it: imports, first connections, the key sampler's first run; printed
apart), then `--opens` times through the checklist's EvidenceRunner (a new runner each open, as the
checklist makes one), each open followed by `--rereads` re-reads (`r`). Per section it prints the time to
the evidence shown (p50/p95 over opens and re-reads), the Redis commands each open costs the server (INFO
commandstats, with the open's key sampler run if it started one, re-reads included), and per SQL read the
statements sent (BEGIN READ ONLY, DECLARE, FETCH, ROLLBACK…) and the round trips (ReadyForQuery messages in
libpq's trace of the probe's session).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.timing import StallMonitor, report
from probes.kubernetes import KubernetesProbe
from probes.postgres import PostgresProbe
from probes.prometheus import PrometheusProbe
from probes.redis import RedisProbe
from tests.labs.postgres import PgConditions, PgLab
from tests.labs.prometheus import PrometheusLab
from tests.labs.redis import RedisConditions, RedisLab
from tui.config.settings import KubernetesSettings, PostgresSettings, PrometheusSettings, load_settings
from tui.lab.kube_sim import KubeSimulator
from tui.triage.registry import Sources
from tui.triage.runbook import Runbook, Section, load_runbook
from tui.triage.runner import Evidence, EvidenceRunner

SEED = Path(__file__).resolve().parent.parent / "examples" / "inmidst" / "RUNBOOK.md"


@dataclass
class Shown:
    """The checklist as the runner sees it: one section, shown until closed; each round wakes `arrived`."""

    section: Section
    shown: bool = True
    rounds: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def show_evidence(self, evidence: Evidence) -> None:
        self.rounds += 1
        self.arrived.set()


async def _on_wake(wake: asyncio.Event) -> None:
    await wake.wait()  # no timer: a round only on `r`, so each timed round is one open or one re-read


@dataclass
class SectionFigures:
    slug: str
    open_ms: list[float] = field(default_factory=list)
    reread_ms: list[float] = field(default_factory=list)
    redis_per_open: list[int] = field(default_factory=list)
    scans_per_open: list[int] = field(default_factory=list)
    sql_reads: int = 0
    sql_statements: int = 0
    sql_round_trips: int = 0

    @property
    def all_ms(self) -> list[float]:
        return self.open_ms + self.reread_ms


def _p(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else 0.0


class Trace:
    """libpq's protocol trace of the probe's session: each ReadyForQuery is one round trip finished."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("w")
        self._traced: object = None

    def attach(self, postgres: PostgresProbe) -> None:
        conn = getattr(postgres, "_conn", None)
        if conn is not None and conn is not self._traced and not conn.closed:
            conn.pgconn.trace(self._file.fileno())
            self._traced = conn

    def round_trips(self) -> int:
        self._file.flush()
        return sum(1 for line in self.path.read_text().splitlines() if "\tReadyForQuery\t" in line)

    def close(self) -> None:
        self._file.close()


def _redis_calls(admin: Any) -> tuple[int, int]:
    """All commands and SCANs the server counted (INFO commandstats): (total, scan)."""
    stats = admin.info("commandstats")
    total = sum(int(v.get("calls", 0)) for v in stats.values())
    return total, int(stats.get("cmdstat_scan", {}).get("calls", 0))


async def _open(
    section: Section,
    runbook: Runbook,
    sources: Sources,
    rereads: int,
    figures: SectionFigures,
    admin: Any,
    postgres: PostgresProbe,
    redis: RedisProbe,
    trace: Trace,
) -> None:
    calls_before, scans_before = _redis_calls(admin)
    sent_before = len(postgres.sent)
    trips_before = trace.round_trips()
    shown = Shown(section)
    runner = EvidenceRunner(shown, lambda s: sources, servers=None, runbook=runbook, wait=_on_wake)
    started = time.perf_counter()
    task = asyncio.create_task(runner.run())
    try:
        await asyncio.wait_for(shown.arrived.wait(), timeout=30)
        figures.open_ms.append((time.perf_counter() - started) * 1000)
        trace.attach(postgres)
        for _ in range(rereads):
            shown.arrived.clear()
            started = time.perf_counter()
            runner.reread()
            await asyncio.wait_for(shown.arrived.wait(), timeout=30)
            figures.reread_ms.append((time.perf_counter() - started) * 1000)
        sampling = getattr(redis, "sampling", None)
        if sampling is not None:  # a key sample the open started: its commands are the open's
            await asyncio.wait_for(asyncio.shield(sampling), timeout=30)
    finally:
        shown.shown = False
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    calls_after, scans_after = _redis_calls(admin)
    figures.redis_per_open.append(calls_after - calls_before - 1)  # less this INFO commandstats itself
    figures.scans_per_open.append(scans_after - scans_before)
    sent = postgres.sent[sent_before:]
    figures.sql_reads += sum(1 for s in sent if s == "BEGIN READ ONLY")
    figures.sql_statements += len(sent)
    figures.sql_round_trips += trace.round_trips() - trips_before


@contextmanager
def _labs(workdir: Path) -> Iterator[tuple[KubeSimulator, PgLab, RedisLab, PrometheusLab]]:
    with ExitStack() as stack:
        sim = KubeSimulator(workdir / "kube-sim", lab=True).start()
        stack.callback(sim.stop)
        pg = PgLab(workdir / "postgres").start()
        stack.callback(pg.destroy)
        redis_lab = RedisLab(workdir / "redis").start()
        stack.callback(redis_lab.destroy)
        prometheus = PrometheusLab(workdir / "prometheus").start()
        stack.callback(prometheus.stop)
        pg_conditions = PgConditions(pg).start()
        stack.callback(pg_conditions.stop)
        redis_conditions = RedisConditions(redis_lab).start()
        stack.callback(redis_conditions.stop)
        yield sim, pg, redis_lab, prometheus


async def run(workdir: Path, opens: int, rereads: int, only: str | None) -> None:
    with _labs(workdir) as (sim, pg, redis_lab, prometheus_lab):
        kube = KubernetesProbe(
            KubernetesSettings(kubeconfig=sim.kubeconfig(namespace="production"), timeout=5), env={}
        )
        postgres = PostgresProbe(PostgresSettings(dsn=pg.dsn("oncall_monitor")))
        redis_settings = load_settings(
            env={"REDIS_URL": redis_lab.url()}, cwd=workdir, user_config_dir=workdir
        ).redis
        redis = RedisProbe(redis_settings)
        prometheus = PrometheusProbe(PrometheusSettings(url=prometheus_lab.url))
        pods = (await kube.list_pods()).items
        sources = Sources(
            kubernetes=kube,
            postgres=postgres,
            redis=redis,
            prometheus=prometheus,
            alert_query="up",
            namespace="production",
            pods=lambda: pods,
        )
        # plain lists: every command and statement of the run counted, none trimmed
        redis.sent, postgres.sent = [], []  # type: ignore[assignment]
        admin = redis_lab.admin()
        trace = Trace(workdir / "libpq.trace")
        await postgres.run_statement("SELECT 1")  # the session, traced from its first read on
        trace.attach(postgres)
        runbook = load_runbook(SEED)
        keys = admin.dbsize()
        print(f"{'keys in the lab Redis':<42} {keys:,}")
        monitor = StallMonitor()
        monitor.start()
        results: list[SectionFigures] = []
        cold: dict[str, SectionFigures] = {}
        sections = [section for section in runbook.sections if not only or section.slug == only]
        try:
            # each section's first open in this process (imports, first connections, the key sampler's
            # first run), printed on its own: the timed opens below are the warm process's
            for section in sections:
                cold[section.slug] = SectionFigures(section.slug)
                await _open(section, runbook, sources, 0, cold[section.slug], admin, postgres, redis, trace)
            for section in sections:
                figures = SectionFigures(section.slug)
                for _ in range(opens):
                    await _open(section, runbook, sources, rereads, figures, admin, postgres, redis, trace)
                results.append(figures)
        finally:
            monitor.stop()
            trace.close()
            admin.close()
            await postgres.aclose()
            await redis.aclose()
            await prometheus.aclose()
            kube.close()
    _print(results, cold, opens, rereads, monitor, getattr(redis, "sampler_runs", None))


def _print(
    results: list[SectionFigures],
    cold: dict[str, SectionFigures],
    opens: int,
    rereads: int,
    monitor: StallMonitor,
    runs: int | None,
) -> None:
    print(
        f"each section: one cold open first (the process's first: 'cold ms', 'cold redis'), then {opens} "
        f"opens, each followed by {rereads} re-reads (r)"
    )
    header = (
        f"{'section':<26} {'cold ms':>8} {'cold redis':>10}"
        f" {'p50 ms':>8} {'p95 ms':>8} {'open p95':>9} {'max ms':>8}"
        f" {'redis/open':>11} {'max':>6} {'SCAN':>5} {'sql reads':>9} {'stmts/read':>10} {'trips/read':>10}"
    )
    print(header)
    for f in results:
        per_read = f.sql_statements / f.sql_reads if f.sql_reads else 0.0
        trips = f.sql_round_trips / f.sql_reads if f.sql_reads else 0.0
        first = cold[f.slug]
        print(
            f"{f.slug:<26} {first.open_ms[0]:8.1f} {first.redis_per_open[0]:10d}"
            f" {statistics.median(f.all_ms):8.1f} {_p(f.all_ms, 0.95):8.1f}"
            f" {_p(f.open_ms, 0.95):9.1f} {max(f.all_ms):8.1f}"
            f" {statistics.median(f.redis_per_open):11.0f} {max(f.redis_per_open):6d}"
            f" {sum(f.scans_per_open):5d} {f.sql_reads // max(1, opens):9d}"
            f" {per_read:10.1f} {trips:10.1f}"
        )
    every = [ms for f in results for ms in f.all_ms]
    firsts = [ms for f in cold.values() for ms in f.open_ms]
    report("evidence, cold: each section's first open", firsts)
    report("evidence, every section, opens and re-reads", every)
    worst = max(results, key=lambda f: _p(f.all_ms, 0.95))
    print(f"{'evidence p95, worst section':<42} {_p(worst.all_ms, 0.95):.1f} ms ({worst.slug})")
    costly = max(results, key=lambda f: statistics.median(f.redis_per_open))
    print(
        f"{'redis commands per open, worst section':<42} {statistics.median(costly.redis_per_open):.0f} "
        f"median, {max(costly.redis_per_open)} max ({costly.slug})"
    )
    reads = sum(f.sql_reads for f in results)
    if reads:
        statements = sum(f.sql_statements for f in results) / reads
        trips = sum(f.sql_round_trips for f in results) / reads
        print(f"{'sql statements per read':<42} {statements:.2f}")
        print(f"{'sql round trips per read':<42} {trips:.2f}")
    first_costly = max(cold.values(), key=lambda f: f.redis_per_open[0])
    print(
        f"{'redis commands, a cold open, worst section':<42} {first_costly.redis_per_open[0]} "
        f"({first_costly.slug})"
    )
    scans = sum(sum(f.scans_per_open) for f in [*results, *cold.values()])
    shared = f"{runs} (one shared, cached run at a time)" if runs is not None else "one per --bigkeys read"
    print(f"{'key sampler runs, whole benchmark':<42} {shared}; {scans} SCANs in all")
    print(f"{'event loop while reading':<42} {monitor.summary()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--opens", type=int, default=10, help="opens of each section")
    parser.add_argument("--rereads", type=int, default=2, help="re-reads (r) after each open")
    parser.add_argument("--section", default=None, help="only this section (its slug)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(Path(tmp), args.opens, args.rereads, args.section))


if __name__ == "__main__":
    main()
