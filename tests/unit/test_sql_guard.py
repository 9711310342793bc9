"""The SQL guard lets the runbook's reads through and refuses writes, locks and functions that act anyway."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probes.postgres import GuardVerdict, check_sql

RUNBOOK_READS = [
    "SELECT count(*) FROM pg_stat_activity;",
    "SELECT application_name, count(*) FROM pg_stat_activity GROUP BY 1;",
    "SELECT * FROM pg_stat_activity WHERE state = 'idle in transaction' "
    "AND query_start < now() - interval '5 minutes';",
    "SELECT query, mean_exec_time, calls FROM pg_stat_statements ORDER BY mean_exec_time DESC LIMIT 10;",
    "SELECT relname, seq_scan, idx_scan FROM pg_stat_user_tables WHERE seq_scan > idx_scan "
    "ORDER BY seq_scan DESC LIMIT 10;",
    "SHOW max_connections",
    "EXPLAIN SELECT 1",
    "WITH x AS (SELECT 1) SELECT * FROM x",
]

OTHER_READS = [
    "SELECT 'pg_terminate_backend(1)'",
    'SELECT 1 AS "my;col"',
    "SELECT $$;$$",
    "SELECT $body$ DROP TABLE x; $body$",
    "SELECT E'it\\'s; fine'",
    "SELECT 'it''s; fine'",
    "SELECT 1 /* ; DROP /* nested ; */ TABLE x; */",
    "select pg_sleep(1)",
    "SELECT pg_sleep(5)",
    "SELECT pg_catalog.pg_sleep(0.5)",
    "SELECT currval('s'), lastval()",
    "SELECT pg_current_xact_id_if_assigned(), txid_current_if_assigned()",
    "SELECT lower(usename) FROM pg_stat_activity",
    "SELECT pid, pg_blocking_pids(pid) FROM pg_stat_activity WHERE cardinality(pg_blocking_pids(pid)) > 0",
    "SELECT * FROM pg_replication_slots",
    "VALUES (1), (2)",
    "TABLE pg_settings",
    "(SELECT 1) UNION (SELECT 2)",
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT * FROM n",
    "EXPLAIN (FORMAT JSON, COSTS off) SELECT * FROM pg_class",
    "EXPLAIN VERBOSE SELECT 1",
    "SHOW ALL",
    "SELECT substring('abc' FROM 1 FOR 2)",
    "SELECT 1.5e3, .5, 1_000, 0x1F",
    "SELECT 'x'::text || 'y'",
    "SELECT 2 --- 1",
    "SELECT current_setting('statement_timeout')",
    'SELECT "update" FROM t',
]


@pytest.mark.parametrize("sql", RUNBOOK_READS + OTHER_READS)
def test_reads_are_allowed(sql: str) -> None:
    verdict = check_sql(sql)
    assert verdict == GuardVerdict(allowed=True, statement=verdict.statement, reason="")


@pytest.mark.parametrize(
    ("sql", "statement"),
    [
        ("SELECT count(*) FROM pg_stat_activity;", "SELECT count(*) FROM pg_stat_activity"),
        ("  SELECT 1 ;; \n", "SELECT 1"),
        ("SELECT 1 -- ; DROP TABLE x", "SELECT 1"),
        ("-- why\nSELECT 1; -- done", "SELECT 1"),
        ("SELECT 1 /* keep */ + 1", "SELECT 1 /* keep */ + 1"),
        ("SELECT $$;$$", "SELECT $$;$$"),
    ],
)
def test_allowed_statement_is_the_single_statement_without_trailing_semicolon(
    sql: str, statement: str
) -> None:
    assert check_sql(sql).statement == statement


FUNCTION_SPELLINGS = [
    ("SELECT PG_TERMINATE_BACKEND (1)", "pg_terminate_backend()"),
    ("SELECT pg_catalog.pg_cancel_backend(1)", "pg_cancel_backend()"),
    ('SELECT "pg_terminate_backend"(1)', "pg_terminate_backend()"),
    ('SELECT "pg_catalog"."pg_terminate_backend"(1)', "pg_terminate_backend()"),
    ("SELECT pg_terminate_backend/**/(1)", "pg_terminate_backend()"),
    ("SELECT pg_terminate_backend -- x\n(1)", "pg_terminate_backend()"),
    ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle'", "pg_terminate_backend()"),
    ("SELECT * FROM pg_stat_activity WHERE pg_cancel_backend(pid)", "pg_cancel_backend()"),
    ("WITH k AS (SELECT pg_terminate_backend(1)) SELECT * FROM k", "pg_terminate_backend()"),
    ("VALUES (pg_reload_conf())", "pg_reload_conf()"),
    ("SELECT t.nextval FROM t", "nextval()"),
]

REFUSED_FUNCTIONS = [
    "pg_terminate_backend(1)",
    "pg_cancel_backend(1)",
    "pg_reload_conf()",
    "pg_rotate_logfile()",
    "set_config('statement_timeout', '0', false)",
    "pg_sleep_for('1 minute')",
    "pg_sleep_until(now() + interval '1 minute')",
    "dblink('dbname=x', 'DELETE FROM t')",
    "dblink_exec('dbname=x', 'DELETE FROM t')",
    "dblink_connect('dbname=x')",
    "lo_import('/etc/passwd')",
    "lo_export(1, '/tmp/x')",
    "lo_unlink(1)",
    "lo_create(0)",
    "lo_open(1, 131072)",
    "lo_from_bytea(0, 'x')",
    "lowrite(0, 'x')",
    "pg_read_file('postgresql.conf')",
    "pg_read_binary_file('postgresql.conf')",
    "pg_ls_dir('.')",
    "pg_ls_logdir()",
    "pg_ls_waldir()",
    "pg_stat_file('postgresql.conf')",
    "pg_advisory_lock(1)",
    "pg_advisory_xact_lock(1)",
    "pg_advisory_lock_shared(1)",
    "pg_advisory_unlock_all()",
    "pg_try_advisory_lock(1)",
    "pg_try_advisory_xact_lock_shared(1)",
    "pg_notify('c', 'x')",
    "txid_current()",
    "pg_current_xact_id()",
    "nextval('s')",
    "setval('s', 1)",
    "pg_switch_wal()",
    "pg_create_restore_point('x')",
    "pg_promote()",
    "pg_logical_emit_message(true, 'x', 'y')",
    "pg_create_physical_replication_slot('s')",
    "pg_create_logical_replication_slot('s', 'pgoutput')",
    "pg_drop_replication_slot('s')",
    "pg_replication_slot_advance('s', '0/0')",
    "pg_logical_slot_get_changes('s', NULL, NULL)",
    "pg_stat_reset()",
    "pg_stat_reset_shared('bgwriter')",
    "pg_stat_reset_single_table_counters(1)",
    "pg_stat_statements_reset()",
    "pg_file_write('x', 'y', false)",
    "pg_file_unlink('x')",
    "pg_import_system_collations('pg_catalog')",
    "pg_backup_start('x')",
    "pg_wal_replay_pause()",
    "pg_log_backend_memory_contexts(1)",
    "query_to_xml('select pg_terminate_backend(1)', true, true, '')",
    "ts_stat('select pg_terminate_backend(1)')",
    "crosstab('select 1')",
    "gin_clean_pending_list('i')",
    "brin_summarize_new_values('i')",
]


@pytest.mark.parametrize(("sql", "named"), FUNCTION_SPELLINGS)
def test_functions_that_act_are_refused_in_every_spelling(sql: str, named: str) -> None:
    verdict = check_sql(sql)
    assert not verdict.allowed
    assert verdict.statement == ""
    assert verdict.reason.startswith(f"refused: {named} ")
    assert "even in a read-only transaction" in verdict.reason


@pytest.mark.parametrize("call", REFUSED_FUNCTIONS)
def test_each_function_that_acts_in_read_only_transactions_is_refused(call: str) -> None:
    name = call.split("(")[0]
    verdict = check_sql(f"SELECT {call}")
    assert not verdict.allowed
    assert verdict.reason.startswith(f"refused: {name}() ")


def test_txid_current_refusal_points_to_the_variant_that_assigns_nothing() -> None:
    assert "_if_assigned" in check_sql("SELECT txid_current()").reason


@pytest.mark.parametrize(
    ("sql", "timeout", "allowed"),
    [
        ("SELECT pg_sleep(60)", 5.0, False),
        ("select pg_sleep(1)", 5.0, True),
        ("SELECT pg_sleep(5)", 5.0, True),
        ("SELECT pg_sleep(5.01)", 5.0, False),
        ("SELECT pg_sleep(60)", 120.0, True),
        ("SELECT pg_sleep(1e2)", 5.0, False),
        ("SELECT pg_sleep(3), pg_sleep(3)", 5.0, False),
    ],
)
def test_pg_sleep_is_allowed_only_within_the_statement_timeout(
    sql: str, timeout: float, allowed: bool
) -> None:
    verdict = check_sql(sql, statement_timeout_s=timeout)
    assert verdict.allowed is allowed
    if not allowed:
        assert verdict.reason.startswith("refused: pg_sleep() would sleep ")
        assert f"{timeout:g} s statement timeout" in verdict.reason


@pytest.mark.parametrize("sql", ["SELECT pg_sleep(x) FROM t", "SELECT pg_sleep('1')", "SELECT pg_sleep(-1)"])
def test_pg_sleep_without_a_plain_number_is_refused(sql: str) -> None:
    assert check_sql(sql).reason == (
        "refused: pg_sleep() is allowed only with a plain number of seconds, e.g. pg_sleep(1)"
    )


@pytest.mark.parametrize(
    "sql",
    [
        "EXPLAIN ANALYZE SELECT 1",
        "EXPLAIN ANALYZE DELETE FROM x",
        "explain analyse select 1",
        "EXPLAIN ANALYZE VERBOSE SELECT 1",
        "EXPLAIN (ANALYZE) SELECT 1",
        "EXPLAIN (ANALYZE true, BUFFERS) SELECT 1",
        "EXPLAIN (FORMAT JSON, ANALYZE on) SELECT 1",
        "EXPLAIN (analyse) SELECT 1",
        'EXPLAIN ("analyze") SELECT 1',
        "EXPLAIN /* x */ ( BUFFERS , ANALYZE 1 ) SELECT 1",
    ],
)
def test_explain_analyze_is_refused_in_any_spelling(sql: str) -> None:
    assert check_sql(sql).reason == (
        "refused: EXPLAIN ANALYZE executes the statement it explains; use plain EXPLAIN"
    )


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("", "refused: empty statement"),
        ("  ;  ", "refused: empty statement"),
        ("-- only a comment", "refused: empty statement"),
        ("SELECT 1; SELECT 2", "refused: more than one statement"),
        ("SELECT 1; DROP TABLE x", "refused: more than one statement"),
        ("SELECT 1;\n-- c\nDROP TABLE x", "refused: more than one statement"),
        ("; SELECT 1", "refused: more than one statement"),
        ("SELECT * INTO t FROM x", "refused: SELECT … INTO creates a table"),
        ("SELECT * FROM t FOR UPDATE", "refused: SELECT … FOR UPDATE takes row locks that block writers"),
        ("SELECT * FROM t FOR SHARE", "refused: SELECT … FOR SHARE takes row locks"),
        (
            "SELECT * FROM t FOR NO KEY UPDATE SKIP LOCKED",
            "refused: SELECT … FOR NO KEY UPDATE takes row locks",
        ),
        ("SELECT * FROM t FOR KEY SHARE", "refused: SELECT … FOR KEY SHARE takes row locks"),
        (
            "WITH d AS (DELETE FROM x RETURNING *) SELECT * FROM d",
            "refused: WITH … DELETE is a data-modifying CTE",
        ),
        (
            "WITH d AS (SELECT 1) INSERT INTO t SELECT * FROM d",
            "refused: WITH … INSERT is a data-modifying CTE",
        ),
        (
            "WITH u AS (UPDATE t SET a = 1 RETURNING a) SELECT * FROM u",
            "refused: WITH … UPDATE is a data-modifying CTE",
        ),
        ("WITH m AS (MERGE INTO t USING s ON true DO NOTHING) SELECT 1", "refused: WITH … MERGE"),
        ("SELECT update FROM t", 'refused: UPDATE writes data (if it is a column name, quote it: "update")'),
        ("EXPLAIN DELETE FROM x", "refused: EXPLAIN of DELETE: DELETE writes data"),
        ("INSERT INTO t VALUES (1)", "refused: INSERT writes data"),
        ("UPDATE t SET a = 1", "refused: UPDATE writes data"),
        ("DELETE FROM t", "refused: DELETE writes data"),
        ("COPY t TO '/tmp/x'", "refused: COPY reads or writes server files"),
        ("COPY (SELECT 1) TO STDOUT", "refused: COPY"),
        ("SET statement_timeout = 0", "refused: SET changes session settings"),
        ("set local default_transaction_read_only = off", "refused: SET changes session settings"),
        ("RESET ALL", "refused: RESET changes session settings"),
        ("DO $$ begin perform 1; end $$", "refused: DO runs a procedural code block"),
        ("CALL p()", "refused: CALL runs a procedure"),
        ("BEGIN", "refused: BEGIN would end or change the guard's read-only transaction"),
        ("COMMIT", "refused: COMMIT would end"),
        ("ROLLBACK", "refused: ROLLBACK would end"),
        ("START TRANSACTION READ WRITE", "refused: START would end"),
        ("LISTEN c", "refused: LISTEN subscribes"),
        ("NOTIFY c", "refused: NOTIFY sends a notification"),
        ("LOCK TABLE t", "refused: LOCK takes table locks"),
        ("VACUUM t", "refused: VACUUM is a maintenance command"),
        ("VACUUM FULL", "refused: VACUUM is a maintenance command"),
        ("ANALYZE t", "refused: ANALYZE is a maintenance command"),
        ("REINDEX TABLE t", "refused: REINDEX is a maintenance command"),
        ("CREATE TABLE t (a int)", "refused: CREATE changes the schema"),
        ("CREATE TABLE t AS SELECT 1", "refused: CREATE changes the schema"),
        ("ALTER TABLE t ADD b int", "refused: ALTER changes the schema"),
        ("DROP TABLE x", "refused: DROP changes the schema"),
        ("TRUNCATE t", "refused: TRUNCATE deletes every row"),
        ("GRANT ALL ON t TO public", "refused: GRANT changes the schema or permissions"),
        ("PREPARE q AS SELECT 1", "refused: PREPARE prepares"),
        ("DECLARE c CURSOR FOR SELECT 1", "refused: DECLARE opens a cursor"),
        ("CHECKPOINT", "refused: CHECKPOINT forces a checkpoint"),
        ("REFRESH MATERIALIZED VIEW v", "refused: REFRESH is a maintenance command"),
        ("FOO bar", "refused: FOO is not a read; only a single SELECT"),
        ("42", "refused: only a single SELECT, SHOW, EXPLAIN, VALUES, TABLE or WITH … SELECT"),
        ("SELECT 'abc", "refused: unterminated string literal"),
        ("SELECT E'abc\\'", "refused: unterminated string literal"),
        ('SELECT "abc', "refused: unterminated quoted identifier"),
        ("SELECT $$abc", "refused: unterminated dollar-quoted string (no closing $$)"),
        ("SELECT $x$abc$y$", "refused: unterminated dollar-quoted string (no closing $x$)"),
        ("SELECT 1 /* abc", "refused: unterminated /* comment"),
        ("SELECT 1 /* /* */", "refused: unterminated /* comment"),
        ("SELECT 1 \\gexec", "refused: a psql backslash command"),
        ("SELECT 'a\\'", "refused: a backslash inside a '…' string"),
        ('SELECT U&"\\0070g_sleep"(99)', 'refused: a U&"…" identifier'),
    ],
)
def test_refusals_say_why_and_name_what_was_refused(sql: str, reason: str) -> None:
    verdict = check_sql(sql)
    assert verdict == GuardVerdict(allowed=False, statement="", reason=verdict.reason)
    assert verdict.reason.startswith(reason)


def test_standard_conforming_strings_off_cannot_hide_a_second_statement() -> None:
    # with standard_conforming_strings off the server reads 'x\'' as the string x' and then runs the rest
    assert not check_sql("SELECT 'x\\'' ; SELECT pg_terminate_backend(1); --'").allowed


# --- properties ---------------------------------------------------------------------------------------------

words = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)


@settings(max_examples=400)
@given(st.text())
def test_never_raises_and_an_allowed_verdict_is_one_clean_statement(sql: str) -> None:
    verdict = check_sql(sql)
    assert isinstance(verdict, GuardVerdict)
    if verdict.allowed:
        assert verdict.reason == ""
        assert verdict.statement == verdict.statement.strip()
        assert verdict.statement and not verdict.statement.endswith(";")
        assert verdict.statement in sql
    else:
        assert verdict.statement == ""
        assert verdict.reason.startswith("refused: ")


@settings(max_examples=400)
@given(st.text(), words)
def test_nothing_before_a_semicolon_can_make_a_following_word_harmless(prefix: str, word: str) -> None:
    # "\n" ends a -- comment; a string, identifier or /* comment left open by prefix stays open to the end and
    # is refused as unterminated; so the word is either a second statement or inside an unterminated literal
    assert not check_sql(prefix + "\n;" + word).allowed


@settings(max_examples=200)
@given(st.sampled_from(RUNBOOK_READS), st.text(), words)
def test_a_read_followed_by_a_second_statement_is_refused(read: str, junk: str, word: str) -> None:
    assert not check_sql(f"{read.rstrip(';')};\n{word} {junk}").allowed


def _escape_literal(text: str) -> str:
    return "E'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


# PostgreSQL takes no NUL anywhere in a query, and no empty "" identifier: both refused, as the server would
server_text = st.text().filter(lambda s: "\x00" not in s)


@settings(max_examples=300)
@given(server_text)
def test_any_text_inside_a_quoted_literal_is_just_data(text: str) -> None:
    assert check_sql(f"SELECT {_escape_literal(text)}").allowed
    if text:
        assert check_sql(f'SELECT 1 AS "{text.replace(chr(34), chr(34) * 2)}"').allowed
    tag = "$q" + "x" * (len(text) + 1) + "$"  # longer than text itself, so text can't close it early
    assert check_sql(f"SELECT {tag}{text}{tag}").allowed


@settings(max_examples=300)
@given(
    server_text.filter(lambda s: "/*" not in s and "*/" not in s and not s.endswith("/") and "*" not in s[:1])
)
def test_any_text_inside_a_comment_is_ignored(text: str) -> None:
    assert check_sql(f"SELECT 1 /*{text}*/").statement == "SELECT 1"
    line = text.replace("\n", " ").replace("\r", " ")
    assert check_sql(f"SELECT 1 --{line}").statement == "SELECT 1"


@pytest.mark.parametrize("sql", ["SELECT " + "1+" * 3000 + "1", "SELECT " + "abs(" * 2000 + "1" + ")" * 2000])
def test_a_statement_nested_too_deeply_to_check_is_refused_not_a_crash(sql: str) -> None:
    assert check_sql(sql).reason == "refused: nested too deeply for the guard to check"
