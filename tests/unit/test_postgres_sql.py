"""The PostgreSQL probe's SQL is chosen by server and extension version; its errors read as plain words."""

from __future__ import annotations

import psycopg
import pytest

from probes.postgres import TABLES_SQL, activity_sql, describe_error, statements_sql


@pytest.mark.parametrize(
    ("version", "mean", "total", "toplevel"),
    [
        (120017, "mean_time", "total_time", False),
        (130013, "mean_exec_time", "total_exec_time", False),
        (160004, "mean_exec_time", "total_exec_time", True),
        (170000, "mean_exec_time", "total_exec_time", True),
    ],
)
def test_statements_sql_follows_the_server_version(
    version: int, mean: str, total: str, toplevel: bool
) -> None:
    text = statements_sql(version)
    assert f"s.{mean} AS mean_ms" in text and f"s.{total} AS total_ms" in text
    assert f"ORDER BY s.{mean} DESC" in text
    assert ("WHERE s.toplevel" in text) is toplevel
    if mean == "mean_time":
        assert "exec_time" not in text


def test_statements_sql_follows_the_installed_extension_over_the_server() -> None:
    # a server upgraded to 14 still carrying pg_stat_statements 1.7 has the old column names
    assert "s.mean_time" in statements_sql(140000, "1.7")
    assert "toplevel" not in statements_sql(140000, "1.8")
    assert "s.mean_exec_time" in statements_sql(140000, "1.8")
    assert "WHERE s.toplevel" in statements_sql(170000, "1.11")


@pytest.mark.parametrize(
    ("version", "reserved"), [(120000, False), (130000, False), (160000, True), (170000, True)]
)
def test_activity_sql_counts_reserved_connections_from_16(version: int, reserved: bool) -> None:
    text = activity_sql(version)
    assert ("current_setting('reserved_connections')" in text) is reserved
    assert "current_setting('superuser_reserved_connections')" in text
    assert "pid <> pg_backend_pid()" in text  # oncall's own session is never listed


def test_every_statement_only_reads_and_takes_values_as_parameters() -> None:
    texts = [activity_sql(150000), statements_sql(150000), TABLES_SQL]
    for text in texts:
        first = text.lstrip().split(None, 1)[0].upper()
        assert first in ("SELECT", "WITH")
        assert ";" not in text  # one statement each
    assert "%(limit)s" in statements_sql(150000) and "%(dead_tuples)s" in TABLES_SQL
    assert "{schema}" in statements_sql(150000)  # filled by psycopg.sql.Identifier, never by formatting


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            'connection failed: connection to server at "127.0.0.1", port 5999 failed: Connection refused\n'
            "\tIs the server running on that host and accepting TCP/IP connections?",
            "connection refused at 127.0.0.1:5999",
        ),
        (
            'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  '
            'password authentication failed for user "oncall"',
            "password authentication failed for user oncall",
        ),
        (
            "consuming input failed: server closed the connection unexpectedly\n"
            "\tThis probably means the server terminated abnormally",
            "server closed the connection unexpectedly",
        ),
        (
            'connection failed: connection to server at "10.0.0.9", port 5432 failed: timeout expired',
            "timed out connecting to 10.0.0.9:5432",
        ),
        (
            'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  '
            'database "nope" does not exist',
            "database nope does not exist",
        ),
    ],
)
def test_connection_errors_read_as_plain_words(message: str, expected: str) -> None:
    error = psycopg.OperationalError(message)
    assert describe_error(error, endpoint="db:5432/app", statement_timeout=5) == expected


def test_statement_timeout_says_how_long() -> None:
    error = psycopg.errors.QueryCanceled("canceling statement due to statement timeout")
    assert describe_error(error, endpoint=None, statement_timeout=5.0) == "statement timeout after 5s"
