"""Makes probes/postgres/read_functions.txt, the SQL guard's allowlist, from real servers' catalogs.

`python -m tests.labs.pg_read_functions DSN [DSN …]` writes the names that pass READ_RULE on every server
given (one per PostgreSQL major version at hand); tests/integration/test_sql_guard_catalog.py checks the
shipped file against the suite's server, so the list cannot drift from the rule unseen.
"""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg

LIST = Path(__file__).resolve().parents[2] / "probes" / "postgres" / "read_functions.txt"

# built-ins that are volatile yet only read: sizes, WAL positions, lock and recovery state, clocks, random
VOLATILE_READS = (
    "clock_timestamp",
    "current_query",
    "currval",
    "gen_random_uuid",
    "lastval",
    "pg_blocking_pids",
    "pg_collation_actual_version",
    "pg_control_checkpoint",
    "pg_control_init",
    "pg_control_recovery",
    "pg_control_system",
    "pg_current_wal_flush_lsn",
    "pg_current_wal_insert_lsn",
    "pg_current_wal_lsn",
    "pg_database_collation_actual_version",
    "pg_database_size",
    "pg_get_wal_replay_pause_state",
    "pg_indexes_size",
    "pg_is_in_recovery",
    "pg_is_wal_replay_paused",
    "pg_jit_available",
    "pg_last_committed_xact",
    "pg_last_wal_receive_lsn",
    "pg_last_wal_replay_lsn",
    "pg_last_xact_replay_timestamp",
    "pg_lock_status",
    "pg_notification_queue_usage",
    "pg_partition_ancestors",
    "pg_partition_tree",
    "pg_relation_size",
    "pg_safe_snapshot_blocking_pids",
    "pg_sequence_last_value",
    "pg_sleep",  # bounded by the guard: the sum of its arguments within the statement timeout
    "pg_stat_get_xact_blocks_fetched",
    "pg_stat_get_xact_blocks_hit",
    "pg_stat_get_xact_function_calls",
    "pg_stat_get_xact_function_self_time",
    "pg_stat_get_xact_function_total_time",
    "pg_stat_get_xact_numscans",
    "pg_stat_get_xact_tuples_deleted",
    "pg_stat_get_xact_tuples_fetched",
    "pg_stat_get_xact_tuples_hot_updated",
    "pg_stat_get_xact_tuples_inserted",
    "pg_stat_get_xact_tuples_returned",
    "pg_stat_get_xact_tuples_updated",
    "pg_table_size",
    "pg_tablespace_size",
    "pg_total_relation_size",
    "pg_xact_commit_timestamp",
    "pg_xact_commit_timestamp_origin",
    "pg_xact_status",
    "random",
    "timeofday",
    "txid_status",
)
# built-ins declared immutable or stable that act anyway (assign a transaction ID) or run SQL text
ACTING_ANYWAY = (
    "pg_current_xact_id",
    "txid_current",
    "txid_current_snapshot",
    "ts_stat",
    "query_to_xml",
    "query_to_xmlschema",
    "query_to_xml_and_xmlschema",
    "cursor_to_xml",
    "cursor_to_xmlschema",
)

# every overload of a name must pass: a built-in, callable from SQL (no internal/cstring plumbing, no
# handler), and immutable or stable unless it is one of VOLATILE_READS, and none of ACTING_ANYWAY
READ_RULE = """\
SELECT p.proname
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.oid < 16384 AND n.nspname IN ('pg_catalog', 'information_schema')
GROUP BY p.proname
HAVING bool_and(
    (p.provolatile IN ('i', 's') OR p.proname = ANY(%(volatile_reads)s))
    AND NOT p.proname = ANY(%(acting)s)
    AND p.proname NOT LIKE 'binary\\_upgrade\\_%%'
    AND p.prorettype NOT IN ('internal'::regtype, 'cstring'::regtype, 'trigger'::regtype,
                             'event_trigger'::regtype, 'language_handler'::regtype, 'fdw_handler'::regtype,
                             'index_am_handler'::regtype, 'table_am_handler'::regtype, 'tsm_handler'::regtype)
    AND NOT 'internal'::regtype = ANY(p.proargtypes::regtype[])
    AND NOT 'cstring'::regtype = ANY(p.proargtypes::regtype[])
)
ORDER BY 1"""

HEADER = """\
# The SQL guard's allowlist: PostgreSQL's built-in functions that only read. A statement may call these
# and no other function unless the config names it ([postgres] allow_functions).
# Made by `python -m tests.labs.pg_read_functions DSN…` from the catalogs of PostgreSQL {versions}: every
# overload of each name is a built-in of pg_catalog or information_schema, callable from SQL, and declared
# immutable or stable (or one of the volatile reads that module names), and none assigns
# a transaction ID or runs SQL text it is given. The names of a user's own functions never match: those are
# resolved against the server's catalog before each statement runs, and refused.
"""


def read_names(dsn: str) -> tuple[str, set[str], set[str]]:
    """(major version, the names READ_RULE passes, every built-in function name) on one server."""
    with psycopg.connect(dsn) as conn:
        version = str(conn.info.server_version // 10000)
        rows = conn.execute(
            READ_RULE, {"volatile_reads": list(VOLATILE_READS), "acting": list(ACTING_ANYWAY)}
        ).fetchall()
        every = conn.execute("SELECT DISTINCT proname FROM pg_proc WHERE oid < 16384").fetchall()
    return version, {row[0] for row in rows}, {row[0] for row in every}


def main(dsns: list[str]) -> None:
    versions, names, failing = [], set(), set()
    for dsn in dsns:
        version, passing, every = read_names(dsn)
        versions.append(version)
        names |= passing
        failing |= every - passing
    names -= failing  # a name must pass on every version that has it
    LIST.write_text(HEADER.format(versions=" and ".join(sorted(versions))) + "\n".join(sorted(names)) + "\n")
    print(f"{len(names)} names from PostgreSQL {', '.join(versions)} written to {LIST}")


if __name__ == "__main__":
    main(sys.argv[1:])
