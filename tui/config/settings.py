"""Settings: flags > environment > TOML file (with named profiles) > defaults, as one typed object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from probes.alertmanager import AlertmanagerSettings
from probes.base import Secret
from probes.kubernetes import KubernetesSettings
from probes.postgres import PostgresSettings
from probes.prometheus import PrometheusSettings
from probes.redact import RedactSettings
from probes.redis import RedisSettings
from tui.config.document import (
    CONFIG_FILE_NAME,
    DEFAULT_PROFILE,
    USER_CONFIG_FILE_NAME,
    check_document,
    find_file,
    overlay_profile,
    read_toml,
)
from tui.config.keys import ENV_VARS, FLAGS, LIBPQ_TARGET_VARS, PROFILE_ENV, SECTIONS, Key, Section
from tui.config.store import StoreSettings, store_shorthand
from tui.config.values import (
    COMMAND_LINE,
    ENVIRONMENT,
    ConfigError,
    Origin,
    env_text,
    flag_name,
    flag_text,
    read_secret,
)

__all__ = [
    "COMMAND_LINE",
    "CONFIG_FILE_NAME",
    "DEFAULT_PROFILE",
    "ENVIRONMENT",
    "ENV_VARS",
    "USER_CONFIG_FILE_NAME",
    "AlertmanagerSettings",
    "ConfigError",
    "KubernetesSettings",
    "PostgresSettings",
    "PrometheusSettings",
    "RedactSettings",
    "RedisSettings",
    "Secret",
    "Settings",
    "StoreSettings",
    "load_settings",
]


@dataclass(frozen=True)
class Settings:
    profile: str = "default"
    prometheus: PrometheusSettings = field(default_factory=PrometheusSettings)
    kubernetes: KubernetesSettings = field(default_factory=KubernetesSettings)
    postgres: PostgresSettings = field(default_factory=PostgresSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    runbook: Path | None = None  # None: the shipped example runbook
    alertmanager: AlertmanagerSettings = field(default_factory=AlertmanagerSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    user: str | None = None  # who ticks steps; None: user@host
    config_file: Path | None = None  # the TOML file read, if any
    lab_factor: int | None = None  # a game-day lab's time factor (its rules run N times faster)
    redact: RedactSettings = field(default_factory=RedactSettings)  # install()ed at start-up


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
    unknown_flags = sorted(set(flags) - set(FLAGS))
    if unknown_flags:
        raise ConfigError(COMMAND_LINE, unknown_flags[0], "not a setting oncall knows")

    path = find_file(config_path, cwd, user_config_dir)
    document: dict[str, Any] = {}
    if path is not None:
        document = store_shorthand(read_toml(path))
        check_document(document, str(path))

    profile_name = profile or env_text(env, PROFILE_ENV) or DEFAULT_PROFILE
    merged, origins = overlay_profile(document, profile_name, path, from_flag=profile is not None)
    file_label = str(path) if path else ""
    base = path.parent if path else cwd

    settings = Settings(profile=profile_name, config_file=path)
    for section in SECTIONS:  # the file over the defaults
        table = merged.get(section.name, {}) if section.name else merged
        origin = origins.get(section.name, {})
        settings = _from_file(settings, section, table, origin, file_label, base, env)
    for section in SECTIONS:  # the environment over the file
        for key in section.keys:
            if key.env and (text := env_text(env, key.env)):
                settings = _set(settings, section, key, text, Origin(ENVIRONMENT, key.env, cwd))
    if any(env_text(env, name) for name in LIBPQ_TARGET_VARS):
        settings = replace(settings, postgres=replace(settings.postgres, libpq_env=True))
    for section in SECTIONS:  # the flags over everything
        for key in section.keys:
            if key.flag and key.flag in flags:
                value = flags[key.flag] if key.kind == "seconds" else flag_text(flags, key.flag)
                settings = _set(settings, section, key, value, Origin(COMMAND_LINE, flag_name(key.flag), cwd))
    for section in SECTIONS:
        if section.finish is not None:
            settings = replace(settings, **{section.name: section.finish(getattr(settings, section.name))})
    return settings


def _from_file(
    settings: Settings,
    section: Section,
    table: Mapping[str, Any],
    origin: Mapping[str, str],
    file: str,
    base: Path,
    env: Mapping[str, str],
) -> Settings:
    """`settings` with the keys one table of the (merged) file sets."""
    prefix = f"{section.name}." if section.name else ""

    def where(name: str) -> str:
        return origin.get(name, prefix) + name

    for key in section.keys:
        if key.secret_of:
            continue  # read with the secret it is a form of
        if key.kind == "secret":
            value = read_secret(table, key.name, file, base, env, where)
            if value is None:
                continue
            if key.needs and table.get(key.needs) is None:
                raise ConfigError(file, where(key.needs), f"is needed with a {key.name}")
            settings = _set(settings, section, key, value, Origin(file, where(key.name), base))
        elif key.name in table:
            settings = _set(settings, section, key, table[key.name], Origin(file, where(key.name), base))
    return settings


def _set(settings: Settings, section: Section, key: Key, value: object, origin: Origin) -> Settings:
    if not section.name:
        top: Settings = key.apply(settings, value, origin)
        return top
    current = getattr(settings, section.name)
    return replace(settings, **{section.name: key.apply(current, value, origin)})
