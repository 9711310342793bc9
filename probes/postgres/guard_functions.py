"""The SQL guard's lists: the built-in functions that only read (read_functions.txt), those that act even
inside a read-only transaction, and the catalogs it never reads (those that hold credentials, and those the
server withholds from ordinary roles), each with why it is refused."""

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


# --- catalogs never read ------------------------------------------------------------------------------------
# A whole relation is refused, not only its credential column: a column leaves a relation in spellings the
# guard cannot follow to it (SELECT *, TABLE, a whole-row t, row_to_json(t), t::text, a column alias list
# `AS a(x, y, z)` that renames it by position), and what else these relations hold is in a view that masks
# the credential (named after each reason). Keyed by (schema, name); an unqualified name matches too.

CREDENTIALS = "oncall never reads credentials, whatever the role may read"
WITHHELD_BY_SERVER = "which the server withholds from ordinary roles"
WITHHELD = "oncall reads only what the server lets every role read, whatever role it runs as"
_USER_MAPPING = "holds user mappings' options, where foreign-data wrappers keep passwords"
_SERVER = "holds foreign servers' options, where some foreign-data wrappers keep passwords"
_FILE_SETTINGS = "the configuration files' settings, a password in primary_conninfo among them"
_HBA = "pg_hba.conf's options, LDAP bind passwords and RADIUS secrets among them"
_SAMPLES = "holds sample values of every column, of tables the role may not read too"

CREDENTIAL_RELATIONS: dict[tuple[str, str], str] = {
    ("pg_catalog", "pg_authid"): "holds role passwords",
    ("pg_catalog", "pg_shadow"): "holds role passwords",
    ("pg_catalog", "pg_user_mapping"): _USER_MAPPING,
    ("pg_catalog", "pg_user_mappings"): _USER_MAPPING,
    ("information_schema", "_pg_user_mappings"): _USER_MAPPING,
    ("information_schema", "user_mapping_options"): _USER_MAPPING,
    ("pg_catalog", "pg_foreign_server"): _SERVER,
    ("information_schema", "_pg_foreign_servers"): _SERVER,
    ("information_schema", "foreign_server_options"): _SERVER,
    ("pg_catalog", "pg_subscription"): "holds subscriptions' connection strings, passwords included",
    ("pg_catalog", "pg_file_settings"): f"holds {_FILE_SETTINGS}",
    ("pg_catalog", "pg_hba_file_rules"): f"holds {_HBA}",
}
# where to read what else they hold, the credential masked or left out
INSTEAD: dict[str, str] = {
    "pg_authid": "pg_roles shows the rest",
    "pg_shadow": "pg_user shows the rest",
    "pg_user_mappings": "information_schema.user_mappings shows who is mapped to which server",
    "pg_foreign_server": "information_schema.foreign_servers shows the rest",
    "pg_subscription": "pg_stat_subscription shows their state",
}


# what PostgreSQL 15 withholds from PUBLIC in its catalogs and holds no credential: refused by name too, so
# that a runbook's coverage says so offline (the catalog check finds these, and any other, on the server)
WITHHELD_RELATIONS: dict[tuple[str, str], str] = {
    ("pg_catalog", "pg_largeobject"): "holds the data of every large object",
    ("pg_catalog", "pg_statistic"): _SAMPLES,
    ("pg_catalog", "pg_statistic_ext_data"): _SAMPLES,
    ("pg_catalog", "pg_ident_file_mappings"): "holds pg_ident.conf",
    ("pg_catalog", "pg_config"): "holds how the server was built",
    ("pg_catalog", "pg_backend_memory_contexts"): "holds the session's memory contexts",
    ("pg_catalog", "pg_shmem_allocations"): "holds the server's shared memory allocations",
    ("pg_catalog", "pg_replication_origin_status"): "holds replication origins' progress",
    ("information_schema", "_pg_foreign_data_wrappers"): "holds foreign-data wrappers' options",
    ("information_schema", "_pg_foreign_tables"): "holds foreign tables' options",
    ("information_schema", "_pg_foreign_table_columns"): "holds foreign table columns' options",
}


def why_never_read(schema: str, name: str) -> str | None:
    """Why a catalog relation is never read, as "NAME holds …: …"; schema "" for an unqualified name."""
    schemas = (schema,) if schema else ("pg_catalog", "information_schema")
    for nsp in schemas:
        if (nsp, name) in CREDENTIAL_RELATIONS:
            instead = f" ({INSTEAD[name]})" if name in INSTEAD else ""
            return f"{name} {CREDENTIAL_RELATIONS[nsp, name]}; {CREDENTIALS}{instead}"
        if (nsp, name) in WITHHELD_RELATIONS:
            return f"{name} {WITHHELD_RELATIONS[nsp, name]}, {WITHHELD_BY_SERVER}; {WITHHELD}"
    return None


# built-ins in read_functions.txt that read what their argument names, which the guard cannot see, or that
# return a credential catalog's rows: refused before the list of reads is consulted
_READS_WHAT_IT_IS_TOLD = (
    "reads every row of the tables its arguments name, which the guard cannot check "
    "(a catalog that holds credentials among them)"
)
_NEVER_CALLED: dict[str, str] = {
    "table_to_xml": _READS_WHAT_IT_IS_TOLD,
    "table_to_xml_and_xmlschema": _READS_WHAT_IT_IS_TOLD,
    "schema_to_xml": _READS_WHAT_IT_IS_TOLD,
    "schema_to_xml_and_xmlschema": _READS_WHAT_IT_IS_TOLD,
    "database_to_xml": _READS_WHAT_IT_IS_TOLD,
    "database_to_xml_and_xmlschema": _READS_WHAT_IT_IS_TOLD,
    "cursor_to_xml": _READS_WHAT_IT_IS_TOLD,
    "pg_show_all_file_settings": f"returns {_FILE_SETTINGS}; {CREDENTIALS}",
    "pg_hba_file_rules": f"returns {_HBA}; {CREDENTIALS}",
}


def why_never_called(name: str) -> str | None:
    """Why a built-in function that otherwise only reads is refused all the same, or None."""
    return _NEVER_CALLED.get(name)


@functools.cache
def read_functions() -> frozenset[str]:
    """PostgreSQL's built-in functions that only read (read_functions.txt says how it is made)."""
    text = resources.files("probes.postgres").joinpath("read_functions.txt").read_text()
    names = (line.strip() for line in text.splitlines())
    return frozenset(n for n in names if n and not n.startswith("#"))
