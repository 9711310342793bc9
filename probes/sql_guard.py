"""Guard for SQL from the runbook or the user: one read-only statement, without functions that act anyway."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["GuardVerdict", "check_sql"]


@dataclass(frozen=True)
class GuardVerdict:
    allowed: bool
    statement: (
        str  # the normalized single statement when allowed, "" when refused so it can't be run by mistake
    )
    reason: str  # plain words when refused, "" when allowed


def check_sql(sql: str, *, statement_timeout_s: float = 5.0) -> GuardVerdict:
    """Allow only one SELECT / SHOW / EXPLAIN (no ANALYZE) / VALUES / TABLE / WITH … SELECT statement."""
    try:
        tokens = _tokenize(sql)
        _check_statement(tokens, statement_timeout_s)
    except _Refusal as refusal:
        return GuardVerdict(allowed=False, statement="", reason=f"refused: {refusal}")
    body = _strip_trailing_semicolons(tokens)
    return GuardVerdict(allowed=True, statement=sql[body[0].start : body[-1].end], reason="")


class _Refusal(Exception):
    """Why a text is refused, in plain words (without the "refused: " prefix)."""


# --- tokenizer: PostgreSQL's lexical rules (scan.l), only as far as the guard needs them -------------------

IDENT = "ident"  # unquoted name or keyword; value is ASCII-lowercased like PostgreSQL folds it
QIDENT = "qident"  # "quoted identifier"; value is the name with "" undone
UIDENT = "uident"  # U&"..." identifier: its escapes could spell any name, so it is refused
STRING = "string"
NUMBER = "number"
PARAM = "param"
OP = "op"
PUNCT = "punct"
OTHER = "other"


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    value: str
    start: int
    end: int
    plain_backslash: bool = False  # a '...' string (not E'...') with a backslash in it


_WHITESPACE = frozenset(" \t\n\r\f\v")
_DIGITS = frozenset("0123456789")
_OP_CHARS = frozenset("+-*/<>=~!@#%^&|`?")
_PUNCT = frozenset("(),;[]:.")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*)?\$")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _is_ident_start(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z") or c == "_" or ord(c) >= 0x80


def _is_ident_char(c: str) -> bool:
    return _is_ident_start(c) or c in _DIGITS or c == "$"


def _fold(name: str) -> str:
    # PostgreSQL folds only ASCII letters of unquoted names
    return name.translate(_ASCII_LOWER)


def _tokenize(sql: str) -> list[_Token]:
    tokens: list[_Token] = []
    n = len(sql)
    i = 0
    while i < n:
        c = sql[i]
        nxt = sql[i + 1] if i + 1 < n else ""
        if c in _WHITESPACE:
            i += 1
        elif c == "-" and nxt == "-":
            i = _skip_line_comment(sql, i)
        elif c == "/" and nxt == "*":
            i = _skip_block_comment(sql, i)
        elif c == "'":
            i = _read_string(sql, i, i, tokens)
        elif c in "eE" and nxt == "'":
            i = _read_escape_string(sql, i, tokens)
        elif c in "bBxXnN" and nxt == "'":
            i = _read_string(sql, i, i + 1, tokens)
        elif c in "uU" and nxt == "&" and sql[i + 2 : i + 3] == "'":
            i = _read_string(sql, i, i + 2, tokens)
        elif c in "uU" and nxt == "&" and sql[i + 2 : i + 3] == '"':
            i = _read_quoted_ident(sql, i, i + 2, tokens, UIDENT)
        elif c == '"':
            i = _read_quoted_ident(sql, i, i, tokens, QIDENT)
        elif c == "$":
            i = _read_dollar(sql, i, tokens)
        elif c in _DIGITS or (c == "." and nxt in _DIGITS and nxt != ""):
            i = _read_number(sql, i, tokens)
        elif _is_ident_start(c):
            j = i + 1
            while j < n and _is_ident_char(sql[j]):
                j += 1
            tokens.append(_Token(IDENT, _fold(sql[i:j]), i, j))
            i = j
        elif c in _OP_CHARS:
            j = i + 1
            # "--" and "/*" start a comment even in the middle of an operator
            while j < n and sql[j] in _OP_CHARS and sql[j : j + 2] not in ("--", "/*"):
                j += 1
            tokens.append(_Token(OP, sql[i:j], i, j))
            i = j
        elif c in _PUNCT:
            tokens.append(_Token(PUNCT, c, i, i + 1))
            i += 1
        else:
            tokens.append(_Token(OTHER, c, i, i + 1))
            i += 1
    return tokens


def _skip_line_comment(sql: str, i: int) -> int:
    j = i + 2
    while j < len(sql) and sql[j] not in "\n\r":
        j += 1
    return j


def _skip_block_comment(sql: str, i: int) -> int:
    depth = 0
    j = i
    while j < len(sql):
        pair = sql[j : j + 2]
        if pair == "/*":
            depth += 1
            j += 2
        elif pair == "*/":
            depth -= 1
            j += 2
            if depth == 0:
                return j
        else:
            j += 1
    raise _Refusal("unterminated /* comment")


def _read_string(sql: str, start: int, quote: int, tokens: list[_Token]) -> int:
    """A '...' string where '' is a quote; a backslash is remembered, see _check_lexical."""
    j = quote + 1
    while j < len(sql):
        if sql[j] == "'":
            if sql[j + 1 : j + 2] == "'":
                j += 2
                continue
            text = sql[quote + 1 : j]
            tokens.append(_Token(STRING, text, start, j + 1, plain_backslash="\\" in text))
            return j + 1
        j += 1
    raise _Refusal("unterminated string literal")


def _read_escape_string(sql: str, start: int, tokens: list[_Token]) -> int:
    j = start + 2
    while j < len(sql):
        if sql[j] == "\\":
            j += 2
            continue
        if sql[j] == "'":
            if sql[j + 1 : j + 2] == "'":
                j += 2
                continue
            tokens.append(_Token(STRING, sql[start + 2 : j], start, j + 1))
            return j + 1
        j += 1
    raise _Refusal("unterminated string literal")


def _read_quoted_ident(sql: str, start: int, quote: int, tokens: list[_Token], kind: str) -> int:
    j = quote + 1
    while j < len(sql):
        if sql[j] == '"':
            if sql[j + 1 : j + 2] == '"':
                j += 2
                continue
            tokens.append(_Token(kind, sql[quote + 1 : j].replace('""', '"'), start, j + 1))
            return j + 1
        j += 1
    raise _Refusal("unterminated quoted identifier")


def _read_dollar(sql: str, i: int, tokens: list[_Token]) -> int:
    j = i + 1
    if j < len(sql) and sql[j] in _DIGITS:
        while j < len(sql) and sql[j] in _DIGITS:
            j += 1
        tokens.append(_Token(PARAM, sql[i:j], i, j))
        return j
    match = _DOLLAR_TAG.match(sql, i)
    if match is None:
        tokens.append(_Token(OTHER, "$", i, i + 1))
        return i + 1
    tag = match.group()
    close = sql.find(tag, match.end())
    if close < 0:
        raise _Refusal(f"unterminated dollar-quoted string (no closing {tag})")
    tokens.append(_Token(STRING, sql[match.end() : close], i, close + len(tag)))
    return close + len(tag)


def _read_number(sql: str, i: int, tokens: list[_Token]) -> int:
    n = len(sql)
    j = i
    if sql[i] == "0" and sql[i + 1 : i + 2] in ("x", "X", "o", "O", "b", "B"):
        j = i + 2
        while j < n and (sql[j].isascii() and (sql[j].isalnum() or sql[j] == "_")):
            j += 1
    else:
        while j < n and (sql[j] in _DIGITS or sql[j] == "_"):
            j += 1
        if j < n and sql[j] == "." and sql[j + 1 : j + 2] != ".":
            j += 1
            while j < n and (sql[j] in _DIGITS or sql[j] == "_"):
                j += 1
        if j < n and sql[j] in "eE":
            k = j + 1
            if k < n and sql[k] in "+-":
                k += 1
            if k < n and sql[k] in _DIGITS:
                j = k
                while j < n and sql[j] in _DIGITS:
                    j += 1
    tokens.append(_Token(NUMBER, sql[i:j], i, j))
    return j


# --- statement rules ----------------------------------------------------------------------------------------

_READ_STARTS = frozenset({"select", "values", "table", "with"})
_ALLOWED_SUMMARY = "only a single SELECT, SHOW, EXPLAIN, VALUES, TABLE or WITH … SELECT statement is allowed"

_TX = "would end or change the guard's read-only transaction"
_DDL = "changes the schema or permissions"
_MAINT = "is a maintenance command that writes and takes locks"
_COMMAND_REASONS: dict[str, str] = {
    "insert": "writes data",
    "update": "writes data",
    "delete": "writes data",
    "merge": "writes data",
    "copy": "reads or writes server files, programs or client streams",
    "set": "changes session settings (it could lift the statement timeout or read-only mode)",
    "reset": "changes session settings (it could lift the statement timeout or read-only mode)",
    "do": "runs a procedural code block, which can do anything the role can",
    "call": "runs a procedure, which may commit and write",
    "begin": _TX,
    "start": _TX,
    "commit": _TX,
    "end": _TX,
    "rollback": _TX,
    "abort": _TX,
    "savepoint": _TX,
    "release": _TX,
    "prepare": "prepares a statement or transaction that outlives this check",
    "execute": "runs a prepared statement the guard has not seen",
    "deallocate": "changes session state",
    "discard": "changes session state",
    "declare": "opens a cursor that outlives this check",
    "fetch": "reads from a cursor the guard has not seen",
    "move": "moves a cursor the guard has not seen",
    "close": "changes session state",
    "listen": "subscribes the session to notifications",
    "unlisten": "changes session state",
    "notify": "sends a notification to other sessions",
    "lock": "takes table locks that block other sessions",
    "vacuum": _MAINT,
    "analyze": _MAINT,
    "analyse": _MAINT,
    "cluster": _MAINT,
    "reindex": _MAINT,
    "refresh": _MAINT,
    "checkpoint": "forces a checkpoint, a burst of writes on the server",
    "load": "loads a shared library into the server",
    "create": _DDL,
    "alter": _DDL,
    "drop": _DDL,
    "truncate": "deletes every row of a table",
    "grant": _DDL,
    "revoke": _DDL,
    "comment": _DDL,
    "security": _DDL,
    "import": _DDL,
    "reassign": _DDL,
}
_WRITE_KEYWORDS = frozenset({"insert", "update", "delete", "merge"})


def _strip_trailing_semicolons(tokens: list[_Token]) -> list[_Token]:
    end = len(tokens)
    while end and tokens[end - 1].value == ";" and tokens[end - 1].kind == PUNCT:
        end -= 1
    return tokens[:end]


def _check_statement(tokens: list[_Token], statement_timeout_s: float) -> None:
    body = _strip_trailing_semicolons(tokens)
    if not body:
        raise _Refusal("empty statement")
    if any(t.kind == PUNCT and t.value == ";" for t in body):
        raise _Refusal("more than one statement (something follows a ';'); run them one at a time")
    _check_lexical(body)
    _check_kind(body)
    _check_row_locks(body)
    _check_writes(body)
    _check_into(body)
    _check_functions(body, statement_timeout_s)


def _check_lexical(body: list[_Token]) -> None:
    for token in body:
        if token.kind == UIDENT:
            raise _Refusal('a U&"…" identifier: its escapes can spell any name, so write the name plainly')
        if token.plain_backslash:
            # with standard_conforming_strings off the server ends this string elsewhere than we do
            raise _Refusal("a backslash inside a '…' string is read differently by some servers; use E'…'")
        if token.kind == OTHER:
            what = "a psql backslash command" if token.value == "\\" else f"the character {token.value!r}"
            raise _Refusal(f"{what} outside a string is not SQL the guard can check")


def _first_keyword(body: list[_Token], at: int) -> tuple[int, _Token | None]:
    """Skip the parentheses that may open a query, e.g. (SELECT 1) UNION (SELECT 2)."""
    while at < len(body) and body[at].kind == PUNCT and body[at].value == "(":
        at += 1
    return at, body[at] if at < len(body) else None


def _check_kind(body: list[_Token]) -> None:
    at, first = _first_keyword(body, 0)
    if first is None or first.kind != IDENT:
        shown = "nothing" if first is None else _shown(first)
        raise _Refusal(f"{_ALLOWED_SUMMARY}; this one starts with {shown}")
    if first.value in _READ_STARTS:
        return
    if first.value == "show" and at == 0:
        return
    if first.value == "explain" and at == 0:
        _check_explain(body, 1)
        return
    why = _COMMAND_REASONS.get(first.value)
    if why is None:
        raise _Refusal(f"{first.value.upper()} is not a read; {_ALLOWED_SUMMARY}")
    raise _Refusal(f"{first.value.upper()} {why}")


def _check_explain(body: list[_Token], at: int) -> None:
    analyze = False
    if at < len(body) and body[at].kind == PUNCT and body[at].value == "(":
        depth = 0
        while at < len(body):
            token = body[at]
            if token.kind == PUNCT and token.value == "(":
                depth += 1
            elif token.kind == PUNCT and token.value == ")":
                depth -= 1
                if depth == 0:
                    at += 1
                    break
            # the server takes option names as identifiers, so ("analyze") turns it on too
            elif token.kind in (IDENT, QIDENT) and _fold(token.value) in ("analyze", "analyse"):
                analyze = True
            at += 1
    while at < len(body) and body[at].kind == IDENT and body[at].value in ("analyze", "analyse", "verbose"):
        analyze = analyze or body[at].value != "verbose"
        at += 1
    if analyze:
        raise _Refusal("EXPLAIN ANALYZE executes the statement it explains; use plain EXPLAIN")
    _, target = _first_keyword(body, at)
    if target is None:
        raise _Refusal("EXPLAIN of nothing")
    if target.kind != IDENT or target.value not in _READ_STARTS:
        # EXPLAIN alone doesn't execute, but the explained statement has to pass the same rules
        why = _COMMAND_REASONS.get(target.value) if target.kind == IDENT else None
        suffix = f": {target.value.upper()} {why}" if why else f"; {_ALLOWED_SUMMARY}"
        raise _Refusal(f"EXPLAIN of {_shown(target)}{suffix}")


def _shown(token: _Token) -> str:
    return token.value.upper() if token.kind == IDENT else repr(token.value)


def _ident_at(body: list[_Token], i: int, *values: str) -> bool:
    return 0 <= i < len(body) and body[i].kind == IDENT and body[i].value in values


def _check_row_locks(body: list[_Token]) -> None:
    for i, token in enumerate(body):
        if token.kind != IDENT or token.value != "for":
            continue
        words: list[str] = []
        if _ident_at(body, i + 1, "update", "share"):
            words = ["UPDATE" if body[i + 1].value == "update" else "SHARE"]
        elif (
            _ident_at(body, i + 1, "no")
            and _ident_at(body, i + 2, "key")
            and _ident_at(body, i + 3, "update")
        ):
            words = ["NO", "KEY", "UPDATE"]
        elif _ident_at(body, i + 1, "key") and _ident_at(body, i + 2, "share"):
            words = ["KEY", "SHARE"]
        if words:
            clause = " ".join(["FOR", *words])
            raise _Refusal(f"SELECT … {clause} takes row locks that block writers until the transaction ends")


def _check_writes(body: list[_Token]) -> None:
    for token in body:
        if token.kind == IDENT and token.value in _WRITE_KEYWORDS:
            keyword = token.value.upper()
            if _ident_at(body, 0, "with"):
                raise _Refusal(f"WITH … {keyword} is a data-modifying CTE; it writes even inside a query")
            raise _Refusal(f'{keyword} writes data (if it is a column name, quote it: "{token.value}")')


def _check_into(body: list[_Token]) -> None:
    if any(t.kind == IDENT and t.value == "into" for t in body):
        raise _Refusal("SELECT … INTO creates a table; use a plain SELECT")


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


def _why_refused(name: str) -> str | None:
    if name in _REFUSED_FUNCTIONS:
        return _REFUSED_FUNCTIONS[name]
    for prefix, why in _REFUSED_PREFIXES:
        if name.startswith(prefix):
            return why
    for suffix, why in _REFUSED_SUFFIXES:
        if name.endswith(suffix):
            return why
    return None


def _is_punct(body: list[_Token], i: int, value: str) -> bool:
    return 0 <= i < len(body) and body[i].kind == PUNCT and body[i].value == value


def _check_functions(body: list[_Token], statement_timeout_s: float) -> None:
    slept = 0.0
    for i, token in enumerate(body):
        if token.kind not in (IDENT, QIDENT):
            continue
        called = _is_punct(body, i + 1, "(")
        # t.f is the same call as f(t) in PostgreSQL ("attribute notation"), so a qualified name counts too
        if not (called or _is_punct(body, i - 1, ".")):
            continue
        # quoted names are folded as well: refusing "PG_SLEEP"(9) costs nothing and a wrapper may be named so
        name = _fold(token.value)
        if name == "pg_sleep":
            slept += _sleep_seconds(body, i, called)
            if slept > statement_timeout_s:
                raise _Refusal(
                    f"pg_sleep() would sleep {slept:g} s, longer than the {statement_timeout_s:g} s "
                    "statement timeout"
                )
            continue
        why = _why_refused(name)
        if why is not None:
            raise _Refusal(f"{name}() {why}, even in a read-only transaction")


def _sleep_seconds(body: list[_Token], i: int, called: bool) -> float:
    argument = body[i + 2] if called and i + 2 < len(body) else None
    if argument is None or argument.kind != NUMBER or not _is_punct(body, i + 3, ")"):
        raise _Refusal("pg_sleep() is allowed only with a plain number of seconds, e.g. pg_sleep(1)")
    return _number_value(argument.value)


_NUMBER_PARSERS: tuple[Callable[[str], float], ...] = (float, lambda s: float(int(s, 0)))


def _number_value(text: str) -> float:
    cleaned = text.replace("_", "")
    for parse in _NUMBER_PARSERS:
        try:
            return parse(cleaned)
        except ValueError:
            continue
    raise _Refusal(f"pg_sleep() argument {text!r} is not a number the guard understands")
