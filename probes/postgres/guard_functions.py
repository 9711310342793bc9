"""The SQL guard's lists of functions: the built-ins that only read (read_functions.txt), and those that act
even inside a read-only transaction, each with why it is refused."""

from __future__ import annotations

import functools
from importlib import resources

# --- functions that act even in a read-only transaction -----------------------------------------------------

_SIGNALS = "signals another server process"
_SERVER_FILES = "reads the server's files"
_XID = "assigns a transaction ID (uses up xid space, fails on a standby); use the *_if_assigned variant"
_ADMIN = "changes server state"
_WAL = "writes WAL or changes replication state"
_RUNS_SQL = "runs the SQL text it is given, which the guard cannot check"
_INDEX = "modifies an index"

_REFUSED_FUNCTIONS: dict[str, str] = {
    "pg_terminate_backend": "terminates another session",
    "pg_cancel_backend": "cancels another session's query",
    "pg_signal_backend": _SIGNALS,
    "pg_log_backend_memory_contexts": _SIGNALS,
    "pg_reload_conf": "reloads the server configuration",
    "set_config": "changes a setting (it could lift the statement timeout or read-only mode)",
    "pg_sleep_for": "holds the connection for as long as it is told; use pg_sleep(seconds)",
    "pg_sleep_until": "holds the connection for as long as it is told; use pg_sleep(seconds)",
    "pg_read_file": _SERVER_FILES,
    "pg_read_binary_file": _SERVER_FILES,
    "pg_stat_file": _SERVER_FILES,
    "pg_logdir_ls": _SERVER_FILES,
    "loread": "reads or writes a large object",
    "lowrite": "reads or writes a large object",
    "pg_notify": "sends a notification to other sessions",
    "txid_current": _XID,
    "pg_current_xact_id": _XID,
    "nextval": "advances a sequence, which is never rolled back",
    "setval": "changes a sequence",
    "pg_switch_wal": _WAL,
    "pg_switch_xlog": _WAL,
    "pg_create_restore_point": _WAL,
    "pg_logical_emit_message": _WAL,
    "pg_logical_slot_get_changes": "consumes changes from a replication slot",
    "pg_logical_slot_get_binary_changes": "consumes changes from a replication slot",
    "pg_create_physical_replication_slot": _WAL,
    "pg_create_logical_replication_slot": _WAL,
    "pg_copy_physical_replication_slot": _WAL,
    "pg_copy_logical_replication_slot": _WAL,
    "pg_drop_replication_slot": _WAL,
    "pg_replication_slot_advance": _WAL,
    "pg_sync_replication_slots": _WAL,
    "pg_replication_origin_create": _WAL,
    "pg_replication_origin_drop": _WAL,
    "pg_replication_origin_advance": _WAL,
    "pg_replication_origin_session_setup": _WAL,
    "pg_replication_origin_xact_setup": _WAL,
    "pg_promote": "promotes a standby to primary",
    "pg_wal_replay_pause": _ADMIN,
    "pg_wal_replay_resume": _ADMIN,
    "pg_xlog_replay_pause": _ADMIN,
    "pg_xlog_replay_resume": _ADMIN,
    "pg_backup_start": _ADMIN,
    "pg_backup_stop": _ADMIN,
    "pg_start_backup": _ADMIN,
    "pg_stop_backup": _ADMIN,
    "pg_import_system_collations": "creates collations",
    "pg_truncate_visibility_map": "rewrites a table's visibility map",
    "gin_clean_pending_list": _INDEX,
    "brin_summarize_new_values": _INDEX,
    "brin_summarize_range": _INDEX,
    "brin_desummarize_range": _INDEX,
    "bt_index_parent_check": "takes a ShareLock that blocks writes to the table",
    "query_to_xml": _RUNS_SQL,
    "query_to_xmlschema": _RUNS_SQL,
    "query_to_xml_and_xmlschema": _RUNS_SQL,
    "ts_stat": _RUNS_SQL,
    "connectby": _RUNS_SQL,
}

_REFUSED_PREFIXES: tuple[tuple[str, str], ...] = (
    ("dblink", "opens a connection to a server and runs SQL there, outside the read-only transaction"),
    ("lo_", "reads or writes large objects or server files"),
    ("pg_advisory", "takes an advisory lock that other sessions wait on"),
    ("pg_try_advisory", "takes an advisory lock that other sessions wait on"),
    ("pg_ls_", "lists the server's directories"),
    ("pg_file_", "writes or deletes the server's files"),
    ("pg_rotate_logfile", "rotates the server log"),
    ("pg_stat_reset", "erases statistics other people rely on"),
    ("crosstab", _RUNS_SQL),
)
_REFUSED_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_reset", "erases statistics or state other people rely on"),  # pg_stat_statements_reset and friends
)


def why_refused(name: str) -> str | None:
    if name in _REFUSED_FUNCTIONS:
        return _REFUSED_FUNCTIONS[name]
    for prefix, why in _REFUSED_PREFIXES:
        if name.startswith(prefix):
            return why
    for suffix, why in _REFUSED_SUFFIXES:
        if name.endswith(suffix):
            return why
    return None


@functools.cache
def read_functions() -> frozenset[str]:
    """PostgreSQL's built-in functions that only read (read_functions.txt says how it is made)."""
    text = resources.files("probes.postgres").joinpath("read_functions.txt").read_text()
    names = (line.strip() for line in text.splitlines())
    return frozenset(n for n in names if n and not n.startswith("#"))
