"""What the SQL guard (guard.py) allows beyond PostgreSQL's built-ins, and what a statement reaches: plain
data, without pglast, so that a runbook's commands can be classified before any SQL is parsed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reaches:
    """The names a statement reaches, for the catalog check; each a (schema or "", name) pair."""

    functions: tuple[tuple[str, str], ...] = ()
    operators: tuple[tuple[str, str], ...] = ()
    types: tuple[tuple[str, str], ...] = ()
    relations: tuple[tuple[str, str], ...] = ()
    attributes: tuple[str, ...] = ()  # t.f may call f(t) ("attribute notation"): names that may be functions


@dataclass(frozen=True)
class Allowlist:
    """What the team allows beyond PostgreSQL's built-ins, by name ("name" or "schema.name")."""

    functions: frozenset[str] = frozenset()
    relations: frozenset[str] = frozenset()
    # views and functions that belong to these extensions; pg_stat_statements is how the runbook reads
    # statement statistics, and its one function that acts (…_reset) is never a view
    extensions: frozenset[str] = frozenset({"pg_stat_statements"})

    def allows_function(self, schema: str, name: str) -> bool:
        """schema "": a name written unqualified, which the catalog check then resolves to its schema."""
        if not schema:
            return any(allowed.rpartition(".")[2] == name for allowed in self.functions)
        return name in self.functions or f"{schema}.{name}" in self.functions

    def allows_relation(self, schema: str, name: str) -> bool:
        return name in self.relations or f"{schema}.{name}" in self.relations


NOTHING_ALLOWED = Allowlist()
