"""The `:` command line, as k9s has it: what it understands, and completion of its commands and names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from textual.suggester import Suggester

# the dashboard's tabs by command (its 1-7 keys): Pods, PostgreSQL, Redis, Slow log, Events, Logs, Deploys
TAB_COMMANDS: Mapping[str, int] = {
    "pods": 1,
    "pg": 2,
    "postgres": 2,
    "redis": 3,
    "slowlog": 4,
    "events": 5,
    "logs": 6,
    "deploys": 7,
}
NAMED_COMMANDS = ("ns", "ctx", "runbook")  # each takes a name: a namespace, a kubeconfig context, a section
QUIT_COMMANDS = ("q", "quit")
COMMAND_NAMES = (*TAB_COMMANDS, *NAMED_COMMANDS, *QUIT_COMMANDS)
ALL_NAMESPACES = ("all", "-A")  # `:ns all` or `:ns -A`: every namespace
USAGE = ":pods :pg :redis :slowlog :events :logs :deploys · :ns NAME|all · :ctx NAME · :runbook SLUG · :q"


@dataclass(frozen=True)
class Command:
    """A command line as understood: `name` is one of COMMAND_NAMES, `arg` its name argument."""

    name: str
    arg: str = ""

    @property
    def tab(self) -> int | None:
        return TAB_COMMANDS.get(self.name)


class CommandError(ValueError):
    """A line the command line does not understand, in words to show the user."""


def parse_command(line: str) -> Command | None:
    """`:ns production` as Command("ns", "production"); None for an empty line; CommandError if unknown."""
    words = line.strip().removeprefix(":").split()
    if not words:
        return None
    name, args = words[0].lower(), words[1:]
    if name not in COMMAND_NAMES:
        raise CommandError(f"unknown command :{words[0]} (commands: {USAGE})")
    if name in NAMED_COMMANDS:
        if len(args) != 1:
            what = {"ns": "a namespace or all", "ctx": "a context", "runbook": "a section slug"}[name]
            raise CommandError(f":{name} takes {what}, as in :{name} NAME")
        return Command(name, args[0])
    if args:
        raise CommandError(f":{name} takes no argument")
    return Command(name)


class CommandSuggester(Suggester):
    """Completes a command's name, then its argument from `names` (namespaces, contexts, slugs by command)."""

    def __init__(self, names: Mapping[str, Sequence[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.names = names

    async def get_suggestion(self, value: str) -> str | None:
        return complete(value, self.names)


def complete(value: str, names: Mapping[str, Sequence[str]]) -> str | None:
    """The whole line completed (the first match, in the order given), or None."""
    lead = value[: len(value) - len(value.lstrip())]
    text = value.lstrip()
    colon = ":" if text.startswith(":") else ""
    text = text.removeprefix(":")
    if not text:
        return None
    if " " not in text:
        match = next((n for n in COMMAND_NAMES if n.startswith(text) and n != text), None)
        return f"{lead}{colon}{match}" if match else None
    command, _, arg = text.partition(" ")
    if " " in arg.strip() or command not in names:
        return None
    stem = arg.lstrip()
    spaces = arg[: len(arg) - len(stem)]
    match = next((n for n in names[command] if n.startswith(stem) and n != stem), None)
    return f"{lead}{colon}{command} {spaces}{match}" if match else None
