"""SQL, bare or through `psql -c`: what the PostgreSQL guard allows is a live read."""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import replace
from typing import TYPE_CHECKING

from probes.postgres import NOTHING_ALLOWED, Allowlist
from tui.triage.commands.model import Classified, LiveRead, ReadParams, Server
from tui.triage.commands.options import (
    Options,
    Unsupported,
    flag_table,
    mutating,
    parse_options,
    unknown,
)
from tui.triage.commands.servers import server_named

if TYPE_CHECKING:
    from probes.postgres import GuardVerdict

# what the SQL guard allows beyond the built-ins, for the SQL met at any depth of the one classify() call
SQL_ALLOW: ContextVar[Allowlist] = ContextVar("sql_allow", default=NOTHING_ALLOWED)


_SQL_READ_VERBS = frozenset({"select", "with", "values", "table", "show", "explain"})
# verbs that are also shell words count as SQL only in upper case or when the text ends with ';'
_SQL_SHELL_WORDS = frozenset(
    {
        "set", "reset", "do", "end", "start", "call", "copy", "load", "import", "move", "close", "fetch",
        "show", "table", "comment", "lock", "release", "prepare", "execute", "declare", "listen", "notify",
        "begin", "abort", "security", "reassign", "commit", "rollback", "savepoint", "discard", "deallocate",
        "unlisten", "checkpoint", "values",
    }
)  # fmt: skip
_SQL_VERBS = _SQL_READ_VERBS | _SQL_SHELL_WORDS | {
    "insert", "update", "delete", "merge", "vacuum", "analyze", "analyse", "cluster", "reindex", "refresh",
    "truncate", "drop", "alter", "create", "grant", "revoke", "abort",
}  # fmt: skip
_SQL_FIRST_WORD = re.compile(r"(?:\s|--[^\n]*|/\*.*?\*/|\()*([A-Za-z_]+)", re.DOTALL)
_SQL_LITERAL = (
    r"(?<![\w$])[Ee]'(?:[^'\\]|\\.|'')*'?"  # E'…' with backslash escapes
    r"|'(?:[^']|'')*'?"
    r'|"(?:[^"]|"")*"?'
    r"|\$(?P<tag>(?:[A-Za-z_]\w*)?)\$.*?(?:\$(?P=tag)\$|\Z)"
    r"|--[^\n]*"
    r"|/\*.*?(?:\*/|\Z)"
)
_SQL_LITERALS = re.compile(_SQL_LITERAL, re.DOTALL)
_SQL_STATEMENT_ENDS = re.compile(_SQL_LITERAL + r"|;", re.DOTALL)
# what makes a statement that starts like a read act anyway (the guard refuses it; this says it mutates)
_SQL_ACTS = re.compile(
    r"\b(?:insert|update|delete|merge|into)\b|\bfor\s+(?:no\s+key\s+update|key\s+share|share)\b"
    r"|\b(?:pg_terminate_backend|pg_cancel_backend|pg_signal_backend|pg_reload_conf|set_config|nextval"
    r"|setval|pg_switch_(?:wal|xlog)|pg_promote|pg_(?:create|drop|copy)_\w+|pg_replication_\w+"
    r"|pg_(?:wal|xlog)_replay_\w+|pg_(?:start|stop)_backup|pg_backup_\w+|pg_(?:try_)?advisory\w*"
    r"|pg_rotate_logfile|pg_file_\w+|lo_\w+|lowrite|dblink\w*|\w+_reset|pg_logical_\w+|pg_notify"
    r"|txid_current|pg_current_xact_id|pg_truncate_visibility_map)\s*\(",
    re.IGNORECASE,
)


def looks_like_sql(text: str) -> bool:
    match = _SQL_FIRST_WORD.match(text)
    if match is None or match.group(1).lower() not in _SQL_VERBS:
        return False
    word = match.group(1)
    return word.lower() not in _SQL_SHELL_WORDS or word.isupper() or text.rstrip().endswith(";")


def classify_sql(sql: str) -> Classified:
    """SQL through the PostgreSQL guard: allowed → a live read; refused → mutating when it acts."""
    from probes.postgres import check_sql  # here: pglast loads at the first SQL classified, not at start-up

    verdict = check_sql(sql, allow=SQL_ALLOW.get())
    if verdict.allowed:
        return LiveRead("postgresql", "sql", ReadParams(statement=verdict.statement), "")
    for statement in _sql_statements(sql):
        each = check_sql(statement)
        if not each.allowed and _sql_acts(statement):
            return mutating(_guard_reason(each))
    return unknown(f"the PostgreSQL guard refused it: {_guard_reason(verdict)}")


def _sql_statements(sql: str) -> list[str]:
    """The statements between top-level semicolons (not those in strings, identifiers or comments)."""
    statements, start = [], 0
    for match in _SQL_STATEMENT_ENDS.finditer(sql):
        if match.group() == ";":
            statements.append(sql[start : match.start()])
            start = match.end()
    statements.append(sql[start:])
    return [s.strip() for s in statements if s.strip()]


def _sql_acts(statement: str) -> bool:
    code = _SQL_LITERALS.sub(" ", statement)
    match = _SQL_FIRST_WORD.match(code)
    if match is None:
        return False
    verb = match.group(1).lower()
    if verb in _SQL_VERBS and verb not in _SQL_READ_VERBS:
        return True
    return verb in _SQL_READ_VERBS and _SQL_ACTS.search(code) is not None


def _guard_reason(verdict: GuardVerdict) -> str:
    return verdict.reason.removeprefix("refused: ")


_PSQL_FLAGS = flag_table(
    ("-c --command", "command", True),
    ("-f --file", "file", True),
    ("-o --output -L --log-file", "output-file", True),
    ("-h --host", "host", True),
    ("-p --port", "port", True),
    ("-d --dbname", "dbname", True),
    ("-U --username", "connection", True),
    ("-w --no-password -W --password", "connection-switch", False),
    ("-P --pset -v --set --variable -F --field-separator -R --record-separator", "format", True),
    ("-X --no-psqlrc -A --no-align -t --tuples-only -q --quiet -x --expanded --csv -e -a -b -n", "ui", False),
)


def classify_psql(args: list[str], depth: int) -> Classified:
    opts = parse_options(args, _PSQL_FLAGS, "psql")
    commands = opts.values.get("command", [])
    if not commands:
        return unknown("psql without -c opens an interactive session oncall can't see")
    result = classify_sql("; ".join(commands))
    if isinstance(result, LiveRead):
        # the probe reads the server oncall is configured for: classify() checks it is the one named here
        allowed = {"command", "host", "port", "dbname", "connection", "connection-switch", "format", "ui"}
        opts.require(frozenset(allowed), "psql")
        return replace(result, server=_psql_server(opts))
    return result


def _psql_server(opts: Options) -> Server | None:
    """The server psql is pointed at by -h, -p and a connection string or URI in place of the database."""
    from psycopg import ProgrammingError  # libpq's reading of a DSN; not loaded at oncall's start
    from psycopg.conninfo import conninfo_to_dict

    hosts = [h for value in opts.values.get("host", []) for h in value.split(",") if h]
    ports = [p for value in opts.values.get("port", []) for p in value.split(",") if p]
    for value in [*opts.values.get("dbname", []), *opts.positionals[:1]]:
        if "=" not in value and not re.match(r"postgres(?:ql)?://", value):
            continue  # a plain database name
        try:
            params = conninfo_to_dict(value)
        except ProgrammingError:
            # never echoed: a connection string may hold a password
            raise Unsupported("psql's connection string can't be read") from None
        hosts += [h for h in str(params.get("host") or params.get("hostaddr") or "").split(",") if h]
        ports += [p for p in str(params.get("port") or "").split(",") if p]
        if params.get("service"):
            hosts.append(f"service={params['service']}")  # pg_service.conf decides: never oncall's own
    return server_named(hosts, ports, "psql -p")
