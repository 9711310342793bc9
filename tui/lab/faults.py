"""The lab's twelve faults, one per runbook section, each planted from one of the section's own common
causes: `oncall lab break SECTION` plants it, `oncall lab heal SECTION` undoes it.

Breaking a broken section or healing a healthy one changes nothing and says so. A section is recorded as
broken before its fault is planted, so a break that fails half-way can still be healed.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
import redis
from psycopg import sql

from tui.lab import postgres, sim_faults
from tui.lab.api import warm_cache
from tui.lab.control import set_api_fault, set_load
from tui.lab.services import service_running, start_service, stop_service
from tui.lab.state import LabState

LEAKED_CONNECTIONS = 38  # of max_connections 50: with the API's pool the sessions pass 80%
FILL_SHARE = 0.88  # of maxmemory: above the alert's 80%, under noeviction's write refusals
FILL_PREFIX = "cache:page:"  # the keys the memory fault writes, without a TTL
CATALOG_KEY = "catalog:all"  # the big hash the API's /api/catalog reads with HGETALL
CATALOG_FIELDS = 150_000
REDIS_TIMEOUT = 10.0
ORDERS_GROWN = 1_200_000  # rows in orders before the search storm: each scan then takes ~0.5-1.5 s

Step = Callable[[LabState], str]


class UnknownSection(ValueError):
    """No fault for that section; the message lists the ones there are."""


@dataclass(frozen=True)
class Fault:
    section: str  # the runbook section's slug
    description: str  # what `break` does, in the words the drill prints
    cause: str  # the runbook's common cause it plants: the first words of that bullet
    plant: Step  # does it; returns a line for the user
    undo: Step


def _redis(state: LabState) -> redis.Redis:
    return redis.Redis.from_url(state.redis_url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=3)


def _ensure_running(state: LabState, name: str) -> str:
    if service_running(state, name):
        return f"{name} already running"
    start_service(state, name)
    return f"{name} started again"


def warm(state: LabState) -> str:
    """The cache warmed as the runbook's resolution says (the items the normal load asks for, fresh TTLs)."""
    cached = warm_cache(state.postgres_dsn(postgres.API_ROLE), state.redis_url)
    return f"cache warmed ({cached} items)"


# --- high-api-error-rate: a bad deploy --------------------------------------------------------------


def _plant_bad_deploy(state: LabState) -> str:
    set_api_fault(state, "errors", True)
    revision = sim_faults.bad_deploy(state)
    sim_faults.api_error_logs(state)
    return (
        f"the API answers ~30% 5xx, and Helm revision {revision} ({sim_faults.BAD_VERSION}) was just deployed"
    )


def _undo_bad_deploy(state: LabState) -> str:
    set_api_fault(state, "errors", False)
    removed = sim_faults.rollback(state)
    return "5xx off" + (f", Helm revision {removed} rolled back" if removed else "")


def _api_fault_under_load(state: LabState, fault: str, load: str | None) -> None:
    """Turn an API fault on under a load mode, or (load None) off again under the normal load."""
    set_api_fault(state, fault, load is not None)
    set_load(state, load or "normal")


# --- high-api-latency: slow queries behind the API ---------------------------------------------------


def _plant_slow_queries(state: LabState) -> str:
    # every pooled connection busy: the light normal load leaves fewer than two slow sessions at times
    _api_fault_under_load(state, "slow-queries", "searches")
    return "every API query also runs pg_sleep(2.5) in PostgreSQL, under a steady stream of searches"


def _undo_slow_queries(state: LabState) -> str:
    _api_fault_under_load(state, "slow-queries", None)
    return "the API's queries are fast again; normal load"


# --- api-down: the API killed, its pods OOMKilled ----------------------------------------------------


def _plant_api_oom(state: LabState) -> str:
    stop_service(state, "api", kill=True)
    pods = sim_faults.oom_kill(state, "inmidst-api")
    return f"the API process killed (SIGKILL); pods {', '.join(pods)} OOMKilled, CrashLoopBackOff"


def _undo_api_oom(state: LabState) -> str:
    started = _ensure_running(state, "api")
    sim_faults.restore(state, "inmidst-api")
    return f"{started}; its pods running again"


# --- high-database-connections: a connection leak ----------------------------------------------------


def _plant_leak(state: LabState) -> str:
    set_api_fault(state, "leak-connections", True, count=LEAKED_CONNECTIONS)
    return f"{LEAKED_CONNECTIONS} connections from inmidst-api left idle in transaction"


def _undo_leak(state: LabState) -> str:
    set_api_fault(state, "leak-connections", False)
    return "the leaked connections closed"


# --- slow-database-queries: a sequential-scan storm --------------------------------------------------


def grow_orders(state: LabState, rows: int = ORDERS_GROWN) -> int:
    """Orders added (as the API's role) until the table holds `rows`: a scan of 300,000 short rows takes
    ~0.1 s here, too quick for a storm to pass 0.5 s on average; it is left grown after the heal."""
    with psycopg.connect(state.postgres_dsn(), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(postgres.API_ROLE)))
        found = conn.execute("SELECT coalesce(max(id), 0) FROM orders").fetchone()
        last = int(found[0]) if found else 0
        if last >= rows:
            return 0
        conn.execute(
            "INSERT INTO orders (id, customer_id, note)"
            " SELECT g, g %% 5000 + 1, 'order ' || g || ' for customer ' || (g %% 5000 + 1)"
            " FROM generate_series(%s::int, %s::int) g",
            (last + 1, rows),
        )
        conn.execute("ANALYZE orders")
    return rows - last


def _plant_seqscan(state: LabState) -> str:
    added = grow_orders(state)
    _api_fault_under_load(state, "seqscan", "searches")
    grown = f" ({added:,} orders added first)" if added else ""
    return f"searches read every row of orders{grown} (unindexed note column); the load is mostly searches"


def _undo_seqscan(state: LabState) -> str:
    _api_fault_under_load(state, "seqscan", None)
    return "searches use the customer_id index again; normal load"


# --- postgresql-down / redis-down: the server stopped, its pod OOMKilled -----------------------------


def _plant_postgres_down(state: LabState) -> str:
    stop_service(state, "postgres")
    sim_faults.oom_kill(state, "inmidst-postgres")
    return "PostgreSQL stopped (pg_ctl stop -m fast); its pod OOMKilled"


def _undo_postgres_down(state: LabState) -> str:
    started = _ensure_running(state, "postgres")
    sim_faults.restore(state, "inmidst-postgres")
    return f"{started}; its pod running again"


def _plant_redis_down(state: LabState) -> str:
    stop_service(state, "redis")
    sim_faults.oom_kill(state, "inmidst-redis")
    return "Redis stopped; its pod OOMKilled"


def _undo_redis_down(state: LabState) -> str:
    started = _ensure_running(state, "redis")
    sim_faults.restore(state, "inmidst-redis")
    return f"{started}; its pod running again; {warm(state)}"


# --- high-redis-memory: keys without a TTL -----------------------------------------------------------


def fill_redis(client: redis.Redis, share: float = FILL_SHARE, seed: int = 13) -> int:
    """Write keys of 1-4 KB without a TTL until used_memory reaches `share` of maxmemory; the keys written."""
    maxmemory = int(client.config_get("maxmemory").get("maxmemory", 0) or 0)
    if maxmemory <= 0:
        raise RuntimeError("Redis has no maxmemory: the memory alert cannot fire")
    target = int(maxmemory * share)
    rng = random.Random(seed)
    written = 0
    while int(client.info("memory")["used_memory"]) < target:
        room = target - int(client.info("memory")["used_memory"])
        batch = max(1, min(500, room // 3000))  # smaller batches near the target: never past maxmemory
        pipe = client.pipeline(transaction=False)
        for _ in range(batch):
            size = rng.randint(1024, 4096)
            pipe.set(f"{FILL_PREFIX}{written}", b'{"html":"' + b"x" * size + b'"}')
            written += 1
        pipe.execute()
    return written


def _delete_matching(client: redis.Redis, pattern: str) -> int:
    deleted = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=pattern, count=2000):
        batch.append(key)
        if len(batch) >= 2000:
            deleted += int(client.unlink(*batch))
            batch = []
    if batch:
        deleted += int(client.unlink(*batch))
    return deleted


def _plant_memory(state: LabState) -> str:
    with _redis(state) as client:
        written = fill_redis(client)
        used = int(client.info("memory")["used_memory"])
    return f"{written} cache keys of 1-4 KB written without a TTL; Redis uses {used / 2**20:.0f} MiB"


def _undo_memory(state: LabState) -> str:
    with _redis(state) as client:
        deleted = _delete_matching(client, FILL_PREFIX + "*")
    return f"{deleted} keys without a TTL deleted"


# --- slow-redis-operations: HGETALL on a big hash ----------------------------------------------------


def _plant_big_hash(state: LabState) -> str:
    with _redis(state) as client:
        client.delete(CATALOG_KEY)
        pipe = client.pipeline(transaction=False)
        for start in range(0, CATALOG_FIELDS, 10_000):
            fields = {
                f"sku:{n}": f'{{"price":{n % 997}.99,"stock":{n % 50}}}' for n in range(start, start + 10_000)
            }
            pipe.hset(CATALOG_KEY, mapping=fields)
        pipe.execute()
        client.slowlog_reset()  # the slow log then shows only the storm
    set_load(state, "catalog")
    return f"hash {CATALOG_KEY} of {CATALOG_FIELDS:,} fields, and the load mostly reads it with HGETALL"


def _undo_big_hash(state: LabState) -> str:
    set_load(state, "normal")
    with _redis(state) as client:
        client.unlink(CATALOG_KEY)
        client.slowlog_reset()
    return f"{CATALOG_KEY} deleted; normal load"


# --- high-active-connections: slow responses under a surge -------------------------------------------


def _plant_slow_responses(state: LabState) -> str:
    _api_fault_under_load(state, "slow-responses", "surge")
    return "every API response takes 1.5 s, and 45 clients keep calling it"


def _undo_slow_responses(state: LabState) -> str:
    _api_fault_under_load(state, "slow-responses", None)
    return "responses fast again; normal load"


# --- low-cache-hit-ratio: a flush, then a miss storm -------------------------------------------------


def _plant_flush(state: LabState) -> str:
    with _redis(state) as client:
        client.flushall()
    set_load(state, "misses")
    return "Redis flushed (FLUSHALL), and the load asks for items the cache has never seen"


def _undo_flush(state: LabState) -> str:
    set_load(state, "normal")
    with _redis(state) as client:
        client.config_resetstat()  # the flush's trace (cmdstat_flushall) goes with it
    return f"normal load; Redis statistics reset; {warm(state)}"


# --- target-down: an exporter stopped ----------------------------------------------------------------


def _plant_exporter_down(state: LabState) -> str:
    stop_service(state, "redis-exporter")
    return "redis_exporter stopped: nothing listens on its port"


def _undo_exporter_down(state: LabState) -> str:
    return _ensure_running(state, "redis-exporter")


# In the runbook's order.
FAULTS: dict[str, Fault] = {
    f.section: f
    for f in (
        Fault(
            "high-api-error-rate",
            "bad deploy: ~30% 5xx and a new Helm revision",
            "Bad deployment",
            _plant_bad_deploy,
            _undo_bad_deploy,
        ),
        Fault(
            "high-api-latency",
            "slow queries: pg_sleep(2.5) behind every request",
            "Slow database queries",
            _plant_slow_queries,
            _undo_slow_queries,
        ),
        Fault("api-down", "API killed, its pods OOMKilled", "OOMKilled", _plant_api_oom, _undo_api_oom),
        Fault(
            "high-database-connections",
            f"{LEAKED_CONNECTIONS} connections leaked idle in transaction",
            "Connection leak",
            _plant_leak,
            _undo_leak,
        ),
        Fault(
            "slow-database-queries",
            "sequential-scan search storm on orders.note",
            "Missing indexes",
            _plant_seqscan,
            _undo_seqscan,
        ),
        Fault(
            "postgresql-down",
            "PostgreSQL stopped, its pod OOMKilled",
            "OOM killed",
            _plant_postgres_down,
            _undo_postgres_down,
        ),
        Fault(
            "high-redis-memory",
            f"Redis filled to {FILL_SHARE:.0%} of maxmemory, keys without TTL",
            "Missing TTLs",
            _plant_memory,
            _undo_memory,
        ),
        Fault(
            "redis-down",
            "Redis stopped, its pod OOMKilled",
            "OOM killed during BGSAVE",
            _plant_redis_down,
            _undo_redis_down,
        ),
        Fault(
            "slow-redis-operations",
            f"HGETALL storm on a {CATALOG_FIELDS:,}-field hash",
            "Large hash/set operations",
            _plant_big_hash,
            _undo_big_hash,
        ),
        Fault(
            "high-active-connections",
            "1.5 s responses under a 45-client surge",
            "Slow responses holding connections open",
            _plant_slow_responses,
            _undo_slow_responses,
        ),
        Fault(
            "low-cache-hit-ratio",
            "FLUSHALL, then a miss storm",
            "Recent Redis restart flushing all keys",
            _plant_flush,
            _undo_flush,
        ),
        Fault(
            "target-down",
            "redis_exporter stopped",
            "Pod crashed but service still registered",
            _plant_exporter_down,
            _undo_exporter_down,
        ),
    )
}


def fault_for(section: str) -> Fault:
    found = FAULTS.get(section)
    if found is None:
        raise UnknownSection(f"no lab fault for section {section!r}; sections: {', '.join(FAULTS)}")
    return found


def break_section(state: LabState, section: str) -> str:
    """Plant the section's fault; a line for the user. Already broken: nothing done, and said."""
    fault = fault_for(section)
    if section in state.broken:
        return f"{section} is already broken ({fault.description}); `oncall lab heal {section}` undoes it"
    state.broken.append(section)
    state.save()  # recorded first: a break that fails half-way can still be healed
    done = fault.plant(state)
    state.save()
    return f"broke {section}: {done} (plants: {fault.cause})"


def heal_section(state: LabState, section: str) -> str:
    """Undo the section's fault; a line for the user. Not broken: nothing done, and said."""
    fault = fault_for(section)
    if section not in state.broken:
        return f"{section} is not broken; nothing to heal"
    done = fault.undo(state)
    with contextlib.suppress(ValueError):
        state.broken.remove(section)
    state.save()
    return f"healed {section}: {done}"


def heal_all(state: LabState) -> list[str]:
    """Heal every broken section, the last broken first; a line each (nothing broken: one line saying so)."""
    if not state.broken:
        return ["nothing is broken"]
    return [heal_section(state, section) for section in reversed(list(state.broken))]
