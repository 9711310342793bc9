"""Secrets out of everything oncall shows, stores or exports: names kept, values shown as ••••.

Every rule is one row of RULES, or of the [redact] section a team adds (RedactSettings). A text rule finds a
secret inside any text (SQL, a connection string, a URL, an Authorization header, a private key, a cell or
line of a reading); a command rule finds the secret arguments of one Redis command's argument vector. Both
keep what names the secret (`PASSWORD`, `password=`, `requirepass`, `Bearer`) and replace only the value.
The text rules never need the text to parse: pg_stat_activity cuts queries at track_activity_query_size and
the Redis slow log cuts arguments at 128 bytes, so a literal (or a key block) that never closes is masked to
the end.

Names are judged by `secret_name`: a setting, environment variable, label, annotation, column or field whose
name has a secret word in it (DB_PASSWORD, apiKey, GITHUB_TOKEN, dbDsn) has its value masked wherever the
name is known: Kubernetes objects before any printer sees them (`redact_object`), alerts' labels and
annotations (`redact_labels`), a reading's name/value rows and columns (`redact_reading`).

One Redactor is in use at a time (`active()`); `install(settings)` puts the configured one in place at
start-up, so every caller (the probes, the evidence, the export) applies the same rules.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Literal

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
    """A secret inside any text: `pattern`'s group `secret` is the value (the whole match when it has no
    such group); the rest of the match stays. With `named`, only when that group's text looks like the name
    of a secret; with `check`, only when the value passes it."""

    name: str
    pattern: re.Pattern[str]
    mask: Callable[[str], str] = _mask_literal  # the value as shown: quotes kept, the rest ••••
    kind: Literal["text"] = "text"
    named: str | None = None  # the group holding the secret's name (`DB_PASSWORD` in DB_PASSWORD=x)
    names: Literal["field", "variable"] = "field"  # how that name is judged (see `secret_name`)
    check: Callable[[str], bool] | None = None  # a test of the value itself (a Basic credential decodes)
    # words of which the lower-cased text must hold one for the rule to find anything: most lines of a log
    # hold none, and a substring test is ~50 times cheaper than the regex; () runs it always
    hints: tuple[str, ...] = ()

    def apply(self, text: str, judge: Callable[[str, bool], bool] | None = None) -> str:
        """`text` with this rule's secrets masked; `judge(name, field)` says whether the `named` group's
        text names a secret (the active Redactor's `secret_name` unless given)."""
        group = "secret" if "secret" in self.pattern.groupindex else 0
        is_secret = judge or _active.secret_name
        field = self.names == "field"

        def masked(match: re.Match[str]) -> str:
            start, end = match.span(group)
            whole = match.group()
            if start == end or start < 0:
                return whole  # an empty value hides nothing
            if self.named is not None and not is_secret(match.group(self.named), field):
                return whole
            value = match.group(group)
            if self.check is not None and not self.check(value):
                return whole
            offset = match.start()
            return whole[: start - offset] + self.mask(value) + whole[end - offset :]

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


def _mask_whole(value: str) -> str:
    return MASK


def _basic_credentials(value: str) -> bool:
    """Base64 of `user:password`, as HTTP Basic sends it."""
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return ":" in decoded and decoded.isprintable()


# the PEM, OpenSSH and PGP armour of a private key; what follows BEGIN is masked up to END, or to the end
_KEY_MARK = r"[A-Z0-9 ]* PRIVATE KEY(?: BLOCK)?-----"
_PRIVATE_KEY = re.compile(rf"-----BEGIN{_KEY_MARK}(?P<secret>.*?)(?=-----END{_KEY_MARK}|\Z)", re.S)
_KEY_BEGIN = re.compile(rf"-----BEGIN{_KEY_MARK}")
_KEY_END = re.compile(rf"-----END{_KEY_MARK}")
_KEY_MATERIAL = re.compile(r"[A-Za-z0-9+/=]{8,}")


def _mask_key_body(body: str) -> str:
    if not body.strip():
        return body  # a BEGIN line alone: the key's lines follow (a reading's next lines)
    stripped = body.strip()
    start = body.index(stripped)
    return body[:start] + MASK + body[start + len(stripped) :]  # its line breaks kept


# what a text must hold for a name in it to look secret (see _secret_word)
_NAME_HINTS = (
    "pass",
    "pwd",
    "secret",
    "credential",
    "key",
    "token",
    "auth",
    "dsn",
    "jwt",
    "bearer",
    "cookie",
)

RULES: tuple[TextRule | CommandRule, ...] = (
    # CREATE/ALTER ROLE … [ENCRYPTED] PASSWORD '…', OPTIONS (password '…'), password = '…' in a WHERE
    TextRule(
        "sql-password",
        # not password=''x'': libpq's quoting inside a string constant, the next rule's
        re.compile(rf"\bpassword\b{_GAP}(?:={_GAP})?(?!''[^'\s;,)])(?P<secret>{_SQL_LITERAL})", re.I | re.S),
        hints=("password",),
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
        hints=("pass", "pwd"),
    ),
    # a URL's user:password@ (postgresql://, redis://, amqp://…)
    TextRule(
        "url-password",
        re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@'\"]*:(?P<secret>[^@\s/'\"]+)@"),
        hints=("://",),
    ),
    # Authorization: Bearer …, Basic …, or any scheme (a header in a log line, a JSON or Python dict)
    TextRule(
        "authorization-header",
        re.compile(
            r"\b(?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?"
            r"(?:(?:bearer|basic|token|digest|negotiate|ntlm|apikey)[ \t]+)?(?P<secret>[^\s\"'][^\r\n\"']*)",
            re.I,
        ),
        mask=_mask_whole,
        hints=("authoriz",),
    ),
    # a bearer token anywhere (`curl -H "…: Bearer x"` cut, a token in a message); 8 characters or more,
    # so "bearer of" stays
    TextRule(
        "bearer-token",
        re.compile(r"\bbearer[ \t]+(?P<secret>[A-Za-z0-9._~+/-]{8,}=*)", re.I),
        mask=_mask_whole,
        hints=("bearer",),
    ),
    # Basic user:password in base64: only what decodes to user:password, so "Basic information" stays
    TextRule(
        "basic-credentials",
        re.compile(r"\bbasic[ \t]+(?P<secret>[A-Za-z0-9+/]{4,}={0,2})(?![A-Za-z0-9+/=])", re.I),
        mask=_mask_whole,
        check=_basic_credentials,
        hints=("basic",),
    ),
    # a JSON Web Token: its header and payload are base64 JSON (`eyJ` is `{"`), signature or not
    TextRule(
        "jwt",
        re.compile(r"\beyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?"),
        mask=_mask_whole,
        hints=("eyj",),
    ),
    # -----BEGIN … PRIVATE KEY----- to its END line, or to the end of a cut text
    TextRule(
        "private-key",
        _PRIVATE_KEY,
        mask=_mask_key_body,
        hints=("private key",),
    ),
    # an environment variable entry printed as JSON or a Python dict: {"name": "DB_PASSWORD", "value": …}
    TextRule(
        "env-entry",
        re.compile(
            r"(?P<q>[\"'])name(?P=q)[ \t]*:[ \t]*[\"'](?P<name>[^\"'\\]*)[\"'][ \t]*,[ \t]*"
            r"(?P=q)value(?P=q)[ \t]*:[ \t]*(?P<secret>\"(?:[^\"\\]|\\.)*(?:\"|$)|'(?:[^'\\]|\\.)*(?:'|$))"
        ),
        named="name",
        names="variable",
        hints=("value",),
    ),
    # the same entry in YAML (kubectl get -o yaml, a manifest in a log): name: DB_PASSWORD / value: …
    TextRule(
        "env-entry-yaml",
        re.compile(
            r"(?<![\w-])name:[ \t]*[\"']?(?P<name>[\w.-]+)[\"']?[ \t]*\r?\n[ \t]*value:[ \t]*"
            r"(?P<secret>[^\s][^\r\n]*)"
        ),
        named="name",
        names="variable",
        hints=("value:",),
    ),
    # NAME=value, name: value, "name": "value", --name=value, ?name=value& whose name looks secret
    TextRule(
        "secret-assignment",
        re.compile(
            r"(?<![\w.])(?P<name>[A-Za-z_][\w.-]*+)[\"']?[ \t]*[=:][ \t]*"
            # not a parameter ($1), SQL's own literals (sql-password's), an object, a URL's //, nor a value
            # masked already (libpq's ''quoted'' one included)
            r"(?!\$\d+\b|[EeNn]'|[Uu]&'|''|[\"']?••••|[{\[]|//"
            r"|[\"']?(?:bearer|basic|token|digest|negotiate|ntlm)[ \t])"
            r"(?P<secret>\"[^\"\r\n]*(?:\"|$)|'[^'\r\n]*(?:'|$)|[^\s\"',;&)}\]]+)",
            re.I,
        ),
        named="name",
        hints=_NAME_HINTS,
    ),
    # a password given on a command line: redis-cli -a pw, --pass pw, --password pw
    TextRule(
        "command-line-password",
        re.compile(
            r"(?:redis-cli\b[^\n|;&]*?[ \t]-a|(?<!\S)--(?:pass|password|passwd))[ \t]+"
            r"(?P<secret>[^\s\"']\S*|\"[^\"]*\"?|'[^']*'?)"
        ),
        hints=("pass", "redis-cli"),
    ),
    # curl -u user:pw, --user user:pw (the user kept)
    TextRule(
        "command-line-user",
        re.compile(r"(?<!\S)(?:-u|--user)[ \t]+[\"']?[^\s:\"']*:(?P<secret>[^\s\"']+)"),
        mask=_mask_whole,
        hints=("-u",),
    ),
    CommandRule("redis-auth", "AUTH", _auth),
    CommandRule("redis-hello-auth", "HELLO", _hello),
    CommandRule("redis-migrate-auth", "MIGRATE", _after_keyword("AUTH", with_user="AUTH2")),
    CommandRule("redis-config-set", "CONFIG SET", _setting_values(2)),
    CommandRule("redis-sentinel-set", "SENTINEL SET", _setting_values(3)),
    CommandRule("redis-acl-setuser", "ACL SETUSER", _acl_passwords),
)


# --- names that say their value is a secret ------------------------------------------------------------

# A word with one of these inside it is a secret's name: PGPASSWORD, client_secret, AWS_CREDENTIALS.
_INSIDE = ("password", "passwd", "passphrase", "secret", "credential")
# A word that is one of these or ends with one: API_KEY, apikey, GITHUB_TOKEN, masterauth, SENTRY_DSN,
# requirepass, DB_PWD. The price: monkey, turkey and bypass are masked too; a leak is worse.
_ENDINGS = ("key", "token", "tokens", "auth", "dsn", "pass", "pwd")
_WORDS = frozenset({"jwt", "bearer", "cookie", "apikeys"})
# Words that end like a secret but are not one: Redis's NOAUTH error (INFO errorstat_NOAUTH) is a count.
_NOT_SECRET = frozenset({"noauth"})
# `keys` alone is a count or a list of key names (expired_keys, evicted_keys); API_KEYS are secrets.
_KEYS_OF = frozenset({"api", "access", "private", "secret", "signing", "encryption", "master", "ssh"})
# A last word that says the value is about the secret, not the secret: DB_PASSWORD_FILE (a path),
# secretName, password_min_length, active_defrag_key_hits, token_ttl.
_ABOUT = frozenset(
    {
        "file",
        "files",
        "path",
        "dir",
        "name",
        "ref",
        "type",
        "method",
        "mode",
        "count",
        "total",
        "hits",
        "misses",
        "length",
        "size",
        "ttl",
        "timeout",
        "enabled",
    }
)
# The words of a name: split at anything not a letter or digit and where camelCase starts a word
# (apiKey, dbDsn, SECRET_KEY_BASE, OAuth2Token).
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def name_words(name: str) -> tuple[str, ...]:
    """A name's words, lower case: `SECRET_KEY_BASE` → secret, key, base; `apiKey` → api, key."""
    return tuple(word.lower() for word in _WORD.findall(name))


@lru_cache(maxsize=4096)
def _secret_word(word: str) -> bool:
    if any(inside in word for inside in _INSIDE):
        return True
    if word in _NOT_SECRET:
        return False
    if word.endswith(_ENDINGS) or word in _WORDS:
        return True
    # authn, authz, authtoken, authorization, authentication; not author, authors, authority
    return word.startswith("auth") and (not word.startswith("author") or word.startswith("authoriz"))


@dataclass(frozen=True)
class RedactSettings:
    """What a team adds to the built-in rules ([redact] in the config file); both are lists of regexes.

    `names`: more words that make a name secret-looking; each must match whole words of the name, which is
    lower-cased and split into words joined by `_` (`cardPin` is `card_pin`: "pin" matches it).
    `patterns`: more secrets in any text; the match is masked, or only its group named `secret`.
    """

    names: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()


class RedactRuleError(ValueError):
    """A pattern of RedactSettings that is no regular expression, or matches empty text."""

    def __init__(self, setting: str, index: int, problem: str) -> None:
        super().__init__(f"{setting}[{index}]: {problem}")
        self.setting = setting
        self.index = index  # from 0, in the list as written
        self.problem = problem


def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` can't be a redaction pattern (not a regular expression, or it matches empty text, so
    it would find a "secret" everywhere); None when it can."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        where = f" at position {exc.pos}" if exc.pos is not None else ""
        return f"{pattern!r} is not a valid regular expression: {exc.msg}{where}"
    if compiled.search("") is not None:
        return f"{pattern!r} matches empty text: it must match the secret itself"
    return None


class Redactor:
    """The built-in rules and a team's own, applied to texts, Redis commands, readings, Kubernetes objects
    and alert labels. Judging a name is cached: an alert storm repeats the same few label names."""

    def __init__(self, settings: RedactSettings | None = None) -> None:
        self.settings = settings or RedactSettings()
        for setting, patterns in (("names", self.settings.names), ("patterns", self.settings.patterns)):
            for index, pattern in enumerate(patterns):
                if problem := pattern_problem(pattern):
                    raise RedactRuleError(setting, index, problem)
        self._names = tuple(re.compile(rf"(?:^|_)(?:{n})(?:_|$)", re.I) for n in self.settings.names)
        own = tuple(
            TextRule(f"pattern-{i + 1}", re.compile(p), mask=_mask_whole)
            for i, p in enumerate(self.settings.patterns)
        )
        built_in = [rule for rule in RULES if isinstance(rule, TextRule)]
        if self._names:  # a team's own name words: a name in a text may hold none of the built-in hints
            built_in = [replace(rule, hints=()) if rule.named else rule for rule in built_in]
        self.text_rules: tuple[TextRule, ...] = (*built_in, *own)
        # one search for every rule's hints first: most strings (a pod's fields, a log line) hold none
        self._hints = tuple(sorted({hint for rule in self.text_rules for hint in rule.hints}))
        self._always = any(not rule.hints for rule in self.text_rules)
        self.secret_name = lru_cache(maxsize=8192)(self._secret_name)
        # an alert rule's annotations are one template: a storm's 5,000 alerts repeat a few descriptions
        self._annotation_text = lru_cache(maxsize=4096)(self.text)

    def _secret_name(self, name: str, field: bool = False) -> bool:
        """Whether a value named `name` is a secret. `field`: the name of a field of a record, a column or
        a `name=` in text, where `key` alone names a lookup key (secretKeyRef's key, a cache's key=…), not
        a secret; an environment variable, setting, label or annotation named KEY is masked."""
        words = name_words(name)
        if not words or (field and words in (("key",), ("keys",))):
            return False
        if words[-1] in _ABOUT:
            return False
        if any(_secret_word(w) for w in words):
            return True
        if any(w == "keys" and i and words[i - 1] in _KEYS_OF for i, w in enumerate(words)):
            return True
        joined = "_".join(words)
        return any(pattern.search(joined) for pattern in self._names)

    def text(self, text: str) -> str:
        """`text` with every secret a text rule finds masked; text without one comes back unchanged."""
        if not text:
            return text
        lowered = text.lower()  # masking only takes letters away: the hints found stay a superset
        found = {hint for hint in self._hints if hint in lowered}
        if not found and not self._always:
            return text
        for rule in self.text_rules:
            if not rule.hints or not found.isdisjoint(rule.hints):
                text = rule.apply(text, self.secret_name)
        return text

    def command(self, args: Sequence[str]) -> tuple[str, ...]:
        """A Redis command's arguments with its secret arguments masked, and every argument's text
        redacted."""
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
                shown.append(self.text(arg))
        return tuple(shown)

    def lines(self, lines: Sequence[str]) -> tuple[str, ...]:
        """Lines of one output (logs, describe, jsonpath): each redacted, and the lines between a private
        key's BEGIN and END lines masked too (each line of a key is its own line here)."""
        shown: list[str] = []
        inside = False
        for line in lines:
            if inside:
                end = _KEY_END.search(line)
                if end is None:
                    shown.append(_KEY_MATERIAL.sub(MASK, line))
                    continue
                inside = False
                before, after = line[: end.start()], line[end.start() :]
                shown.append(_KEY_MATERIAL.sub(MASK, before) + self.text(after))
                continue
            begin = _KEY_BEGIN.search(line)
            if begin is not None and not _KEY_END.search(line, begin.end()):
                inside = True
            shown.append(self.text(line))
        return tuple(shown)

    def reading(self, reading: Reading) -> Reading:
        """A reading with every cell, line, its title and its problem redacted; a column whose header
        looks secret (rolpassword, api_key) masked whole; in a name/value table (INFO, CONFIG GET, a
        settings table) the value of each row whose name looks secret masked; the whole answer to a Redis
        read of one value by a secret-looking key (GET api_token, HGET app password)."""
        if reading.source == "redis" and self._reads_secret_key(reading.what):
            return replace(
                reading,
                what=self.text(reading.what),
                rows=tuple(tuple(_masked(cell) for cell in row) for row in reading.rows),
                lines=tuple(_masked(line) for line in reading.lines),
                problem=self.text(reading.problem) if reading.problem else reading.problem,
            )
        columns = reading.columns
        secret_columns = {i for i, column in enumerate(columns) if self.secret_name(column, True)}
        name_at, value_at = _name_value_columns(columns) if reading.source != "prometheus" else (None, ())
        rows = []
        for row in reading.rows:
            masked = set(secret_columns)
            if name_at is not None and name_at < len(row) and self.secret_name(row[name_at]):
                masked.update(value_at)
            rows.append(
                tuple(_masked(cell) if i in masked else self.text(cell) for i, cell in enumerate(row))
            )
        return replace(
            reading,
            what=self.text(reading.what),
            rows=tuple(rows),
            lines=self.lines(reading.lines),
            problem=self.text(reading.problem) if reading.problem else reading.problem,
        )

    def _reads_secret_key(self, command: str) -> bool:
        """`GET key`, `HGET key field` and the like (as written, redis-cli's options before it) where the
        key or the field looks secret: the value read is the secret itself."""
        words = command.split()
        for i, word in enumerate(words):
            if word.upper() in _READS_ONE_VALUE:
                named = [w.strip("'\"") for w in words[i + 1 : i + 3]]
                return any(self.secret_name(name) for name in named)
        return False

    def obj(self, value: Any) -> Any:
        """A Kubernetes object (JSON as the API sends it) as it may be shown: the value of each env entry
        ({"name": "DB_PASSWORD", "value": …}) whose name looks secret masked, and of each field, label and
        annotation whose name does; an annotation holding JSON (last-applied-configuration) redacted the
        same way inside; every other string through the text rules. valueFrom.secretKeyRef only names a
        Secret: it is kept. A new object; the one given is not changed."""
        if isinstance(value, str):
            return self._string(value)
        if isinstance(value, list):
            return [self.obj(item) for item in value]
        if not isinstance(value, dict):
            return value
        entry = value.get("name")
        variable = isinstance(entry, str) and "value" in value and self.secret_name(entry)
        shown: dict[Any, Any] = {}
        for name, item in value.items():  # one loop, no call per field: a pod has ~100 of them
            if isinstance(item, str):
                if item and ((variable and name == "value") or self._secret_field(name)):
                    shown[name] = MASK
                else:
                    shown[name] = self._string(item)
            elif isinstance(item, dict | list):
                shown[name] = self.obj(item)
            elif isinstance(item, int | float) and not isinstance(item, bool) and self._secret_field(name):
                shown[name] = MASK
            else:
                shown[name] = item
        return shown

    def _secret_field(self, name: object) -> bool:
        return isinstance(name, str) and self.secret_name(name, True)

    def _string(self, value: str) -> str:
        """A string of an object; JSON in it (an annotation kubectl wrote) is redacted as an object."""
        if value[:1] in ("{", "[") and value and value.rstrip()[-1:] in ("}", "]"):
            try:
                inner = json.loads(value)
            except ValueError:
                return self.text(value)
            if isinstance(inner, dict | list):
                ending = value[len(value.rstrip()) :]  # kubectl ends last-applied-configuration with "\n"
                return json.dumps(self.obj(inner), ensure_ascii=False, separators=(",", ":")) + ending
        return self.text(value)

    def labels(self, labels: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        """Label or annotation pairs with the value of each secret-looking name masked; the same pairs
        (the same tuple) when none is, so an alert storm's label sets stay shared."""
        if not any(self.secret_name(name) for name, _ in labels):
            return labels if isinstance(labels, tuple) else tuple(labels)
        return tuple((name, _masked(value) if self.secret_name(name) else value) for name, value in labels)

    def annotations(self, annotations: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        """An alert's annotations: each secret-looking name's value masked, every other through the text
        rules (a description may quote a URL with its password); the same tuple when nothing changes."""
        shown = tuple(
            (name, _masked(value) if self.secret_name(name) else self._annotation_text(value))
            for name, value in annotations
        )
        return annotations if shown == annotations and isinstance(annotations, tuple) else shown


def _masked(value: Any) -> Any:
    """A secret's value as shown: •••• for anything but an empty string, which hides nothing."""
    return value if value == "" or value is None else MASK


# Redis commands that read one value by its key (and field): GET api_token answers the token itself
_READS_ONE_VALUE = frozenset({"GET", "GETEX", "GETDEL", "GETRANGE", "HGET", "HMGET", "LRANGE", "LINDEX"})

# headers of a name/value table: the setting's name, and the column(s) holding its value
_NAME_HEADERS = frozenset({"name", "key", "field", "parameter", "setting name", "variable", "option"})
_VALUE_HEADERS = frozenset({"value", "setting", "val", "data", "current value"})


def _name_value_columns(columns: Sequence[str]) -> tuple[int | None, tuple[int, ...]]:
    """(the name column, the value columns) of a name/value table, e.g. INFO's (field, value)."""
    lowered = [column.strip().lower() for column in columns]
    name_at = next((i for i, column in enumerate(lowered) if column in _NAME_HEADERS), None)
    if name_at is None:
        return None, ()
    values = tuple(i for i, column in enumerate(lowered) if column in _VALUE_HEADERS and i != name_at)
    return (name_at, values) if values else (None, ())


# --- the rules in use -----------------------------------------------------------------------------------

_active = Redactor()


def active() -> Redactor:
    """The Redactor every caller applies."""
    return _active


def install(settings: RedactSettings | Redactor) -> Redactor:
    """Put the rules of `settings` in use everywhere (at start-up, once the config is read). Raises
    RedactRuleError for a bad pattern (the config's loader has checked them already)."""
    global _active
    _active = settings if isinstance(settings, Redactor) else Redactor(settings)
    return _active


def secret_name(name: str, field: bool = False) -> bool:
    """Whether a value named `name` is a secret, by the rules in use (see Redactor._secret_name)."""
    return _active.secret_name(name, field)


def redact_text(text: str) -> str:
    """`text` with every secret a text rule finds masked; text without one comes back unchanged."""
    return _active.text(text)


def redact_command(args: Sequence[str]) -> tuple[str, ...]:
    """A Redis command's arguments with its secret arguments masked, and every argument's text redacted."""
    return _active.command(args)


def redact_reading(reading: Reading) -> Reading:
    """A reading with every cell and line redacted: a statement's rows may hold other sessions' queries."""
    return _active.reading(reading)


def redact_object(value: Any) -> Any:
    """A Kubernetes object with its secrets masked before any printer or jsonpath sees it."""
    return _active.obj(value)


def redact_labels(labels: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """An alert's labels or annotations with the value of each secret-looking name masked."""
    return _active.labels(labels)


def redact_annotations(annotations: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """An alert's annotations with the value of each secret-looking name masked, the others' text redacted."""
    return _active.annotations(annotations)


def redact_mapping(values: Mapping[str, str]) -> dict[str, str]:
    """A label map with the value of each secret-looking name masked."""
    return dict(_active.labels(tuple(values.items())))
