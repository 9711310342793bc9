"""One setting's value checked and turned into what a probe takes: seconds, URLs, DSNs, paths and secrets,
each failure a ConfigError naming where the value came from and never echoing a secret."""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

from probes.base import Secret
from probes.http import HttpSettings
from probes.postgres import PostgresSettings
from probes.redact import pattern_problem
from probes.redis import RedisSettings

# Where a value came from, for error messages: the file path, "environment" or "command line".
ENVIRONMENT = "environment"
COMMAND_LINE = "command line"


class ConfigError(Exception):
    """A bad setting: names the file, the key and what is wrong."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        super().__init__(f"{file}: {key}: {problem}")
        self.file = file
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class Origin:
    """Where one value came from: the file (or ENVIRONMENT, COMMAND_LINE), the key as the user wrote it
    ("profiles.prod.redis.url", "REDIS_URL", "--redis"), and the folder its relative paths start from."""

    file: str
    key: str
    base: Path


def seconds(value: object, file: str, key: str) -> float:
    if isinstance(value, str) and file == COMMAND_LINE:
        with contextlib.suppress(ValueError):  # argparse may hand over the text as typed
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(file, key, f"must be a number of seconds, got {show(value)}")
    if not value > 0 or value != value or value == float("inf"):
        raise ConfigError(file, key, f"must be more than 0 seconds, got {show(value)}")
    return float(value)


def check_url(value: str, file: str, key: str, schemes: tuple[str, ...] = ("http", "https")) -> str:
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


def check_patterns(value: list[str], file: str, key: str) -> None:
    """Each entry a regular expression that matches some text: a ConfigError naming the entry otherwise."""
    for index, pattern in enumerate(value, start=1):
        if problem := pattern_problem(pattern):
            raise ConfigError(file, key, f"entry {index}: {problem}")


def check_redis_url(value: str, file: str, key: str) -> None:
    parts = urlsplit(check_url(value, file, key, ("redis", "rediss")))
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise ConfigError(file, key, f"the database after the host must be a number, got {path!r}")


def parse_dsn(value: str, file: str, key: str) -> dict[str, Any]:
    from psycopg import ProgrammingError  # libpq's own parser: the same rules the connection will use
    from psycopg.conninfo import conninfo_to_dict

    try:
        return conninfo_to_dict(value.strip())
    except ProgrammingError:
        # libpq's message may quote the DSN, password included: say only where the problem is
        raise ConfigError(file, key, "is not a valid libpq conninfo or postgresql:// URL") from None


# a server reached over HTTP with a URL, a token or basic auth: Prometheus, Alertmanager
HttpServer = TypeVar("HttpServer", bound=HttpSettings)


def with_url(prom: HttpServer, value: str, origin: Origin) -> HttpServer:
    return replace(prom, url=check_url(value, origin.file, origin.key))


def with_dsn(pg: PostgresSettings, value: str, origin: Origin) -> PostgresSettings:
    """The DSN without its password; a password in it becomes a Secret unless one is set already."""
    from psycopg.conninfo import make_conninfo

    params = parse_dsn(value, origin.file, origin.key)
    password = params.pop("password", None)
    dsn = make_conninfo(**{k: v for k, v in params.items() if v is not None})
    if pg.password is None and password:
        return replace(pg, dsn=dsn, password=Secret(str(password)))
    return replace(pg, dsn=dsn)


def with_redis_url(rd: RedisSettings, value: str, origin: Origin) -> RedisSettings:
    """The URL without its credentials: user:password@ become username and a Secret, unless set already."""
    value = value.strip()
    check_redis_url(value, origin.file, origin.key)
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


def move_url_credentials(prom: HttpServer) -> HttpServer:
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


def read_secret(
    table: Mapping[str, Any],
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
        path = resolve_path(table[f"{name}_file"], base)
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


def flag_text(flags: Mapping[str, object], name: str) -> str:
    value = flags[name]
    if isinstance(value, Path):
        return str(value)
    if not isinstance(value, str) or not value:
        raise ConfigError(COMMAND_LINE, flag_name(name), f"must be text, got {show(value)}")
    return value


def flag_name(name: str) -> str:
    """The option as typed: "kube_context" is --kube-context."""
    return "--" + name.replace("_", "-")


def env_text(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None  # an empty variable counts as unset, as in most shells' ${VAR:-default}


def resolve_path(value: str, base: Path) -> Path:
    """A path the user gave: ~ expanded, a relative one resolved against `base` (the config file's folder,
    or the working directory for the environment and flags)."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def unknown(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"expected one of {', '.join(allowed)}"
    return f"unknown key; {hint}"


def show(value: object, *, secret: bool = False) -> str:
    """A value for an error message; a secret is never echoed, only its type."""
    if secret:
        return type(value).__name__
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"  # as written in TOML
    return repr(value)
