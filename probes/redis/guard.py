"""Redis's command allowlist: the only commands oncall sends, checked before a byte leaves, in the probe and
again in the connection class that packs the bytes."""

from __future__ import annotations

from typing import Any

from redis.asyncio.connection import Connection, SSLConnection

SECRET_CONFIG = frozenset({"requirepass", "masterauth", "masteruser"})

# (command, subcommand): the only commands the probe sends. None means the command has no subcommand.
ALLOWED: frozenset[tuple[str, str | None]] = frozenset(
    {
        ("PING", None),
        ("INFO", None),
        ("SLOWLOG", "GET"),
        ("SLOWLOG", "LEN"),
        ("CONFIG", "GET"),
        ("LATENCY", "LATEST"),
        ("MEMORY", "STATS"),
        ("DBSIZE", None),
        # the opt-in key sampler
        ("SCAN", None),
        ("TYPE", None),
        ("TTL", None),
        ("MEMORY", "USAGE"),
    }
)

WITH_SUBCOMMAND = frozenset(name for name, sub in ALLOWED if sub is not None)

# What redis-py sends by itself while connecting: authentication, the protocol and the database.
_HANDSHAKE = frozenset({"AUTH", "HELLO", "SELECT"})


class CommandRefused(Exception):
    """A command outside the allowlist: raised before anything is sent."""


def _word(arg: object) -> str:
    if isinstance(arg, bytes | bytearray | memoryview):
        return bytes(arg).decode("ascii", "replace").upper()
    return str(arg).upper()


def check_command(*args: object) -> tuple[str, str | None]:
    """(command, subcommand) when the command is on the allowlist; raises CommandRefused otherwise.

    `CONFIG GET requirepass`/`masterauth` are refused too: those are secrets, not readings.
    """
    if not args:
        raise CommandRefused("an empty command")
    words = _word(args[0]).split()  # "CONFIG GET" as one argument is split by redis-py the same way
    rest = [*words[1:], *(_word(a) for a in args[1:])]
    name = words[0] if words else ""
    sub = rest[0] if name in WITH_SUBCOMMAND and rest else None
    if (name, sub) not in ALLOWED:
        shown = f"{name} {sub}" if sub else name
        raise CommandRefused(f"{shown} is not on oncall's read-only allowlist for Redis")
    if (name, sub) == ("CONFIG", "GET"):
        asked = {w.lower() for w in rest[1:]}
        if not asked or any(_secret_pattern(p) for p in asked):
            raise CommandRefused(
                "CONFIG GET of a secret or a pattern (requirepass, masterauth, *) is refused"
            )
    return name, sub


def _secret_pattern(name: str) -> bool:
    return any(ch in name for ch in "*?[") or name in SECRET_CONFIG


class GuardedConnection(Connection):
    """redis-py's connection, every packed command passing the allowlist first."""

    def pack_command(self, *args: Any) -> list[bytes]:
        if not args or _word(args[0]).split()[0] not in _HANDSHAKE:
            check_command(*args)
        return super().pack_command(*args)


class GuardedSSLConnection(GuardedConnection, SSLConnection):
    """The same over TLS: GuardedConnection's pack_command, SSLConnection's socket."""
