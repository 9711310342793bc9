"""The TOML file: where it is found, read and checked whole (every profile too, so a typo fails early), and
a named profile laid over its top level."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import platformdirs

from tui.config.keys import FILE_KEYS, PROFILE_KEYS, TABLES, TOP, Section
from tui.config.values import ConfigError, show, unknown

CONFIG_FILE_NAME = "oncall.toml"  # looked for in the working directory first
USER_CONFIG_FILE_NAME = "config.toml"  # then in platformdirs.user_config_dir("oncall")
DEFAULT_PROFILE = "default"  # the top level of the file

# For each [table] of the merged document, the table each key came from ("redis." or
# "profiles.<name>.redis."), so an error names the key as written in the file.
Origins = dict[str, dict[str, str]]


def find_file(config_path: Path | None, cwd: Path, user_config_dir: Path | None) -> Path | None:
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


def read_toml(path: Path) -> dict[str, Any]:
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


def check_document(document: dict[str, Any], file: str) -> None:
    """Check every key and type of the whole file, every profile included, so a typo fails early."""
    _check_level(document, file, "", FILE_KEYS)
    profiles = document.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(file, "profiles", f"must be a table of [profiles.<name>], got {show(profiles)}")
    for name, table in profiles.items():
        if not isinstance(table, dict):
            raise ConfigError(file, f"profiles.{name}", f"must be a table, got {show(table)}")
        _check_level(table, file, f"profiles.{name}.", PROFILE_KEYS)


def _check_level(table: dict[str, Any], file: str, prefix: str, allowed: tuple[str, ...]) -> None:
    """The top level or a profile: its own keys, then each [table] in it."""
    for name, value in table.items():
        if name not in allowed:
            raise ConfigError(file, prefix + name, unknown(name, allowed))
        key = TOP.key(name)
        if key is not None:
            key.check(value, file, prefix + name)
    for section in TABLES:
        _check_table(section, table.get(section.name, {}), file, prefix)


def _check_table(section: Section, table: object, file: str, prefix: str) -> None:
    """Key by key as written, then across keys: one form of each secret, the section's rule."""
    if not isinstance(table, dict):
        raise ConfigError(file, prefix + section.name, f"must be a table [{section.name}], got {show(table)}")
    where = prefix + section.name + "."
    for name, value in table.items():
        key = section.key(name)
        if key is None:
            raise ConfigError(file, where + name, unknown(name, section.names))
        key.check(value, file, where + name)
    for forms in section.secrets:
        given = [name for name in forms if name in table]
        if len(given) > 1:
            raise ConfigError(file, where + given[1], f"set only one of {', '.join(forms)}")
    if section.rule is not None:
        section.rule(table, file, where)


def overlay_profile(
    document: dict[str, Any], name: str, path: Path | None, *, from_flag: bool
) -> tuple[dict[str, Any], Origins]:
    """The top level with the named profile laid over it, each [table] merged key by key; a profile's own
    form of a secret replaces the top level's, whichever form each uses."""
    profiles: dict[str, Any] = document.get("profiles", {})
    merged = {k: v for k, v in document.items() if k != "profiles"}
    origins = {s.name: dict.fromkeys(merged.get(s.name, {}), f"{s.name}.") for s in TABLES}
    if name not in profiles:
        if name == DEFAULT_PROFILE:
            return merged, origins
        known = ", ".join(sorted(profiles)) or "none"
        source = "--profile" if from_flag else "ONCALL_PROFILE"
        file = str(path) if path else "(no config file)"
        raise ConfigError(file, source, f"no profile {name!r}; profiles in this file: {known}")
    overlay: dict[str, Any] = profiles[name]
    merged.update({k: v for k, v in overlay.items() if k not in {s.name for s in TABLES}})
    for section in TABLES:
        own: dict[str, Any] = overlay.get(section.name, {})
        table = dict(document.get(section.name, {}))
        for forms in section.secrets:
            if any(k in own for k in forms):
                for k in forms:
                    table.pop(k, None)
        table.update(own)
        origins[section.name].update(dict.fromkeys(own, f"profiles.{name}.{section.name}."))
        if table:
            merged[section.name] = table
    return merged, origins
