"""The SQL guard never reads a catalog that holds credentials, in any spelling, whatever the role may read."""

from __future__ import annotations

import pytest

from probes.postgres import check_sql, judge_catalog
from probes.postgres.guard import Allowlist
from probes.postgres.guard_functions import CREDENTIAL_RELATIONS, WITHHELD_RELATIONS
from tui.triage.commands import LiveRead, classify
from tui.triage.plans import coverage, format_coverage
from tui.triage.runbook import parse_runbook

AUTHID = "refused: pg_authid holds role passwords; oncall never reads credentials, whatever the role may read"

# every way the grammar lets a statement reach pg_authid's rows
AUTHID_SPELLINGS = [
    "SELECT rolname, rolpassword FROM pg_authid;",
    "SELECT * FROM pg_authid",
    "TABLE pg_authid",
    "TABLE pg_catalog.pg_authid",
    'SELECT rolpassword FROM "pg_authid"',
    'SELECT rolpassword FROM "pg_catalog"."pg_authid"',
    "SELECT rolpassword FROM PG_CATALOG.PG_AUTHID",
    "SELECT rolpassword FROM inmidst.pg_catalog.pg_authid",
    "SELECT rolpassword FROM pg_catalog . /* a comment */ pg_authid",
    "SELECT rolpassword FROM ONLY pg_authid",
    "SELECT rolpassword FROM pg_authid *",
    "SELECT a FROM pg_authid a",  # a whole-row reference
    "SELECT a.* FROM pg_authid AS a",
    "SELECT row_to_json(a) FROM pg_authid a",  # a function taking the row
    "SELECT a::text FROM pg_authid a",
    "SELECT (a).rolpassword FROM pg_authid a",
    "SELECT f FROM pg_authid AS a(r, s, i, c, d, l, e, b, n, v, f)",  # columns renamed by position
    "WITH r AS (SELECT * FROM pg_authid) SELECT * FROM r",
    "WITH RECURSIVE r AS (SELECT rolpassword FROM pg_authid) SELECT * FROM r",
    "WITH pg_authid AS (SELECT 1) SELECT * FROM pg_catalog.pg_authid",  # the CTE does not hide the catalog
    "SELECT * FROM (WITH pg_authid AS (SELECT 1) SELECT 1) s, pg_authid",  # nor does one in another scope
    "SELECT * FROM (SELECT rolpassword FROM pg_authid) s",
    "SELECT (SELECT rolpassword FROM pg_authid LIMIT 1)",
    "SELECT 1 WHERE EXISTS (SELECT 1 FROM pg_authid WHERE rolpassword LIKE 'SCRAM%')",
    "SELECT 1 WHERE 'x' IN (SELECT rolpassword FROM pg_authid)",
    "SELECT count((SELECT rolpassword FROM pg_authid LIMIT 1))",
    "SELECT r.rolname FROM pg_roles r JOIN pg_authid a ON a.oid = r.oid",
    "SELECT * FROM pg_roles r, LATERAL (SELECT rolpassword FROM pg_authid a WHERE a.oid = r.oid) p",
    "SELECT * FROM pg_roles NATURAL JOIN pg_authid",
    "SELECT rolname FROM pg_roles UNION SELECT rolpassword FROM pg_authid",
    "(SELECT 1) UNION ALL (TABLE pg_authid)",
    "VALUES ((SELECT rolpassword FROM pg_authid LIMIT 1))",
    "SELECT 1 ORDER BY (SELECT rolpassword FROM pg_authid LIMIT 1)",
    "EXPLAIN SELECT * FROM pg_authid",
]


@pytest.mark.parametrize("sql", AUTHID_SPELLINGS)
def test_pg_authid_is_refused_in_every_spelling(sql: str) -> None:
    verdict = check_sql(sql)
    assert not verdict.allowed
    assert verdict.statement == ""
    assert verdict.reason == f"{AUTHID} (pg_roles shows the rest)"


@pytest.mark.parametrize(("schema", "name"), sorted(CREDENTIAL_RELATIONS))
def test_each_credential_catalog_is_refused_unqualified_and_qualified(schema: str, name: str) -> None:
    for written in (name, f"{schema}.{name}", f'"{schema}"."{name}"'):
        reason = check_sql(f"SELECT * FROM {written}").reason
        assert reason.startswith(f"refused: {name} {CREDENTIAL_RELATIONS[schema, name]}; "), reason
        assert "oncall never reads credentials, whatever the role may read" in reason


@pytest.mark.parametrize(("schema", "name"), sorted(WITHHELD_RELATIONS))
def test_each_catalog_the_server_withholds_is_refused_and_says_so(schema: str, name: str) -> None:
    reason = check_sql(f"TABLE {schema}.{name}").reason
    assert reason == (
        f"refused: {name} {WITHHELD_RELATIONS[schema, name]}, which the server withholds from ordinary "
        "roles; oncall reads only what the server lets every role read, whatever role it runs as"
    )


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("SELECT usename, passwd FROM pg_shadow;", "refused: pg_shadow holds role passwords; "),
        ("SELECT umoptions FROM pg_user_mappings", "refused: pg_user_mappings holds user mappings' options"),
        (
            "SELECT option_value FROM information_schema.user_mapping_options",
            "refused: user_mapping_options holds user mappings' options, where foreign-data wrappers keep",
        ),
        ("SELECT srvoptions FROM pg_foreign_server", "refused: pg_foreign_server holds foreign servers'"),
        (
            "SELECT subconninfo FROM pg_subscription",
            "refused: pg_subscription holds subscriptions' connection",
        ),
        ("SELECT subname FROM pg_subscription", "refused: pg_subscription holds"),  # the whole relation
        ("SELECT * FROM pg_hba_file_rules()", "refused: pg_hba_file_rules() returns pg_hba.conf's options"),
        ("SELECT * FROM pg_show_all_file_settings()", "refused: pg_show_all_file_settings() returns the"),
        ("SELECT table_to_xml('pg_authid', true, false, '')", "refused: table_to_xml() reads every row"),
        ("SELECT schema_to_xml('pg_catalog', true, false, '')", "refused: schema_to_xml() reads every row"),
        ("SELECT database_to_xml(true, false, '')", "refused: database_to_xml() reads every row"),
    ],
)
def test_the_reason_says_what_is_refused_and_why(sql: str, reason: str) -> None:
    assert check_sql(sql).reason.startswith(reason)


def test_what_is_left_of_each_points_to_a_view_that_masks_the_credential() -> None:
    assert check_sql("TABLE pg_shadow").reason.endswith("(pg_user shows the rest)")
    assert check_sql("TABLE pg_foreign_server").reason.endswith(
        "(information_schema.foreign_servers shows the rest)"
    )
    assert check_sql("TABLE pg_subscription").reason.endswith("(pg_stat_subscription shows their state)")
    assert check_sql("TABLE pg_user_mappings").reason.endswith(
        "(information_schema.user_mappings shows who is mapped to which server)"
    )


def test_the_config_cannot_allow_a_function_that_reads_credentials() -> None:
    allow = Allowlist(functions=frozenset({"table_to_xml", "pg_catalog.pg_hba_file_rules"}))
    assert not check_sql("SELECT table_to_xml('pg_authid', true, false, '')", allow=allow).allowed
    assert not check_sql("SELECT * FROM pg_catalog.pg_hba_file_rules()", allow=allow).allowed


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT rolname, rolpassword FROM pg_roles",  # the server shows ******** there
        "SELECT usename, passwd FROM pg_user",
        "SELECT * FROM pg_stat_subscription",
        "SELECT foreign_server_name FROM information_schema.foreign_servers",
        "SELECT * FROM information_schema.user_mappings",  # who is mapped, without the options
        "SELECT * FROM public.pg_authid",  # a table of the same name in another schema
        "SELECT * FROM app.pg_subscription",
        "WITH pg_authid AS (SELECT 'x' AS rolname) SELECT rolname FROM pg_authid",  # a CTE, not the catalog
        "SELECT 'pg_authid'::regclass, NULL::pg_authid",  # its OID and row type, not its rows
        "SELECT rolname FROM pg_roles WHERE rolname = 'pg_authid'",
    ],
)
def test_reads_that_hold_no_credential_are_still_allowed(sql: str) -> None:
    verdict = check_sql(sql)
    assert verdict.allowed, verdict.reason


# --- the catalog check's answer: a relation that reaches a credential catalog on the server ----------------


def row(
    identity: str, withheld: str | None, *, builtin: bool = False, detail: str = "v"
) -> tuple[object, ...]:
    """One relation row of CATALOG_SQL: kind, asked, schema, identity, built-in, relkind, extension,
    function, and the built-in it reads that holds credentials or is withheld from PUBLIC."""
    return ("relation", identity, "public", identity, builtin, detail, None, None, withheld)


def test_a_view_over_pg_authid_is_refused_even_when_the_config_allows_it() -> None:
    allow = Allowlist(relations=frozenset({"role_passwords"}))
    assert judge_catalog([row("role_passwords", "pg_catalog.pg_authid")], allow) == (
        "refused: role_passwords reads pg_authid, which holds role passwords; "
        "oncall never reads credentials, whatever the role may read (pg_roles shows the rest)"
    )


def test_a_catalog_no_list_names_is_refused_when_public_may_not_read_it() -> None:
    withheld = (
        "refused: pg_new_secrets is withheld from ordinary roles by the server (PUBLIC may not read it); "
    )
    direct = judge_catalog([row("pg_new_secrets", "pg_catalog.pg_new_secrets", builtin=True, detail="r")])
    assert direct.startswith(withheld)
    through = judge_catalog([row("v", "information_schema.new_options")])
    assert through.startswith(
        "refused: v reads information_schema.new_options, which is withheld from ordinary"
    )


def test_a_view_that_reaches_no_credential_is_judged_as_before() -> None:
    assert judge_catalog([row("orders_view", None)]).startswith("refused: orders_view is a user-defined view")
    assert judge_catalog([row("orders_view", None)], Allowlist(relations=frozenset({"orders_view"}))) == ""
    assert judge_catalog([row("orders", None, detail="r")]) == ""


# --- what a runbook's coverage says, offline ----------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "SELECT rolname, rolpassword FROM pg_authid;",
        'psql -c "SELECT usename, passwd FROM pg_shadow;"',
        'kubectl -n production exec deploy/inmidst-postgres -- psql -c "TABLE pg_user_mappings"',
    ],
)
def test_a_runbook_command_reading_credentials_is_not_live(command: str) -> None:
    result = classify(command)
    assert not isinstance(result, LiveRead)
    assert "oncall never reads credentials" in result.reason


def test_coverage_says_the_guard_refused_both_and_why() -> None:
    runbook = parse_runbook(
        "## leaked-credentials\n\n**Alert**: x\n\n**Triage**:\n"
        "1. List the roles: `SELECT rolname, rolpassword FROM pg_authid;`\n"
        "2. Check the shadow file: `SELECT usename, passwd FROM pg_shadow;`\n"
    )
    shown = format_coverage(coverage(runbook))
    assert "leaked-credentials: 0 live, 0 derived, 2 copy-only, 0 manual" in shown
    assert f"the PostgreSQL guard refused it: {AUTHID.removeprefix('refused: ')}" in shown
    assert "the PostgreSQL guard refused it: pg_shadow holds role passwords; oncall never reads" in shown
