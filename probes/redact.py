"""Secrets out of server text (query text, slow-log arguments, readings): names kept, values shown as ••••.

Every rule is one row of RULES. A text rule finds a secret inside any text (SQL, a connection string, a
cell of a reading); a command rule finds the secret arguments of one Redis command's argument vector.
Both keep what names the secret (`PASSWORD`, `password=`, `requirepass`, the user of `AUTH user pw`) and
replace only the value. The text rules never need the text to parse: pg_stat_activity cuts queries at
track_activity_query_size and the Redis slow log cuts arguments at 128 bytes, so a literal that never
closes is masked to the end.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from probes.base import Reading

MASK = "••••"

# Redis settings whose value is a secret (CONFIG SET, SENTINEL SET).
SECRET_SETTINGS = frozenset(
    {
        "requirepass",
        "masterauth",
        "tls-key-file-pass",
        "tls-client-key-file-pass",
        "auth-pass",
        "sentinel-pass",
    }
)

# Whitespace and SQL comments between a keyword and its value.
_GAP = r"(?:\s|--[^\n]*(?:\n|$)|/\*.*?(?:\*/|$))*"
# A SQL string constant, to its end or the end of the text: '…', E'…', U&'…', $$…$$ or $tag$…$tag$.
_SQL_LITERAL = (
    r"[Ee]'(?:[^'\\]|\\.|'')*(?:'|\\?$)"  # E'…': backslash escapes
    r"|(?:[Nn]|[Uu]&)?'(?:[^']|'')*(?:'|$)"  # standard_conforming_strings (on since 9.1): no escapes
    r"|\$(?P<tag>(?:[A-Za-z_]\w*)?)\$.*?(?:\$(?P=tag)\$|$)"
)


def _mask_literal(literal: str) -> str:
    """A quoted value with its delimiters kept: `'x'` → `'••••'`, a cut-off `E'x` → `E'••••`."""
    if match := re.match(r"(?:[EeNn]|[Uu]&)?'", literal):
        opening = match.group()
        body = r"(?:[^'\\]|\\.|'')*" if opening[0] in "Ee" else r"(?:[^']|'')*"
        closed = re.fullmatch(re.escape(opening) + body + "'", literal, re.S) is not None
        return opening + MASK + ("'" if closed else "")
    if match := re.match(r"\$(\w*)\$", literal):
        opening = match.group()
        return opening + MASK + (opening if literal.endswith(opening) and len(literal) > len(opening) else "")
    if literal[:1] in ("'", '"'):
        return literal[0] + MASK + (literal[0] if len(literal) > 1 and literal.endswith(literal[0]) else "")
    return MASK


def _mask_conninfo_value(value: str) -> str:
    if value[:2] == "''":  # libpq's quoting inside a SQL string constant: ''a b''
        return "''" + MASK + ("''" if len(value) > 3 and value.endswith("''") else "")
    return _mask_literal(value)


@dataclass(frozen=True)
class TextRule:
    """A secret inside any text: `pattern`'s group `secret` is the value; the rest of the match stays."""

    name: str
    pattern: re.Pattern[str]
    mask: Callable[[str], str] = _mask_literal  # the value as shown: quotes kept, the rest ••••
    kind: Literal["text"] = "text"

    def apply(self, text: str) -> str:
        def masked(match: re.Match[str]) -> str:
            start, end = match.span("secret")
            whole = match.group()
            offset = match.start()
            return whole[: start - offset] + self.mask(match.group("secret")) + whole[end - offset :]

        return self.pattern.sub(masked, text)


@dataclass(frozen=True)
class CommandRule:
    """The secret arguments of one Redis command: `find(args)` gives their positions in `args`."""

    name: str
    command: str  # upper case; "CONFIG SET" for a subcommand
    find: Callable[[Sequence[str]], list[int]]
    kind: Literal["command"] = "command"

    def matches(self, args: Sequence[str]) -> bool:
        words = self.command.split()
        return len(args) >= len(words) and all(a.upper() == w for a, w in zip(args, words, strict=False))


def _after_keyword(keyword: str, *, with_user: str | None = None) -> Callable[[Sequence[str]], list[int]]:
    """The password after `keyword` (`… AUTH pw`); after `with_user` it is the second word (`AUTH2 u pw`)."""

    def find(args: Sequence[str]) -> list[int]:
        found: list[int] = []
        for i, arg in enumerate(args[1:], start=1):
            if arg.upper() == keyword and i + 1 < len(args):
                found.append(i + 1)
            elif with_user is not None and arg.upper() == with_user and i + 2 < len(args):
                found.append(i + 2)
        return found

    return find


def _auth(args: Sequence[str]) -> list[int]:
    # AUTH password, or AUTH username password: the last word is the password either way
    return [len(args) - 1] if len(args) > 1 else []


def _hello(args: Sequence[str]) -> list[int]:
    # HELLO protover AUTH username password [SETNAME name]; a cut-off one may end after the username
    for i, arg in enumerate(args[1:-1], start=1):
        if arg.upper() == "AUTH":
            return [min(i + 2, len(args) - 1)]
    return []


def _setting_values(first: int) -> Callable[[Sequence[str]], list[int]]:
    """CONFIG SET name value [name value …]: the values of the secret settings, from position `first`."""

    def find(args: Sequence[str]) -> list[int]:
        return [i + 1 for i in range(first, len(args) - 1, 2) if args[i].lower() in SECRET_SETTINGS]

    return find


def _acl_passwords(args: Sequence[str]) -> list[int]:
    # ACL SETUSER name rule…: >pw and <pw add or remove a password, #hash and !hash do so by its hash
    return [i for i, arg in enumerate(args[3:], start=3) if arg[:1] in (">", "<", "#", "!") and len(arg) > 1]


RULES: tuple[TextRule | CommandRule, ...] = (
    # CREATE/ALTER ROLE … [ENCRYPTED] PASSWORD '…', OPTIONS (password '…'), password = '…' in a WHERE
    TextRule(
        "sql-password",
        # not password=''x'': libpq's quoting inside a string constant, the next rule's
        re.compile(rf"\bpassword\b{_GAP}(?:={_GAP})?(?!''[^'\s;,)])(?P<secret>{_SQL_LITERAL})", re.I | re.S),
    ),
    # libpq connection strings and URL query strings: host=db password=x, ?password=x&…
    TextRule(
        "conninfo-password",
        re.compile(
            r"(?<![\w-])(?:password|passwd|pwd)\s*=\s*"
            r"(?!\$\d+\b|[EeNn]'|[Uu]&')(?P<secret>''(?:[^']|'(?!'))*(?:''|$)|'(?:[^'\\]|\\.)*(?:'|$)|\"[^\"]*(?:\"|$)|[^\s'\"&;,)]+)",
            re.I,
        ),
        mask=_mask_conninfo_value,
    ),
    # a URL's user:password@ (postgresql://, redis://, amqp://…)
    TextRule(
        "url-password",
        re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@'\"]*:(?P<secret>[^@\s/'\"]+)@"),
    ),
    CommandRule("redis-auth", "AUTH", _auth),
    CommandRule("redis-hello-auth", "HELLO", _hello),
    CommandRule("redis-migrate-auth", "MIGRATE", _after_keyword("AUTH", with_user="AUTH2")),
    CommandRule("redis-config-set", "CONFIG SET", _setting_values(2)),
    CommandRule("redis-sentinel-set", "SENTINEL SET", _setting_values(3)),
    CommandRule("redis-acl-setuser", "ACL SETUSER", _acl_passwords),
)


def redact_text(text: str) -> str:
    """`text` with every secret a text rule finds masked; text without one comes back unchanged."""
    if not text:
        return text
    for rule in RULES:
        if isinstance(rule, TextRule):
            text = rule.apply(text)
    return text


def redact_command(args: Sequence[str]) -> tuple[str, ...]:
    """A Redis command's arguments with its secret arguments masked, and every argument's text redacted."""
    secret: set[int] = set()
    for rule in RULES:
        if isinstance(rule, CommandRule) and rule.matches(args):
            secret.update(rule.find(args))
    shown = []
    for i, arg in enumerate(args):
        if i in secret:
            # keep the sign of an ACL rule (>pw, #hash): it says what the argument did
            sign = arg[:1] if arg[:1] in (">", "<", "#", "!") and args[0].upper() == "ACL" else ""
            shown.append(sign + MASK)
        else:
            shown.append(redact_text(arg))
    return tuple(shown)


def redact_reading(reading: Reading) -> Reading:
    """A reading with every cell and line redacted: a statement's rows may hold other sessions' queries."""
    return replace(
        reading,
        rows=tuple(tuple(redact_text(cell) for cell in row) for row in reading.rows),
        lines=tuple(redact_text(line) for line in reading.lines),
    )
