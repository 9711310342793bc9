"""The SQL guard's second step: which object each name a statement uses reaches on this server, read from
the server's own catalog (sql/catalog.sql) in the probe's session just before the statement would run."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from probes.postgres.guard import NOTHING_ALLOWED, Allowlist, Reaches
from probes.postgres.guard_functions import (
    CREDENTIAL_RELATIONS,
    CREDENTIALS,
    INSTEAD,
    WITHHELD,
    WITHHELD_BY_SERVER,
    WITHHELD_RELATIONS,
)
from probes.postgres.queries import sql_text

FIRST_USER_OID = 16384  # FirstNormalObjectId: every object initdb creates (the built-ins) has a lower OID

# One round trip, run in the probe's own session just before the statement (same search_path): for each name
# the statement uses, the objects it can reach. Every row: kind, the name asked, the object's schema, its
# identity, whether it is a built-in, a detail (relkind, typtype, castcontext, an operator's function) and the
# extension it belongs to. The casts listed are those whose function is not a built-in, whatever they cast.
# Built-in functions, operators and relations (OID below FIRST_USER_OID), which the judge accepts whatever
# else holds, are left out on the server: a `=` alone reaches ~60 built-in operators, all decoded for
# nothing. Types are kept, built-in ones too: a cast to a built-in type may call a user-defined cast. A
# relation, built-in or not, is kept when it reaches (itself, or through views) a built-in that holds
# credentials or that PUBLIC may not SELECT: the last column names that built-in.
CATALOG_SQL = sql_text("catalog.sql")


def catalog_params(reaches: Reaches) -> dict[str, object]:
    """CATALOG_SQL's parameters for the names one statement reaches."""
    asked: list[tuple[str, str, str]] = [("function", s, n) for s, n in reaches.functions]
    asked += [("attribute", "", name) for name in reaches.attributes]
    asked += [("operator", s, n) for s, n in reaches.operators]
    asked += [("relation", s, n) for s, n in reaches.relations]
    asked += [("type", s, n) for s, n in reaches.types]
    return {
        "kinds": [a[0] for a in asked],
        "schemas": [a[1] for a in asked],
        "names": [a[2] for a in asked],
        "first": FIRST_USER_OID,
        "credentials": [f"{schema}.{name}" for schema, name in CREDENTIAL_RELATIONS],
    }


@dataclass(frozen=True)
class _Found:
    kind: str
    asked: str
    schema: str
    identity: str
    builtin: bool
    detail: str
    extension: str | None
    function: str | None  # schema.name of the function it calls: the function itself, an operator's, a cast's
    # a relation's: schema.name of a built-in it reads (itself, or through views) that holds credentials or
    # that PUBLIC may not SELECT
    withheld: str | None


def judge_catalog(rows: Iterable[Sequence[Any]], allow: Allowlist = NOTHING_ALLOWED) -> str:
    """ "" when every object the statement reaches on this server is allowed, else why not ("refused: …")."""
    found = [_Found(*row) for row in rows]
    types = {f.identity for f in found if f.kind == "type"}
    for f in found:
        why = _why_not(f, allow, types)
        if why:
            return f"refused: {why}"
    return ""


def _why_not(f: _Found, allow: Allowlist, types: set[str]) -> str:
    extension = f.extension is not None and f.extension in allow.extensions
    if f.kind in ("function", "attribute"):
        if f.builtin or allow.allows_function(f.schema, f.asked) or (extension and f.detail != "v"):
            return ""
        called = f"{f.asked}()" if f.kind == "function" else f"{f.asked} (t.{f.asked} calls {f.asked}(t))"
        return f"{called} reaches the user-defined function {f.identity} on this server, {_ACTS}"
    if f.kind == "operator":
        if f.builtin or extension or _allows(allow, f.function):
            return ""
        return (
            f"the operator {f.asked} reaches {f.identity}, which calls the user-defined function "
            f"{f.function}, {_ACTS}"
        )
    if f.kind == "relation":
        return _relation_refusal(f, allow, extension)
    if f.kind == "type":
        if f.builtin or f.detail != "d" or extension:
            return ""
        return f"{f.identity} is a user-defined domain: a cast to it runs its CHECK constraints, {_ACTS}"
    if f.kind == "cast":
        if _allows(allow, f.function):
            return ""
        if f.detail == "i":
            return f"the server has an implicit cast {f.identity}, which any expression may call, {_ACTS}"
        if f.asked in types:
            return f"a cast to {f.asked} may call the user-defined cast {f.identity}, {_ACTS}"
    return ""


def _allows(allow: Allowlist, function: str | None) -> bool:
    schema, _, name = (function or "").partition(".")
    return allow.allows_function(schema, name)


_ACTS = "and what it does cannot be checked; allow it by name in the [postgres] config if it only reads"


def _relation_refusal(f: _Found, allow: Allowlist, extension: bool) -> str:
    kind, _, rls = f.detail.partition("+")
    if f.withheld:
        # whatever the config allows: a view the team trusts is still refused when it reads credentials
        return _withheld_refusal(f.identity, f.withheld)
    if f.builtin or extension or allow.allows_relation(f.schema, f.asked):
        return ""
    if kind == "v":
        return f"{f.identity} is a user-defined view: its columns can call functions, {_ACTS}"
    if kind == "f":
        return f"{f.identity} is a foreign table: reading it runs a query on another server"
    if rls:
        return f"{f.identity} has row-level security: its policies run expressions, {_ACTS}"
    return ""


def _withheld_refusal(identity: str, withheld: str) -> str:
    schema, _, name = withheld.partition(".")
    if (schema, name) in CREDENTIAL_RELATIONS:
        holds, tail = CREDENTIAL_RELATIONS[schema, name], CREDENTIALS
        tail += f" ({INSTEAD[name]})" if name in INSTEAD else ""
    elif (schema, name) in WITHHELD_RELATIONS:
        holds, tail = f"{WITHHELD_RELATIONS[schema, name]}, {WITHHELD_BY_SERVER}", WITHHELD
    else:
        holds, tail = "is withheld from ordinary roles by the server (PUBLIC may not read it)", WITHHELD
    shown = name if schema == "pg_catalog" else withheld
    if identity in (name, withheld):
        return f"{shown} {holds}; {tail}"
    return f"{identity} reads {shown}, which {holds}; {tail}"
