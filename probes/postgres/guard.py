"""Guard for SQL from the runbook or the user: one read-only statement that reaches only what is allowed.

Two steps, both an allowlist. `check_sql` reads the text with PostgreSQL's own scanner and grammar (pglast,
libpg_query) and allows one SELECT, SHOW, EXPLAIN (not ANALYZE), VALUES, TABLE or WITH … SELECT whose every
function is one of PostgreSQL's built-in read-only functions (`read_functions.txt`) or named in the
config. What the text alone cannot settle is which object a name reaches on a given server: a user function
that shadows a built-in through search_path, an operator, a cast, a view. `judge_catalog` (guard_catalog.py)
settles that from the server's own catalog, read by `CATALOG_SQL` in the same session just before the
statement would run: anything user-defined that can run code is refused unless the config allows it by name.
Neither step reads a catalog that holds credentials (pg_authid, user mappings' and foreign servers' options,
subscriptions' connection strings…) or one the server withholds from ordinary roles, directly or through a
view, whatever the role may read: a superuser DSN must not put every role's password hash on the screen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pglast import ast, parse_sql
from pglast.enums import A_Expr_Kind
from pglast.parser import ParseError, scan

from probes.postgres.guard_allow import NOTHING_ALLOWED, Allowlist, Reaches
from probes.postgres.guard_functions import read_functions, why_never_called, why_never_read, why_refused

__all__ = [
    "NOTHING_ALLOWED",
    "Allowlist",
    "GuardVerdict",
    "Reaches",
    "check_sql",
]

BUILTIN_SCHEMAS = frozenset({"pg_catalog", "information_schema"})


@dataclass(frozen=True)
class GuardVerdict:
    allowed: bool
    statement: (
        str  # the normalized single statement when allowed, "" when refused so it can't be run by mistake
    )
    reason: str  # plain words when refused, "" when allowed
    reaches: Reaches = field(default=Reaches(), compare=False)  # for judge_catalog, when allowed


def check_sql(
    sql: str, *, statement_timeout_s: float = 5.0, allow: Allowlist = NOTHING_ALLOWED
) -> GuardVerdict:
    """Allow only one SELECT / SHOW / EXPLAIN (no ANALYZE) / VALUES / TABLE / WITH … SELECT statement."""
    try:
        tokens = _tokenize(sql)
        body = _strip_trailing_semicolons(tokens)
        _check_statement(body)
        reaches = _check_tree(sql, statement_timeout_s, allow)
    except _Refusal as refusal:
        return GuardVerdict(allowed=False, statement="", reason=f"refused: {refusal}")
    except RecursionError:
        # a hostile runbook can nest expressions deeper than the tree can be walked: refused, never a crash
        return GuardVerdict(
            allowed=False, statement="", reason="refused: nested too deeply for the guard to check"
        )
    return GuardVerdict(allowed=True, statement=sql[body[0].start : body[-1].end], reason="", reaches=reaches)


class _Refusal(Exception):
    """Why a text is refused, in plain words (without the "refused: " prefix)."""


# --- tokens: PostgreSQL's own scanner (libpg_query through pglast) -----------------------------------------

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


_COMMENTS = frozenset({"C_COMMENT", "SQL_COMMENT"})
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_PUNCT = frozenset("(),;[]:.")
_KINDS = {
    "UIDENT": UIDENT,
    "SCONST": STRING,
    "USCONST": STRING,
    "BCONST": STRING,
    "XCONST": STRING,
    "ICONST": NUMBER,
    "FCONST": NUMBER,
    "PARAM": PARAM,
}


def _fold(name: str) -> str:
    # PostgreSQL folds only ASCII letters of unquoted names
    return name.translate(_ASCII_LOWER)


def _tokenize(sql: str) -> list[_Token]:
    if "\x00" in sql:
        # the scanner stops at a NUL, the server refuses the text: nothing after it could be checked
        raise _Refusal("a NUL character in the text; PostgreSQL does not take one")
    try:
        scanned = scan(sql)
    except ParseError as exc:
        raise _Refusal(_lexical_error(sql, exc)) from None
    return [_token(sql, t.start, t.end + 1, t.name) for t in scanned if t.name not in _COMMENTS]


def _token(sql: str, start: int, end: int, name: str) -> _Token:
    text = sql[start:end]
    if name == "IDENT" and text.startswith('"'):
        return _Token(QIDENT, text[1:-1].replace('""', '"'), start, end)
    if name in _KINDS:
        kind = _KINDS[name]
        plain = kind == STRING and text.startswith("'") and "\\" in text
        return _Token(kind, text, start, end, plain_backslash=plain)
    if name.startswith("ASCII_"):
        char = chr(int(name.removeprefix("ASCII_")))
        kind = PUNCT if char in _PUNCT else OTHER if char == "\\" or not char.isprintable() else OP
        return _Token(kind, char, start, end)
    if name == "Op" or (not text[:1].isalpha() and text[:1] != "_"):
        return _Token(OP, text, start, end)  # Op, and the scanner's named operators (::, <=, =>, ..)
    return _Token(IDENT, _fold(text), start, end)  # a name or a keyword


def _lexical_error(sql: str, exc: ParseError) -> str:
    message = str(exc.args[0]) if exc.args else str(exc)
    at = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
    if message.startswith("unterminated quoted string"):
        return "unterminated string literal"
    if message.startswith("unterminated dollar-quoted string") and at is not None:
        tag = sql[at : sql.index("$", at + 1) + 1] if "$" in sql[at + 1 :] else "$"
        return f"unterminated dollar-quoted string (no closing {tag})"
    return message.split(" at or near ")[0]


def _strip_trailing_semicolons(tokens: list[_Token]) -> list[_Token]:
    end = len(tokens)
    while end and tokens[end - 1].value == ";" and tokens[end - 1].kind == PUNCT:
        end -= 1
    return tokens[:end]


def _check_statement(body: list[_Token]) -> None:
    if not body:
        raise _Refusal("empty statement")
    if any(t.kind == PUNCT and t.value == ";" for t in body):
        raise _Refusal("more than one statement (something follows a ';'); run them one at a time")
    _check_lexical(body)
    _check_kind(body)
    _check_row_locks(body)
    _check_writes(body)
    _check_into(body)


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


# --- the parse tree: what the statement is, and every function, operator, type and relation it reaches -----

_WRITES = {
    ast.InsertStmt: "INSERT",
    ast.UpdateStmt: "UPDATE",
    ast.DeleteStmt: "DELETE",
    ast.MergeStmt: "MERGE",
}


def _check_tree(sql: str, statement_timeout_s: float, allow: Allowlist) -> Reaches:
    try:
        parsed = parse_sql(sql)
    except ParseError as exc:
        raise _Refusal(f"not valid SQL: {exc}") from None
    if len(parsed) != 1:
        raise _Refusal("more than one statement (something follows a ';'); run them one at a time")
    statement = parsed[0].stmt
    if isinstance(statement, ast.ExplainStmt):
        if any(_fold(option.defname) in ("analyze", "analyse") for option in statement.options or ()):
            raise _Refusal("EXPLAIN ANALYZE executes the statement it explains; use plain EXPLAIN")
        statement = statement.query
    if isinstance(statement, ast.VariableShowStmt):
        return Reaches()
    if not isinstance(statement, ast.SelectStmt):
        raise _Refusal(f"{type(statement).__name__} is not a read; {_ALLOWED_SUMMARY}")
    walk = _Walk(statement_timeout_s, allow)
    walk.visit(statement, frozenset())
    return walk.reaches()


class _Walk:
    """Walks a parse tree once: refuses what acts, collects the names the catalog check must resolve."""

    def __init__(self, statement_timeout_s: float, allow: Allowlist) -> None:
        self.timeout = statement_timeout_s
        self.allow = allow
        self.slept = 0.0
        # "=" is used without being named: CASE x WHEN, IN, DISTINCT, joins USING
        self.operators: dict[tuple[str, str], None] = {("", "="): None}
        self.functions: dict[tuple[str, str], None] = {}
        self.types: dict[tuple[str, str], None] = {}
        self.relations: dict[tuple[str, str], None] = {}
        self.attributes: dict[str, None] = {}

    def reaches(self) -> Reaches:
        return Reaches(
            functions=tuple(self.functions),
            operators=tuple(self.operators),
            types=tuple(self.types),
            relations=tuple(self.relations),
            attributes=tuple(self.attributes),
        )

    def visit(self, node: Any, ctes: frozenset[str]) -> None:
        if isinstance(node, tuple | list):
            for item in node:
                self.visit(item, ctes)
            return
        if not isinstance(node, ast.Node):
            return
        if type(node) in _WRITES:
            keyword = _WRITES[type(node)]
            raise _Refusal(f"WITH … {keyword} is a data-modifying CTE; it writes even inside a query")
        if isinstance(node, ast.SelectStmt):
            self._select(node, ctes)
            return
        if isinstance(node, ast.RawStmt | ast.ExplainStmt) or node.__class__.__name__.endswith("Stmt"):
            raise _Refusal(f"{type(node).__name__} inside a query is not a read")
        self._note(node, ctes)
        for name in node:
            self.visit(getattr(node, name), ctes)

    def _select(self, node: ast.SelectStmt, ctes: frozenset[str]) -> None:
        if node.intoClause is not None:
            raise _Refusal("SELECT … INTO creates a table; use a plain SELECT")
        if node.lockingClause:
            raise _Refusal(
                "SELECT … FOR UPDATE/SHARE takes row locks that block writers until the transaction ends"
            )
        with_clause = node.withClause
        if with_clause is not None:
            queries = with_clause.ctes or ()  # pglast types every field optional; a WITH has its queries
            names = [cte.ctename for cte in queries]
            for i, cte in enumerate(queries):
                # a plain WITH sees only the queries before it; WITH RECURSIVE sees them all
                seen = names if with_clause.recursive else names[:i]
                if type(cte.ctequery) in _WRITES:
                    keyword = _WRITES[type(cte.ctequery)]
                    raise _Refusal(f"WITH … {keyword} is a data-modifying CTE; it writes even inside a query")
                self.visit(cte.ctequery, ctes | frozenset(seen))
            ctes = ctes | frozenset(names)
        for name in node:
            if name != "withClause":
                self.visit(getattr(node, name), ctes)

    def _note(self, node: ast.Node, ctes: frozenset[str]) -> None:
        if isinstance(node, ast.FuncCall):
            self._function(_qualified(node.funcname or ()), node)
        elif isinstance(node, ast.A_Expr):
            if node.kind in _BETWEEN:
                self.operators.update({("", ">="): None, ("", "<="): None})
            else:
                self.operators[_qualified(node.name or ())] = None
        elif isinstance(node, ast.SubLink) and node.operName:
            self.operators[_qualified(node.operName)] = None
        elif isinstance(node, ast.SortBy) and node.useOp:
            self.operators[_qualified(node.useOp)] = None
        elif isinstance(node, ast.TypeName) and node.names:
            self.types[_qualified(node.names)] = None
        elif isinstance(node, ast.RangeVar):
            if node.schemaname or node.relname not in ctes:
                schema, name = node.schemaname or "", node.relname or ""
                # whatever reads it (SELECT *, TABLE, a whole row, a join, a subquery) names it here
                why = why_never_read(schema, name)
                if why is not None:
                    raise _Refusal(why)
                self.relations[(schema, name)] = None
        elif isinstance(node, ast.ColumnRef):
            self._attributes((node.fields or ())[1:])
        elif isinstance(node, ast.A_Indirection):
            self._attributes(node.indirection or ())

    def _attributes(self, fields: Iterable[Any]) -> None:
        for item in fields:
            if isinstance(item, ast.String):
                name = item.sval or ""
                why = why_refused(_fold(name))
                if why is not None:
                    # t.f is the same call as f(t) in PostgreSQL ("attribute notation")
                    raise _Refusal(f"{_fold(name)}() {why}, even in a read-only transaction")
                self.attributes[name] = None

    def _function(self, qualified: tuple[str, str], call: ast.FuncCall) -> None:
        schema, name = qualified
        self.functions[qualified] = None
        self.types[qualified] = None  # f(x) is also the cast x::f when no function f takes x
        if schema and schema not in BUILTIN_SCHEMAS:
            if self.allow.allows_function(schema, name):
                return
            raise _Refusal(f"{schema}.{name}() {_NOT_BUILTIN}")
        if name == "pg_sleep":
            self.slept += _sleep_seconds(call)
            if self.slept > self.timeout:
                raise _Refusal(
                    f"pg_sleep() would sleep {self.slept:g} s, longer than the {self.timeout:g} s "
                    "statement timeout"
                )
            return
        why = why_never_called(name)
        if why is not None:
            raise _Refusal(f"{name}() {why}")
        if name in read_functions() or self.allow.allows_function(schema, name):
            return
        why = why_refused(_fold(name))
        if why is not None:
            raise _Refusal(f"{name}() {why}, even in a read-only transaction")
        raise _Refusal(f"{name}() {_NOT_BUILTIN}")


_NOT_BUILTIN = (
    "is not one of PostgreSQL's built-in read-only functions (a user-defined function runs with its "
    "owner's rights and can act); if it only reads, allow it by name in [postgres] allow_functions"
)
_BETWEEN = frozenset(
    {
        A_Expr_Kind.AEXPR_BETWEEN,
        A_Expr_Kind.AEXPR_NOT_BETWEEN,
        A_Expr_Kind.AEXPR_BETWEEN_SYM,
        A_Expr_Kind.AEXPR_NOT_BETWEEN_SYM,
    }
)


def _qualified(names: Sequence[Any]) -> tuple[str, str]:
    parts = [n.sval or "" for n in names if isinstance(n, ast.String)]
    if not parts:
        return ("", "")
    return (parts[-2] if len(parts) > 1 else "", parts[-1])


def _sleep_seconds(call: ast.FuncCall) -> float:
    args = call.args or ()
    value = args[0].val if len(args) == 1 and isinstance(args[0], ast.A_Const) else None
    if not isinstance(value, ast.Integer | ast.Float):
        raise _Refusal("pg_sleep() is allowed only with a plain number of seconds, e.g. pg_sleep(1)")
    seconds = _number_value(str(value.ival if isinstance(value, ast.Integer) else value.fval))
    if seconds < 0:
        raise _Refusal("pg_sleep() is allowed only with a plain number of seconds, e.g. pg_sleep(1)")
    return seconds


_NUMBER_PARSERS: tuple[Callable[[str], float], ...] = (float, lambda s: float(int(s, 0)))


def _number_value(text: str) -> float:
    cleaned = text.replace("_", "")
    for parse in _NUMBER_PARSERS:
        try:
            return parse(cleaned)
        except ValueError:
            continue
    raise _Refusal(f"pg_sleep() argument {text!r} is not a number the guard understands")
