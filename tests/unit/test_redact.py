"""The redaction rules on their own: every secret the issue names is masked, its name and the rest kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probes.base import Reading
from probes.redact import MASK, RULES, redact_command, redact_reading, redact_text
from probes.redis import slowlog_from


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        (
            "CREATE ROLE oncall_monitor LOGIN PASSWORD 'lab-monitor-pw'",
            f"CREATE ROLE oncall_monitor LOGIN PASSWORD '{MASK}'",
        ),
        (
            "alter role app with encrypted password 'it''s-secret' valid until 'infinity'",
            f"alter role app with encrypted password '{MASK}' valid until 'infinity'",
        ),
        ("ALTER USER app PASSWORD E'back\\'slash'", f"ALTER USER app PASSWORD E'{MASK}'"),
        ("ALTER USER app PASSWORD E'ends\\\\' LOGIN", f"ALTER USER app PASSWORD E'{MASK}' LOGIN"),
        ("ALTER USER app PASSWORD 'back\\''quote' LOGIN", f"ALTER USER app PASSWORD '{MASK}' LOGIN"),
        ("CREATE ROLE app PASSWORD $$dollar$$ LOGIN", f"CREATE ROLE app PASSWORD $${MASK}$$ LOGIN"),
        ("CREATE ROLE app PASSWORD $pw$tagged$pw$", f"CREATE ROLE app PASSWORD $pw${MASK}$pw$"),
        ("CREATE ROLE app PASSWORD /* why */ 'commented'", f"CREATE ROLE app PASSWORD /* why */ '{MASK}'"),
        ("CREATE ROLE app PASSWORD U&'unicode'", f"CREATE ROLE app PASSWORD U&'{MASK}'"),
        # pg_stat_activity cuts the text at track_activity_query_size: the literal never closes
        ("CREATE ROLE app LOGIN PASSWORD 'cut-off-secr", f"CREATE ROLE app LOGIN PASSWORD '{MASK}"),
        ("ALTER ROLE app PASSWORD $$cut-off", f"ALTER ROLE app PASSWORD $${MASK}"),
        (
            "CREATE USER MAPPING FOR bob SERVER s OPTIONS (user 'bob', password 'fdw-secret')",
            f"CREATE USER MAPPING FOR bob SERVER s OPTIONS (user 'bob', password '{MASK}')",
        ),
        (
            "SELECT dblink_connect('host=db port=5432 password=conn-secret dbname=app')",
            f"SELECT dblink_connect('host=db port=5432 password={MASK} dbname=app')",
        ),
        (
            "SELECT dblink_connect('host=db password=''with space'' dbname=app')",
            f"SELECT dblink_connect('host=db password=''{MASK}'' dbname=app')",
        ),
        (
            "SELECT 1 FROM users u WHERE u.password = 'hunter2'",
            f"SELECT 1 FROM users u WHERE u.password = '{MASK}'",
        ),
        ("postgresql://app:url-secret@db:5432/app", f"postgresql://app:{MASK}@db:5432/app"),
        ("rediss://:url-secret@cache:6380/0", f"rediss://:{MASK}@cache:6380/0"),
    ],
)
def test_a_secret_in_query_text_is_masked_and_the_rest_kept(query: str, shown: str) -> None:
    assert redact_text(query) == shown


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM pg_stat_activity WHERE state = 'active'",
        "CREATE ROLE app PASSWORD NULL",
        "SELECT * FROM users WHERE password = $1",  # pg_stat_statements' normalized text: no value in it
        "SELECT password_hash FROM users WHERE id = 3",
        "",
    ],
)
def test_text_without_a_secret_comes_back_unchanged(query: str) -> None:
    assert redact_text(query) == query


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (("AUTH", "only-pw"), ("AUTH", MASK)),
        (("auth", "alice", "user-pw"), ("auth", "alice", MASK)),
        (
            ("HELLO", "3", "AUTH", "alice", "hello-pw", "SETNAME", "x"),
            ("HELLO", "3", "AUTH", "alice", MASK, "SETNAME", "x"),
        ),
        (("CONFIG", "SET", "requirepass", "req-pw"), ("CONFIG", "SET", "requirepass", MASK)),
        (
            ("config", "set", "maxmemory", "1gb", "masterauth", "m-pw"),
            ("config", "set", "maxmemory", "1gb", "masterauth", MASK),
        ),
        (
            ("MIGRATE", "10.0.0.9", "6379", "k", "0", "5000", "COPY", "AUTH", "mig-pw"),
            ("MIGRATE", "10.0.0.9", "6379", "k", "0", "5000", "COPY", "AUTH", MASK),
        ),
        (
            ("MIGRATE", "h", "6379", "", "0", "5000", "AUTH2", "bob", "mig-pw", "KEYS", "a"),
            ("MIGRATE", "h", "6379", "", "0", "5000", "AUTH2", "bob", MASK, "KEYS", "a"),
        ),
        (("ACL", "SETUSER", "bob", "on", ">acl-pw", "~*"), ("ACL", "SETUSER", "bob", "on", f">{MASK}", "~*")),
        (("SET", "dsn", "host=db password=conn-pw"), ("SET", "dsn", f"host=db password={MASK}")),
        (("GET", "password"), ("GET", "password")),
    ],
)
def test_the_secret_arguments_of_a_redis_command_are_masked(
    args: tuple[str, ...], shown: tuple[str, ...]
) -> None:
    assert redact_command(args) == shown


def test_a_slow_log_entry_from_a_server_that_does_not_redact_shows_no_password() -> None:
    # Redis 7 writes "(redacted)" itself; older servers and Redis-compatible ones send the argument as is
    reply = [
        [3, 1764471600, 12, [b"AUTH", b"default", b"plain-auth-pw"], b"127.0.0.1:5000", b""],
        [2, 1764471600, 11, [b"CONFIG", b"SET", b"requirepass", b"plain-req-pw"], b"127.0.0.1:5000", b""],
        [1, 1764471600, 10, [b"MIGRATE", b"h", b"1", b"k", b"0", b"9", b"AUTH", b"plain-mig-pw"], b"", b""],
    ]
    entries = slowlog_from(reply)
    shown = " ".join(" ".join(e.args) for e in entries)
    assert "plain-" not in shown
    assert f"AUTH default {MASK}" in shown and f"requirepass {MASK}" in shown and f"AUTH {MASK}" in shown


def test_a_reading_of_other_sessions_queries_is_redacted_cell_by_cell() -> None:
    reading = Reading.table(
        "postgresql",
        "SELECT usename, query FROM pg_stat_activity",
        ("usename", "query"),
        [("postgres", "ALTER ROLE app PASSWORD 'reading-pw'")],
        read_at=datetime(2026, 11, 30, tzinfo=UTC),
    )
    assert redact_reading(reading).rows == (("postgres", f"ALTER ROLE app PASSWORD '{MASK}'"),)


def test_every_rule_is_in_the_one_table_with_a_unique_name() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    assert {
        "sql-password",
        "conninfo-password",
        "redis-auth",
        "redis-config-set",
        "redis-migrate-auth",
    } <= set(names)


@given(
    secret=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1),
    keyword=st.sampled_from(["PASSWORD", "ENCRYPTED PASSWORD", "password =", "PASSWORD /* why */"]),
    escaped=st.booleans(),
)
def test_any_password_literal_whole_or_cut_anywhere_shows_only_the_mask(
    secret: str, keyword: str, escaped: bool
) -> None:
    prefix = f"ALTER ROLE app WITH LOGIN {keyword} "
    if escaped:  # E'…' with backslash escapes
        opening, body = "E'", secret.replace("\\", "\\\\").replace("'", "\\'")
    else:
        opening, body = "'", secret.replace("'", "''")
    suffix = "' VALID UNTIL 'infinity'"
    statement = f"{prefix}{opening}{body}{suffix}"
    for cut in range(len(prefix) + len(opening), len(statement) + 1):
        shown = redact_text(statement[:cut])
        assert shown.startswith(prefix + opening + MASK), (statement[:cut], shown)
        # after the mask only the closing quote and what follows it, never a piece of the secret
        rest = shown[len(prefix) + len(opening) + len(MASK) :]
        assert suffix.startswith(rest), (statement[:cut], shown)
