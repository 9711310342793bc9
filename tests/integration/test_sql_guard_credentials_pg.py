"""The catalogs that hold credentials, on a real PostgreSQL read as a superuser: refused, with the reason.

The worst case: oncall configured with a superuser DSN (it only warns), which the server lets read every
role's password hash, user mappings' passwords and subscriptions' connection strings. A database of its own
holds all three (a role with an md5 hash too), and views a superuser made over them. Each statement goes
through the probe as a checklist step would (run_statement), and no password or hash comes back.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest

from probes.base import Reading
from probes.postgres import CATALOG_SQL, PostgresProbe
from probes.postgres.guard_functions import CREDENTIAL_RELATIONS, WITHHELD_RELATIONS
from tests.integration.test_postgres_probe import probe_for
from tests.labs.postgres import SUPERUSER, PgLab
from tui.triage.plans import coverage, format_coverage
from tui.triage.runbook import parse_runbook

pytestmark = pytest.mark.integration

DB = "credentials"
FDW_PASSWORD = "fdw-mapping-secret-41c7"
SUBSCRIPTION_PASSWORD = "subscription-secret-8e2a"
MD5_ROLE, MD5_PASSWORD = "legacy_md5", "legacy-md5-pw"
CREDENTIALS = "oncall never reads credentials, whatever the role may read"
WITHHELD = "oncall reads only what the server lets every role read, whatever role it runs as"

SETUP = [
    "SET password_encryption = 'md5'",
    f"CREATE ROLE {MD5_ROLE} LOGIN PASSWORD '{MD5_PASSWORD}'",
    "RESET password_encryption",
    "CREATE EXTENSION postgres_fdw",
    "CREATE SERVER elsewhere FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', dbname 'x')",
    f"CREATE USER MAPPING FOR PUBLIC SERVER elsewhere OPTIONS (user 'app', password '{FDW_PASSWORD}')",
    # connect = false: made without a publisher, its connection string kept as written
    f"CREATE SUBSCRIPTION feed CONNECTION 'host=127.0.0.1 dbname=x password={SUBSCRIPTION_PASSWORD}' "
    "PUBLICATION p WITH (connect = false, slot_name = NONE, enabled = false)",
    # what a superuser could make for a runbook: views over the credential catalogs, one over another
    "CREATE VIEW role_passwords AS SELECT rolname, rolpassword FROM pg_authid",
    "CREATE VIEW logins AS SELECT rolname FROM role_passwords",
    "CREATE VIEW mapping_rows AS SELECT row_to_json(m) AS mapping FROM pg_user_mappings m",
    "CREATE VIEW feeds AS SELECT s.subname FROM (SELECT * FROM pg_subscription) s",
    "CREATE MATERIALIZED VIEW role_snapshot AS SELECT r.* FROM pg_roles r JOIN pg_authid a USING (oid)",
    "CREATE VIEW role_names AS SELECT rolname, rolpassword FROM pg_roles",  # masked: '********'
]

# statement -> what the reason says; each refused from its text alone, nothing sent
REFUSED_BY_NAME = {
    "SELECT rolname, rolpassword FROM pg_authid;": f"pg_authid holds role passwords; {CREDENTIALS}",
    "SELECT usename, passwd FROM pg_shadow;": f"pg_shadow holds role passwords; {CREDENTIALS}",
    'TABLE "pg_catalog"."pg_authid"': "pg_authid holds role passwords",
    "SELECT row_to_json(a) FROM pg_authid AS a(x, y, z)": "pg_authid holds role passwords",
    "WITH r AS (SELECT * FROM pg_catalog.pg_shadow) SELECT r FROM r": "pg_shadow holds role passwords",
    "SELECT srvname, umoptions FROM pg_user_mappings": "pg_user_mappings holds user mappings' options",
    "SELECT * FROM information_schema.user_mapping_options": "user_mapping_options holds user mappings'",
    "SELECT * FROM information_schema._pg_user_mappings": "_pg_user_mappings holds user mappings'",
    "SELECT umoptions FROM pg_user_mapping": "pg_user_mapping holds user mappings' options",
    "SELECT srvoptions FROM pg_foreign_server": "pg_foreign_server holds foreign servers' options",
    "SELECT * FROM information_schema.foreign_server_options": "foreign_server_options holds foreign",
    "SELECT subname, subconninfo FROM pg_subscription": "pg_subscription holds subscriptions' connection",
    "SELECT * FROM pg_file_settings": "pg_file_settings holds the configuration files' settings",
    "SELECT * FROM pg_hba_file_rules": "pg_hba_file_rules holds pg_hba.conf's options",
    "SELECT * FROM pg_hba_file_rules()": "pg_hba_file_rules() returns pg_hba.conf's options",
    "SELECT table_to_xml('pg_authid', true, false, '')": "table_to_xml() reads every row of the tables",
    "SELECT schema_to_xml('pg_catalog', true, false, '')": "schema_to_xml() reads every row of the tables",
}

# a view a superuser made, refused by the catalog check: the view is reached by its own name
REFUSED_ON_THE_SERVER = {
    "SELECT * FROM role_passwords": (
        f"role_passwords reads pg_authid, which holds role passwords; {CREDENTIALS}"
    ),
    "SELECT * FROM logins": "logins reads pg_authid, which holds role passwords",
    "SELECT * FROM mapping_rows": "mapping_rows reads pg_user_mappings, which holds user mappings'",
    "SELECT * FROM feeds": "feeds reads pg_subscription, which holds subscriptions' connection",
    "SELECT * FROM role_snapshot": "role_snapshot reads pg_authid, which holds role passwords",
}

# what a runbook reads about roles, servers and subscriptions without their credentials: still live
STILL_READ = [
    "SELECT rolname, rolpassword FROM pg_roles",
    "SELECT usename, passwd FROM pg_user",
    "SELECT foreign_server_name FROM information_schema.foreign_servers",
    "SELECT subname FROM pg_stat_subscription",
    "SELECT name, setting FROM pg_settings WHERE name = 'max_connections'",
    "SELECT count(*) FROM pg_stat_activity",
]


@pytest.fixture(scope="module")
def credentials_db(pg_server: PgLab) -> Iterator[PgLab]:
    with psycopg.connect(pg_server.dsn(SUPERUSER, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"DROP ROLE IF EXISTS {MD5_ROLE}")
        conn.execute(f"CREATE DATABASE {DB}")
    with psycopg.connect(pg_server.dsn(SUPERUSER, DB), autocommit=True) as conn:
        for statement in SETUP:
            conn.execute(statement)  # type: ignore[arg-type]  # the test's own fixed text
    yield pg_server
    with psycopg.connect(pg_server.dsn(SUPERUSER, DB), autocommit=True) as conn:
        conn.execute("ALTER SUBSCRIPTION feed SET (slot_name = NONE)")
        conn.execute("DROP SUBSCRIPTION feed")
    with psycopg.connect(pg_server.dsn(SUPERUSER, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {DB} WITH (FORCE)")
        conn.execute(f"DROP ROLE {MD5_ROLE}")


@pytest.fixture(scope="module")
def secrets(credentials_db: PgLab) -> list[str]:
    """Every password hash on the server, and the passwords in the user mapping and subscription."""
    with psycopg.connect(credentials_db.dsn(SUPERUSER, DB), autocommit=True) as conn:
        rows = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolpassword IS NOT NULL").fetchall()
    hashes = [h for (h,) in rows]
    assert any(h.startswith("SCRAM-SHA-256$") for h in hashes)
    assert any(h.startswith("md5") for h in hashes)  # the legacy role's
    return [*hashes, FDW_PASSWORD, SUBSCRIPTION_PASSWORD]


@pytest.fixture
async def superuser(credentials_db: PgLab) -> AsyncIterator[PostgresProbe]:
    probe = probe_for(credentials_db, SUPERUSER, DB)
    try:
        yield probe
    finally:
        await probe.aclose()


HASH = re.compile(r"SCRAM-SHA-256\$|\bmd5[0-9a-f]{32}\b")


def assert_no_secret(reading: Reading, secrets: list[str]) -> None:
    shown = repr(reading)  # everything the checklist could draw, store or export from it
    assert not HASH.search(shown), shown
    assert not any(secret in shown for secret in secrets), shown


@pytest.mark.parametrize(("statement", "reason"), REFUSED_BY_NAME.items())
async def test_a_credential_catalog_is_refused_by_name_even_for_a_superuser(
    superuser: PostgresProbe, secrets: list[str], statement: str, reason: str
) -> None:
    reading = await superuser.run_statement(statement)
    assert not reading.ok
    assert reading.problem.startswith(f"refused: {reason}"), reading.problem
    assert superuser.sent == []  # refused from its text: nothing reached the server
    assert_no_secret(reading, secrets)


@pytest.mark.parametrize(("statement", "reason"), REFUSED_ON_THE_SERVER.items())
async def test_a_view_a_superuser_made_over_a_credential_catalog_is_refused(
    credentials_db: PgLab, secrets: list[str], statement: str, reason: str
) -> None:
    # even named in [postgres] allow_relations: a view the team trusts still does not read credentials
    views = tuple(reason.split(" ")[0] for reason in REFUSED_ON_THE_SERVER.values())
    for allow in ((), views):
        probe = probe_for(credentials_db, SUPERUSER, DB, allow_relations=allow)
        try:
            reading = await probe.run_statement(statement)
        finally:
            await probe.aclose()
        assert reading.problem.startswith(f"refused: {reason}"), reading.problem
        assert probe.sent == ["BEGIN READ ONLY", CATALOG_SQL, "ROLLBACK"]  # the view itself was never read
        assert_no_secret(reading, secrets)


@pytest.mark.parametrize("statement", STILL_READ)
async def test_what_holds_no_credential_is_still_read(
    superuser: PostgresProbe, secrets: list[str], statement: str
) -> None:
    reading = await superuser.run_statement(statement)
    assert reading.ok, reading.problem
    assert reading.rows
    assert_no_secret(reading, secrets)


async def test_a_view_over_the_masked_roles_is_read_when_the_config_allows_it(
    credentials_db: PgLab, secrets: list[str]
) -> None:
    # the control for the views above: a view over pg_roles (the password shown as ********) is not refused
    # for what it reads, only as any user view is, and runs once the config allows it by name
    refused = probe_for(credentials_db, SUPERUSER, DB)
    allowed = probe_for(credentials_db, SUPERUSER, DB, allow_relations=("role_names",))
    try:
        unlisted = await refused.run_statement("SELECT * FROM role_names")
        listed = await allowed.run_statement(f"SELECT * FROM role_names WHERE rolname = '{MD5_ROLE}'")
    finally:
        await refused.aclose()
        await allowed.aclose()
    assert unlisted.problem.startswith("refused: role_names is a user-defined view"), unlisted.problem
    assert [row[0] for row in listed.rows] == [MD5_ROLE]
    assert_no_secret(listed, secrets)


async def test_a_catalog_the_server_withholds_from_public_is_refused_without_being_named(
    credentials_db: PgLab, secrets: list[str]
) -> None:
    # what a new server version could add: a catalog PUBLIC may not read, which no list in oncall names;
    # made here by revoking a view from PUBLIC in this database alone
    with psycopg.connect(credentials_db.dsn(SUPERUSER, DB), autocommit=True) as conn:
        conn.execute("REVOKE SELECT ON pg_catalog.pg_stat_gssapi FROM PUBLIC")
        conn.execute("CREATE VIEW gss AS SELECT pid FROM pg_stat_gssapi")
    probe = probe_for(credentials_db, SUPERUSER, DB, allow_relations=("gss",))
    try:
        direct = await probe.run_statement("SELECT * FROM pg_stat_gssapi")
        through = await probe.run_statement("SELECT * FROM gss")
    finally:
        await probe.aclose()
        with psycopg.connect(credentials_db.dsn(SUPERUSER, DB), autocommit=True) as conn:
            conn.execute("DROP VIEW gss")
            conn.execute("GRANT SELECT ON pg_catalog.pg_stat_gssapi TO PUBLIC")
    assert direct.problem == (
        "refused: pg_stat_gssapi is withheld from ordinary roles by the server (PUBLIC may not read it); "
        f"{WITHHELD}"
    )
    assert through.problem.startswith("refused: gss reads pg_stat_gssapi, which is withheld"), through.problem


def test_coverage_says_the_guard_refuses_the_credential_catalogs() -> None:
    runbook = parse_runbook(
        "## leaked-credentials\n\n**Alert**: x\n\n**Triage**:\n"
        "1. Roles: `SELECT rolname, rolpassword FROM pg_authid;`\n"
        '2. Shadow: `psql -c "SELECT usename, passwd FROM pg_shadow;"`\n'
        "3. Roles, masked: `SELECT rolname FROM pg_roles;`\n"
    )
    report = coverage(runbook)
    assert [plan.kind for section in report.sections for plan in section.plans] == [
        "copy-only",
        "copy-only",
        "live",
    ]
    shown = format_coverage(report)
    assert "refused it: pg_authid holds role passwords; oncall never reads credentials" in shown
    assert "refused it: pg_shadow holds role passwords; oncall never reads credentials" in shown


def test_the_lists_name_what_this_server_has_and_every_catalog_it_withholds(credentials_db: PgLab) -> None:
    # each name resolves (a misspelt one would refuse nothing), and what the server withholds from PUBLIC
    # in pg_catalog is named too, so that a runbook's coverage says `refused` offline, as the run would
    named = {f"{schema}.{name}" for schema, name in (*CREDENTIAL_RELATIONS, *WITHHELD_RELATIONS)}
    with psycopg.connect(credentials_db.dsn(SUPERUSER, DB), autocommit=True) as conn:
        missing = [
            n for n in sorted(named) if conn.execute("SELECT to_regclass(%s)", (n,)).fetchone() == (None,)
        ]
        withheld = conn.execute(
            "SELECT 'pg_catalog.' || relname FROM pg_class WHERE relnamespace = 'pg_catalog'::regnamespace "
            "AND relkind IN ('r', 'v', 'm') AND NOT has_table_privilege('public', oid, 'SELECT')"
        ).fetchall()
    assert missing == []
    assert {w for (w,) in withheld} <= named
