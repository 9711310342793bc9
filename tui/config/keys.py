"""Every setting oncall reads, declared once: its key in the TOML file, the shape its value must have, its
environment variable and flag, and how it reaches the typed settings (defaults: the settings dataclasses)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from probes.base import Secret
from tui.config.store import check_store_target, with_store_target
from tui.config.values import (
    ConfigError,
    Origin,
    check_patterns,
    check_redis_url,
    check_url,
    move_url_credentials,
    parse_dsn,
    resolve_path,
    seconds,
    show,
    with_dsn,
    with_redis_url,
    with_url,
)

# How a value is written in the file, and what it becomes.
Kind = Literal[
    "string",  # text
    "secret",  # text that becomes a Secret and is never echoed
    "path",  # a path, relative to the config file
    "file",  # a path to a file that must exist
    "label",  # a name in quotes
    "name",  # a name in quotes, not blank
    "flag",  # true or false
    "seconds",  # a number of seconds, more than 0
    "count",  # a whole number, 1 or more
    "names",  # a list of names
    "patterns",  # a list of regular expressions
]


def _text(value: object) -> bool:
    return isinstance(value, str)


def _name(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _names(value: object) -> bool:
    return isinstance(value, list) and all(_name(n) for n in value)


# Each kind's test and what the error says when a value fails it ("seconds" has its own two messages).
_SHAPES: Mapping[str, tuple[Callable[[object], bool], str]] = {
    "string": (_text, "must be a string"),
    "secret": (_text, "must be a string"),
    "path": (_text, "must be a path in quotes"),
    "file": (_text, "must be a path in quotes"),
    "label": (_text, "must be a name in quotes"),
    "name": (_name, "must be a name in quotes"),
    "flag": (lambda value: isinstance(value, bool), "must be true or false"),
    "count": (_count, "must be a whole number of keys, 1 or more"),
    "names": (_names, 'must be a list of names, e.g. ["public.f"]'),
    "patterns": (_names, 'must be a list of regular expressions in quotes, e.g. ["(?i)pin"]'),
}


@dataclass(frozen=True)
class Key:
    """One setting of a table; it fills the settings field of the same name."""

    name: str
    kind: Kind
    env: str | None = None  # the environment variable that overrides the file
    env_help: str = ""  # what that variable sets, for ENV_VARS and the README's table
    flag: str | None = None  # the command-line option that overrides both (its argparse dest)
    validate: Callable[[str, str, str], object] | None = None  # a deeper check: (value, file, key)
    use: Callable[[Any, Any, Origin], Any] | None = None  # (settings, value, origin) -> settings
    secret_of: str | None = None  # "password" for password_file and password_env: another form of it
    needs: str | None = None  # a key that must be given with this one

    def check(self, value: object, file: str, key: str) -> None:
        """The value as written in the file: its shape, then what `validate` looks at."""
        if self.kind == "seconds":
            seconds(value, file, key)
            return
        test, problem = _SHAPES[self.kind]
        if not test(value):
            raise ConfigError(file, key, f"{problem}, got {show(value, secret=self.kind == 'secret')}")
        if self.kind == "patterns":
            check_patterns(value, file, key)  # type: ignore[arg-type]  # a list of strings: _names said so
        if self.validate is not None:
            self.validate(str(value), file, key)

    def apply(self, settings: Any, value: Any, origin: Origin) -> Any:
        """`settings` (a frozen dataclass) with this key's value from `origin` in it."""
        if self.use is not None:
            return self.use(settings, value, origin)
        return replace(settings, **{self.name: self._convert(value, origin)})

    def _convert(self, value: Any, origin: Origin) -> object:
        if self.kind == "seconds":
            return seconds(value, origin.file, origin.key)
        if self.kind == "count":
            return int(value)
        if self.kind in ("names", "patterns"):
            return tuple(value)
        if self.kind == "secret":
            return value if isinstance(value, Secret) else Secret(value)
        if self.kind in ("path", "file"):
            path = resolve_path(value, origin.base)
            if self.kind == "file" and not path.is_file():
                raise ConfigError(origin.file, origin.key, f"no such file: {path}")
            return path
        return value


def secret(
    name: str, *, env: str | None = None, env_help: str = "", needs: str | None = None
) -> tuple[Key, ...]:
    """A secret's three forms, of which a table sets one: `name` itself, `name_file` (a file holding it) or
    `name_env` (the environment variable holding it)."""
    return (
        Key(name, "secret", env=env, env_help=env_help, needs=needs),
        Key(f"{name}_file", "path", secret_of=name),
        Key(f"{name}_env", "string", secret_of=name),
    )


@dataclass(frozen=True)
class Section:
    """A table of the file and the settings it fills: "" for the top level (Settings itself), else
    the field of Settings of that name ([prometheus] fills Settings.prometheus)."""

    name: str
    keys: tuple[Key, ...]
    rule: Callable[[Mapping[str, Any], str, str], None] | None = None  # across keys: (table, file, prefix)
    finish: Callable[[Any], Any] | None = None  # last, after the file, the environment and the flags

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(key.name for key in self.keys)

    @property
    def secrets(self) -> tuple[tuple[str, ...], ...]:
        """Each secret's forms, of which one table may set only one."""
        return tuple(
            (key.name, *(k.name for k in self.keys if k.secret_of == key.name))
            for key in self.keys
            if key.kind == "secret"
        )

    def key(self, name: str) -> Key | None:
        return next((key for key in self.keys if key.name == name), None)


def _in_cluster_or_kubeconfig(table: Mapping[str, Any], file: str, prefix: str) -> None:
    if table.get("in_cluster") and "kubeconfig" in table:
        raise ConfigError(file, prefix + "in_cluster", "set either in_cluster or kubeconfig, not both")


TOP = Section(
    "",
    (
        Key(
            "runbook",
            "path",
            env="ONCALL_RUNBOOK",
            env_help="path to the runbook Markdown file (overrides runbook)",
            flag="runbook",
        ),
        Key(
            "user",
            "label",
            env="ONCALL_USER",
            env_help="who ticks steps in sessions, e.g. alice@bastion (overrides user)",
            flag="user",
        ),
        # set by the profile `oncall lab up` writes: the lab's time factor, shown as "LAB ×N" in the header
        Key("lab_factor", "count"),
    ),
)


def _http_server(
    name: str,
    *,
    url_env: str,
    url_help: str,
    url_flag: str,
    token_env: str,
    token_help: str,
    refresh_flag: str | None,
) -> Section:
    """A server read over HTTP ([prometheus], [alertmanager]): its URL (user:password@ in it becomes basic
    auth), a bearer token or basic auth, TLS, and how often and how patiently it is read."""
    return Section(
        name,
        (
            Key(
                "url",
                "string",
                env=url_env,
                env_help=url_help,
                flag=url_flag,
                validate=check_url,
                use=with_url,
            ),
            *secret("token", env=token_env, env_help=token_help),
            Key("username", "string"),
            *secret("password", needs="username"),
            Key("ca_file", "file"),
            Key("verify", "flag"),
            Key("timeout", "seconds"),
            Key("refresh", "seconds", flag=refresh_flag),
            Key("backoff_max", "seconds"),
        ),
        finish=move_url_credentials,
    )


PROMETHEUS = _http_server(
    "prometheus",
    url_env="PROMETHEUS_URL",
    url_help="Prometheus base URL, e.g. http://prometheus:9090 (overrides [prometheus] url)",
    url_flag="prometheus_url",
    token_env="PROMETHEUS_TOKEN",
    token_help="bearer token sent to Prometheus (overrides [prometheus] token/token_file/token_env)",
    refresh_flag="refresh",
)

KUBERNETES = Section(
    "kubernetes",
    (
        # a missing kubeconfig is reported by the probe as its health, not as a config error: the file
        # may appear later (a VPN login writes it), and `oncall` must still start without a cluster
        Key("kubeconfig", "path"),
        Key(
            "context",
            "name",
            env="ONCALL_KUBE_CONTEXT",
            env_help="kubeconfig context to use (overrides [kubernetes] context)",
            flag="kube_context",
        ),
        Key("namespace", "name"),
        Key("in_cluster", "flag"),
        Key("timeout", "seconds"),
        Key("refresh", "seconds"),
        Key("backoff_max", "seconds"),
        Key("helm_history", "flag"),
    ),
    rule=_in_cluster_or_kubeconfig,
)

POSTGRES = Section(
    "postgres",
    (
        Key(
            "dsn",
            "string",
            env="ONCALL_POSTGRES",
            env_help=(
                "PostgreSQL DSN, a libpq conninfo or postgresql:// URL (overrides [postgres] dsn); "
                "libpq's own PGHOST, PGSERVICE, PGDATABASE, PGPASSWORD, .pgpass and service files apply too"
            ),
            flag="postgres",
            validate=parse_dsn,
            use=with_dsn,
        ),
        *secret("password"),
        Key("connect_timeout", "seconds"),
        Key("statement_timeout", "seconds"),
        Key("refresh", "seconds"),
        Key("backoff_max", "seconds"),
        Key("allow_functions", "names"),
        Key("allow_relations", "names"),
    ),
)
# Any of these set: libpq finds the server itself (PostgresSettings.libpq_env), even without a DSN.
LIBPQ_TARGET_VARS = ("PGHOST", "PGSERVICE", "PGDATABASE")

REDIS = Section(
    "redis",
    (
        Key(
            "url",
            "string",
            env="REDIS_URL",
            env_help=(
                "Redis URL, redis:// or rediss:// (TLS), e.g. redis://oncall@redis:6379/0 "
                "(overrides [redis] url)"
            ),
            flag="redis",
            validate=check_redis_url,
            use=with_redis_url,
        ),
        Key("username", "string"),
        *secret(
            "password",
            env="REDISCLI_AUTH",
            env_help="Redis password, as redis-cli reads it (overrides [redis] password*)",
        ),
        Key("ca_file", "file"),
        Key("verify", "flag"),
        Key("connect_timeout", "seconds"),
        Key("timeout", "seconds"),
        Key("refresh", "seconds"),
        Key("backoff_max", "seconds"),
        Key("sample_keys", "flag"),
        Key("sample_max_keys", "count"),
        Key("sample_max_seconds", "seconds"),
    ),
)

ALERTMANAGER = _http_server(
    "alertmanager",
    url_env="ALERTMANAGER_URL",
    url_help="Alertmanager base URL, e.g. http://alertmanager:9093 (overrides [alertmanager] url)",
    url_flag="alertmanager",
    token_env="ALERTMANAGER_TOKEN",
    token_help="bearer token sent to Alertmanager (overrides [alertmanager] token*)",
    refresh_flag=None,
)

STORE = Section(
    "store",
    (
        Key(
            "url",
            "string",
            env="ONCALL_STORE",
            env_help=(
                "the incident session store: a SQLite path, or postgresql://… for a team's shared store "
                "(overrides [store] url)"
            ),
            flag="store",
            validate=check_store_target,
            use=with_store_target,
        ),
        # with a postgresql:// url: the SQLite file that keeps changes while PostgreSQL can't be reached
        Key("path", "path"),
    ),
)

# What oncall masks beyond its built-in rules (probes/redact.py): both lists add to them, never replace them.
REDACT = Section(
    "redact",
    (
        # words that make a name secret-looking (an env var, a label, a setting, a column, NAME= in text)
        Key("names", "patterns"),
        # secrets in any text: the match is masked, or only its group named `secret`
        Key("patterns", "patterns"),
    ),
)

# the [tables] of the file, checked in this order
TABLES = (PROMETHEUS, KUBERNETES, POSTGRES, REDIS, ALERTMANAGER, STORE, REDACT)
SECTIONS = (TOP, *TABLES)  # built, then overridden by the environment and the flags, in this order

# The top level of the file; a [profiles.<name>] table takes the same keys but "profiles".
PROFILE_KEYS = (*TOP.names, *(table.name for table in TABLES))
FILE_KEYS = (*TOP.names, PROMETHEUS.name, "profiles", *(table.name for table in TABLES[1:]))

PROFILE_ENV = "ONCALL_PROFILE"
# Every environment variable oncall reads, with what it sets (the README lists these).
ENV_VARS: Mapping[str, str] = {
    PROFILE_ENV: "which [profiles.<name>] of the config file to use (--profile overrides it)",
    **{key.env: key.env_help for section in SECTIONS for key in section.keys if key.env},
}
# The flags load_settings takes (argparse dests); --config and --profile choose the file and the profile.
FLAGS = tuple(key.flag for section in SECTIONS for key in section.keys if key.flag)
