"""How oncall reaches PostgreSQL: the settings the probe takes (tui.config fills them from flags, environment
and the TOML file)."""

from __future__ import annotations

from dataclasses import dataclass

from probes.base import Secret


@dataclass(frozen=True)
class PostgresSettings:
    dsn: str | None = None  # a libpq conninfo without its password; None: libpq's environment, if any
    password: Secret | None = None  # from [postgres] password*, or moved out of the DSN
    libpq_env: bool = False  # PGHOST, PGSERVICE or PGDATABASE is set: libpq finds the server itself
    connect_timeout: float = 5.0  # seconds
    statement_timeout: float = 5.0  # seconds, set on the session at connect
    refresh: float = 5.0  # seconds between polls when healthy
    backoff_max: float = 60.0  # seconds: the longest wait between polls while the server is failing
    # user-defined functions and views a runbook statement may reach ("name" or "schema.name"): the SQL
    # guard refuses every other one, since it runs with its owner's rights and can act
    allow_functions: tuple[str, ...] = ()
    allow_relations: tuple[str, ...] = ()

    @property
    def configured(self) -> bool:
        return self.dsn is not None or self.libpq_env
