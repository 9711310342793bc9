"""Where incident sessions are kept: a SQLite file (the default), or a shared PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from probes.base import Secret
from tui.config.values import ConfigError, Origin, resolve_path

POSTGRES_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class StoreSettings:
    path: Path | None = None  # the SQLite file; None: sessions.db in the platformdirs user state dir
    url: Secret | None = None  # postgresql://…: the team's shared store (then `path` queues offline changes)

    @property
    def shown(self) -> str:
        """Where the sessions are, safe to print: the URL without its password, or the path."""
        if self.url is not None:
            return safe_url(self.url.reveal())
        return str(self.path) if self.path else ""


def is_postgres_url(value: str) -> bool:
    return urlsplit(value.strip()).scheme in POSTGRES_SCHEMES


def safe_url(url: str) -> str:
    """The URL with its password (if any) replaced by ••••."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, host = parts.netloc.rsplit("@", 1)
    name = user.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{name}:••••@{host}"))


def check_store_target(value: str, file: str, key: str) -> None:
    if not value.strip():
        raise ConfigError(file, key, "must be a path or a postgresql:// URL, got an empty string")
    if is_postgres_url(value) and not urlsplit(value.strip()).hostname and "host=" not in value:
        raise ConfigError(file, key, f"must name a host, got {safe_url(value.strip())!r}")


def with_store_target(store: StoreSettings, value: Any, origin: Origin) -> StoreSettings:
    """`--store`, ONCALL_STORE, [store] url: a postgresql:// URL is the shared store, anything else a path."""
    text = str(value).strip()
    check_store_target(text, origin.file, origin.key)
    if is_postgres_url(text):
        return replace(store, url=Secret(text))
    return replace(store, path=resolve_path(text, origin.base))


def store_shorthand(document: dict[str, Any]) -> dict[str, Any]:
    """`store = "PATH-or-URL"` at the top (or in a profile), as earlier versions wrote it: the [store] table's
    `url`, so the rest of the config code sees one form."""
    out = dict(document)
    if isinstance(out.get("store"), str):
        out["store"] = {"url": out["store"]}
    profiles = out.get("profiles")
    if isinstance(profiles, dict):
        out["profiles"] = {
            name: store_shorthand(table) if isinstance(table, dict) else table
            for name, table in profiles.items()
        }
    return out
