"""Hostile runbook SQL on a real PostgreSQL: whatever can act is refused before the statement runs.

A database of its own holds the traps a careless or hostile runbook could name: SECURITY DEFINER functions
that terminate sessions, take advisory locks, advance sequences, notify and lift the statement timeout; an
operator, a cast and a view that call such a function; a function that shadows a built-in through
search_path. Each statement goes through the probe as a runbook step would, and the test proves from the
server's side that it never ran: its text is not in the server's log, the victim session lives, no advisory
lock is held, the sequence did not move, no notification arrived, the session's timeout is unchanged.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest

from probes.postgres import CATALOG_SQL, PostgresProbe
from tests.integration.test_postgres_probe import probe_for
from tests.labs.postgres import PgLab
from tui.triage.commands import LiveRead, classify
from tui.triage.plans import coverage
from tui.triage.runbook import parse_runbook

pytestmark = pytest.mark.integration

DB = "hostile"
VICTIM = "victim"  # application_name of a session audit_kill() would terminate
_KILL = "PERFORM pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'victim';"


def _definer(signature: str, returns: str, body: str) -> str:
    """A plpgsql function that runs with its owner's (the superuser's) rights, whoever calls it."""
    plpgsql = f"LANGUAGE plpgsql SECURITY DEFINER AS $$ BEGIN {body} END $$"
    return f"CREATE FUNCTION {signature} RETURNS {returns} {plpgsql}"


SETUP = [
    "CREATE SEQUENCE hostile_seq",
    "CREATE TABLE hostile_t (x int)",
    "INSERT INTO hostile_t VALUES (1)",
    "CREATE TYPE mood AS ENUM ('calm')",
    _definer("audit_kill()", "int", f"{_KILL} RETURN 1;"),
    _definer("take_lock()", "int", "PERFORM pg_advisory_lock(4242); RETURN 1;"),
    _definer("bump()", "bigint", "RETURN nextval('hostile_seq');"),
    _definer("shout()", "int", "PERFORM pg_notify('hostile', 'x'); RETURN 1;"),
    _definer("lift()", "int", "PERFORM set_config('statement_timeout', '0', false); RETURN 1;"),
    _definer("kill_eq(int, int)", "boolean", f"{_KILL} RETURN $1 = $2;"),
    "CREATE OPERATOR === (LEFTARG = int, RIGHTARG = int, FUNCTION = kill_eq)",
    _definer("mood_text(mood)", "text", f"{_KILL} RETURN 'calm';"),
    "CREATE CAST (mood AS text) WITH FUNCTION mood_text(mood)",
    "CREATE VIEW kill_view AS SELECT audit_kill() AS killed",
    _definer("hostile_f(hostile_t)", "int", f"{_KILL} RETURN 1;"),
    # lower(text) is a built-in; lower(42) picks this one, since no integer → text cast is implicit
    _definer("public.lower(integer)", "text", f"{_KILL} RETURN 'x';"),
    "CREATE SCHEMA shadow",
    _definer("shadow.now()", "timestamptz", f"{_KILL} RETURN pg_catalog.now();"),
    "GRANT USAGE ON SCHEMA shadow TO PUBLIC",
    "GRANT SELECT ON hostile_t, kill_view TO PUBLIC",
    "GRANT USAGE, SELECT ON SEQUENCE hostile_seq TO PUBLIC",
    # the monitor's sessions here search shadow first: an unqualified now() reaches shadow.now()
    f"ALTER ROLE oncall_monitor IN DATABASE {DB} SET search_path = shadow, pg_catalog, public",
]

# (statement, what it would do, which step refuses it: the text alone, or the server's catalog): {m}
# becomes a marker comment inside the statement, so the server's log shows whether it was ever sent
HOSTILE = [
    ("SELECT /*{m}*/ audit_kill()", "terminates the victim (SECURITY DEFINER)", "text"),
    ("SELECT /*{m}*/ * FROM audit_kill()", "the same, as a table function", "text"),
    ("VALUES (/*{m}*/ audit_kill())", "the same, in VALUES", "text"),
    ("SELECT /*{m}*/ take_lock()", "a session advisory lock that outlives ROLLBACK", "text"),
    ("SELECT /*{m}*/ bump()", "nextval inside a function", "text"),
    ("SELECT /*{m}*/ shout()", "pg_notify inside a function", "text"),
    ("SELECT /*{m}*/ lift()", "set_config(…, false) inside a function", "text"),
    ("SELECT /*{m}*/ pg_advisory_lock(4242)", "an advisory lock", "text"),
    ("SELECT /*{m}*/ nextval('hostile_seq')", "advances the sequence", "text"),
    ("SELECT /*{m}*/ pg_notify('hostile', 'x')", "notifies", "text"),
    (
        "SELECT /*{m}*/ set_config('statement_timeout', '0', false)",
        "lifts the timeout for the session",
        "text",
    ),
    (
        "SELECT /*{m}*/ dblink('dbname=hostile', 'SELECT audit_kill()')",
        "runs SQL on another connection",
        "text",
    ),
    ("SELECT /*{m}*/ lo_import('/etc/passwd')", "reads a server file into a large object", "text"),
    ("SELECT /*{m}*/ 1 === 1", "a user-defined operator whose function kills", "catalog"),
    ("SELECT /*{m}*/ 'calm'::mood::text", "a user-defined cast whose function kills", "catalog"),
    ("SELECT /*{m}*/ text('calm'::mood)", "the same cast, written as a function call", "catalog"),
    ("SELECT /*{m}*/ * FROM kill_view", "a view whose column calls audit_kill()", "catalog"),
    (
        "SELECT /*{m}*/ t.hostile_f FROM hostile_t t",
        "attribute notation: t.hostile_f calls hostile_f(t)",
        "catalog",
    ),
    ("SELECT /*{m}*/ lower(42)", "a user function that overloads a built-in name", "catalog"),
    ("SELECT /*{m}*/ now()", "a user function that shadows a built-in through search_path", "catalog"),
]


@pytest.fixture(scope="module")
def hostile_db(pg_server: PgLab) -> Iterator[PgLab]:
    with psycopg.connect(pg_server.dsn("postgres", "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    with psycopg.connect(pg_server.dsn("postgres", DB), autocommit=True) as conn:
        for statement in SETUP:
            conn.execute(statement)  # type: ignore[arg-type]  # the test's own fixed text
    yield pg_server
    with psycopg.connect(pg_server.dsn("postgres", "postgres"), autocommit=True) as conn:
        conn.execute(f"ALTER ROLE oncall_monitor IN DATABASE {DB} RESET search_path")
        conn.execute(f"DROP DATABASE {DB} WITH (FORCE)")


@pytest.fixture
def victim(hostile_db: PgLab) -> Iterator[psycopg.Connection]:
    """A session audit_kill() would terminate, listening for what shout() would send."""
    with psycopg.connect(hostile_db.dsn("postgres", DB), autocommit=True, application_name=VICTIM) as conn:
        conn.execute("LISTEN hostile")
        yield conn


@pytest.fixture
async def probe(hostile_db: PgLab) -> AsyncIterator[PostgresProbe]:
    probe = probe_for(hostile_db, database=DB)
    try:
        yield probe
    finally:
        await probe.aclose()


def server_state(lab: PgLab) -> tuple[int, tuple[int, bool]]:
    """(advisory locks held, the sequence's last_value and is_called), read as the superuser."""
    with psycopg.connect(lab.dsn("postgres", DB), autocommit=True) as conn:
        locks = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone()
        seq = conn.execute("SELECT last_value, is_called FROM hostile_seq").fetchone()
    assert locks is not None and seq is not None
    return locks[0], (seq[0], seq[1])


@pytest.mark.parametrize(
    ("template", "does", "layer"), HOSTILE, ids=[h[0].replace("/*{m}*/ ", "") for h in HOSTILE]
)
async def test_hostile_statement_is_refused_before_it_runs(
    hostile_db: PgLab, victim: psycopg.Connection, probe: PostgresProbe, template: str, does: str, layer: str
) -> None:
    marker = f"hostile-{uuid.uuid4().hex}"
    statement = template.format(m=marker)
    before = server_state(hostile_db)

    reading = await probe.run_statement(statement)

    assert not reading.ok, f"{statement} ran: it {does}"
    assert reading.problem.startswith("refused: "), reading.problem
    assert not any(marker in text for text in probe.sent)  # the statement itself was never sent
    # refused from the text alone (nothing sent), or by the catalog check (only that query sent)
    assert probe.sent == ([] if layer == "text" else ["BEGIN READ ONLY", CATALOG_SQL, "ROLLBACK"])
    assert not any(marker in text for text in hostile_db.statements_logged("oncall"))
    assert victim.execute("SELECT 1").fetchone() == (1,)  # the victim session lives
    assert list(victim.notifies(timeout=0.2, stop_after=1)) == []  # nothing was notified
    assert server_state(hostile_db) == before  # no advisory lock taken, the sequence did not move
    shown = await probe.run_statement("SHOW statement_timeout")
    assert shown.ok and shown.rows == (("5s",),)  # the session's timeout is still in force


async def test_the_same_database_answers_plain_reads(hostile_db: PgLab, probe: PostgresProbe) -> None:
    # the control: the refusals above come from what each statement reaches, not from this database
    marker = f"control-{uuid.uuid4().hex}"
    for statement in (
        f"SELECT /*{marker}*/ count(*) FROM pg_stat_activity",
        f"SELECT /*{marker}*/ x, pg_catalog.now() > pg_catalog.now() - interval '1 day' FROM hostile_t",
        f"SELECT /*{marker}*/ pg_catalog.lower('ABC'), 1 = 1",  # qualified: the user's lower() is not reached
    ):
        reading = await probe.run_statement(statement)
        assert reading.ok, reading.problem
    deadline = time.monotonic() + 5.0
    while len(logged := [t for t in hostile_db.statements_logged("oncall") if marker in t]) < 3:
        assert time.monotonic() < deadline, logged  # each allowed statement did reach the server
        time.sleep(0.05)


async def test_refusals_name_the_object_and_why(probe: PostgresProbe, victim: psycopg.Connection) -> None:
    reasons = {
        "SELECT audit_kill()": "audit_kill() is not one of PostgreSQL's built-in read-only functions",
        "SELECT 1 === 1": "the operator === reaches",
        "SELECT 'calm'::mood::text": "user-defined cast mood AS text WITH FUNCTION public.mood_text(mood)",
        "SELECT * FROM kill_view": "kill_view is a user-defined view",
        "SELECT lower(42)": "lower() reaches the user-defined function public.lower(integer)",
        "SELECT now()": "now() reaches the user-defined function shadow.now()",
        "SELECT t.hostile_f FROM hostile_t t": "hostile_f (t.hostile_f calls hostile_f(t)) reaches",
    }
    for statement, reason in reasons.items():
        reading = await probe.run_statement(statement)
        assert reason in reading.problem, (statement, reading.problem)


async def test_a_function_the_config_allows_by_name_runs(
    hostile_db: PgLab, victim: psycopg.Connection
) -> None:
    # the team's escape hatch: a function named in [postgres] allow_functions is trusted to only read
    with psycopg.connect(hostile_db.dsn("postgres", DB), autocommit=True) as conn:
        conn.execute("CREATE OR REPLACE FUNCTION public.orders_open() RETURNS int LANGUAGE sql AS 'SELECT 3'")
    allowed = probe_for(hostile_db, database=DB, allow_functions=("public.orders_open",))
    refused = probe_for(hostile_db, database=DB)
    try:
        assert (await allowed.run_statement("SELECT orders_open()")).rows == (("3",),)
        assert "orders_open()" in (await refused.run_statement("SELECT orders_open()")).problem
    finally:
        await allowed.aclose()
        await refused.aclose()


async def test_an_implicit_user_cast_refuses_every_statement_that_could_use_it(
    hostile_db: PgLab, probe: PostgresProbe
) -> None:
    with psycopg.connect(hostile_db.dsn("postgres", DB), autocommit=True) as conn:
        conn.execute(_definer("mood_int(mood)", "int", f"{_KILL} RETURN 1;"))  # type: ignore[arg-type]
        conn.execute("CREATE CAST (mood AS int) WITH FUNCTION mood_int(mood) AS IMPLICIT")
    try:
        reading = await probe.run_statement("SELECT x FROM hostile_t WHERE x = 1")
        assert "implicit cast mood AS integer WITH FUNCTION public.mood_int(mood)" in reading.problem
    finally:
        with psycopg.connect(hostile_db.dsn("postgres", DB), autocommit=True) as conn:
            conn.execute("DROP CAST (mood AS int)")
            conn.execute("DROP FUNCTION mood_int(mood)")


async def test_a_user_operator_named_like_the_built_in_equals_is_refused_among_them(
    hostile_db: PgLab, probe: PostgresProbe, victim: psycopg.Connection
) -> None:
    # `=` reaches ~60 built-in operators, which the server leaves out of the catalog check's answer: the one
    # user-defined `=`, in another schema on the search_path, must still be found and refused
    with psycopg.connect(hostile_db.dsn("postgres", DB), autocommit=True) as conn:
        conn.execute(_definer("shadow.mood_eq(mood, mood)", "boolean", f"{_KILL} RETURN true;"))  # type: ignore[arg-type]
        conn.execute("CREATE OPERATOR shadow.= (LEFTARG = mood, RIGHTARG = mood, FUNCTION = shadow.mood_eq)")
    try:
        reading = await probe.run_statement("SELECT x FROM hostile_t WHERE x = 1")
        expected = "refused: the operator = reaches =(mood,mood), which calls the user-defined function "
        expected += "shadow.mood_eq"
        assert reading.problem.startswith(expected), reading.problem
        assert not victim.closed and victim.execute("SELECT 1").fetchone() == (1,)  # nothing was run
    finally:
        with psycopg.connect(hostile_db.dsn("postgres", DB), autocommit=True) as conn:
            conn.execute("DROP OPERATOR shadow.= (mood, mood)")
            conn.execute("DROP FUNCTION shadow.mood_eq(mood, mood)")


@pytest.mark.parametrize(
    "command",
    [
        'psql -c "SELECT audit_kill()"',
        'kubectl -n production exec deploy/inmidst-postgres -- psql -c "SELECT audit_kill()"',
        "`SELECT * FROM audit_kill()`",
        "VALUES (audit_kill())",
    ],
)
def test_a_runbook_command_calling_a_user_function_is_not_live(command: str) -> None:
    result = classify(command.strip("`"))
    assert not isinstance(result, LiveRead)
    assert "audit_kill()" in result.reason


def test_coverage_no_longer_labels_a_user_function_live() -> None:
    runbook = parse_runbook(
        "## db-audit\n\n**Alert**: x\n\n**Triage**:\n1. Audit: `SELECT audit_kill()`\n"
        '2. From the pod: `kubectl exec deploy/db -- psql -c "SELECT * FROM audit_kill()"`\n'
    )
    steps = [plan for section in coverage(runbook).sections for plan in section.plans]
    assert [plan.kind for plan in steps] == ["copy-only", "copy-only"]
