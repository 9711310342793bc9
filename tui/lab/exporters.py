"""How to run Debian's postgres_exporter and redis_exporter on loopback: binaries, argv and environment."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit

from psycopg.conninfo import conninfo_to_dict

from tui.config.paths import example_dir

POSTGRES_EXPORTER_PACKAGE = "prometheus-postgres-exporter"  # 0.11.1 in Debian bookworm
REDIS_EXPORTER_PACKAGE = "prometheus-redis-exporter"  # 1.45 in Debian bookworm
# Debian's names first, then upstream's release binaries
_POSTGRES_EXPORTER_NAMES = ("prometheus-postgres-exporter", "postgres_exporter")
_REDIS_EXPORTER_NAMES = ("prometheus-redis-exporter", "redis_exporter")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")

# postgres_exporter 0.11 has no pg_stat_statements collector: this file adds the two counters
# SlowDatabaseQueries divides (pg_stat_statements_seconds_total, pg_stat_statements_calls_total).
POSTGRES_QUERIES = example_dir() / "postgres_exporter_queries.yaml"

# What the in-midst-my-life API exports itself (the lab's stand-in writes them in tui/lab/api.py).
API_METRICS = (
    "http_requests_total",
    "http_request_duration_seconds_bucket",
    "http_active_connections",
    "http_max_connections",
)


class ExporterMissing(RuntimeError):
    """An exporter's binary is not installed; the message names the apt-get line."""


def _find(names: tuple[str, ...]) -> Path | None:
    for name in names:
        debian = Path("/usr/bin") / name
        if debian.is_file():
            return debian
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def postgres_exporter_binary() -> Path | None:
    return _find(_POSTGRES_EXPORTER_NAMES)


def redis_exporter_binary() -> Path | None:
    return _find(_REDIS_EXPORTER_NAMES)


def install_hint(package: str) -> str:
    return f"{package} is not installed (apt-get install {package})"


def exporter_dsn(dsn: str) -> str:
    """`dsn` (libpq URL or key=value) as the postgresql:// URL postgres_exporter 0.11 wants: its driver
    (lib/pq) defaults to sslmode=require, which a loopback server without TLS refuses, so a loopback or
    socket host with no sslmode gets sslmode=disable; and the URL form is the one its error logs print
    with the password replaced by PASSWORD_REMOVED (a key=value string is logged as is)."""
    params = {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    user = quote(params.pop("user", ""), safe="")
    password = params.pop("password", None)
    host = params.pop("host", "")
    port = params.pop("port", "")
    dbname = quote(params.pop("dbname", ""), safe="")
    if "sslmode" not in params and (host in _LOOPBACK or host.startswith("/") or not host):
        params["sslmode"] = "disable"
    auth = user + (":" + quote(password, safe="") if password is not None else "")
    if host.startswith("/"):  # a socket folder: lib/pq reads it (and its port) from the query
        params["host"] = host
        if port:
            params["port"] = port
        host = port = ""
    netloc = (auth + "@" if auth else "") + (f"[{host}]" if ":" in host else host)
    if port:
        netloc += f":{port}"
    return urlunsplit(("postgresql", netloc, "/" + dbname, urlencode(params), ""))


def postgres_exporter_command(
    dsn: str, port: int, *, queries: Path | None = POSTGRES_QUERIES, binary: Path | None = None
) -> tuple[list[str], dict[str, str]]:
    """argv and the extra environment for postgres_exporter on 127.0.0.1:port, scraping `dsn` (passed in
    DATA_SOURCE_NAME, so its password stays out of `ps`; see `exporter_dsn`). `queries=None` runs it
    without the shipped queries file (the pg_stat_statements counters are then missing)."""
    binary = binary or postgres_exporter_binary()
    if binary is None:
        raise ExporterMissing(install_hint(POSTGRES_EXPORTER_PACKAGE))
    argv = [str(binary), f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
    if queries is not None:
        argv.append(f"--extend.query-path={queries}")
    return argv, {"DATA_SOURCE_NAME": exporter_dsn(dsn)}


def redis_exporter_command(
    redis_url: str, port: int, *, binary: Path | None = None
) -> tuple[list[str], dict[str, str]]:
    """argv and the extra environment for redis_exporter on 127.0.0.1:port, scraping `redis_url`
    (redis://[user:password@]host:port[/db]); the user and password go in REDIS_USER / REDIS_PASSWORD
    so they stay out of `ps`."""
    binary = binary or redis_exporter_binary()
    if binary is None:
        raise ExporterMissing(install_hint(REDIS_EXPORTER_PACKAGE))
    parts = urlsplit(redis_url)
    env: dict[str, str] = {}
    if parts.username:
        env["REDIS_USER"] = unquote(parts.username)
    if parts.password is not None:
        env["REDIS_PASSWORD"] = unquote(parts.password)
    host = parts.hostname or "127.0.0.1"
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    address = urlunsplit((parts.scheme or "redis", netloc, parts.path, "", ""))
    argv = [str(binary), f"--redis.addr={address}", f"--web.listen-address=127.0.0.1:{port}"]
    return argv, env
