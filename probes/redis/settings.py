"""How oncall reaches Redis: the settings the probe takes (tui.config fills them from flags, environment
and the TOML file)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from probes.base import Secret


@dataclass(frozen=True)
class RedisSettings:
    url: str | None = None  # redis:// or rediss://, without its password; None: not configured
    username: str | None = None  # ACL user; None: the URL's, else the default user
    password: Secret | None = None  # from [redis] password*, REDISCLI_AUTH, or moved out of the URL
    ca_file: Path | None = None  # CA bundle for rediss:// (managed Redis with a private CA)
    verify: bool = True  # check the server's certificate for rediss://
    connect_timeout: float = 3.0  # seconds
    timeout: float = 3.0  # seconds, per read: a server that accepts and never answers
    refresh: float = 5.0  # seconds between polls when healthy
    backoff_max: float = 60.0  # seconds: the longest wait between polls while the server is failing
    sample_keys: bool = False  # the key sampler (SCAN + MEMORY USAGE, bounded) is opt-in
    sample_max_keys: int = 10_000  # keys looked at per sampler run
    sample_max_seconds: float = 1.0  # wall time per sampler run

    @property
    def configured(self) -> bool:
        return self.url is not None
