"""Flags parsed the getopt/pflag way for every program the classifier knows, and its refusals."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tui.triage.commands.model import Mutating, Unknown


class Unsupported(Exception):
    """A read oncall can't run as written; the message is the Unknown reason."""


def unknown(reason: str) -> Unknown:
    return Unknown("", reason)


def mutating(reason: str) -> Mutating:
    return Mutating("", reason)


Flags = Mapping[str, tuple[str, bool]]  # flag as written → (option name, takes a value)


@dataclass
class Options:
    values: dict[str, list[str]] = field(default_factory=dict)
    written: dict[str, str] = field(default_factory=dict)  # option name → the flag as written
    positionals: list[str] = field(default_factory=list)
    after_dashes: list[str] | None = None  # the words after `--`
    problem: str | None = None  # the first flag that isn't understood

    def one(self, name: str) -> str | None:
        values = self.values.get(name)
        return values[-1] if values else None

    def require(self, allowed: frozenset[str], what: str) -> None:
        """Raise Unsupported for a flag oncall can't honour in this read (or doesn't know)."""
        if self.problem is not None:
            raise Unsupported(self.problem)
        for name, flag in self.written.items():
            if name not in allowed:
                raise Unsupported(f"`{flag}` isn't supported by oncall's live {what}")


def parse_options(words: Sequence[str], flags: Flags, tool: str, *, interleaved: bool = True) -> Options:
    """Parse flags the getopt/pflag way: `-n x`, `-nx`, `-n=x`, `--name=x`, `--name x`, bundled `-it`.

    Never raises: an unknown flag (taken as a switch) or a missing value is recorded as `problem`.
    """
    opts = Options()
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word == "--":
            opts.after_dashes = list(words[i:])
            break
        if not word.startswith("-") or word == "-":
            opts.positionals.append(word)
            if not interleaved:  # redis-cli: the command starts at the first word that isn't a flag
                opts.positionals.extend(words[i:])
                break
            continue
        pairs: list[tuple[str, str | None]] = []
        if word.startswith("--"):
            flag, equals, attached = word.partition("=")
            pairs.append((flag, attached if equals else None))
        else:
            for k in range(1, len(word)):
                flag = "-" + word[k]
                spec = flags.get(flag)
                if spec is not None and spec[1]:  # a short flag with a value takes the rest of the word
                    rest = word[k + 1 :]
                    pairs.append((flag, rest.removeprefix("=") if rest else None))
                    break
                pairs.append((flag, None))
        for flag, value in pairs:
            spec = flags.get(flag)
            if spec is None:
                opts.problem = opts.problem or f"`{flag}` is not a {tool} option oncall understands"
                continue
            name, valued = spec
            if valued and value is None:
                if i >= len(words):
                    opts.problem = opts.problem or f"`{flag}` needs a value"
                    continue
                value = words[i]
                i += 1
            opts.values.setdefault(name, []).append(value if valued and value is not None else "true")
            opts.written.setdefault(name, flag)
    return opts


def flag_table(*specs: tuple[str, str, bool]) -> dict[str, tuple[str, bool]]:
    """A flag table from (space-separated spellings, option name, takes a value)."""
    return {flag: (name, valued) for spellings, name, valued in specs for flag in spellings.split()}


def word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


def number(value: str, what: str) -> int:
    if not re.fullmatch(r"[0-9]{1,9}", value):
        raise Unsupported(f"{what} `{value}` is not a plain number")
    return int(value)
