"""Each common cause's stated rule, on readings of the shape the probes answer: supported, not supported and
unknown; the ranking; and, for each of the 12 lab faults, the planted cause ranked first."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from probes.base import Reading, SourceHealth
from probes.kubernetes import HelmRevision, ResourceSnapshot
from probes.kubernetes.jsonpath import evaluate
from probes.kubernetes.resources import HpaRow, NetworkPolicyRow, NodeRow
from probes.redis.parsing import parse_info
from tests.helpers import REPO
from tui.triage import cause_rules as pg
from tui.triage import cause_rules_cluster as cluster
from tui.triage import cause_rules_redis as cache
from tui.triage.causes import CauseFinding, diagnose, judge, judge_all, rank, rule_for, top_cause
from tui.triage.commands import LiveRead, ReadParams
from tui.triage.plans import POD_STATES, CausePlan, plan_causes
from tui.triage.registry import Sources, _flush_fields
from tui.triage.runbook import CommonCause, load_runbook
from tui.triage.shaping import info_first, snapshot_reading

T = datetime(2026, 11, 27, 3, 0, 0, tzinfo=UTC)
RUNBOOK = load_runbook(REPO / "examples" / "inmidst" / "RUNBOOK.md")


# --- readings as the probes shape them ---------------------------------------------------------------------


def sql(columns: tuple[str, ...], *rows: tuple[object, ...]) -> Reading:
    """A statement's answer as PostgresProbe.run_statement gives it: every value as text."""
    return Reading.table("postgresql", "SELECT …", columns, rows, read_at=T)


LEAK_COLUMNS = ("application_name", "idle_in_transaction", "over_5_min", "connections", "oldest_s")
SLOW_COLUMNS = ("application_name", "sessions", "longest_s")
CONNECTION_COLUMNS = ("connections", "idle", "max_connections")


def info(text: str, shaping=info_first) -> Reading:
    """An INFO answer through the probe's parser and the registry's shaping."""
    fields = parse_info(text.replace("\n", "\r\n"))
    return shaping(Reading.table("redis", "INFO", ("field", "value"), list(fields.items()), read_at=T))


def keyspace(*dbs: str) -> Reading:
    return info("# Keyspace\n" + "\n".join(dbs) + "\n")


def bigkeys(*rows: tuple[str, str, int, int]) -> Reading:
    """`redis-cli --bigkeys` as the key sampler's largest keys (key, type, size, ttl)."""
    return Reading.table(
        "redis", "redis-cli --bigkeys (largest 10)", ("key", "type", "size", "ttl"), rows, read_at=T
    )


def pods(*items: dict[str, object]) -> Reading:
    """`kubectl get pods -o jsonpath=POD_STATES`, rendered by the probe's own JSONPath over the pods' JSON."""
    text = evaluate(POD_STATES, {"items": list(items)})
    return Reading.text("kubernetes", "pods", text.split("\n")[:-1], read_at=T)


def pod(name: str, *, waiting: str = "", last: str = "", restarts: int = 0) -> dict[str, object]:
    status: dict[str, object] = {"restartCount": restarts, "state": {"running": {}}}
    if waiting:
        status["state"] = {"waiting": {"reason": waiting}}
    if last:
        status["lastState"] = {"terminated": {"reason": last, "exitCode": 137}}
    return {"metadata": {"name": name}, "status": {"containerStatuses": [status]}}


def listing(resource: str, *items: object) -> Reading:
    health = SourceHealth("kubernetes", "ok", checked_at=T)
    return snapshot_reading(ResourceSnapshot(resource, tuple(items), health, T), resource)


def node(name: str, ready: str = "True") -> NodeRow:
    return NodeRow(name, ready, False, False, False, False, (), "v1.29", 4.0, 8e9, T, ())


def revision(number: int, ago: timedelta, status: str = "deployed") -> HelmRevision:
    return HelmRevision(
        "in-midst-my-life", "production", number, T - ago, status, "app-1.4.2", "1.4.2", "Upgrade"
    )


def hpa(current: int, maximum: int) -> HpaRow:
    return HpaRow(
        "production",
        "inmidst-api",
        "Deployment/inmidst-api",
        2,
        maximum,
        current,
        current,
        "",
        current >= maximum,
    )


TARGET_COLUMNS = ("job", "instance", "health", "last scrape", "last error")


def targets(*rows: tuple[str, str, str, str, str]) -> Reading:
    return Reading.table("prometheus", "down targets", TARGET_COLUMNS, rows, read_at=T)


NO_TARGET_DOWN = Reading(
    "prometheus",
    "down targets",
    TARGET_COLUMNS,
    read_at=T,
    problem="no target is down (5 active targets, 5 up)",
)
REFUSED = 'Get "http://127.0.0.1:9121/metrics": dial tcp 127.0.0.1:9121: connect: connection refused'


def promql(value: str, **labels: str) -> Reading:
    return Reading.table("prometheus", "query", (*labels, "value"), [(*labels.values(), value)], read_at=T)


def failed(source: str, problem: str) -> Reading:
    return Reading.failed(source, "read", problem)


# --- PostgreSQL --------------------------------------------------------------------------------------------


def test_connection_leak_is_supported_by_a_quarter_of_the_connections_idle_in_transaction() -> None:
    reading = sql(LEAK_COLUMNS, ("inmidst-api", 38, 0, 43, 42), ("oncall", 0, 0, 2, 0))
    judged = pg.connection_leak(reading)
    assert judged.verdict == "supported"
    assert judged.reason == "38 of 45 sessions idle in transaction (oldest 42 s), 38 from inmidst-api"
    assert judged.weight == pytest.approx((38 / 45) / pg.LEAK_SHARE)


def test_connection_leak_is_supported_by_three_sessions_idle_in_transaction_for_5_minutes() -> None:
    reading = sql(LEAK_COLUMNS, ("inmidst-api", 6, 6, 69, 840), ("psql", 0, 0, 3, 0))
    judged = pg.connection_leak(reading)
    assert (judged.verdict, judged.reason) == (
        "supported",
        "6 sessions idle in transaction for more than 5 min, 6 from inmidst-api",
    )


def test_connection_leak_is_not_supported_without_sessions_idle_in_transaction() -> None:
    judged = pg.connection_leak(sql(LEAK_COLUMNS, ("inmidst-api", 0, 0, 12, 0)))
    assert (judged.verdict, judged.reason) == ("not supported", "0 of 12 sessions idle in transaction")


def test_connection_leak_is_unknown_without_client_connections() -> None:
    assert pg.connection_leak(sql(LEAK_COLUMNS)).verdict == "unknown"


def test_long_running_transactions() -> None:
    columns = ("over_5_min", "transactions", "oldest_s")
    judged = pg.long_transactions(sql(columns, (2, 5, 930)))
    assert (judged.verdict, judged.reason) == (
        "supported",
        "2 active transactions older than 5 min (oldest 15 min)",
    )
    judged = pg.long_transactions(sql(columns, (0, 2, 48)))
    assert judged.verdict == "not supported" and "the oldest 48 s" in judged.reason
    assert pg.long_transactions(sql(columns)).verdict == "unknown"


def test_slow_database_queries_need_two_sessions_running_one_query_past_a_second() -> None:
    judged = pg.slow_queries(sql(SLOW_COLUMNS, ("inmidst-api", 5, "2.4")))
    assert (judged.verdict, judged.reason) == (
        "supported",
        "5 sessions running a query for more than 1 s, 5 from inmidst-api (longest 2.4 s)",
    )
    assert pg.slow_queries(sql(SLOW_COLUMNS, ("inmidst-api", 1, "1.2"))).verdict == "not supported"
    judged = pg.slow_queries(sql(SLOW_COLUMNS))
    assert (judged.verdict, judged.reason) == (
        "not supported",
        "no session has run a query for more than 1 s",
    )


def test_pool_exhaustion_and_pool_size_read_the_same_connections() -> None:
    busy = sql(CONNECTION_COLUMNS, (45, 5, 50))
    assert pg.pool_exhaustion(busy).verdict == "supported"
    assert pg.pool_exhaustion(busy).reason == "45 of 50 connections in use (90%)"
    assert pg.pool_size(busy).verdict == "not supported"
    assert pg.pool_size(busy).reason == "5 of 50 connection slots held idle by pools (10%), under 50%"
    idle = sql(CONNECTION_COLUMNS, (40, 38, 50))
    assert pg.pool_size(idle).verdict == "supported"
    assert pg.pool_exhaustion(sql(CONNECTION_COLUMNS, (8, 3, 50))).verdict == "not supported"
    assert pg.pool_exhaustion(sql(CONNECTION_COLUMNS, (8, 3, ""))).verdict == "unknown"


STATEMENT_COLUMNS = ("query", "calls", "mean_ms", "pages_per_call", "rows_per_call")
SCAN = ("SELECT id FROM orders WHERE note ILIKE $1 ORDER BY note LIMIT $2", 112, "1086.3", 11267, 20)
BULK_LOAD = ("INSERT INTO orders (id, customer_id, note) SELECT g, g % $3 + $4", 1, "2198.4", 4515275, 900000)
BY_ID = ("SELECT id, name, payload FROM items WHERE id = $1", 90000, "0.1", 3, 1)


def test_missing_indexes_from_the_pages_the_costliest_statements_read_per_call() -> None:
    judged = pg.seq_scans(sql(STATEMENT_COLUMNS, BULK_LOAD, SCAN, BY_ID))
    assert judged.verdict == "supported"
    assert judged.reason == (
        "SELECT id FROM orders WHERE note ILIKE $1 ORDER BY note LIMIT $2 reads 11,267 pages (88.0 MiB) per "
        "call for 20 rows, 112 calls of 1,086 ms"
    )
    assert judged.weight == pg.WEIGHT_MAX
    assert pg.inefficient_queries(sql(STATEMENT_COLUMNS, SCAN)).weight == pg.WEIGHT_MAX * pg.INEFFICIENT
    quiet = pg.seq_scans(sql(STATEMENT_COLUMNS, BULK_LOAD, BY_ID))  # a bulk load is no query scanning a table
    assert (quiet.verdict, quiet.reason) == (
        "not supported",
        "the 1 query taking the most time read at most 3 pages per call",
    )
    assert pg.seq_scans(sql(STATEMENT_COLUMNS)).verdict == "unknown"


def test_table_bloat_and_lock_contention() -> None:
    columns = ("relname", "n_live_tup", "n_dead_tup")
    assert pg.table_bloat(sql(columns, ("orders", 100000, 60000))).verdict == "supported"
    assert pg.table_bloat(sql(columns, ("orders", 300000, 12))).verdict == "not supported"
    assert pg.table_bloat(sql(columns)).verdict == "unknown"
    assert pg.lock_contention(sql(("waiting_on_locks",), (4,))).reason == "4 sessions waiting on a lock"
    assert pg.lock_contention(sql(("waiting_on_locks",), (4,))).verdict == "supported"
    assert pg.lock_contention(sql(("waiting_on_locks",), (0,))).verdict == "not supported"


def test_database_connection_failures_are_ruled_out_when_postgresql_answers() -> None:
    assert pg.database_failures(sql(("answers",), (1,))).reason == "PostgreSQL answers queries"
    assert pg.database_failures(sql(("answers",), (1,))).verdict == "not supported"
    down = pg.database_failures(failed("postgresql", "connection refused at 127.0.0.1:5432"))
    assert (down.verdict, down.reason) == (
        "supported",
        "PostgreSQL does not answer: connection refused at 127.0.0.1:5432",
    )
    assert pg.database_failures(failed("postgresql", "postgresql is not configured")).verdict == "unknown"


# --- Redis -------------------------------------------------------------------------------------------------


def test_missing_ttls_from_the_keyspaces_expires_share() -> None:
    judged = cache.missing_ttls(keyspace("db0:keys=15210,expires=210,avg_ttl=150000"))
    assert (judged.verdict, judged.reason) == ("supported", "15,000 of 15,210 keys in db0 have no TTL (99%)")
    judged = cache.missing_ttls(keyspace("db0:keys=1000,expires=990,avg_ttl=150000"))
    assert (judged.verdict, judged.reason) == ("not supported", "10 of 1,000 keys in db0 have no TTL (1%)")
    assert cache.missing_ttls(keyspace("db0:keys=12,expires=0,avg_ttl=0")).verdict == "not supported"


def test_short_ttls_from_the_keyspaces_average_ttl() -> None:
    assert cache.short_ttls(keyspace("db0:keys=500,expires=500,avg_ttl=20000")).verdict == "supported"
    judged = cache.short_ttls(keyspace("db0:keys=500,expires=500,avg_ttl=250000"))
    assert (judged.verdict, judged.reason) == (
        "not supported",
        "the 500 keys with a TTL in db0 have 4 min left on average, over 1 min",
    )
    assert cache.short_ttls(keyspace("db0:keys=500,expires=0,avg_ttl=0")).verdict == "unknown"


MEMORY = """# Memory
used_memory:{used}
used_memory_human:{used_human}
used_memory_rss:{rss}
used_memory_rss_human:{rss_human}
maxmemory_human:64.00M
maxmemory_policy:noeviction
mem_fragmentation_ratio:{ratio}
"""


def test_fragmentation_from_info_memory() -> None:
    fragmented = info(MEMORY.format(used=1, used_human="40.00M", rss=1, rss_human="90.00M", ratio="2.25"))
    judged = cache.fragmentation(fragmented)
    assert (judged.verdict, judged.reason) == (
        "supported",
        "mem_fragmentation_ratio 2.25 (RSS 90.0 MiB for 40.0 MiB of data)",
    )
    small = info(MEMORY.format(used=1, used_human="1.20M", rss=1, rss_human="8.00M", ratio="6.67"))
    assert cache.fragmentation(small).verdict == "not supported"  # the allocator's floor, not fragmentation
    packed = info(MEMORY.format(used=1, used_human="58.00M", rss=1, rss_human="61.00M", ratio="1.05"))
    assert cache.fragmentation(packed).verdict == "not supported"
    assert cache.fragmentation(info("# Memory\nused_memory:1\n")).verdict == "unknown"


def test_large_keys_from_the_key_sampler() -> None:
    judged = cache.large_keys(
        bigkeys(("catalog:all", "hash", 19_000_000, -1), ("item:1", "string", 120, 280))
    )
    assert (judged.verdict, judged.reason) == ("supported", "hash catalog:all holds 18.1 MiB, over 10.0 KiB")
    assert judged.weight == pg.WEIGHT_MAX
    judged = cache.large_keys(bigkeys(("fill:1", "string", 4200, -1)))
    assert judged.verdict == "not supported" and "4.1 KiB, under 10.0 KiB" in judged.reason


def test_large_keys_not_expiring_need_a_big_key_without_ttl() -> None:
    assert (
        cache.large_keys_not_expiring(bigkeys(("session:big", "string", 50_000, -1))).verdict == "supported"
    )
    with_ttl = cache.large_keys_not_expiring(bigkeys(("session:big", "string", 50_000, 300)))
    assert with_ttl.verdict == "not supported" and "has a TTL" in with_ttl.reason
    small = cache.large_keys_not_expiring(
        bigkeys(("fill:1", "string", 4096, -1), ("fill:2", "string", 1024, -1))
    )
    assert small.verdict == "not supported" and "fill:1, holds 4.0 KiB" in small.reason


def test_restart_or_flush_from_commandstats_and_uptime() -> None:
    flushed = info(
        "# Server\nuptime_in_seconds:86400\n# Commandstats\n"
        "cmdstat_flushall:calls=1,usec=120,usec_per_call=120.00,rejected_calls=0,failed_calls=0\n"
        "cmdstat_get:calls=5000,usec=9000,usec_per_call=1.80,rejected_calls=0,failed_calls=0\n"
        "# Keyspace\ndb0:keys=40,expires=40,avg_ttl=290000\n",
        shaping=_flush_fields,
    )
    assert [row[0] for row in flushed.rows] == ["uptime_in_seconds", "cmdstat_flushall", "db0"]
    judged = cache.restart_or_flush(flushed)
    assert (judged.verdict, judged.reason) == (
        "supported",
        "FLUSHALL 1 time since the stats were reset (up 1d)",
    )
    restarted = cache.restart_or_flush(info("# Server\nuptime_in_seconds:600\n", shaping=_flush_fields))
    assert (restarted.verdict, restarted.reason) == (
        "supported",
        "Redis restarted 10 min ago: it came back empty",
    )
    steady = cache.restart_or_flush(info("# Server\nuptime_in_seconds:3542400\n", shaping=_flush_fields))
    assert steady.verdict == "not supported" and "up 41d" in steady.reason
    assert cache.restart_or_flush(info("# Memory\nused_memory:1\n")).verdict == "unknown"


def test_bgsave_running_from_info_persistence() -> None:
    saving = info("# Persistence\nloading:0\nrdb_bgsave_in_progress:1\naof_rewrite_in_progress:0\n")
    assert cache.bgsave_running(saving).reason == "a BGSAVE is running now"
    idle = info("# Persistence\nloading:0\nrdb_bgsave_in_progress:0\naof_rewrite_in_progress:0\n")
    assert cache.bgsave_running(idle).verdict == "not supported"
    assert cache.bgsave_running(info("# Persistence\nloading:0\n")).verdict == "unknown"


def test_redis_unavailable_is_ruled_out_when_redis_answers() -> None:
    up = cache.redis_unavailable(info("# Server\nredis_version:7.0.15\nuptime_in_seconds:7200\n"))
    assert (up.verdict, up.reason) == ("not supported", "Redis answers (up 2h)")
    down = cache.redis_unavailable(failed("redis", "connection refused at 127.0.0.1:6379"))
    assert down.verdict == "supported"
    assert cache.redis_unavailable(failed("redis", "redis is not configured")).verdict == "unknown"


# --- the cluster and Prometheus --------------------------------------------------------------------------


def test_oom_killed_from_the_pods_last_termination() -> None:
    crashed = pods(
        pod("inmidst-api-1", waiting="CrashLoopBackOff", last="OOMKilled", restarts=4), pod("inmidst-api-2")
    )
    judged = cluster.oom_killed(crashed)
    assert (judged.verdict, judged.reason) == (
        "supported",
        "1 of 2 pods last ended OOMKilled (inmidst-api-1: 4 restarts, now CrashLoopBackOff)",
    )
    healthy = cluster.oom_killed(pods(pod("inmidst-api-1", last="Error", restarts=1), pod("inmidst-api-2")))
    assert (healthy.verdict, healthy.reason) == (
        "not supported",
        "none of 2 pods was OOMKilled (last ends: Error)",
    )


def test_a_crash_loop_after_an_oom_kill_is_not_a_startup_error() -> None:
    oom = pods(pod("inmidst-api-1", waiting="CrashLoopBackOff", last="OOMKilled", restarts=3))
    assert cluster.crash_loop(oom).verdict == "not supported"
    error = pods(pod("inmidst-api-1", waiting="CrashLoopBackOff", last="Error", restarts=3))
    judged = cluster.crash_loop(error)
    assert (judged.verdict, judged.reason) == (
        "supported",
        "1 pod in CrashLoopBackOff (inmidst-api-1: 3 restarts, last ended Error)",
    )
    assert cluster.crash_loop(pods(pod("inmidst-api-1"))).verdict == "not supported"


def test_image_pull_and_node_failure() -> None:
    assert cluster.image_pull(pods(pod("a", waiting="ImagePullBackOff"))).verdict == "supported"
    assert cluster.image_pull(pods(pod("a"))).verdict == "not supported"
    nodes = listing("nodes", node("node-1"), node("node-2", "False"))
    assert cluster.node_failure(nodes).reason == "1 of 2 nodes not Ready: node-2"
    ready = cluster.node_failure(listing("nodes", node("node-1"), node("node-2")))
    assert (ready.verdict, ready.reason) == ("not supported", "all 2 nodes Ready")
    assert cluster.node_failure(listing("nodes")).verdict == "unknown"


def test_a_recent_deploy_coincides_and_weighs_under_any_mechanism() -> None:
    history = listing(
        "helm history", revision(6, timedelta(days=2), "superseded"), revision(7, timedelta(minutes=3))
    )
    judged = cluster.recent_deploy(history)
    assert judged.verdict == "supported"
    assert judged.reason == "in-midst-my-life revision 7 (deployed) deployed 3 min ago"
    assert 0 < judged.weight < 1
    old = cluster.recent_deploy(listing("helm history", revision(3, timedelta(hours=2))))
    assert old.verdict == "not supported" and "2h ago, over 1h" in old.reason
    assert cluster.recent_deploy(listing("helm history")).verdict == "unknown"


def test_traffic_without_autoscaling_from_the_autoscalers() -> None:
    assert cluster.traffic_without_autoscaling(listing("hpas", hpa(10, 10))).verdict == "supported"
    judged = cluster.traffic_without_autoscaling(listing("hpas", hpa(3, 10)))
    assert (judged.verdict, judged.reason) == (
        "not supported",
        "autoscaler inmidst-api at 3 of max 10 replicas: it can still scale",
    )
    assert cluster.traffic_without_autoscaling(listing("hpas")).verdict == "unknown"


def test_disk_full_and_memory_pressure() -> None:
    volumes = ("persistentvolumeclaim", "used", "capacity", "used %")
    full = Reading.table("prometheus", "v", volumes, [("data-0", "47G", "50G", "94.0%")], read_at=T)
    assert cluster.disk_full(full).reason == "data-0 94% used"
    roomy = Reading.table("prometheus", "v", volumes, [("data-0", "41G", "50G", "82.4%")], read_at=T)
    assert cluster.disk_full(roomy).verdict == "not supported"
    limits = ("NAME", "MEMORY", "LIMIT", "USED")
    near = Reading.table("kubernetes", "m", limits, [("api-1", "466Mi", "512Mi", "91%")], read_at=T)
    assert cluster.memory_pressure(near).verdict == "supported"
    none = Reading.table("kubernetes", "m", limits, [("api-1", "466Mi", "no limit", "")], read_at=T)
    assert cluster.memory_pressure(none).verdict == "unknown"


def test_network_policies_are_ruled_out_only_when_there_are_none() -> None:
    assert cluster.network_policy(listing("network policies")).verdict == "not supported"
    policy = NetworkPolicyRow("production", "default-deny-ingress", "<all pods>", ("Ingress",))
    judged = cluster.network_policy(listing("network policies", policy))
    assert judged.verdict == "unknown" and "default-deny-ingress" in judged.reason


def test_a_refused_scrape_means_nothing_listens_and_no_dns_failure() -> None:
    down = targets(("redis", "127.0.0.1:9121", "down", "3s ago", REFUSED))
    judged = cluster.pod_crashed(down)
    assert (judged.verdict, judged.reason) == (
        "supported",
        "target redis at 127.0.0.1:9121 down: connection refused, nothing listens there",
    )
    assert cluster.dns_failure(down).verdict == "not supported"
    lookup = targets(
        ("api", "api:3001", "down", "3s ago", "dial tcp: lookup api on 10.0.0.10:53: no such host")
    )
    assert cluster.dns_failure(lookup).verdict == "supported"
    assert cluster.pod_crashed(lookup).verdict == "not supported"
    assert cluster.pod_crashed(NO_TARGET_DOWN).reason == "no target is down (5 active targets, 5 up)"
    assert cluster.pod_crashed(failed("prometheus", "prometheus is not configured")).verdict == "unknown"


def test_slow_responses_and_retry_storms_from_the_apis_metrics() -> None:
    slow = cluster.slow_responses(promql("2.31"))
    assert (slow.verdict, slow.reason) == ("supported", "API p95 latency 2.31 s over the last 2 min")
    assert cluster.slow_responses(promql("0.12")).verdict == "not supported"
    assert cluster.slow_responses(promql("NaN")).verdict == "unknown"
    assert cluster.retry_storm(promql("0.3")).verdict == "supported"
    calm = cluster.retry_storm(promql("0"))
    assert (calm.verdict, calm.reason) == (
        "not supported",
        "0.0% of API requests failed (5xx) in the last 2 min: no failure to retry after",
    )


# --- judge and rank ----------------------------------------------------------------------------------------


SQL_READ = LiveRead("postgresql", "sql", ReadParams(), command="")


def _plan(text: str, read: LiveRead | None = SQL_READ) -> CausePlan:
    return CausePlan(CommonCause(text, ()), read)


def test_a_cause_with_no_read_a_failed_read_or_no_answer_yet_is_unknown_with_why() -> None:
    assert judge(_plan("Upstream dependency timeout", None), None).reason == (
        "nothing oncall reads bears on it: check by hand"
    )
    assert judge(_plan("Connection leak"), None).reason == "not read yet"
    timed_out = judge(_plan("Connection leak"), failed("postgresql", "no answer within 15s"))
    assert (timed_out.verdict, timed_out.reason) == ("unknown", "the read failed: no answer within 15s")
    odd = judge(_plan("Connection leak"), Reading.table("postgresql", "q", ("x",), [("1",)], read_at=T))
    assert odd.verdict == "unknown"  # a table without the rule's columns decides nothing


def test_a_server_string_in_a_reason_is_cleaned() -> None:
    reading = sql(LEAK_COLUMNS, ("evil\x1b[31m[/red]app", 30, 0, 40, 9))
    finding = judge(_plan("Connection leak"), reading)
    assert "\x1b" not in finding.reason and "[/red]" in finding.reason  # text, never markup: shown as written


def _finding(verdict: str, weight: float = 0.0, text: str = "x") -> CauseFinding:
    return CauseFinding(CommonCause(text, ()), verdict, "r", weight)  # type: ignore[arg-type]


def test_rank_puts_supported_first_by_weight_then_unknown_then_not_supported_ties_in_runbook_order() -> None:
    findings = [
        _finding("not supported", text="a"),
        _finding("unknown", text="b"),
        _finding("supported", 1.2, "c"),
        _finding("supported", 3.0, "d"),
        _finding("unknown", text="e"),
        _finding("supported", 1.2, "f"),
    ]
    assert [f.cause.text for f in rank(findings)] == ["d", "c", "f", "b", "e", "a"]
    assert top_cause(findings) is findings[3]
    assert top_cause([_finding("unknown"), _finding("not supported")]) is None


def test_the_cause_name_is_its_words_up_to_the_first_colon() -> None:
    finding = _finding("supported", 1, "Bad deployment: rollback with `helm rollback in-midst-my-life`")
    assert finding.name == "Bad deployment"
    assert finding.as_json() == {"cause": "Bad deployment", "verdict": "supported", "reason": "r"}


def test_every_cause_with_a_read_has_a_rule() -> None:
    for section in RUNBOOK.sections:
        for plan in plan_causes(section, RUNBOOK):
            if plan.read is not None:
                assert rule_for(plan.cause) is not None, plan.cause.text


# --- the 12 lab faults: what each section's reads answer during the fault, and the cause ranked first

API = "inmidst-api"
HEALTHY_LEAK = sql(LEAK_COLUMNS, (API, 0, 0, 5, 0), ("oncall", 0, 0, 1, 0))
HEALTHY = {
    ("helm-history", None): listing("helm history", revision(1, timedelta(hours=5))),
    ("pods", None): pods(pod("p-1"), pod("p-2")),
    ("nodes", None): listing("nodes", node("node-1"), node("node-2")),
    ("hpas", None): listing("hpas", hpa(3, 10)),
    ("network-policies", None): listing("network policies"),
    ("services", None): listing("services"),
    ("memory-vs-limits", None): Reading.table(
        "kubernetes", "m", ("NAME", "MEMORY", "LIMIT", "USED"), [("p-1", "100Mi", "512Mi", "20%")], read_at=T
    ),
    ("volume-usage", None): failed("prometheus", "Prometheus has no kubelet_volume_stats_* series"),
    ("targets-down", None): NO_TARGET_DOWN,
    ("bigkeys", None): bigkeys(("item:1", "string", 180, 290)),
    ("info", "keyspace"): keyspace("db0:keys=1000,expires=1000,avg_ttl=200000"),
    ("info", "server"): info("# Server\nuptime_in_seconds:900\n"),
    ("info", "memory"): info(
        MEMORY.format(used=1, used_human="3.00M", rss=1, rss_human="9.00M", ratio="3.0")
    ),
    ("info", "persistence"): info("# Persistence\nrdb_bgsave_in_progress:0\naof_rewrite_in_progress:0\n"),
    ("flushes", None): info("# Server\nuptime_in_seconds:5400\n", shaping=_flush_fields),
    ("sql", "idle_in_transaction"): HEALTHY_LEAK,
    ("sql", "over_5_min"): sql(("over_5_min", "transactions", "oldest_s"), (0, 1, 0)),
    ("sql", "waiting_on_locks"): sql(("waiting_on_locks",), (0,)),
    ("sql", "answers"): sql(("answers",), (1,)),
    ("sql", "longest_s"): sql(SLOW_COLUMNS),
    ("sql", "max_connections"): sql(CONNECTION_COLUMNS, (8, 4, 50)),
    ("sql", "n_dead_tup"): sql(("relname", "n_live_tup", "n_dead_tup"), ("orders", 300000, 10)),
    ("sql", "pages_per_call"): sql(STATEMENT_COLUMNS, BY_ID),
    ("promql", "histogram_quantile"): promql("0.02"),
    ("promql", "5.."): promql("0"),
}
OOM = pods(pod("p-1", waiting="CrashLoopBackOff", last="OOMKilled", restarts=1))
FAULTS = {
    "high-api-error-rate": (
        {
            ("helm-history", None): listing(
                "helm history",
                revision(1, timedelta(hours=5), "superseded"),
                revision(2, timedelta(seconds=40)),
            ),
            ("promql", "5.."): promql("0.3"),
        },
        "Bad deployment",
    ),
    "high-api-latency": ({("sql", "longest_s"): sql(SLOW_COLUMNS, (API, 5, "2.4"))}, "Slow database queries"),
    "api-down": ({("pods", None): OOM}, "OOMKilled"),
    "high-database-connections": (
        {
            ("sql", "idle_in_transaction"): sql(LEAK_COLUMNS, (API, 38, 0, 43, 25), ("oncall", 0, 0, 1, 0)),
            ("sql", "max_connections"): sql(CONNECTION_COLUMNS, (44, 5, 50)),
        },
        "Connection leak",
    ),
    "slow-database-queries": (
        {("sql", "pages_per_call"): sql(STATEMENT_COLUMNS, SCAN, BY_ID)},
        "Missing indexes on frequently-queried columns",
    ),
    "postgresql-down": ({("pods", None): OOM}, "OOM killed"),
    "high-redis-memory": (
        {
            ("info", "keyspace"): keyspace("db0:keys=21000,expires=900,avg_ttl=200000"),
            ("bigkeys", None): bigkeys(("fill:77", "string", 4200, -1)),
            ("info", "memory"): info(
                MEMORY.format(used=1, used_human="58.00M", rss=1, rss_human="62.00M", ratio="1.07")
            ),
        },
        "Large session/cache keys not expiring",  # replaced below: the planted one is the TTLs
    ),
    "redis-down": (
        {("pods", None): OOM, ("info", "server"): failed("redis", "connection refused")},
        "OOM killed during BGSAVE",
    ),
    "slow-redis-operations": (
        {("bigkeys", None): bigkeys(("catalog:all", "hash", 21_000_000, -1))},
        "Large hash/set operations (>10KB values)",
    ),
    "high-active-connections": (
        {("promql", "histogram_quantile"): promql("2.2")},
        "Slow responses holding connections open",
    ),
    "low-cache-hit-ratio": (
        {
            ("flushes", None): info(
                "# Server\nuptime_in_seconds:5400\n# Commandstats\ncmdstat_flushall:calls=1,usec=9\n"
                "# Keyspace\ndb0:keys=300,expires=300,avg_ttl=280000\n",
                shaping=_flush_fields,
            ),
            ("helm-history", None): listing("helm history", revision(4, timedelta(minutes=12))),
        },
        "Recent Redis restart flushing all keys",
    ),
    "target-down": (
        {("targets-down", None): targets(("redis", "127.0.0.1:9121", "down", "1s ago", REFUSED))},
        "Pod crashed but service still registered",
    ),
}
FAULTS["high-redis-memory"] = (FAULTS["high-redis-memory"][0], "Missing TTLs on cached data")


def _key(read: LiveRead) -> tuple[str, str | None]:
    if read.read == "sql":
        statement = read.params.statement or ""
        marker = next(k for (name, k) in HEALTHY if name == "sql" and k and k in statement)
        return ("sql", marker)
    if read.read == "promql":
        statement = read.params.statement or ""
        return ("promql", next(k for (name, k) in HEALTHY if name == "promql" and k and k in statement))
    return (read.read, read.params.section)


@pytest.mark.parametrize("slug", sorted(FAULTS))
def test_each_lab_fault_ranks_its_planted_cause_first(slug: str) -> None:
    overrides, planted = FAULTS[slug]
    section = RUNBOOK.section(slug)
    assert section is not None
    plans = plan_causes(section, RUNBOOK)
    readings = {
        i: overrides.get(_key(p.read), HEALTHY[_key(p.read)])
        for i, p in enumerate(plans)
        if p.read is not None
    }
    findings = judge_all(plans, readings)
    top = top_cause(findings)
    assert top is not None and top.cause.text.startswith(planted), [
        (f.name, f.verdict, f.reason) for f in findings
    ]


def test_high_api_error_rate_rules_out_the_database_and_redis_when_both_answer() -> None:
    section = RUNBOOK.section("high-api-error-rate")
    assert section is not None
    plans = plan_causes(section, RUNBOOK)
    readings = {i: HEALTHY[_key(p.read)] for i, p in enumerate(plans) if p.read is not None}
    by_name = {f.name: f for f in judge_all(plans, readings)}
    assert (
        by_name["Database connection failures"].verdict,
        by_name["Database connection failures"].reason,
    ) == (
        "not supported",
        "PostgreSQL answers queries",
    )
    assert by_name["Redis unavailable"].verdict == "not supported"
    assert by_name["Upstream dependency timeout"].verdict == "unknown"


# --- diagnose ----------------------------------------------------------------------------------------------


def test_diagnose_with_no_source_configured_says_every_cause_is_unknown_and_never_raises() -> None:
    section = RUNBOOK.section("high-database-connections")
    assert section is not None
    findings = asyncio.run(diagnose(Sources(), RUNBOOK, section))
    assert [f.verdict for f in findings] == ["unknown"] * 4
    assert "postgresql is not configured" in findings[0].reason
    assert json.dumps([f.as_json() for f in findings])


EMPTY_TABLE = Reading.table("postgresql", "q", ("x",), [], read_at=T)


@pytest.mark.parametrize(
    ("rule", "reading"),
    [
        (pg.pool_size, sql(CONNECTION_COLUMNS)),
        (pg.lock_contention, sql(("waiting_on_locks",))),
        (cluster.oom_killed, Reading.text("kubernetes", "pods", ["(no pods)"], read_at=T)),
        (cluster.crash_loop, Reading.text("kubernetes", "pods", [], read_at=T)),
        (cluster.image_pull, Reading.text("kubernetes", "pods", [], read_at=T)),
        (cluster.disk_full, EMPTY_TABLE),
        (cluster.metrics_port, listing("services")),
        (cluster.dns_failure, failed("prometheus", "prometheus is not configured")),
        (cluster.retry_storm, promql("NaN")),
    ],
)
def test_each_rule_says_unknown_when_its_reading_cannot_decide(rule, reading) -> None:
    judged = rule(reading)
    assert judged.verdict == "unknown", judged
    assert judged.reason and judged.weight == 0.0
