"""The long incident: eight hours of a live dashboard compressed into minutes, against the real servers.

The real app (as tests.helpers.make_app builds it, with a real clock and its 1 s tick) watches the suite's
real Prometheus, PostgreSQL and Redis and the Kubernetes simulator, every source polled `--speed` times
faster than its 5 s default, while the servers churn (pods modified, created and deleted, a container
crashing and recovering; every Redis command entering the slow log; PostgreSQL sessions coming and going,
some idle in transaction) and Pilot re-reads the evidence as an SRE does (the tabs, an alert's checklist
opened with Enter, `r`, Escape, the next alert). After a warm-up (`--warmup-hours` of simulated time, and
everything the soak does done once: every tab, every alert's checklist), the process is sampled every few
seconds: RSS (VmRSS), asyncio tasks, open fds, threads, gc objects. The simulated time is counted from the
polls each source really made (5 s of dashboard per poll), not from the wall clock.

Run: .venv/bin/python -m bench.soak_bench [--hours 8] [--speed 100] [--minutes 10] [--trace]
(`--trace`: tracemalloc from the end of the warm-up, its top growing allocation sites at the end, and who
holds the objects that grew most; it slows the app several times over, so its RSS and stall figures are not
the soak's.)

Reading it: the RSS climbs while cyclic garbage waits for a full collection (the sampled gc objects and
pymalloc blocks climb with it) and stays at that high-water mark after it: Python does not give back the
arenas a collection leaves part-used. So the slope over the whole soak overstates; the slope of its last
third, the RSS at whole hours and the live objects after a full collection tell filling from a leak.
`--malloc-trim N` (glibc's free pages given back every N s) is an experiment, not the app's behaviour.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.timing import StallMonitor
from probes.kubernetes import KubernetesProbe
from probes.postgres import PostgresProbe
from probes.redis import RedisProbe
from tests.helpers import wait_for
from tests.labs.postgres import PgLab
from tests.labs.prometheus import PrometheusLab
from tests.labs.redis import ADMIN_PASSWORD, RedisLab
from tui.app import OncallApp
from tui.config.settings import (
    KubernetesSettings,
    PostgresSettings,
    PrometheusSettings,
    Settings,
    StoreSettings,
    load_settings,
)
from tui.demo.kube_objects import pod
from tui.lab.kube_sim import KubeSimulator

DEFAULT_REFRESH = 5.0  # seconds: what one poll of a source stands for on a real shift
SOURCES = ("prometheus", "postgresql", "redis", "kubernetes")
FLAT_RSS_MIB_PER_HOUR = 1.0  # below this the RSS is called flat (8 MiB over a whole shift)
POD_NAMESPACE = "production"
ROLLING_PODS = 20  # pods created then deleted, as a rolling deployment does, kept alive at once
# key presses of one re-read round on the dashboard: every tab, the pods, back to the alerts
TAB_KEYS = ("1", "2", "3", "4", "5", "6", "7", "p", "a")

# Production's own clients, in a process of their own (their sockets are not the app's fds): PostgreSQL
# sessions opening and closing (some idle in transaction, some running a short sleep), and Redis commands
# that all enter the slow log (slowlog-log-slower-than 0), their keys expiring, a DEBUG SLEEP now and then.
CHURN = r"""
import itertools, os, random, sys, time, psycopg, redis
parent = os.getppid()
pg_dsn, redis_port, redis_password = sys.argv[1], int(sys.argv[2]), sys.argv[3]
r = redis.Redis(host="127.0.0.1", port=redis_port, password=redis_password)
r.config_set("slowlog-log-slower-than", 0)
held = []
rng = random.Random(15)
print("ready", flush=True)
for n in itertools.count():
    if os.getppid() != parent:  # the benchmark is gone, killed or not: so are we
        break
    conn = psycopg.connect(pg_dsn, autocommit=True, application_name=f"soak-{n % 40}")
    kind = n % 5
    if kind == 0:
        conn.autocommit = False
        conn.execute("SELECT count(*) FROM orders")  # idle in transaction until closed
    elif kind == 1:
        conn.pgconn.send_query(b"SELECT pg_sleep(0.4) /* soak */")
    else:
        conn.execute(f"SELECT {n} /* soak statement {n % 7} */")
    held.append(conn)
    while len(held) > 25:
        held.pop(0).close()
    pipe = r.pipeline(transaction=False)
    for i in range(20):
        pipe.set(f"soak:{n}:{i}", "v" * rng.randint(1, 300), ex=30)
    pipe.get(f"soak:{n - 1}:0")
    pipe.execute()
    if n % 10 == 0:
        r.execute_command("DEBUG", "SLEEP", "0.02")
    time.sleep(0.1)
"""


@dataclass
class Sample:
    sim_hours: float
    wall: float
    rss_mib: float
    tasks: int
    fds: int
    threads: int
    gc_objects: int
    traced_mib: float = 0.0  # --trace: the memory Python's allocators hold for live objects
    blocks: int = 0  # pymalloc blocks in use (sys.getallocatedblocks): live small objects, traced or not
    malloc_mib: float = 0.0  # glibc malloc's bytes in use (mallinfo2: uordblks + hblkhd), C libraries too
    # --live: gc objects after a full collection (once a minute; 0 between); gc_objects counts the cyclic
    # garbage not collected yet too, which comes and goes with the collector's generations
    live_objects: int = 0


@dataclass
class Soak:
    samples: list[Sample] = field(default_factory=list)
    cycles: int = 0
    checklists: int = 0
    rereads: int = 0
    rolled_pods: int = 0
    first_visits: int = 0  # alerts whose checklist the warm-up opened
    warmed: bool = False  # the first visits are done
    visits_in_warmup: int = -1  # the first visits done when sampling began (-1: all of them)
    errors: list[str] = field(default_factory=list)


class FullCollections:
    """A gc callback: how often the collector walked every generation, and how long each walk took (what
    the RSS's high-water mark of cyclic garbage waits for)."""

    def __init__(self) -> None:
        self.took: list[float] = []
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.took.append(time.perf_counter() - self._began)

    def summary(self, wall: float) -> str:
        if not self.took:
            return "0"
        took = sorted(self.took)
        return (
            f"{len(took):8d}  (one every {wall / len(took):.0f} s of wall time; each took median "
            f"{took[len(took) // 2] * 1000:.1f} ms, max {took[-1] * 1000:.1f} ms)"
        )


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


MALLINFO2_FIELDS: tuple[str, ...] = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks")
MALLINFO2_FIELDS += ("uordblks", "fordblks", "keepcost")


def malloc_in_use_mib() -> float:
    """Bytes glibc's malloc has handed out and not had back (0 where mallinfo2 is missing)."""
    try:
        import ctypes

        class MallInfo2(ctypes.Structure):
            _fields_ = [(name, ctypes.c_size_t) for name in MALLINFO2_FIELDS]

        libc = ctypes.CDLL(None)
        libc.mallinfo2.restype = MallInfo2
        info = libc.mallinfo2()
    except (OSError, AttributeError):
        return 0.0
    return float(info.uordblks + info.hblkhd) / 2**20


def malloc_trim() -> None:
    """glibc's malloc_trim(0): free pages at the top of the heap and inside every arena go back to the
    kernel (a no-op where there is no glibc)."""
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def fd_targets() -> collections.Counter[str]:
    """Open fds by what they point at (sockets and pipes by kind, files by path)."""
    found: collections.Counter[str] = collections.Counter()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        found[
            target.split(":")[0] + ":" if target.startswith(("socket:", "pipe:", "anon_inode:")) else target
        ] += 1
    return found


def tasks_by_coroutine() -> collections.Counter[str]:
    found: collections.Counter[str] = collections.Counter()
    for task in asyncio.all_tasks():
        coro = task.get_coro()
        found[getattr(coro, "__qualname__", None) or type(coro).__name__] += 1
    return found


def cyclic_garbage() -> collections.Counter[str]:
    """What a full collection frees now, by type: objects in reference cycles that died after the young
    generations last looked at them, so they wait for a full collection (their pages count in the RSS
    meanwhile)."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        found = collections.Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    return found


def census() -> collections.Counter[str]:
    """Objects the collector tracks, by type (module-qualified), after a full collection."""
    gc.collect()
    return collections.Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())


def _widget_nodes(app: OncallApp) -> tuple[list[Any], set[int]]:
    """The app and every widget of its screens, and the ids a walk down references stops at (those
    nodes, and every module's namespace)."""
    from textual.dom import DOMNode

    nodes: list[DOMNode] = [app]
    screens = {id(s): s for s in [*app.screen_stack, *getattr(app, "_installed_screens", {}).values()]}
    for screen in screens.values():
        if isinstance(screen, DOMNode):
            nodes.extend(screen.walk_children(with_self=True))
    stop = {id(n) for n in nodes} | {id(vars(m)) for m in list(sys.modules.values()) if m is not None}
    return nodes, stop


def strip_owners(app: OncallApp) -> collections.Counter[str]:
    """Textual Strips (drawn lines, with the lines cut from them in their own caches) by who holds them:
    each widget's attribute (`Class.attr`), walked down its references up to the next widget, the app or a
    module; `(held elsewhere)` for those no widget reaches (module-level caches such as Strip.blank's)."""
    from textual.dom import DOMNode
    from textual.strip import Strip

    nodes, stop = _widget_nodes(app)
    seen: set[int] = set()
    found: collections.Counter[str] = collections.Counter()
    for node in nodes:
        attrs = dict(getattr(node, "__dict__", {}))
        for name, value in attrs.items():
            todo, strips = [value], 0
            while todo:
                obj = todo.pop()
                if id(obj) in seen or id(obj) in stop or isinstance(obj, type | DOMNode):
                    continue
                seen.add(id(obj))
                if isinstance(obj, Strip):
                    strips += 1
                todo.extend(gc.get_referents(obj))
            if strips:
                found[f"{type(node).__qualname__}.{name}"] += strips
    total = sum(1 for o in gc.get_objects() if isinstance(o, Strip))
    found["(held elsewhere)"] = total - sum(found.values())
    return found


# the widget attributes that are caches of drawn lines or cells (Textual's and the project's own)
WIDGET_CACHES = (
    "_line_cache",
    "_row_render_cache",
    "_cell_render_cache",
    "_cache",
    "_styles_cache",
    "_render_cache",
)


def _deep_bytes(root: object, seen: set[int], stop: set[int]) -> tuple[int, int]:
    """sys.getsizeof of everything `root` reaches that nothing counted before reached (widgets, classes and
    modules not walked into), and how many Strips are among it."""
    from textual.dom import DOMNode
    from textual.strip import Strip

    size = strips = 0
    todo = [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or id(obj) in stop or isinstance(obj, type | DOMNode):
            continue
        seen.add(id(obj))
        size += sys.getsizeof(obj)
        strips += isinstance(obj, Strip)
        todo.extend(gc.get_referents(obj))
    return size, strips


def cache_sizes(app: OncallApp) -> dict[str, tuple[int, int, int]]:
    """Each drawn-line cache of every widget on the app's screens, summed by `Class.attr`: entries, the
    bytes it alone reaches (the Strips, their Segments and the Strips' own crop caches) and its Strips."""

    nodes, stop = _widget_nodes(app)
    seen: set[int] = set()
    found: dict[str, tuple[int, int, int]] = {}
    for node in nodes:
        for attr in WIDGET_CACHES:
            cache = getattr(node, "__dict__", {}).get(attr)
            if cache is None:
                continue
            inner = getattr(cache, "_cache", cache)  # StylesCache keeps its lines in _cache
            entries = len(inner) if hasattr(inner, "__len__") else 0
            size, strips = _deep_bytes(cache, seen, stop)
            name = f"{type(node).__qualname__}.{attr}"
            was = found.get(name, (0, 0, 0))
            found[name] = (was[0] + entries, was[1] + size, was[2] + strips)
    return found


def lru_caches(weigh: bool = False) -> dict[str, tuple[int, int | None]]:
    """functools.lru_cache's of the loaded Textual and rich modules (and the project's): current size and
    bound, by name; `weigh`: also print the five that reach the most bytes (Strip.blank's Strips keep
    the Strips cut from them in their own caches)."""
    found: dict[str, tuple[int, int | None]] = {}
    weights: list[tuple[int, int, str]] = []
    seen: set[int] = set()
    modules = {id(vars(m)) for m in list(sys.modules.values()) if m is not None}
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(("textual", "rich", "tui", "screens", "probes")):
            continue
        for attr, value in list(vars(module).items()):
            for owner, func in (
                [(attr, value), *((f"{attr}.{k}", v) for k, v in vars(value).items())]
                if (isinstance(value, type) and value.__module__ == name)
                else [(attr, value)]
            ):
                func = getattr(func, "__func__", func)
                info = getattr(func, "cache_info", None)
                if callable(info):
                    stats = info()
                    found[f"{name}.{owner}"] = (stats.currsize, stats.maxsize)
                    if weigh and f"{name}.{owner}" not in {w[2] for w in weights}:
                        size, strips = _deep_bytes(func, seen, modules)
                        weights.append((size, strips, f"{name}.{owner}"))
    if weigh:
        print(
            "functools caches reaching the most (KiB, Strips): "
            + ", ".join(
                f"{n} {found[n][0]}/{found[n][1]} {b / 1024:.0f} KiB {k}" for b, k, n in sorted(weights)[-5:]
            )
        )
    return found


PROJECT_PACKAGES = ("tui", "screens", "probes")


def module_tables() -> dict[str, int]:
    """The length of every dict, list, set and deque kept at module level by the project's own modules
    (the tables a process shares: interned rows, caches by key), by `module.name`."""
    found: dict[str, int] = {}
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(PROJECT_PACKAGES):
            continue
        for attr, value in list(vars(module).items()):
            if isinstance(value, dict | list | set | collections.deque) and not attr.startswith("__"):
                found[f"{name}.{attr}"] = len(value)
    return found


def detached_widgets(app: OncallApp) -> collections.Counter[str]:
    """Widgets still alive that no screen of the app holds any more (a closed screen kept by someone)."""
    from textual.dom import DOMNode

    gc.collect()
    attached = {id(node) for node in _widget_nodes(app)[0]}
    return collections.Counter(
        type(o).__qualname__ for o in gc.get_objects() if isinstance(o, DOMNode) and id(o) not in attached
    )


_THROUGH = (
    "builtins.dict",
    "builtins.list",
    "builtins.tuple",
    "builtins.set",
    "textual.cache.FIFOCache",
    "textual.cache.LRUCache",
    "textual.strip.Strip",
    "rich.segment.Segment",
    "textual.content.Content",
    "textual.content.Span",
    "rich.text.Text",
    "rich.text.Span",
)


def _roots(type_name: str, sample: int = 20, budget: int = 3000) -> str:
    """Who holds the newest objects of a type, looking up through containers and Textual's caches (dicts,
    lists, tuples, Strips, FIFOCaches...) to the first other object: a widget, a module, a cache function."""
    everything = gc.get_objects()
    level = [o for o in everything if f"{type(o).__module__}.{type(o).__qualname__}" == type_name][-sample:]
    del everything
    roots: collections.Counter[str] = collections.Counter()
    for obj in level:
        seen, todo, found = {id(obj)}, [obj], ""
        while todo and not found and len(seen) < budget:
            here = todo.pop(0)
            for ref in gc.get_referrers(here):
                kind = f"{type(ref).__module__}.{type(ref).__qualname__}"
                if id(ref) in seen or kind in ("builtins.frame", "builtins.cell", "builtins.function"):
                    continue
                if ref is todo or ref is level:
                    continue
                seen.add(id(ref))
                if kind in _THROUGH:
                    todo.append(ref)
                else:
                    found = kind
                    break
        roots[found or "(not found)"] += 1
    return ", ".join(f"{k} x{v}" for k, v in roots.most_common(3))


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs."""
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0


def simulated_hours(app: OncallApp) -> float:
    """Hours of dashboard every source has covered: its polls times its 5 s default, the slowest source."""
    polls = [app.pace.polls.get(source, 0) for source in SOURCES]
    return min(polls) * DEFAULT_REFRESH / 3600


def build_app(
    workdir: Path, refresh: float, prometheus: PrometheusLab, sim: KubeSimulator, pg: PgLab, redis: RedisLab
) -> OncallApp:
    """The real app as tests.helpers.make_app builds it, with every source's refresh at `refresh`, a real
    clock and its 1 s tick (a soak is the app as it runs, not a test's frozen clock)."""
    settings = Settings(
        profile="soak",
        prometheus=PrometheusSettings(url=prometheus.url, timeout=5.0, refresh=refresh),
        # Helm history on, as the lab profile has it (the lab's simulator binds the Helm role): the soak
        # reads everything the dashboard can read
        kubernetes=KubernetesSettings(
            kubeconfig=sim.kubeconfig(namespace=POD_NAMESPACE), refresh=refresh, helm_history=True
        ),
        store=StoreSettings(path=workdir / "sessions.db"),
        user="soak@bastion",
    )
    redis_settings = load_settings(env={"REDIS_URL": redis.url()}, cwd=workdir, user_config_dir=workdir).redis
    return OncallApp(
        settings,
        demo=False,
        kube=KubernetesProbe(settings.kubernetes),
        postgres=PostgresProbe(PostgresSettings(dsn=pg.dsn("oncall_monitor"), refresh=refresh)),
        redis=RedisProbe(replace(redis_settings, refresh=refresh)),
    )


class PodRoller:
    """A rolling deployment that never ends: a new pod every call, the one ROLLING_PODS before it deleted;
    every third call a container crashes (OOMKilled), and recovers on the next."""

    def __init__(self, sim: KubeSimulator) -> None:
        self.sim = sim
        self.crashed: tuple[str, str] | None = None
        self.n = 0

    def step(self) -> None:
        name = f"soak-roll-7c9d5b8f4-{self.n:05d}"
        self.sim.apply(
            pod(
                name,
                POD_NAMESPACE,
                labels={"app": "soak-roll", "pod-template-hash": "7c9d5b8f4"},
                containers=[("app", f"ghcr.io/in-midst-my-life/soak-roll:1.{self.n}")],
                node=f"node-{self.n % 5 + 1}",
            )
        )
        if self.n >= ROLLING_PODS:
            self.sim.delete("pods", POD_NAMESPACE, f"soak-roll-7c9d5b8f4-{self.n - ROLLING_PODS:05d}")
        if self.crashed is not None:
            self.sim.recover(*self.crashed)
            self.crashed = None
        elif self.n % 3 == 0:
            self.crashed = (POD_NAMESPACE, name)
            self.sim.crash(*self.crashed)
        self.n += 1


async def _tabs(pilot: Any) -> None:
    for key in TAB_KEYS:
        await pilot.press(key)
        await asyncio.sleep(0.15)


async def _open_checklist(app: OncallApp, pilot: Any, soak: Soak, when: str) -> bool:
    """Enter on the selected alert, until its checklist is up; False (the error kept) if it isn't."""
    from screens.checklist import ChecklistScreen

    await pilot.press("enter")
    try:
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), timeout=10, what="a checklist")
    except BaseException as error:  # pytest.fail raises an Outcome, not an Exception
        soak.errors.append(f"no checklist{when}: {error}")
        return False
    return True


async def first_visits(app: OncallApp, pilot: Any, soak: Soak) -> None:
    """Part of the warm-up: everything the soak will do, done once. Every tab, then each alert's checklist
    opened in turn, read again with `r` and closed, down the whole list and back to the top. What a first
    visit costs (a section's first read, the modules and caches it loads) is start-up, not growth; with the
    loop alone the warm-up ended after one checklist of eight, and the seven other first opens fell in the
    soak's samples."""
    await _tabs(pilot)
    table = getattr(app.screen, "table", None)
    for row in range(len(getattr(table, "alerts", ()))):
        if not await _open_checklist(app, pilot, soak, " on the first visits"):
            break
        await asyncio.sleep(0.5)
        await pilot.press("r")
        await asyncio.sleep(0.6)
        await pilot.press("escape")
        await asyncio.sleep(0.2)
        soak.first_visits = row + 1
        await pilot.press("j")
    for _ in range(soak.first_visits):
        await pilot.press("k")
    soak.warmed = True


async def drive(app: OncallApp, pilot: Any, soak: Soak, until: Callable[[], bool]) -> None:
    """An SRE re-reading the evidence: every tab, then an alert's checklist (Enter, `r` twice, Escape), the
    next alert (j down the list, k back up), and around again."""
    direction = "j"
    await first_visits(app, pilot, soak)
    while not until():
        soak.cycles += 1
        await _tabs(pilot)
        if not await _open_checklist(app, pilot, soak, ""):
            continue
        soak.checklists += 1
        await asyncio.sleep(0.5)
        for _ in range(2):
            await pilot.press("r")
            soak.rereads += 1
            await asyncio.sleep(0.6)
        await pilot.press("escape")
        await asyncio.sleep(0.2)
        table = getattr(app.screen, "table", None)
        rows = len(getattr(table, "alerts", ()))
        if rows and table is not None:
            direction = "k" if table.cursor_row >= rows - 1 else "j" if table.cursor_row <= 0 else direction
        await pilot.press(direction)
        await asyncio.sleep(0.2)


def _start_churn(pg: PgLab, redis: RedisLab) -> subprocess.Popen[str]:
    churn = subprocess.Popen(
        [sys.executable, "-c", CHURN, pg.dsn("inmidst"), str(redis.port), ADMIN_PASSWORD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert churn.stdout is not None
    if churn.stdout.readline().strip() != "ready":
        raise RuntimeError("the churn process did not start")
    return churn


def _verdict(values: list[int]) -> str:
    """Flat when the floor of the last third of the samples is no higher than the first third's: what is
    in flight at a sample (a poll's task, a socket being opened) comes and goes, a leak raises the floor."""
    third = max(1, len(values) // 3)
    early, late = min(values[:third]), min(values[-third:])
    return "flat" if late <= early else f"grows (floor {early} -> {late})"


def _print_trace(start: tracemalloc.Snapshot, end: tracemalloc.Snapshot, title: str) -> None:
    """The allocation sites that grew most between two snapshots, each with the project's own frame that
    led there (the innermost frame is often a library's)."""
    keep = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen *>")]
    diff = end.filter_traces(keep).compare_to(start.filter_traces(keep), "traceback")
    root = str(Path(__file__).resolve().parents[1])

    def short(frame: tracemalloc.Frame) -> str:
        return f"{frame.filename.split('site-packages/')[-1].removeprefix(root + '/')}:{frame.lineno}"

    print(f"top growing allocation sites ({title}):")
    for stat in diff[:12]:
        inner = stat.traceback[-1] if stat.traceback else None  # most recent call last
        ours = next(
            (
                f
                for f in reversed(stat.traceback)
                if f.filename.startswith(root) and "/.venv/" not in f.filename
            ),
            None,
        )
        via = f"  via {short(ours)}" if ours is not None and ours != inner else ""
        where = short(inner) if inner else "?"
        print(f"  {stat.size_diff / 1024:+9.1f} KiB  {stat.count_diff:+7d} blocks  {where}{via}")


def _print_caches(
    start: dict[str, tuple[int, int, int]],
    end: dict[str, tuple[int, int, int]],
    lru_start: dict[str, tuple[int, int | None]],
    lru_end: dict[str, tuple[int, int | None]],
) -> None:
    """The drawn-line caches by widget and attribute, at the warm-up's end and the soak's, largest first;
    then the functools caches of Textual, rich and the project that grew."""
    print("drawn-line caches (widget.attr: entries, KiB, Strips; warm-up end -> soak end), largest last:")
    for name, (entries, size, strips) in sorted(end.items(), key=lambda kv: -kv[1][1])[:12]:
        was = start.get(name, (0, 0, 0))
        print(
            f"  {name:<44} {was[0]:6d} -> {entries:6d}  {was[1] / 1024:8.0f} -> {size / 1024:6.0f} KiB  "
            f"{was[2]:6d} -> {strips:6d}"
        )
    before, after = (sum(v[1] for v in sizes.values()) / 1024 for sizes in (start, end))
    print(f"  {'all of them':<44} {'':16}  {before:8.0f} -> {after:6.0f} KiB")
    grown = [
        f"{name} {lru_start.get(name, (0, None))[0]}->{size}/{bound}"
        for name, (size, bound) in sorted(lru_end.items(), key=lambda kv: -kv[1][0])
        if size > lru_start.get(name, (0, None))[0]
    ]
    if grown:
        print("functools caches grown (size/bound): " + ", ".join(grown[:10]))


def _counter_growth(title: str, start: collections.Counter[str], end: collections.Counter[str]) -> None:
    grown = {k: end[k] - start.get(k, 0) for k in end if end[k] != start.get(k, 0)}
    gone = {k: -start[k] for k in start if k not in end}
    changes = sorted({**grown, **gone}.items(), key=lambda kv: -abs(kv[1]))
    if changes:
        print(f"{title}: " + ", ".join(f"{k} {v:+d}" for k, v in changes[:8]))


async def run(args: argparse.Namespace, workdir: Path) -> None:
    refresh = DEFAULT_REFRESH / args.speed
    started_labs = time.perf_counter()
    prometheus = PrometheusLab(workdir / "prometheus")
    pg = PgLab(workdir / "pg")
    redis = RedisLab(workdir / "redis")
    sim = KubeSimulator(workdir / "sim", lab=True, pods=args.pods)
    churn: subprocess.Popen[str] | None = None
    try:
        await asyncio.gather(
            asyncio.to_thread(prometheus.start),
            asyncio.to_thread(pg.start),
            asyncio.to_thread(redis.start),
            asyncio.to_thread(sim.start),
        )
        churn = await asyncio.to_thread(_start_churn, pg, redis)
        labs_up = time.perf_counter() - started_labs
        print(f"{'labs up (Prometheus, PostgreSQL, Redis, simulator)':<42} {labs_up:8.1f} s")
        app = build_app(workdir, refresh, prometheus, sim, pg, redis)
        soak = Soak()
        monitor = StallMonitor()
        roller = PodRoller(sim)
        wall_limit = args.minutes * 60
        async with app.run_test(size=(160, 48)) as pilot:
            loop = asyncio.get_running_loop()
            begun = loop.time()
            await wait_for(
                lambda: app.snapshot is not None and bool(app.snapshot.alerts), 60, "the lab's alerts"
            )
            await asyncio.to_thread(sim.churn, args.pod_changes, wall_limit + 60, POD_NAMESPACE)

            def done() -> bool:
                return simulated_hours(app) >= args.hours or loop.time() - begun >= wall_limit

            async def roll() -> None:
                while not done():
                    try:
                        await asyncio.to_thread(roller.step)
                        soak.rolled_pods += 1
                    except Exception as error:  # a control call timing out on a busy machine: go on
                        soak.errors.append(f"pod roll: {error}")
                    await asyncio.sleep(args.roll_every)

            driver = asyncio.create_task(drive(app, pilot, soak, done))
            roller_task = asyncio.create_task(roll())
            # the warm-up ends at its simulated hours, or after a third of the wall time on a machine too
            # busy to poll at full speed (the soak still gets its two thirds of samples)
            said = loop.time()
            while (
                not done()
                and (simulated_hours(app) < args.warmup_hours or not soak.warmed)
                and loop.time() - begun < wall_limit / 3
            ):
                await asyncio.sleep(0.5)
                if loop.time() - said >= 30:
                    said = loop.time()
                    print(
                        f"warming up: {loop.time() - begun:.0f} s, {simulated_hours(app):.2f} simulated h, "
                        f"RSS {rss_mib():.0f} MiB, polls {dict(app.pace.polls)}",
                        flush=True,
                    )
            warmup_wall = loop.time() - begun
            soak.visits_in_warmup = -1 if soak.warmed else soak.first_visits  # cut short by the wall time
            gc.collect()
            tasks_start, fds_start, objects_start = tasks_by_coroutine(), fd_targets(), census()
            strips_start = strip_owners(app) if args.holders else collections.Counter()
            detached_start = detached_widgets(app)
            caches_start, lru_start, tables_start = cache_sizes(app), lru_caches(), module_tables()
            trace_start = None
            if args.trace:
                tracemalloc.start(args.trace_frames)
                trace_start = tracemalloc.take_snapshot()
            trace_mid_holder: list[tracemalloc.Snapshot] = []
            full_collections = FullCollections()
            gc.callbacks.append(full_collections)
            monitor.start()
            next_sample = loop.time()
            next_trim = loop.time() + args.malloc_trim if args.malloc_trim else float("inf")
            csv = open(args.csv, "w", buffering=1) if args.csv else None  # noqa: SIM115
            if csv is not None:
                csv.write(",".join(Sample.__dataclass_fields__) + "\n")
            while not done():
                if loop.time() >= next_trim:  # the experiment: give glibc's free pages back
                    malloc_trim()
                    next_trim += args.malloc_trim
                if loop.time() >= next_sample:
                    live = 0
                    if args.live and len(soak.samples) % 12 == 0:
                        gc.collect()
                        live = len(gc.get_objects()) + gc.get_freeze_count()
                    soak.samples.append(
                        Sample(
                            simulated_hours(app),
                            loop.time() - begun,
                            rss_mib(),
                            len(asyncio.all_tasks()),
                            open_fds(),
                            threading.active_count(),
                            len(gc.get_objects()) + gc.get_freeze_count(),
                            tracemalloc.get_traced_memory()[0] / 2**20 if args.trace else 0.0,
                            sys.getallocatedblocks(),
                            malloc_in_use_mib(),
                            live,
                        )
                    )
                    if len(soak.samples) % 12 == 1:  # progress, about once a minute
                        print(
                            f"soaking: {loop.time() - begun:.0f} s, {simulated_hours(app):.2f} simulated h, "
                            f"RSS {soak.samples[-1].rss_mib:.0f} MiB",
                            flush=True,
                        )
                    if csv is not None:
                        csv.write(",".join(str(v) for v in vars(soak.samples[-1]).values()) + "\n")
                    next_sample += args.sample_every
                    if (
                        args.trace
                        and not trace_mid_holder
                        and loop.time() - begun >= (wall_limit + warmup_wall) / 2
                    ):
                        gc.collect()
                        trace_mid_holder.append(tracemalloc.take_snapshot())
                await asyncio.sleep(0.25)
            monitor.stop()
            gc.callbacks.remove(full_collections)
            if csv is not None:
                csv.close()
            await asyncio.gather(driver, roller_task, return_exceptions=True)
            wall = loop.time() - begun
            garbage = cyclic_garbage()
            tasks_end, fds_end, objects_end = tasks_by_coroutine(), fd_targets(), census()
            strips_end = strip_owners(app) if args.holders else collections.Counter()
            detached_end = detached_widgets(app)
            # what of the RSS is kept pages rather than objects: after a full collection, then after glibc
            # gives back its free pages (malloc_trim), at the end only, so the soak itself is not changed
            reclaim = [rss_mib()]
            gc.collect()
            reclaim.append(rss_mib())
            malloc_trim()
            reclaim.append(rss_mib())
            caches_end, lru_end, tables_end = cache_sizes(app), lru_caches(weigh=True), module_tables()
            most = sorted(((objects_end[k] - objects_start.get(k, 0), k) for k in objects_end), reverse=True)
            grown = [
                (n, name, _roots(name) if args.trace or args.holders else "")
                for n, name in most[:10]
                if n > 0
            ]
            trace_end = tracemalloc.take_snapshot() if args.trace else None
            trace_mid = trace_mid_holder[0] if trace_mid_holder else None
            polls = dict(app.pace.polls)
            hours = simulated_hours(app)
        _report(args, soak, hours, wall, warmup_wall, polls, monitor)
        print(
            f"{'cyclic garbage at the end (objects)':<42} {sum(garbage.values()):8d}: "
            + ", ".join(f"{k} {v}" for k, v in garbage.most_common(8))
        )
        soaked = wall - warmup_wall
        print(f"{'full collections (gen 2) during the soak':<42} {full_collections.summary(soaked)}")
        _counter_growth("asyncio tasks by coroutine, change", tasks_start, tasks_end)
        _counter_growth("open fds by target, change", fds_start, fds_end)
        _counter_growth("widgets alive off every screen, change", detached_start, detached_end)
        print(
            f"{'RSS at the end / after gc / after trim':<42} {reclaim[0]:8.1f} / {reclaim[1]:.1f} / "
            f"{reclaim[2]:.1f} MiB  (malloc_trim(0): glibc's free pages given back)"
        )
        _print_caches(caches_start, caches_end, lru_start, lru_end)
        _counter_growth(
            "module-level tables of the project, entries, change",
            collections.Counter(tables_start),
            collections.Counter(tables_end),
        )
        if args.holders:
            _counter_growth("Textual Strips by holder, change", strips_start, strips_end)
            print(
                "Textual Strips by holder at the end: "
                + ", ".join(f"{k} {v}" for k, v in strips_end.most_common(8))
            )
        print("objects by type, most grown after the warm-up (--holders: and who holds the newest):")
        for count, name, holders in grown:
            print(f"  {count:+8d}  {name:<56} {holders}")
        if trace_start is not None and trace_end is not None:
            _print_trace(trace_start, trace_end, "warm-up end -> soak end")
            if trace_mid is not None:
                _print_trace(trace_mid, trace_end, "middle of the soak -> its end")
            tracemalloc.stop()
    finally:
        if churn is not None:
            assert churn.stdin is not None
            churn.stdin.close()
            churn.terminate()
            churn.wait(timeout=10)
        sim.stop()
        prometheus.stop()
        redis.destroy()
        pg.destroy()


def _report(
    args: argparse.Namespace,
    soak: Soak,
    hours: float,
    wall: float,
    warmup_wall: float,
    polls: dict[str, int],
    monitor: StallMonitor,
) -> None:
    samples = soak.samples
    refresh = DEFAULT_REFRESH / args.speed
    if len(samples) < 3:
        print(f"too few samples after the warm-up ({len(samples)}): run longer (--minutes)")
        return
    first, last = samples[0], samples[-1]

    def line(label: str, value: str) -> None:
        print(f"{label:<42} {value}")

    line(
        "simulated hours covered",
        f"{hours:8.2f} h  (asked {args.hours:g} h at {args.speed:g}x: every refresh {refresh:g} s)",
    )
    line(
        "wall time",
        f"{wall:8.1f} s  (warm-up {warmup_wall:.1f} s, to {samples[0].sim_hours:.2f} h, "
        + (
            f"every tab and {soak.first_visits} alerts' checklists visited once)"
            if soak.visits_in_warmup < 0
            else f"cut short by the wall time: {soak.visits_in_warmup} of the alerts' checklists visited)"
        ),
    )
    line("polls per source", ", ".join(f"{s} {polls.get(s, 0)}" for s in SOURCES))
    line(
        "what the SRE did",
        f"{soak.cycles} rounds of tabs, {soak.checklists} checklists opened, {soak.rereads} re-reads (r), "
        f"{soak.rolled_pods} pods rolled",
    )
    line("samples after warm-up", f"{len(samples)} (every {args.sample_every:g} s)")
    line(
        "RSS start / end / max",
        f"{first.rss_mib:8.1f} / {last.rss_mib:.1f} / {max(s.rss_mib for s in samples):.1f} MiB",
    )
    sim = [s.sim_hours for s in samples]
    half, third = len(samples) // 2, len(samples) - len(samples) // 3
    # A bounded cache fills and then stops: its growth is in the early part of the soak, a leak's goes on.
    # So the slope is given over the whole soak and over its later parts, and the RSS at whole hours.
    parts = (("after warm-up", 0), ("second half", half), ("last third", third))
    for label, start in parts:
        value = slope(sim[start:], [s.rss_mib for s in samples[start:]])
        verdict = "flat" if value < FLAT_RSS_MIB_PER_HOUR else "grows"
        span = f"{sim[start]:.2f}-{last.sim_hours:.2f} h"
        line(
            "RSS slope " + label if start == 0 else f"RSS slope, {label}",
            f"{value:+8.2f} MiB/h: {verdict}  ({span}; flat: under {FLAT_RSS_MIB_PER_HOUR:g} MiB/h)",
        )
    marks = [h for h in (1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 32, 40) if sim[0] <= h <= sim[-1]]
    at = [next(s for s in samples if s.sim_hours >= h) for h in marks]
    line(
        "RSS at simulated hour",
        ", ".join(f"{h} h {s.rss_mib:.0f}" for h, s in zip(marks, at, strict=True))
        + f", end ({last.sim_hours:.1f} h) {last.rss_mib:.0f} MiB",
    )
    for label, values in (
        ("asyncio tasks", [s.tasks for s in samples]),
        ("open fds", [s.fds for s in samples]),
        ("threads", [s.threads for s in samples]),
    ):
        line(
            f"{label} start / end / max",
            f"{values[0]:8d} / {values[-1]} / {max(values)}: {_verdict(values)}",
        )

    # Live objects beside the RSS, over the whole soak and its last third: RSS growing while these stay
    # flat is pages the allocators keep, not objects anyone holds.
    def both(values: list[float]) -> tuple[float, float]:
        return slope(sim, values), slope(sim[third:], values[third:])

    for label, unit, scale, series in (
        ("traced Python memory", "MiB", 1.0, [s.traced_mib for s in samples] if args.trace else []),
        ("pymalloc blocks (thousands)", "k", 1e-3, [float(s.blocks) for s in samples]),
        ("malloc in use", "MiB", 1.0, [s.malloc_mib for s in samples]),
        ("gc objects (thousands)", "k", 1e-3, [float(s.gc_objects) for s in samples]),
    ):
        if not series:  # no --trace
            continue
        whole, late = both([v * scale for v in series])
        line(
            f"{label} start / end",
            f"{series[0] * scale:8.1f} / {series[-1] * scale:.1f} {unit}  (slope {whole:+.2f} {unit}/h, "
            f"last third {late:+.2f} {unit}/h)",
        )
    collected = [s for s in samples if s.live_objects]
    if len(collected) >= 3:
        at_hours, live = [s.sim_hours for s in collected], [s.live_objects / 1e3 for s in collected]
        last_third = len(collected) - len(collected) // 3
        line(
            "live objects after a full gc (thousands)",
            f"{live[0]:8.1f} / {live[-1]:.1f} k  (slope {slope(at_hours, live):+.2f} k/h, last third "
            f"{slope(at_hours[last_third:], live[last_third:]):+.2f} k/h; a collection a minute)",
        )
    line("event-loop stalls during the soak", monitor.summary())
    if soak.errors:
        line("driver errors", f"{len(soak.errors)}, first: {soak.errors[0][:100]}")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hours", type=float, default=8.0, help="simulated hours of dashboard")
    parser.add_argument(
        "--speed", type=float, default=100.0, help="how much faster than 5 s each source polls"
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="wall-time cap")
    parser.add_argument("--warmup-hours", type=float, default=0.5, help="simulated hours before sampling")
    parser.add_argument("--sample-every", type=float, default=5.0, help="wall seconds between samples")
    parser.add_argument("--pods", type=int, default=200, help="pods in the simulator besides the lab's")
    parser.add_argument("--pod-changes", type=float, default=5.0, help="pod changes per second (churn)")
    parser.add_argument("--roll-every", type=float, default=1.0, help="seconds between rolled pods")
    parser.add_argument("--trace", action="store_true", help="tracemalloc: top growing allocation sites")
    parser.add_argument("--trace-frames", type=int, default=12)
    parser.add_argument("--holders", action="store_true", help="who holds the objects that grew (slow)")
    parser.add_argument("--csv", help="write every sample to this CSV file as it is taken")
    parser.add_argument(
        "--live",
        action="store_true",
        help="count live objects after a full collection once a minute (the cyclic garbage then waits no "
        "longer than a minute: the RSS is not the app's own)",
    )
    parser.add_argument(
        "--malloc-trim",
        type=float,
        default=0.0,
        help="experiment: call glibc's malloc_trim(0) every this many wall seconds (0: never)",
    )
    args = parser.parse_args()
    # a `kill` (or `timeout`) still stops the servers and the churn: the finally blocks run
    signal.signal(signal.SIGTERM, _interrupt)
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
