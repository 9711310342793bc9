"""Settings: flags > environment > TOML file (with named profiles) > defaults, as one typed object."""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import platformdirs

from probes.base import Secret
from probes.kubernetes import KubernetesSettings
from probes.postgres import PostgresSettings
from probes.prometheus.settings import PrometheusSettings
from probes.redis import RedisSettings

# Every environment variable oncall reads, with what it sets (the README lists these).
ENV_VARS: Mapping[str, str] = {
    "PROMETHEUS_URL": "Prometheus base URL, e.g. http://prometheus:9090 (overrides [prometheus] url)",
    "PROMETHEUS_TOKEN": "bearer token sent to Prometheus (overrides [prometheus] token/token_file/token_env)",
    "ONCALL_PROFILE": "which [profiles.<name>] of the config file to use (--profile overrides it)",
    "ONCALL_RUNBOOK": "path to the runbook Markdown file (overrides runbook)",
    "ONCALL_STORE": "path to the incident session store, SQLite (overrides store)",
    "ONCALL_USER": "who ticks steps in sessions, e.g. alice@bastion (overrides user)",
    "ONCALL_KUBE_CONTEXT": "kubeconfig context to use (overrides [kubernetes] context)",
    "ONCALL_POSTGRES": (
        "PostgreSQL DSN, a libpq conninfo or postgresql:// URL (overrides [postgres] dsn); "
        "libpq's own PGHOST, PGSERVICE, PGDATABASE, PGPASSWORD, .pgpass and service files apply too"
    ),
    "REDIS_URL": (
        "Redis URL, redis:// or rediss:// (TLS), e.g. redis://oncall@redis:6379/0 (overrides [redis] url)"
    ),
    "REDISCLI_AUTH": "Redis password, as redis-cli reads it (overrides [redis] password*)",
}
CONFIG_FILE_NAME = "oncall.toml"  # looked for in the working directory first
USER_CONFIG_FILE_NAME = "config.toml"  # then in platformdirs.user_config_dir("oncall")
DEFAULT_PROFILE = "default"  # the top level of the file


class ConfigError(Exception):
    """A bad setting: names the file, the key and what is wrong."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        super().__init__(f"{file}: {key}: {problem}")
        self.file = file
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class Settings:
    profile: str = "default"
    prometheus: PrometheusSettings = field(default_factory=PrometheusSettings)
    kubernetes: KubernetesSettings = field(default_factory=KubernetesSettings)
    postgres: PostgresSettings = field(default_factory=PostgresSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    runbook: Path | None = None  # None: the shipped example runbook
    store: Path | None = None  # None: sessions.db in the platformdirs user state dir
    user: str | None = None  # who ticks steps; None: user@host
    config_file: Path | None = None  # the TOML file read, if any


# Where a value came from, for error messages: the file path, "environment" or "command line".
ENVIRONMENT = "environment"
COMMAND_LINE = "command line"

_TOP_KEYS = ("runbook", "store", "user", "prometheus", "profiles", "kubernetes", "postgres", "redis")
_PROFILE_KEYS = ("runbook", "store", "user", "prometheus", "kubernetes", "postgres", "redis")
_REDIS_KEYS = (
    "url",
    "username",
    "password",
    "password_file",
    "password_env",
    "ca_file",
    "verify",
    "connect_timeout",
    "timeout",
    "refresh",
    "backoff_max",
    "sample_keys",
    "sample_max_keys",
    "sample_max_seconds",
)
_POSTGRES_KEYS = (
    "dsn",
    "password",
    "password_file",
    "password_env",
    "connect_timeout",
    "statement_timeout",
    "refresh",
    "backoff_max",
    "allow_functions",
    "allow_relations",
)
_LIBPQ_TARGET_VARS = ("PGHOST", "PGSERVICE", "PGDATABASE")
_KUBERNETES_KEYS = ("kubeconfig", "context", "namespace", "in_cluster", "timeout", "refresh", "backoff_max")
_PROMETHEUS_KEYS = (
    "url",
    "token",
    "token_file",
    "token_env",
    "username",
    "password",
    "password_file",
    "password_env",
    "ca_file",
    "verify",
    "timeout",
    "refresh",
    "backoff_max",
)
_TOKEN_KEYS = ("token", "token_file", "token_env")
_PASSWORD_KEYS = ("password", "password_file", "password_env")
_STRING_KEYS = ("url", "token", "token_env", "username", "password", "password_env")
_PATH_KEYS = ("token_file", "password_file", "ca_file")
_SECONDS_KEYS = ("timeout", "refresh", "backoff_max")
_FLAG_KEYS = ("prometheus_url", "runbook", "store", "user", "refresh", "kube_context", "postgres", "redis")


def load_settings(
    *,
    config_path: Path | None = None,
    profile: str | None = None,
    env: Mapping[str, str] = os.environ,
    flags: Mapping[str, object] | None = None,
    cwd: Path | None = None,
    user_config_dir: Path | None = None,
) -> Settings:
    """Build the settings. Raises ConfigError naming the file (or environment/flag), the key and the problem.

    `profile` is the --profile flag; `user_config_dir` defaults to platformdirs.user_config_dir("oncall").
    """
    cwd = cwd or Path.cwd()
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    unknown_flags = sorted(set(flags) - set(_FLAG_KEYS))
    if unknown_flags:
        raise ConfigError(COMMAND_LINE, unknown_flags[0], "not a setting oncall knows")

    path = _find_file(config_path, cwd, user_config_dir)
    document: dict[str, Any] = {}
    if path is not None:
        document = _read_toml(path)
        _check_document(document, str(path))

    profile_name = profile or _env(env, "ONCALL_PROFILE") or DEFAULT_PROFILE
    merged, origin = _overlay_profile(document, profile_name, path, from_flag=profile is not None)
    file_label = str(path) if path else ""
    base = path.parent if path else cwd

    prom = _prometheus_from_file(merged.get("prometheus", {}), file_label, base, env, origin)
    kube = _kubernetes_from_file(merged.get("kubernetes", {}), base)
    own = document.get("profiles", {}).get(profile_name, {}).get("postgres", {})
    pg_origin = {k: f"profiles.{profile_name}.postgres." for k in own}
    pg = _postgres_from_file(merged.get("postgres", {}), file_label, base, env, pg_origin)
    own = document.get("profiles", {}).get(profile_name, {}).get("redis", {})
    rd_origin = {k: f"profiles.{profile_name}.redis." for k in own}
    rd = _redis_from_file(merged.get("redis", {}), file_label, base, env, rd_origin)
    runbook = _file_path(merged.get("runbook"), base)
    store = _file_path(merged.get("store"), base)
    user = merged.get("user")

    # environment over the file
    if url := _env(env, "PROMETHEUS_URL"):
        prom = replace(prom, url=_check_url(url, ENVIRONMENT, "PROMETHEUS_URL"))
    if token := _env(env, "PROMETHEUS_TOKEN"):
        prom = replace(prom, token=Secret(token))
    if value := _env(env, "ONCALL_RUNBOOK"):
        runbook = _user_path(value, cwd)
    if value := _env(env, "ONCALL_STORE"):
        store = _user_path(value, cwd)
    if value := _env(env, "ONCALL_USER"):
        user = value
    if value := _env(env, "ONCALL_KUBE_CONTEXT"):
        kube = replace(kube, context=value)
    if value := _env(env, "ONCALL_POSTGRES"):
        pg = _with_dsn(pg, value, ENVIRONMENT, "ONCALL_POSTGRES")
    if any(_env(env, name) for name in _LIBPQ_TARGET_VARS):
        pg = replace(pg, libpq_env=True)
    if value := _env(env, "REDIS_URL"):
        rd = _with_redis_url(rd, value, ENVIRONMENT, "REDIS_URL")
    if value := _env(env, "REDISCLI_AUTH"):
        rd = replace(rd, password=Secret(value))

    # flags over everything
    if "prometheus_url" in flags:
        url = _flag_str(flags, "prometheus_url")
        prom = replace(prom, url=_check_url(url, COMMAND_LINE, "--prometheus-url"))
    if "refresh" in flags:
        prom = replace(prom, refresh=_seconds(flags["refresh"], COMMAND_LINE, "--refresh"))
    if "runbook" in flags:
        runbook = _user_path(_flag_str(flags, "runbook"), cwd)
    if "store" in flags:
        store = _user_path(_flag_str(flags, "store"), cwd)
    if "user" in flags:
        user = _flag_str(flags, "user")
    if "kube_context" in flags:
        kube = replace(kube, context=_flag_str(flags, "kube_context"))
    if "postgres" in flags:
        pg = _with_dsn(pg, _flag_str(flags, "postgres"), COMMAND_LINE, "--postgres")
    if "redis" in flags:
        rd = _with_redis_url(rd, _flag_str(flags, "redis"), COMMAND_LINE, "--redis")

    return Settings(
        profile=profile_name,
        prometheus=_move_url_credentials(prom),
        kubernetes=kube,
        postgres=pg,
        redis=rd,
        runbook=runbook,
        store=store,
        user=user,
        config_file=path,
    )


def _find_file(config_path: Path | None, cwd: Path, user_config_dir: Path | None) -> Path | None:
    if config_path is not None:
        path = Path(config_path).expanduser()
        if not path.is_absolute():
            path = cwd / path
        if not path.is_file():
            raise ConfigError(str(path), "--config", "no such file")
        return path
    local = cwd / CONFIG_FILE_NAME
    if local.is_file():
        return local
    folder = user_config_dir or Path(platformdirs.user_config_dir("oncall"))
    user_file = folder / USER_CONFIG_FILE_NAME
    return user_file if user_file.is_file() else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(str(path), "(file)", "is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(str(path), "(file)", f"cannot read it: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = re.search(r"\(at line (\d+), column (\d+)\)", message)
        problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", message) or "invalid TOML"
        key = f"line {where.group(1)}, column {where.group(2)}" if where else "(syntax)"
        raise ConfigError(str(path), key, f"invalid TOML: {problem}") from None


def _check_document(document: dict[str, Any], file: str) -> None:
    """Check every key and type of the whole file, every profile included, so a typo fails early."""
    _check_table(document, file, "", _TOP_KEYS)
    profiles = document.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(file, "profiles", f"must be a table of [profiles.<name>], got {_show(profiles)}")
    for name, table in profiles.items():
        if not isinstance(table, dict):
            raise ConfigError(file, f"profiles.{name}", f"must be a table, got {_show(table)}")
        _check_table(table, file, f"profiles.{name}.", _PROFILE_KEYS)


def _check_table(table: dict[str, Any], file: str, prefix: str, allowed: tuple[str, ...]) -> None:
    for key, value in table.items():
        if key not in allowed:
            raise ConfigError(file, prefix + key, _unknown(key, allowed))
        if key in ("runbook", "store", "user") and not isinstance(value, str):
            what = "a path" if key != "user" else "a name"
            raise ConfigError(file, prefix + key, f"must be {what} in quotes, got {_show(value)}")
    prom = table.get("prometheus", {})
    if not isinstance(prom, dict):
        raise ConfigError(file, prefix + "prometheus", f"must be a table [prometheus], got {_show(prom)}")
    where = prefix + "prometheus."
    for key, value in prom.items():
        if key not in _PROMETHEUS_KEYS:
            raise ConfigError(file, where + key, _unknown(key, _PROMETHEUS_KEYS))
        if key in _STRING_KEYS and not isinstance(value, str):
            raise ConfigError(file, where + key, f"must be a string, got {_show(value, key)}")
        if key in _PATH_KEYS and not isinstance(value, str):
            raise ConfigError(file, where + key, f"must be a path in quotes, got {_show(value)}")
        if key == "verify" and not isinstance(value, bool):
            raise ConfigError(file, where + key, f"must be true or false, got {_show(value)}")
        if key in _SECONDS_KEYS:
            _seconds(value, file, where + key)
        if key == "url":
            _check_url(value, file, where + key)
    for group in (_TOKEN_KEYS, _PASSWORD_KEYS):
        given = [k for k in group if k in prom]
        if len(given) > 1:
            raise ConfigError(file, where + given[1], f"set only one of {', '.join(group)}")
    _check_kubernetes(table.get("kubernetes", {}), file, prefix)
    _check_postgres(table.get("postgres", {}), file, prefix)
    _check_redis(table.get("redis", {}), file, prefix)


def _check_section(
    section: object,
    file: str,
    prefix: str,
    name: str,
    allowed: tuple[str, ...],
    *,
    strings: tuple[str, ...] = (),
    paths: tuple[str, ...] = (),
    flags: tuple[str, ...] = (),
    seconds: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Check one [name] table's keys and value types; returns it. One of password/_file/_env at most."""
    if not isinstance(section, dict):
        raise ConfigError(file, prefix + name, f"must be a table [{name}], got {_show(section)}")
    where = prefix + name + "."
    for key, value in section.items():
        if key not in allowed:
            raise ConfigError(file, where + key, _unknown(key, allowed))
        if key in strings and not isinstance(value, str):
            raise ConfigError(file, where + key, f"must be a string, got {_show(value, key)}")
        if key in paths and not isinstance(value, str):
            raise ConfigError(file, where + key, f"must be a path in quotes, got {_show(value)}")
        if key in flags and not isinstance(value, bool):
            raise ConfigError(file, where + key, f"must be true or false, got {_show(value)}")
        if key in seconds:
            _seconds(value, file, where + key)
    given = [k for k in _PASSWORD_KEYS if k in section]
    if len(given) > 1:
        raise ConfigError(file, where + given[1], f"set only one of {', '.join(_PASSWORD_KEYS)}")
    return section


def _check_redis(rd: object, file: str, prefix: str) -> None:
    table = _check_section(
        rd,
        file,
        prefix,
        "redis",
        _REDIS_KEYS,
        strings=("url", "username", "password", "password_env"),
        paths=("password_file", "ca_file"),
        flags=("verify", "sample_keys"),
        seconds=("connect_timeout", "timeout", "refresh", "backoff_max", "sample_max_seconds"),
    )
    where = prefix + "redis."
    keys = table.get("sample_max_keys", 1)
    if isinstance(keys, bool) or not isinstance(keys, int) or keys < 1:
        raise ConfigError(
            file, where + "sample_max_keys", f"must be a whole number of keys, 1 or more, got {_show(keys)}"
        )
    if "url" in table:
        _check_redis_url(table["url"], file, where + "url")


def _check_postgres(pg: object, file: str, prefix: str) -> None:
    table = _check_section(
        pg,
        file,
        prefix,
        "postgres",
        _POSTGRES_KEYS,
        strings=("dsn", "password", "password_env"),
        paths=("password_file",),
        seconds=("connect_timeout", "statement_timeout", "refresh", "backoff_max"),
    )
    for key in ("allow_functions", "allow_relations"):
        names = table.get(key, [])
        if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
            raise ConfigError(
                file,
                prefix + "postgres." + key,
                f'must be a list of names, e.g. ["public.f"], got {_show(names)}',
            )
    if "dsn" in table:
        _parse_dsn(table["dsn"], file, prefix + "postgres.dsn")


def _check_kubernetes(kube: object, file: str, prefix: str) -> None:
    if not isinstance(kube, dict):
        raise ConfigError(file, prefix + "kubernetes", f"must be a table [kubernetes], got {_show(kube)}")
    where = prefix + "kubernetes."
    for key, value in kube.items():
        if key not in _KUBERNETES_KEYS:
            raise ConfigError(file, where + key, _unknown(key, _KUBERNETES_KEYS))
        if key in ("context", "namespace") and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(file, where + key, f"must be a name in quotes, got {_show(value)}")
        if key == "kubeconfig" and not isinstance(value, str):
            raise ConfigError(file, where + key, f"must be a path in quotes, got {_show(value)}")
        if key == "in_cluster" and not isinstance(value, bool):
            raise ConfigError(file, where + key, f"must be true or false, got {_show(value)}")
        if key in _SECONDS_KEYS:
            _seconds(value, file, where + key)
    if kube.get("in_cluster") and "kubeconfig" in kube:
        raise ConfigError(file, where + "in_cluster", "set either in_cluster or kubeconfig, not both")


def _overlay_profile(
    document: dict[str, Any], name: str, path: Path | None, *, from_flag: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """The top level with the named profile laid over it, [prometheus] merged key by key.

    Also returns, for each prometheus key, the table it came from ("prometheus." or
    "profiles.<name>.prometheus."), so an error names the key as written in the file.
    """
    profiles: dict[str, Any] = document.get("profiles", {})
    merged = {k: v for k, v in document.items() if k != "profiles"}
    origin = dict.fromkeys(merged.get("prometheus", {}), "prometheus.")
    if name not in profiles:
        if name == DEFAULT_PROFILE:
            return merged, origin
        known = ", ".join(sorted(profiles)) or "none"
        source = "--profile" if from_flag else "ONCALL_PROFILE"
        file = str(path) if path else "(no config file)"
        raise ConfigError(file, source, f"no profile {name!r}; profiles in this file: {known}")
    overlay = profiles[name]
    prom = dict(merged.get("prometheus", {}))
    for group in (_TOKEN_KEYS, _PASSWORD_KEYS):
        # a profile's own credential replaces the top level's, whichever form each uses
        if any(k in overlay.get("prometheus", {}) for k in group):
            for k in group:
                prom.pop(k, None)
    prom.update(overlay.get("prometheus", {}))
    origin.update(dict.fromkeys(overlay.get("prometheus", {}), f"profiles.{name}.prometheus."))
    kube = {**merged.get("kubernetes", {}), **overlay.get("kubernetes", {})}
    pg = dict(merged.get("postgres", {}))
    if any(k in overlay.get("postgres", {}) for k in _PASSWORD_KEYS):
        for k in _PASSWORD_KEYS:
            pg.pop(k, None)
    pg.update(overlay.get("postgres", {}))
    rd = dict(merged.get("redis", {}))
    if any(k in overlay.get("redis", {}) for k in _PASSWORD_KEYS):
        for k in _PASSWORD_KEYS:
            rd.pop(k, None)
    rd.update(overlay.get("redis", {}))
    merged.update(
        {k: v for k, v in overlay.items() if k not in ("prometheus", "kubernetes", "postgres", "redis")}
    )
    if pg:
        merged["postgres"] = pg
    if rd:
        merged["redis"] = rd
    if prom:
        merged["prometheus"] = prom
    if kube:
        merged["kubernetes"] = kube
    return merged, origin


def _prometheus_from_file(
    table: dict[str, Any], file: str, base: Path, env: Mapping[str, str], origin: Mapping[str, str]
) -> PrometheusSettings:
    def key(name: str) -> str:
        return origin.get(name, "prometheus.") + name

    token = _secret(table, "token", file, base, env, key)
    password = _secret(table, "password", file, base, env, key)
    username = table.get("username")
    if password is not None and username is None:
        raise ConfigError(file, key("username"), "is needed with a password")
    ca_file = _file_path(table.get("ca_file"), base)
    if ca_file is not None and not ca_file.is_file():
        raise ConfigError(file, key("ca_file"), f"no such file: {ca_file}")
    defaults = PrometheusSettings()
    return PrometheusSettings(
        url=table.get("url"),
        token=token,
        username=username,
        password=password,
        ca_file=ca_file,
        verify=table.get("verify", defaults.verify),
        timeout=float(table.get("timeout", defaults.timeout)),
        refresh=float(table.get("refresh", defaults.refresh)),
        backoff_max=float(table.get("backoff_max", defaults.backoff_max)),
    )


def _kubernetes_from_file(table: dict[str, Any], base: Path) -> KubernetesSettings:
    defaults = KubernetesSettings()
    # a missing kubeconfig is reported by the probe as its health, not as a config error: the file
    # may appear later (a VPN login writes it), and `oncall` must still start without a cluster
    return KubernetesSettings(
        kubeconfig=_file_path(table.get("kubeconfig"), base),
        context=table.get("context"),
        namespace=table.get("namespace"),
        in_cluster=table.get("in_cluster", defaults.in_cluster),
        timeout=float(table.get("timeout", defaults.timeout)),
        refresh=float(table.get("refresh", defaults.refresh)),
        backoff_max=float(table.get("backoff_max", defaults.backoff_max)),
    )


def _postgres_from_file(
    table: dict[str, Any],
    file: str,
    base: Path,
    env: Mapping[str, str],
    origin: Mapping[str, str] | None = None,
) -> PostgresSettings:
    def key(name: str) -> str:
        return (origin or {}).get(name, "postgres.") + name

    defaults = PostgresSettings()
    pg = PostgresSettings(
        password=_secret(table, "password", file, base, env, key),
        connect_timeout=float(table.get("connect_timeout", defaults.connect_timeout)),
        statement_timeout=float(table.get("statement_timeout", defaults.statement_timeout)),
        refresh=float(table.get("refresh", defaults.refresh)),
        backoff_max=float(table.get("backoff_max", defaults.backoff_max)),
        allow_functions=tuple(table.get("allow_functions", ())),
        allow_relations=tuple(table.get("allow_relations", ())),
    )
    if "dsn" in table:
        pg = _with_dsn(pg, table["dsn"], file, key("dsn"))
    return pg


def _redis_from_file(
    table: dict[str, Any],
    file: str,
    base: Path,
    env: Mapping[str, str],
    origin: Mapping[str, str],
) -> RedisSettings:
    def key(name: str) -> str:
        return origin.get(name, "redis.") + name

    ca_file = _file_path(table.get("ca_file"), base)
    if ca_file is not None and not ca_file.is_file():
        raise ConfigError(file, key("ca_file"), f"no such file: {ca_file}")
    defaults = RedisSettings()
    rd = RedisSettings(
        username=table.get("username"),
        password=_secret(table, "password", file, base, env, key),
        ca_file=ca_file,
        verify=table.get("verify", defaults.verify),
        connect_timeout=float(table.get("connect_timeout", defaults.connect_timeout)),
        timeout=float(table.get("timeout", defaults.timeout)),
        refresh=float(table.get("refresh", defaults.refresh)),
        backoff_max=float(table.get("backoff_max", defaults.backoff_max)),
        sample_keys=table.get("sample_keys", defaults.sample_keys),
        sample_max_keys=int(table.get("sample_max_keys", defaults.sample_max_keys)),
        sample_max_seconds=float(table.get("sample_max_seconds", defaults.sample_max_seconds)),
    )
    if "url" in table:
        rd = _with_redis_url(rd, table["url"], file, key("url"))
    return rd


def _check_redis_url(value: str, file: str, key: str) -> None:
    parts = urlsplit(_check_url(value, file, key, ("redis", "rediss")))
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise ConfigError(file, key, f"the database after the host must be a number, got {path!r}")


def _with_redis_url(rd: RedisSettings, value: str, file: str, key: str) -> RedisSettings:
    """The URL without its credentials: user:password@ become username and a Secret, unless set already."""
    value = value.strip()
    _check_redis_url(value, file, key)
    parts = urlsplit(value)
    host = parts.netloc.rsplit("@", 1)[-1]
    url = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    username = rd.username
    if username is None and parts.username:
        username = unquote(parts.username)
    password = rd.password
    if password is None and parts.password:
        password = Secret(unquote(parts.password))
    return replace(rd, url=url, username=username, password=password)


def _parse_dsn(value: str, file: str, key: str) -> dict[str, Any]:
    from psycopg import ProgrammingError  # libpq's own parser: the same rules the connection will use
    from psycopg.conninfo import conninfo_to_dict

    try:
        return conninfo_to_dict(value.strip())
    except ProgrammingError:
        # libpq's message may quote the DSN, password included: say only where the problem is
        raise ConfigError(file, key, "is not a valid libpq conninfo or postgresql:// URL") from None


def _with_dsn(pg: PostgresSettings, value: str, file: str, key: str) -> PostgresSettings:
    """The DSN without its password; a password in it becomes a Secret unless one is set already."""
    from psycopg.conninfo import make_conninfo

    params = _parse_dsn(value, file, key)
    password = params.pop("password", None)
    dsn = make_conninfo(**{k: v for k, v in params.items() if v is not None})
    if pg.password is None and password:
        return replace(pg, dsn=dsn, password=Secret(str(password)))
    return replace(pg, dsn=dsn)


def _secret(
    table: dict[str, Any],
    name: str,
    file: str,
    base: Path,
    env: Mapping[str, str],
    where: Callable[[str], str],
) -> Secret | None:
    """`name`, `name_file` or `name_env`, read into a Secret; the value itself is never in a message."""
    if name in table:
        return Secret(table[name])
    if f"{name}_file" in table:
        key = where(f"{name}_file")
        path = _file_path(table[f"{name}_file"], base)
        assert path is not None
        try:
            value = path.read_text(encoding="utf-8").strip()
        except UnicodeDecodeError:
            raise ConfigError(file, key, f"{path} is not UTF-8 text") from None
        except OSError as exc:
            raise ConfigError(file, key, f"cannot read {path}: {exc.strerror or exc}") from None
        if not value:
            raise ConfigError(file, key, f"{path} is empty")
        return Secret(value)
    if f"{name}_env" in table:
        variable = table[f"{name}_env"]
        value = env.get(variable, "")
        if not value:
            raise ConfigError(file, where(f"{name}_env"), f"environment variable {variable} is not set")
        return Secret(value)
    return None


def _move_url_credentials(prom: PrometheusSettings) -> PrometheusSettings:
    """user:password@ in the URL becomes basic auth, so the URL itself is safe to show and log."""
    if prom.url is None:
        return prom
    parts = urlsplit(prom.url)
    if "@" not in parts.netloc:
        return prom
    host = parts.netloc.rsplit("@", 1)[1]
    url = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    if prom.username is not None or prom.token is not None:
        return replace(prom, url=url)  # explicit credentials win over the URL's
    password = Secret(unquote(parts.password)) if parts.password is not None else None
    return replace(prom, url=url, username=unquote(parts.username or ""), password=password)


def _check_url(value: str, file: str, key: str, schemes: tuple[str, ...] = ("http", "https")) -> str:
    """The URL, stripped; a ConfigError (never showing its credentials) unless it has a scheme of `schemes`,
    a host and a valid port."""
    parts = urlsplit(value.strip())
    if parts.scheme not in schemes or not parts.hostname:
        shown = urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]))
        names = " or ".join(f"{scheme}://" for scheme in schemes)
        article = "an" if schemes[0][0] in "aehiou" else "a"
        raise ConfigError(file, key, f"must be {article} {names} URL with a host, got {shown!r}")
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        raise ConfigError(file, key, "has an invalid port") from None
    return value.strip()


def _seconds(value: object, file: str, key: str) -> float:
    if isinstance(value, str) and file == COMMAND_LINE:
        with contextlib.suppress(ValueError):  # argparse may hand over the text as typed
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(file, key, f"must be a number of seconds, got {_show(value)}")
    if not value > 0 or value != value or value == float("inf"):
        raise ConfigError(file, key, f"must be more than 0 seconds, got {_show(value)}")
    return float(value)


def _flag_str(flags: Mapping[str, object], key: str) -> str:
    value = flags[key]
    if isinstance(value, Path):
        return str(value)
    if not isinstance(value, str) or not value:
        raise ConfigError(COMMAND_LINE, "--" + key.replace("_", "-"), f"must be text, got {_show(value)}")
    return value


def _env(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None  # an empty variable counts as unset, as in most shells' ${VAR:-default}


def _file_path(value: str | None, base: Path) -> Path | None:
    """A path from the config file: ~ expanded, relative paths resolved against the file's folder."""
    if value is None:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _user_path(value: str, cwd: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else cwd / path


def _unknown(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"expected one of {', '.join(allowed)}"
    return f"unknown key; {hint}"


def _show(value: object, key: str = "") -> str:
    """A value for an error message; secret-bearing keys are never echoed."""
    if key in ("token", "password"):
        return type(value).__name__
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"  # as written in TOML
    return repr(value)
