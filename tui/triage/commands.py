"""The command classifier: each runbook command as a live read with its parameters, mutating, or unknown.

oncall never runs a runbook command's own program; a live read names what a probe reads instead:
- kubernetes: pods (KubernetesProbe.list_pods or the pod informer), describe-pods (those pods and their
  events), logs (KubernetesProbe.logs of each pod), top-pods (pod_metrics), events, nodes, hpas, pvcs,
  services, network-policies, helm-history (the probe methods of those names);
- postgresql: sql, the one statement the PostgreSQL guard (check_sql) allowed;
- redis: info, slowlog, config-get, latency (INFO [section], SLOWLOG GET [n], CONFIG GET name, LATENCY
  LATEST), scan (SCAN with MATCH pattern), bigkeys (RedisProbe.sample_keys); each on the probe's allowlist.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from psycopg import ProgrammingError
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import Conninfo

from probes.postgres.guard import NOTHING_ALLOWED, Allowlist, GuardVerdict, check_sql
from probes.redis.probe import CommandRefused, check_command

if TYPE_CHECKING:
    from tui.config.settings import PostgresSettings, RedisSettings

__all__ = [
    "Classified",
    "ConfiguredServers",
    "LineFilter",
    "LiveRead",
    "Mutating",
    "ReadName",
    "ReadParams",
    "Server",
    "Source",
    "Unknown",
    "classify",
    "configured_servers",
]

Source = Literal["kubernetes", "postgresql", "redis", "prometheus"]
ReadName = Literal[
    "pods",
    "describe-pods",
    "logs",
    "top-pods",
    "events",
    "nodes",
    "hpas",
    "pvcs",
    "services",
    "network-policies",
    "helm-history",
    "sql",
    "info",
    "slowlog",
    "config-get",
    "latency",
    "scan",
    "bigkeys",
    "volume-usage",  # prometheus: kubelet_volume_stats_* of a workload's volumes (`exec … df -h`)
    "target-health",  # prometheus: /api/v1/targets for an endpoint (`exec … wget …/metrics`)
]


@dataclass(frozen=True)
class LineFilter:
    """A `| grep` stage kept as a filter on the read's text lines, with grep's context lines."""

    pattern: str
    before: int = 0  # -B / -C
    after: int = 0  # -A / -C
    ignore_case: bool = False  # -i
    invert: bool = False  # -v
    syntax: Literal["basic", "extended", "fixed"] = "basic"  # grep's default, -E, -F

    def matches(self, line: str) -> bool:
        return (self._compiled().search(line) is not None) != self.invert

    def apply(self, lines: Sequence[str]) -> list[str]:
        """The lines grep would print: matches with their context, `--` between separate groups."""
        compiled = self._compiled()
        hits = [i for i, line in enumerate(lines) if (compiled.search(line) is not None) != self.invert]
        kept = sorted(
            {j for i in hits for j in range(max(0, i - self.before), min(len(lines), i + self.after + 1))}
        )
        shown: list[str] = []
        for position, j in enumerate(kept):
            if position and j != kept[position - 1] + 1 and (self.before or self.after):
                shown.append("--")
            shown.append(lines[j])
        return shown

    def _compiled(self) -> re.Pattern[str]:
        flags = re.IGNORECASE if self.ignore_case else 0
        if self.syntax != "fixed":
            try:
                return re.compile(self._regex(), flags)
            except re.error:
                pass  # a pattern Python can't compile is matched as plain text
        return re.compile(re.escape(self.pattern), flags)

    def _regex(self) -> str:
        if self.syntax == "extended":
            return self.pattern
        # in a basic pattern \+ \? \| \( \) \{ \} are the operators and bare + ? | ( ) { } plain characters
        out: list[str] = []
        i = 0
        while i < len(self.pattern):
            char = self.pattern[i]
            if char == "\\" and i + 1 < len(self.pattern):
                following = self.pattern[i + 1]
                out.append(following if following in "+?|(){}" else char + following)
                i += 2
                continue
            out.append("\\" + char if char in "+?|(){}" else char)
            i += 1
        return "".join(out)


@dataclass(frozen=True)
class ReadParams:
    """What the command says about its read; None (or False) where the command leaves the default."""

    namespace: str | None = None  # -n / --namespace
    selector: str | None = None  # -l / --selector
    name: str | None = None  # the object named (`pod-x`, `deploy/x`), or the CONFIG GET parameter
    container: str | None = None  # -c / --container
    tail: int | None = None  # --tail
    previous: bool = False  # -p / --previous: the logs of the container's previous instance
    output: str | None = None  # -o wide|json|yaml|name
    jsonpath: str | None = None  # -o jsonpath=TEMPLATE: the template
    release: str | None = None  # helm history RELEASE
    statement: str | None = None  # SQL as the PostgreSQL guard allowed it
    section: str | None = None  # INFO section, lower case
    count: int | None = None  # SLOWLOG GET n, redis-cli --count n (SCAN COUNT), helm history --max n
    pattern: str | None = None  # SCAN MATCH pattern (redis-cli --scan --pattern)
    limit: int | None = None  # `| head -n`: at most n lines of the result
    filter: LineFilter | None = None  # `| grep …`


@dataclass(frozen=True)
class Server:
    """A database server that a command or oncall's configuration names."""

    hosts: tuple[str, ...] = ()  # -h, host= or a URI's host (libpq takes a list); empty: not named
    port: int | None = None  # None: not named (the program's default port)

    def words(self, default_port: int) -> str:
        """`db:5432`, `port 6380` when only a port is named, `service=x` when pg_service.conf decides."""
        if not self.hosts:
            return f"port {self.port or default_port}"
        if self.hosts[0].startswith("service="):
            return self.hosts[0]
        return f"{','.join(self.hosts)}:{self.port or default_port}"


@dataclass(frozen=True)
class ConfiguredServers:
    """The servers oncall's PostgreSQL and Redis probes read: a command aimed elsewhere is copy-only."""

    postgresql: Server | None = None  # None: not configured, or libpq's service file decides
    redis: Server | None = None
    sql_allow: Allowlist = NOTHING_ALLOWED  # the user-defined functions and views [postgres] allows


@dataclass(frozen=True)
class LiveRead:
    """A read oncall runs itself through a probe, refreshed live."""

    source: Source
    read: ReadName
    params: ReadParams
    command: str  # the command as written (without a leading `$ ` prompt): what `c` copies
    translated: bool = False  # `kubectl exec … psql/redis-cli`: the same read through the direct probe
    note: str = ""  # how a translated read runs instead
    server: Server | None = None  # the server psql/redis-cli names; None: none named, oncall's own


@dataclass(frozen=True)
class Mutating:
    """A command that would change something: never run, shown with a warning, copyable."""

    command: str
    reason: str  # plain words: "helm rollback changes the release"


@dataclass(frozen=True)
class Unknown:
    """A command oncall can't run as a read: copyable only."""

    command: str
    reason: str


Classified = LiveRead | Mutating | Unknown


def classify(command: str, servers: ConfiguredServers | None = None) -> Classified:
    """Classify one runbook command. Never raises: what isn't understood is Unknown, with the reason.

    A psql or redis-cli read that names a server (-h, -p, -u, a connection string) is live only when that
    is the server oncall reads (`servers`, from its configuration); aimed anywhere else it is copy-only.
    """
    text = _PROMPT.sub("", command).strip()
    servers = servers or ConfiguredServers()
    token = _SQL_ALLOW.set(servers.sql_allow)
    try:
        result = _classify_text(text, depth=0)
    finally:
        _SQL_ALLOW.reset(token)
    if isinstance(result, LiveRead) and result.server is not None:
        result = _aimed_elsewhere(result, servers) or result
    return replace(result, command=text)


_PROMPT = re.compile(r"^[ \t]*\$[ \t]+", re.MULTILINE)
# what the SQL guard allows beyond the built-ins, for the SQL met at any depth of the one classify() call
_SQL_ALLOW: ContextVar[Allowlist] = ContextVar("sql_allow", default=NOTHING_ALLOWED)
_MAX_DEPTH = 4  # sh -c, xargs, watch and $(…) nest; deeper than this is not a runbook command


class _Unsupported(Exception):
    """A read oncall can't run as written; the message is the Unknown reason."""


def _unknown(reason: str) -> Unknown:
    return Unknown("", reason)


def _mutating(reason: str) -> Mutating:
    return Mutating("", reason)


def _classify_text(text: str, depth: int) -> Classified:
    if not text:
        return _unknown("no command")
    if depth > _MAX_DEPTH:
        return _unknown("commands nested too deeply to check")
    if _looks_like_sql(text):
        return _sql(text)
    try:
        pipelines, substitutions = _parse_shell(text)
    except _Unsupported as problem:
        return _unknown(str(problem))
    for inner in substitutions:
        result = _classify_text(inner, depth + 1)
        if isinstance(result, Mutating):
            return result
    results = [_pipeline(stages, depth) for stages in pipelines]
    if not results:
        return _unknown("no command")
    for result in results:
        if isinstance(result, Mutating):
            return result  # one mutating part makes the whole chain mutating
    if substitutions:
        return _unknown("it runs a command substitution ($(…) or `…`), which oncall doesn't run")
    if len(results) > 1:
        return _unknown(f"a chain of {len(results)} commands; oncall runs one read per command")
    return results[0]


# --- shell words ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Op:
    text: str


@dataclass
class _Stage:
    words: list[str] = field(default_factory=list)
    redirects: list[str] = field(default_factory=list)


_OPERATOR = re.compile(r"[0-9]*(?:>>|>&|<&|&>|>|<)|&&|\|\||;;|\|&|[;|&()\n]")
_SEPARATORS = frozenset({";", ";;", "&&", "||", "&", "(", ")", "\n"})
_HARMLESS_REDIRECTS = frozenset({"2>/dev/null", "2>&1"})


def _parse_shell(text: str) -> tuple[list[list[_Stage]], list[str]]:
    """Pipelines (each a list of stages) split at ; && || & and newlines, and the $(…) texts inside."""
    tokens, substitutions = _shell_tokens(text)
    pipelines: list[list[_Stage]] = []
    stages: list[_Stage] = [_Stage()]
    redirect: str | None = None
    for token in [*tokens, _Op("\n")]:
        stage = stages[-1]
        if isinstance(token, str):
            if redirect is None:
                stage.words.append(token)
            else:
                if redirect + token not in _HARMLESS_REDIRECTS:
                    stage.redirects.append(redirect + token)
                redirect = None
            continue
        if redirect is not None:
            stage.redirects.append(redirect)
            redirect = None
        if token.text in ("|", "|&"):
            stages.append(_Stage())
        elif token.text in _SEPARATORS:
            if any(not s.words for s in stages) and (len(stages) > 1 or stages[0].redirects):
                raise _Unsupported("a `|` or redirection with no command on one side")
            if stages[0].words:
                pipelines.append(stages)
            stages = [_Stage()]
        else:
            redirect = token.text
    return pipelines, substitutions


def _shell_tokens(text: str) -> tuple[list[str | _Op], list[str]]:
    """Words (quotes removed) and operators, as a POSIX shell splits them, without expanding anything."""
    tokens: list[str | _Op] = []
    substitutions: list[str] = []
    word: list[str] = []
    in_word = False  # '' is a word too, so "a word is open" is not the same as "word is non-empty"
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\":
            if text.startswith("\\\n", i):
                i += 2  # a line continuation
                continue
            word.append(text[i + 1] if i + 1 < n else char)
            in_word = True
            i += 2
        elif char == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise _Unsupported("a ' quote is never closed")
            word.append(text[i + 1 : end])
            in_word = True
            i = end + 1
        elif char == '"':
            i = _double_quoted(text, i + 1, word, substitutions)
            in_word = True
        elif char == "`" or text.startswith("$(", i):
            end = _substitution_end(text, i)
            substitutions.append(text[i + 1 : end - 1] if char == "`" else text[i + 2 : end - 1])
            word.append(text[i:end])
            in_word = True
            i = end
        elif char in " \t\r":
            if in_word:
                tokens.append("".join(word))
                word, in_word = [], False
            i += 1
        elif char == "#" and not in_word:
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif (match := _OPERATOR.match(text, i)) and not (in_word and char.isdigit()):
            if in_word:
                tokens.append("".join(word))
                word, in_word = [], False
            tokens.append(_Op(match.group()))
            i = match.end()
        else:
            word.append(char)
            in_word = True
            i += 1
    if in_word:
        tokens.append("".join(word))
    return tokens, substitutions


def _double_quoted(text: str, i: int, word: list[str], substitutions: list[str]) -> int:
    """Read a "…" string from just after its opening quote; the index just past its closing quote."""
    while i < len(text):
        char = text[i]
        if char == '"':
            return i + 1
        if char == "\\" and i + 1 < len(text) and text[i + 1] in '"\\$`\n':
            if text[i + 1] != "\n":
                word.append(text[i + 1])
            i += 2
        elif char == "`" or text.startswith("$(", i):
            end = _substitution_end(text, i)
            substitutions.append(text[i + 1 : end - 1] if char == "`" else text[i + 2 : end - 1])
            word.append(text[i:end])
            i = end
        else:
            word.append(char)
            i += 1
    raise _Unsupported('a " quote is never closed')


def _substitution_end(text: str, i: int) -> int:
    """The index just past the `…` or $(…) that starts at i (parentheses counted, quotes not)."""
    if text[i] == "`":
        end = text.find("`", i + 1)
        if end < 0:
            raise _Unsupported("a ` is never closed")
        return end + 1
    depth = 0
    for j in range(i + 1, len(text)):
        if text[j] == "(":
            depth += 1
        elif text[j] == ")":
            depth -= 1
            if depth == 0:
                return j + 1
    raise _Unsupported("a $( is never closed")


# --- options ---------------------------------------------------------------------------------------------

_Flags = Mapping[str, tuple[str, bool]]  # flag as written → (option name, takes a value)


@dataclass
class _Options:
    values: dict[str, list[str]] = field(default_factory=dict)
    written: dict[str, str] = field(default_factory=dict)  # option name → the flag as written
    positionals: list[str] = field(default_factory=list)
    after_dashes: list[str] | None = None  # the words after `--`
    problem: str | None = None  # the first flag that isn't understood

    def one(self, name: str) -> str | None:
        values = self.values.get(name)
        return values[-1] if values else None

    def require(self, allowed: frozenset[str], what: str) -> None:
        """Raise _Unsupported for a flag oncall can't honour in this read (or doesn't know)."""
        if self.problem is not None:
            raise _Unsupported(self.problem)
        for name, flag in self.written.items():
            if name not in allowed:
                raise _Unsupported(f"`{flag}` isn't supported by oncall's live {what}")


def _options(words: Sequence[str], flags: _Flags, tool: str, *, interleaved: bool = True) -> _Options:
    """Parse flags the getopt/pflag way: `-n x`, `-nx`, `-n=x`, `--name=x`, `--name x`, bundled `-it`.

    Never raises: an unknown flag (taken as a switch) or a missing value is recorded as `problem`.
    """
    opts = _Options()
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


def _flags(*specs: tuple[str, str, bool]) -> dict[str, tuple[str, bool]]:
    """A flag table from (space-separated spellings, option name, takes a value)."""
    return {flag: (name, valued) for spellings, name, valued in specs for flag in spellings.split()}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _number(value: str, what: str) -> int:
    if not re.fullmatch(r"[0-9]{1,9}", value):
        raise _Unsupported(f"{what} `{value}` is not a plain number")
    return int(value)


# --- which server a psql or redis-cli command reads ------------------------------------------------------

_DEFAULT_PORTS: dict[str, int] = {"postgresql": 5432, "redis": 6379}
_DATABASES: dict[str, str] = {"postgresql": "PostgreSQL", "redis": "Redis"}
_LOOPBACK = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "::1", "0.0.0.0"})
_CLUSTER_DOMAIN = re.compile(r"\.svc(?:\.cluster\.local)?$")


def _server(hosts: list[str], ports: list[str], what: str) -> Server | None:
    if not hosts and not ports:
        return None
    numbers = {_number(p.strip(), what) for p in ports}
    if len(numbers) > 1:
        raise _Unsupported(f"several ports at once ({', '.join(sorted(map(str, numbers)))})")
    return Server(tuple(dict.fromkeys(hosts)), numbers.pop() if numbers else None)


def _host_key(host: str) -> str:
    """One spelling per host: lower case, no trailing dot or brackets, `local` for loopback and sockets."""
    host = host.strip().lower().rstrip(".").removeprefix("[").removesuffix("]")
    if not host or host.startswith("/") or host in _LOOPBACK or re.fullmatch(r"127(?:\.\d{1,3}){3}", host):
        return "local"
    return _CLUSTER_DOMAIN.sub("", host)  # inmidst-postgres.production.svc.cluster.local → …production


def _same_host(named: str, known: str) -> bool:
    """The same host, a Kubernetes service by its short name included: `x` is `x.production.svc…`."""
    a, b = _host_key(named), _host_key(known)
    if a == b:
        return True
    in_cluster = any(_CLUSTER_DOMAIN.search(h.strip().lower().rstrip(".")) for h in (named, known))
    short, longer = sorted((a, b), key=lambda h: h.count("."))
    return in_cluster and "." not in short and longer.split(".")[0] == short


def _the_pods_own(server: Server, target: str, source: str) -> bool:
    """`kubectl exec deploy/x -- psql -h localhost`: the pod's own server, the same as naming none."""
    workload = target.rsplit("/", 1)[-1]
    if server.port not in (None, _DEFAULT_PORTS[source]):
        return False  # another port inside the pod is another server, and not the one oncall reads
    return all(_host_key(h) == "local" or _same_host(h, workload) for h in server.hosts)


def _aimed_elsewhere(read: LiveRead, servers: ConfiguredServers) -> Unknown | None:
    """Unknown when the server the command names is not the one oncall reads (or oncall can't tell)."""
    assert read.server is not None
    default = _DEFAULT_PORTS[read.source]
    database = _DATABASES[read.source]
    named = read.server.words(default)
    configured = servers.postgresql if read.source == "postgresql" else servers.redis
    if configured is None:
        return _unknown(
            f"it reads the {database} server {_at(named)}, and oncall has no {database} server configured "
            "to tell whether that is the one it reads; copy it and run it there"
        )
    known_hosts = configured.hosts or ("localhost",)
    hosts = read.server.hosts or known_hosts  # only -p: the host oncall reads, on another port
    same_host = all(any(_same_host(h, k) for k in known_hosts) for h in hosts)
    if same_host and (read.server.port or default) == (configured.port or default):
        return None
    return _unknown(
        f"it reads the {database} server {_at(named)}, not the one oncall reads "
        f"({configured.words(default)}); copy it and run it there"
    )


def _at(server: str) -> str:
    if server.startswith("port "):
        return f"on {server}"
    return f"named by {server}" if server.startswith("service=") else f"at {server}"


def configured_servers(postgres: PostgresSettings | None, redis: RedisSettings | None) -> ConfiguredServers:
    """The servers oncall's probes read, from their settings, as libpq and redis-py will resolve them."""
    allow = NOTHING_ALLOWED
    if postgres is not None:
        allow = Allowlist(
            functions=frozenset(postgres.allow_functions), relations=frozenset(postgres.allow_relations)
        )
    return ConfiguredServers(
        postgresql=_configured_postgres(postgres), redis=_configured_redis(redis), sql_allow=allow
    )


def _configured_postgres(pg: PostgresSettings | None) -> Server | None:
    if pg is None or not pg.configured:
        return None
    try:
        params = conninfo_to_dict(pg.dsn or "")
    except ProgrammingError:
        return None
    # what the DSN leaves out libpq takes from PGHOST, PGPORT, PGSERVICE: its own defaults say which
    defaults = {o.keyword.decode(): (o.val or b"").decode() for o in Conninfo.get_defaults()}
    if params.get("service") or (not params.get("host") and defaults.get("service")):
        return None  # pg_service.conf names the server: oncall can't tell which
    host = str(params.get("host") or params.get("hostaddr") or defaults.get("host") or "")
    port = str(params.get("port") or defaults.get("port") or "")
    ports = {int(p) for p in port.split(",") if p.strip().isdigit()}
    return Server(tuple(h for h in host.split(",") if h), ports.pop() if len(ports) == 1 else None)


def _configured_redis(redis: RedisSettings | None) -> Server | None:
    if redis is None or redis.url is None:
        return None
    parts = urlsplit(redis.url)
    try:
        port = parts.port
    except ValueError:
        return None
    return Server((parts.hostname or "127.0.0.1",), port)


# --- pipelines and programs ------------------------------------------------------------------------------


def _pipeline(stages: list[_Stage], depth: int) -> Classified:
    first = _simple(stages[0].words, depth)
    shapes = [_pipe_stage(stage.words, depth) for stage in stages[1:]]
    for shape in (first, *shapes):
        if isinstance(shape, Mutating):
            return shape
    if not isinstance(first, LiveRead):
        return first
    for shape in shapes:
        if isinstance(shape, Unknown):
            return shape
    if any(stage.redirects for stage in stages):
        shown = next(r for stage in stages for r in stage.redirects)
        return _unknown(f"it redirects input or output (`{shown}`), which a live read doesn't")
    params = first.params
    for shape in shapes:
        if isinstance(shape, LineFilter):
            if params.filter is not None or params.limit is not None:
                return _unknown(
                    "a `grep` after another `grep` or after `head`; oncall keeps one grep, then head"
                )
            params = replace(params, filter=shape)
        elif isinstance(shape, int):
            params = replace(params, limit=shape if params.limit is None else min(shape, params.limit))
    return replace(first, params=params)


_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh"})


def _pipe_stage(words: list[str], depth: int) -> LineFilter | int | Mutating | Unknown | None:
    """What a stage after `|` does: a filter, a line limit, nothing (cat, less), or why it can't be kept."""
    program = words[0].rsplit("/", 1)[-1]
    try:
        if program in ("grep", "egrep", "fgrep"):
            return _grep(program, words[1:])
        if program == "head":
            return _head(words[1:])
    except _Unsupported as problem:
        return _unknown(str(problem))
    if program in ("cat", "less", "more") and len(words) == 1:
        return None
    if program in _SHELLS and not any(_runs_script_text(w) for w in words[1:]):
        return _mutating(f"it pipes text into `{program}`, which runs whatever it is fed as commands")
    result = _simple(words, depth)
    if isinstance(result, Mutating):
        return result
    return _unknown(
        f"oncall can't apply the `| {program}` stage to a live read; it keeps `| grep` and `| head`"
    )


_GREP_FLAGS = _flags(
    ("-A --after-context", "after", True),
    ("-B --before-context", "before", True),
    ("-C --context", "context", True),
    ("-e --regexp", "pattern", True),
    ("-i --ignore-case", "ignore-case", False),
    ("-v --invert-match", "invert", False),
    ("-E --extended-regexp", "extended", False),
    ("-F --fixed-strings", "fixed", False),
    ("-G --basic-regexp", "basic", False),
    ("--color --colour", "color", False),
)
_GREP_OPTIONS = frozenset(name for name, _ in _GREP_FLAGS.values())


def _grep(program: str, args: list[str]) -> LineFilter:
    opts = _options(args, _GREP_FLAGS, "grep")
    opts.require(_GREP_OPTIONS, "`| grep`")
    patterns = opts.values.get("pattern", [])
    files = opts.positionals if patterns else opts.positionals[1:]
    patterns = patterns or opts.positionals[:1]
    if len(patterns) != 1:
        raise _Unsupported("a `| grep` needs exactly one pattern")
    if files:
        raise _Unsupported(f"`grep` reads the local file {files[0]}")
    context = _number(opts.one("context") or "0", "grep -C")
    fixed = program == "fgrep" or "fixed" in opts.values
    extended = program == "egrep" or "extended" in opts.values
    return LineFilter(
        pattern=patterns[0],
        before=_number(opts.one("before") or str(context), "grep -B"),
        after=_number(opts.one("after") or str(context), "grep -A"),
        ignore_case="ignore-case" in opts.values,
        invert="invert" in opts.values,
        syntax="fixed" if fixed else "extended" if extended else "basic",
    )


def _head(args: list[str]) -> int:
    if len(args) == 1 and re.fullmatch(r"-[0-9]+", args[0]):
        return _number(args[0][1:], "head")
    opts = _options(args, _flags(("-n --lines", "lines", True)), "head")
    opts.require(frozenset({"lines"}), "`| head`")
    if opts.positionals:
        raise _Unsupported(f"`head` reads the local file {opts.positionals[0]}")
    return _number(opts.one("lines") or "10", "head -n")  # head prints 10 lines unless told


def _simple(words: list[str], depth: int) -> Classified:
    """One command (no pipes): dispatched on its program."""
    if not words:
        return _unknown("no command")
    if depth > _MAX_DEPTH:
        return _unknown("commands nested too deeply to check")
    program = words[0].rsplit("/", 1)[-1]
    handler, args = _PROGRAMS.get(program), words[1:]
    if handler is None and words[0].isupper() and words[0] in _REDIS_NAMES:
        handler, args = _redis_command_words, words  # a bare Redis command: `CONFIG GET appendonly`
    if handler is None:
        return _unknown(
            f"`{program}` is not one of the commands oncall reads live (kubectl, helm, psql, redis-cli, SQL)"
        )
    try:
        return handler(args, depth)
    except _Unsupported as problem:
        return _unknown(str(problem))


def _runs_script_text(word: str) -> bool:
    return word.startswith("-") and not word.startswith("--") and "c" in word[1:]


def _shell(args: list[str], depth: int) -> Classified:
    for position, word in enumerate(args):
        if _runs_script_text(word) and position + 1 < len(args):
            return _classify_text(args[position + 1], depth + 1)
    return _unknown("it runs a shell script oncall can't see")


_XARGS_FLAGS = _flags(
    (
        "-n --max-args -I -L --max-lines -P --max-procs -d --delimiter -s --max-chars -E -a --arg-file",
        "value",
        True,
    ),
    ("-0 --null -r --no-run-if-empty -t --verbose -p --interactive -x --exit", "switch", False),
)


def _xargs(args: list[str], depth: int) -> Classified:
    command = _options(args, _XARGS_FLAGS, "xargs", interleaved=False).positionals
    result = _simple(command, depth + 1) if command else _unknown("xargs without a command")
    if isinstance(result, Mutating):
        return result
    return _unknown("xargs runs a command once per input line; oncall doesn't")


def _watch(args: list[str], depth: int) -> Classified:
    flags = _flags(("-n --interval", "interval", True), ("-d --differences -t --no-title", "switch", False))
    command = _options(args, flags, "watch", interleaved=False).positionals
    if len(command) == 1:  # watch 'kubectl get pods | grep x' runs its one argument through sh -c
        return _classify_text(command[0], depth + 1)
    return _simple(command, depth + 1)  # a live read refreshes by itself, so watch adds nothing


# --- kubectl ---------------------------------------------------------------------------------------------

_KUBECTL_FLAGS = _flags(
    ("-n --namespace", "namespace", True),
    ("-l --selector", "selector", True),
    ("-o --output", "output", True),
    ("-c --container", "container", True),
    ("--tail", "tail", True),
    ("-p --previous", "previous", False),
    ("-f --follow", "follow", False),
    ("-w --watch", "watch", False),
    ("-i --stdin", "stdin", False),
    ("-t --tty", "tty", False),
    ("-q --quiet", "quiet", False),
    ("--no-headers", "no-headers", False),
    ("--show-labels", "show-labels", False),
    ("-A --all-namespaces", "all-namespaces", False),
    ("--field-selector", "field-selector", True),
    ("--sort-by", "sort-by", True),
    ("--since", "since", True),
    ("--since-time", "since-time", True),
    ("--timestamps", "timestamps", False),
    ("--all-containers", "all-containers", False),
    ("--context", "context", True),
    ("--kubeconfig", "kubeconfig", True),
    ("--cluster", "cluster", True),
    ("--user", "user", True),
    ("-s --server", "server", True),
    ("--as", "as", True),
    ("--request-timeout", "request-timeout", True),
    ("-v --v", "verbosity", True),
)

_KUBECTL_MUTATING = {
    "delete": "kubectl delete removes objects from the cluster",
    "scale": "kubectl scale changes the number of replicas",
    "edit": "kubectl edit changes a live object",
    "apply": "kubectl apply changes objects in the cluster",
    "patch": "kubectl patch changes a live object",
    "create": "kubectl create adds objects to the cluster",
    "replace": "kubectl replace overwrites a live object",
    "set": "kubectl set changes a live object (image, env, resources)",
    "label": "kubectl label changes an object's labels",
    "annotate": "kubectl annotate changes an object's annotations",
    "autoscale": "kubectl autoscale creates an autoscaler",
    "expose": "kubectl expose creates a service",
    "run": "kubectl run starts a new pod",
    "drain": "kubectl drain evicts every pod from the node",
    "cordon": "kubectl cordon stops new pods being scheduled on the node",
    "uncordon": "kubectl uncordon lets pods be scheduled on the node again",
    "taint": "kubectl taint changes which pods may run on the node",
    "debug": "kubectl debug starts a debugging container or pod",
    "attach": "kubectl attach connects to a running container's input",
    "cp": "kubectl cp copies files into or out of a container through exec",
    "certificate": "kubectl certificate approves or denies a certificate request",
}
_ROLLOUT_MUTATING = {
    "restart": "kubectl rollout restart restarts every pod of the workload",
    "undo": "kubectl rollout undo rolls the workload back to an earlier revision",
    "pause": "kubectl rollout pause stops the workload's rollout",
    "resume": "kubectl rollout resume restarts a paused rollout",
}
_KUBE_KINDS: dict[str, ReadName] = {
    **dict.fromkeys(("po", "pod", "pods"), "pods"),
    **dict.fromkeys(("ev", "event", "events"), "events"),
    **dict.fromkeys(("no", "node", "nodes"), "nodes"),
    **dict.fromkeys(("hpa", "hpas", "horizontalpodautoscaler", "horizontalpodautoscalers"), "hpas"),
    **dict.fromkeys(("pvc", "pvcs", "persistentvolumeclaim", "persistentvolumeclaims"), "pvcs"),
    **dict.fromkeys(("svc", "service", "services"), "services"),
    **dict.fromkeys(("netpol", "networkpolicy", "networkpolicies"), "network-policies"),
}
_POD_KINDS = frozenset({"po", "pod", "pods"})
_OUTPUTS = frozenset({"wide", "json", "yaml", "name"})
_INVOLVED = re.compile(r"involvedObject\.name=([^,=\s]+)(?:,involvedObject\.kind=(\w+))?")


def _kubectl(args: list[str], depth: int) -> Classified:
    opts = _options(args, _KUBECTL_FLAGS, "kubectl")
    if not opts.positionals:
        return _unknown("kubectl without a command")
    verb, *positionals = opts.positionals
    if verb in _KUBECTL_MUTATING:
        return _mutating(_KUBECTL_MUTATING[verb])
    if verb == "rollout":
        sub = positionals[0] if positionals else ""
        if sub in _ROLLOUT_MUTATING:
            return _mutating(_ROLLOUT_MUTATING[sub])
        return _unknown(f"`kubectl rollout {sub}` isn't one of oncall's live reads")
    if verb == "exec":
        return _kubectl_exec(opts, positionals)
    if verb == "logs":
        return _kubectl_logs(opts, positionals)
    if verb not in ("get", "describe", "top"):
        return _unknown(f"`kubectl {verb}` isn't one of oncall's live reads")
    namespace = opts.one("namespace")
    selector = opts.one("selector")
    kind, name = _kind_and_name(positionals)
    what = f"`kubectl {verb}`"
    if not kind:
        raise _Unsupported(f"kubectl {verb} names no kind of object")
    if verb == "get":
        read = _KUBE_KINDS.get(kind.lower())
        if read is None:
            raise _Unsupported(
                f"oncall's Kubernetes probe doesn't read `{kind}`; it reads pods, events, nodes, HPAs, "
                "PVCs, services and network policies"
            )
        allowed = {"namespace", "selector", "output", "watch", "no-headers", "show-labels"}
        if read == "events":
            allowed |= {"sort-by", "field-selector"}  # oncall orders events itself: warnings, then newest
            name = name or _involved(opts.one("field-selector"))
        opts.require(frozenset(allowed), what)
        output, jsonpath = _output(opts.one("output"))
        params = ReadParams(
            namespace=None if read == "nodes" else namespace,  # nodes belong to no namespace
            selector=selector,
            name=name,
            output=output,
            jsonpath=jsonpath,
        )
        return LiveRead("kubernetes", read, params, "")
    if kind.lower() not in _POD_KINDS:
        raise _Unsupported(f"oncall can `kubectl {verb}` pods only; `kubectl {verb} {kind}` is copy-only")
    opts.require(frozenset({"namespace", "selector", *(("no-headers",) if verb == "top" else ())}), what)
    read = "describe-pods" if verb == "describe" else "top-pods"
    return LiveRead("kubernetes", read, ReadParams(namespace=namespace, selector=selector, name=name), "")


def _kind_and_name(positionals: list[str]) -> tuple[str, str | None]:
    """`pods`, `pods x`, `pod/x` → (kind, name); more than one object is refused."""
    if not positionals:
        return "", None
    kind, slash, name = positionals[0].partition("/")
    if "," in kind:
        raise _Unsupported("several kinds at once; oncall reads one kind per command")
    names = [name] if slash else positionals[1:]
    if len(names) > 1 or (slash and len(positionals) > 1):
        raise _Unsupported("several objects at once; oncall reads one per command")
    return kind, names[0] if names else None


def _involved(field_selector: str | None) -> str | None:
    if field_selector is None:
        return None
    match = _INVOLVED.fullmatch(field_selector)
    if match is None:
        raise _Unsupported(f"oncall narrows events by involvedObject.name only, not `{field_selector}`")
    kind, name = match.group(2), match.group(1)
    return f"{kind}/{name}" if kind else name


def _output(value: str | None) -> tuple[str | None, str | None]:
    """`-o` as (output, jsonpath template)."""
    if value is None:
        return None, None
    kind, equals, template = value.partition("=")
    if kind == "jsonpath" and equals and template:
        return None, template
    if value in _OUTPUTS:
        return value, None
    raise _Unsupported(
        f"`-o {value}` isn't an output oncall shows (it shows wide, json, yaml, name, jsonpath)"
    )


def _kubectl_logs(opts: _Options, positionals: list[str]) -> LiveRead:
    allowed = {"namespace", "selector", "tail", "container", "previous", "follow"}
    opts.require(frozenset(allowed), "`kubectl logs`")  # follow: a live read follows anyway
    if len(positionals) > 2:
        raise _Unsupported("kubectl logs of several objects")
    name = positionals[0] if positionals else None
    container = opts.one("container") or (positionals[1] if len(positionals) == 2 else None)
    selector = opts.one("selector")
    if name is None and selector is None:
        raise _Unsupported("kubectl logs names no pod and no -l selector")
    tail = opts.one("tail")
    params = ReadParams(
        namespace=opts.one("namespace"),
        selector=selector,
        name=name.removeprefix("pod/") if name else None,
        container=container,
        tail=None if tail in (None, "-1") else _number(tail, "--tail"),
        previous=opts.one("previous") not in (None, "false"),
    )
    return LiveRead("kubernetes", "logs", params, "")


def _kubectl_exec(opts: _Options, positionals: list[str]) -> Classified:
    target = positionals[0] if positionals else "a pod"
    inner = opts.after_dashes if opts.after_dashes is not None else positionals[1:]
    program = inner[0].rsplit("/", 1)[-1] if inner else ""
    translated = _exec_read_through_prometheus(program, inner[1:], opts, target)
    if translated is not None:
        return translated
    if program not in ("psql", "redis-cli"):
        what = f"`{program}`" if program else "a command"
        return _mutating(f"kubectl exec runs {what} inside {target}; oncall never execs into pods")
    result = _psql(inner[1:], 0) if program == "psql" else _redis_cli(inner[1:], 0)
    if not isinstance(result, LiveRead):
        return result
    if result.server is not None and _the_pods_own(result.server, target, result.source):
        result = replace(result, server=None)  # localhost in the pod: the pod's own server, as with no -h
    opts.require(frozenset({"namespace", "container", "stdin", "tty", "quiet"}), "`kubectl exec`")
    database = "PostgreSQL" if result.source == "postgresql" else "Redis"
    note = f"runs through oncall's own {database} connection instead of `kubectl exec` into {target}"
    return replace(result, translated=True, note=note)


def _exec_read_through_prometheus(
    program: str, args: list[str], opts: _Options, target: str
) -> LiveRead | None:
    """`exec … df -h PATH` and `exec … wget/curl …/metrics` ask what Prometheus already knows: the volume's
    usage from the kubelet's volume metrics, and how the scrape of that endpoint went. None otherwise."""
    namespace = opts.one("namespace")
    if program == "df" and all(a.startswith("-") or a.startswith("/") for a in args):
        path = next((a for a in args if a.startswith("/")), None)
        return LiveRead(
            source="prometheus",
            read="volume-usage",
            params=ReadParams(namespace=namespace, name=target, pattern=path),
            command="",
            translated=True,
            note=f"reads the volumes of {target} from the kubelet's volume metrics in Prometheus "
            "(kubelet_volume_stats_*) instead of running df inside the pod",
        )
    urls = [a for a in args if "://" in a]
    if program in ("wget", "curl") and len(urls) == 1 and urls[0].rstrip("/").endswith("/metrics"):
        return LiveRead(
            source="prometheus",
            read="target-health",
            params=ReadParams(namespace=namespace, name=target, pattern=urls[0]),
            command="",
            translated=True,
            note=f"asks Prometheus how its last scrape of {target}'s metrics went (/api/v1/targets) "
            "instead of fetching them from inside the pod",
        )
    return None


# --- helm ------------------------------------------------------------------------------------------------

_HELM_FLAGS = _flags(
    ("-n --namespace", "namespace", True),
    ("--max", "max", True),
    ("-o --output", "output", True),
    ("--kube-context", "context", True),
    ("--kubeconfig", "kubeconfig", True),
    ("--debug", "debug", False),
)
_HELM_MUTATING = {
    "rollback": "helm rollback changes the release",
    "upgrade": "helm upgrade changes the release",
    "install": "helm install adds a release to the cluster",
    **dict.fromkeys(
        ("uninstall", "delete", "del", "un"), "helm uninstall removes the release and everything it installed"
    ),
    "test": "helm test runs the release's test pods",
}


def _helm(args: list[str], depth: int) -> Classified:
    opts = _options(args, _HELM_FLAGS, "helm")
    if not opts.positionals:
        return _unknown("helm without a command")
    verb, *positionals = opts.positionals
    if verb in _HELM_MUTATING:
        return _mutating(_HELM_MUTATING[verb])
    if verb != "history":
        return _unknown(f"`helm {verb}` isn't one of oncall's live reads")
    opts.require(frozenset({"namespace", "max", "output", "debug"}), "`helm history`")
    if len(positionals) != 1:
        raise _Unsupported("helm history needs exactly one release")
    most = opts.one("max")
    params = ReadParams(
        namespace=opts.one("namespace"),
        release=positionals[0],
        count=None if most is None else _number(most, "--max"),
    )
    return LiveRead("kubernetes", "helm-history", params, "")


# --- SQL and psql ----------------------------------------------------------------------------------------

_SQL_READ_VERBS = frozenset({"select", "with", "values", "table", "show", "explain"})
# verbs that are also shell words count as SQL only in upper case or when the text ends with ';'
_SQL_SHELL_WORDS = frozenset(
    {
        "set", "reset", "do", "end", "start", "call", "copy", "load", "import", "move", "close", "fetch",
        "show", "table", "comment", "lock", "release", "prepare", "execute", "declare", "listen", "notify",
        "begin", "abort", "security", "reassign", "commit", "rollback", "savepoint", "discard", "deallocate",
        "unlisten", "checkpoint", "values",
    }
)  # fmt: skip
_SQL_VERBS = _SQL_READ_VERBS | _SQL_SHELL_WORDS | {
    "insert", "update", "delete", "merge", "vacuum", "analyze", "analyse", "cluster", "reindex", "refresh",
    "truncate", "drop", "alter", "create", "grant", "revoke", "abort",
}  # fmt: skip
_SQL_FIRST_WORD = re.compile(r"(?:\s|--[^\n]*|/\*.*?\*/|\()*([A-Za-z_]+)", re.DOTALL)
_SQL_LITERAL = (
    r"(?<![\w$])[Ee]'(?:[^'\\]|\\.|'')*'?"  # E'…' with backslash escapes
    r"|'(?:[^']|'')*'?"
    r'|"(?:[^"]|"")*"?'
    r"|\$(?P<tag>(?:[A-Za-z_]\w*)?)\$.*?(?:\$(?P=tag)\$|\Z)"
    r"|--[^\n]*"
    r"|/\*.*?(?:\*/|\Z)"
)
_SQL_LITERALS = re.compile(_SQL_LITERAL, re.DOTALL)
_SQL_STATEMENT_ENDS = re.compile(_SQL_LITERAL + r"|;", re.DOTALL)
# what makes a statement that starts like a read act anyway (the guard refuses it; this says it mutates)
_SQL_ACTS = re.compile(
    r"\b(?:insert|update|delete|merge|into)\b|\bfor\s+(?:no\s+key\s+update|key\s+share|share)\b"
    r"|\b(?:pg_terminate_backend|pg_cancel_backend|pg_signal_backend|pg_reload_conf|set_config|nextval"
    r"|setval|pg_switch_(?:wal|xlog)|pg_promote|pg_(?:create|drop|copy)_\w+|pg_replication_\w+"
    r"|pg_(?:wal|xlog)_replay_\w+|pg_(?:start|stop)_backup|pg_backup_\w+|pg_(?:try_)?advisory\w*"
    r"|pg_rotate_logfile|pg_file_\w+|lo_\w+|lowrite|dblink\w*|\w+_reset|pg_logical_\w+|pg_notify"
    r"|txid_current|pg_current_xact_id|pg_truncate_visibility_map)\s*\(",
    re.IGNORECASE,
)


def _looks_like_sql(text: str) -> bool:
    match = _SQL_FIRST_WORD.match(text)
    if match is None or match.group(1).lower() not in _SQL_VERBS:
        return False
    word = match.group(1)
    return word.lower() not in _SQL_SHELL_WORDS or word.isupper() or text.rstrip().endswith(";")


def _sql(sql: str) -> Classified:
    """SQL through the PostgreSQL guard: allowed → a live read; refused → mutating when it acts."""
    verdict = check_sql(sql, allow=_SQL_ALLOW.get())
    if verdict.allowed:
        return LiveRead("postgresql", "sql", ReadParams(statement=verdict.statement), "")
    for statement in _sql_statements(sql):
        each = check_sql(statement)
        if not each.allowed and _sql_acts(statement):
            return _mutating(_guard_reason(each))
    return _unknown(f"the PostgreSQL guard refused it: {_guard_reason(verdict)}")


def _sql_statements(sql: str) -> list[str]:
    """The statements between top-level semicolons (not those in strings, identifiers or comments)."""
    statements, start = [], 0
    for match in _SQL_STATEMENT_ENDS.finditer(sql):
        if match.group() == ";":
            statements.append(sql[start : match.start()])
            start = match.end()
    statements.append(sql[start:])
    return [s.strip() for s in statements if s.strip()]


def _sql_acts(statement: str) -> bool:
    code = _SQL_LITERALS.sub(" ", statement)
    match = _SQL_FIRST_WORD.match(code)
    if match is None:
        return False
    verb = match.group(1).lower()
    if verb in _SQL_VERBS and verb not in _SQL_READ_VERBS:
        return True
    return verb in _SQL_READ_VERBS and _SQL_ACTS.search(code) is not None


def _guard_reason(verdict: GuardVerdict) -> str:
    return verdict.reason.removeprefix("refused: ")


_PSQL_FLAGS = _flags(
    ("-c --command", "command", True),
    ("-f --file", "file", True),
    ("-o --output -L --log-file", "output-file", True),
    ("-h --host", "host", True),
    ("-p --port", "port", True),
    ("-d --dbname", "dbname", True),
    ("-U --username", "connection", True),
    ("-w --no-password -W --password", "connection-switch", False),
    ("-P --pset -v --set --variable -F --field-separator -R --record-separator", "format", True),
    ("-X --no-psqlrc -A --no-align -t --tuples-only -q --quiet -x --expanded --csv -e -a -b -n", "ui", False),
)


def _psql(args: list[str], depth: int) -> Classified:
    opts = _options(args, _PSQL_FLAGS, "psql")
    commands = opts.values.get("command", [])
    if not commands:
        return _unknown("psql without -c opens an interactive session oncall can't see")
    result = _sql("; ".join(commands))
    if isinstance(result, LiveRead):
        # the probe reads the server oncall is configured for: classify() checks it is the one named here
        allowed = {"command", "host", "port", "dbname", "connection", "connection-switch", "format", "ui"}
        opts.require(frozenset(allowed), "psql")
        return replace(result, server=_psql_server(opts))
    return result


def _psql_server(opts: _Options) -> Server | None:
    """The server psql is pointed at by -h, -p and a connection string or URI in place of the database."""
    hosts = [h for value in opts.values.get("host", []) for h in value.split(",") if h]
    ports = [p for value in opts.values.get("port", []) for p in value.split(",") if p]
    for value in [*opts.values.get("dbname", []), *opts.positionals[:1]]:
        if "=" not in value and not re.match(r"postgres(?:ql)?://", value):
            continue  # a plain database name
        try:
            params = conninfo_to_dict(value)
        except ProgrammingError:
            # never echoed: a connection string may hold a password
            raise _Unsupported("psql's connection string can't be read") from None
        hosts += [h for h in str(params.get("host") or params.get("hostaddr") or "").split(",") if h]
        ports += [p for p in str(params.get("port") or "").split(",") if p]
        if params.get("service"):
            hosts.append(f"service={params['service']}")  # pg_service.conf decides: never oncall's own
    return _server(hosts, ports, "psql -p")


# --- Redis -----------------------------------------------------------------------------------------------

_REDIS_WRITES = _words(
    """SET SETNX SETEX PSETEX MSET MSETNX GETSET GETDEL GETEX APPEND INCR INCRBY INCRBYFLOAT DECR DECRBY
    SETRANGE SETBIT BITOP BITFIELD HSET HSETNX HMSET HDEL HINCRBY HINCRBYFLOAT LPUSH RPUSH LPUSHX RPUSHX
    LPOP RPOP LSET LREM LTRIM LINSERT LMOVE LMPOP RPOPLPUSH BLPOP BRPOP BLMOVE BLMPOP BRPOPLPUSH SADD SREM
    SPOP SMOVE SINTERSTORE SUNIONSTORE SDIFFSTORE ZADD ZREM ZINCRBY ZPOPMIN ZPOPMAX BZPOPMIN BZPOPMAX ZMPOP
    BZMPOP ZREMRANGEBYSCORE ZREMRANGEBYRANK ZREMRANGEBYLEX ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZRANGESTORE
    XADD XDEL XTRIM XACK XGROUP XCLAIM XAUTOCLAIM XSETID PFADD PFMERGE GEOADD GEORADIUS GEORADIUSBYMEMBER
    GEOSEARCHSTORE SORT COPY RESTORE RESTORE-ASKING"""
)
_REDIS_MUTATING = {
    "FLUSHALL": "FLUSHALL deletes every key in every database",
    "FLUSHDB": "FLUSHDB deletes every key in the database",
    "DEL": "DEL deletes keys",
    "UNLINK": "UNLINK deletes keys",
    "EXPIRE": "EXPIRE changes when a key is deleted",
    "PEXPIRE": "PEXPIRE changes when a key is deleted",
    "EXPIREAT": "EXPIREAT changes when a key is deleted",
    "PEXPIREAT": "PEXPIREAT changes when a key is deleted",
    "PERSIST": "PERSIST removes a key's expiry",
    "RENAME": "RENAME renames a key",
    "RENAMENX": "RENAMENX renames a key",
    "MOVE": "MOVE moves a key to another database",
    "SWAPDB": "SWAPDB swaps two databases",
    "MIGRATE": "MIGRATE moves keys to another server",
    "SHUTDOWN": "SHUTDOWN stops the Redis server",
    "DEBUG": "DEBUG can crash, stall or change the server",
    "SAVE": "SAVE blocks the server while it writes a snapshot",
    "BGSAVE": "BGSAVE forks the server to write a snapshot",
    "BGREWRITEAOF": "BGREWRITEAOF forks the server to rewrite the append-only file",
    "REPLICAOF": "REPLICAOF changes what the server replicates",
    "SLAVEOF": "SLAVEOF changes what the server replicates",
    "FAILOVER": "FAILOVER hands the primary role to a replica",
    "EVAL": "EVAL runs a script that can write keys",
    "EVALSHA": "EVALSHA runs a script that can write keys",
    "FCALL": "FCALL runs a function that can write keys",
    "PUBLISH": "PUBLISH sends a message to every subscriber",
    "SPUBLISH": "SPUBLISH sends a message to every subscriber",
}
_REDIS_MUTATING_SUB = {
    ("CONFIG", "SET"): "CONFIG SET changes the server's configuration",
    ("CONFIG", "REWRITE"): "CONFIG REWRITE rewrites the server's configuration file",
    ("CONFIG", "RESETSTAT"): "CONFIG RESETSTAT resets the server's statistics",
    ("CLIENT", "KILL"): "CLIENT KILL disconnects clients",
    ("CLIENT", "PAUSE"): "CLIENT PAUSE stops the server answering clients",
    ("SLOWLOG", "RESET"): "SLOWLOG RESET erases the slow log",
    ("LATENCY", "RESET"): "LATENCY RESET erases the latency history",
    ("MEMORY", "PURGE"): "MEMORY PURGE makes the allocator give memory back",
    ("SCRIPT", "FLUSH"): "SCRIPT FLUSH removes every cached script",
    ("SCRIPT", "KILL"): "SCRIPT KILL stops the running script",
    ("SCRIPT", "LOAD"): "SCRIPT LOAD adds a script to the server",
    ("FUNCTION", "FLUSH"): "FUNCTION FLUSH removes every function",
    ("FUNCTION", "DELETE"): "FUNCTION DELETE removes a function library",
    ("FUNCTION", "LOAD"): "FUNCTION LOAD adds a function library",
    ("FUNCTION", "RESTORE"): "FUNCTION RESTORE replaces the function libraries",
    ("ACL", "SETUSER"): "ACL SETUSER changes a user's permissions",
    ("ACL", "DELUSER"): "ACL DELUSER removes a user",
    ("ACL", "LOAD"): "ACL LOAD replaces the users from the ACL file",
    ("ACL", "SAVE"): "ACL SAVE rewrites the ACL file",
    ("MODULE", "LOAD"): "MODULE LOAD loads code into the server",
    ("MODULE", "UNLOAD"): "MODULE UNLOAD removes a module from the server",
    **{
        ("CLUSTER", sub): f"CLUSTER {sub} changes the cluster"
        for sub in _words(
            "FAILOVER RESET FORGET MEET ADDSLOTS ADDSLOTSRANGE DELSLOTS DELSLOTSRANGE SETSLOT REPLICATE "
            "FLUSHSLOTS SAVECONFIG SET-CONFIG-EPOCH BUMPEPOCH"
        )
    },
}
_REDIS_NAMES = (
    _REDIS_WRITES
    | set(_REDIS_MUTATING)
    | {name for name, _ in _REDIS_MUTATING_SUB}
    | {"INFO", "SLOWLOG", "CONFIG", "LATENCY", "MEMORY", "DBSIZE", "PING", "SCAN", "TYPE", "TTL", "PTTL"}
    | {"GET", "MGET", "KEYS", "EXISTS", "HGET", "HGETALL", "LRANGE", "SMEMBERS", "ZRANGE", "CLIENT"}
    | {"OBJECT", "MONITOR", "STRLEN", "LLEN", "SCARD", "ZCARD", "HLEN", "XLEN", "XINFO"}
)
# the opt-in key sampler's commands (RedisProbe.sample_keys): --bigkeys and --memkeys map to it
_SAMPLER_COMMANDS = (("SCAN", "0", "COUNT", "200"), ("TYPE", "k"), ("TTL", "k"), ("MEMORY", "USAGE", "k"))

_REDIS_CLI_FLAGS = _flags(
    ("-h", "host", True),
    ("-p", "port", True),
    ("-s", "socket", True),
    ("-u", "uri", True),
    ("-a -n --user --pass --sni --cacert --cacertdir --cert --key --tls-ciphers", "connection", True),
    (
        "--tls --insecure --askpass --no-auth-warning -c -e -2 -3 --raw --no-raw --csv --json --quoted-json",
        "ui",
        False,
    ),
    ("-d -D", "format", True),
    ("-r -i", "repeat", True),  # a live read repeats by itself
    ("--scan", "scan", False),
    ("--pattern --quoted-pattern", "pattern", True),
    ("--count", "count", True),
    ("--bigkeys --memkeys", "bigkeys", False),
    ("--memkeys-samples --top", "bigkeys-option", True),
    ("--hotkeys --stat --latency --latency-history --latency-dist --replica --ldb -x", "mode", False),
    ("--rdb --functions-rdb --intrinsic-latency --keystats", "mode-with-value", True),
    ("--pipe", "pipe", False),
    ("--pipe-timeout", "pipe-timeout", True),
    ("--eval", "eval", True),
    ("--lru-test", "lru-test", True),
    ("--cluster", "cluster-admin", True),
)
_REDIS_CLI_MUTATING = {
    "pipe": "redis-cli --pipe sends every command it is fed, writes included",
    "eval": "redis-cli --eval runs a Lua script that can write keys",
    "lru-test": "redis-cli --lru-test writes test keys into the server",
}


def _redis_cli(args: list[str], depth: int) -> Classified:
    opts = _options(args, _REDIS_CLI_FLAGS, "redis-cli", interleaved=False)
    command = opts.positionals
    acting = _redis_acts(command) if command else None
    if acting is None:
        acting = next((why for name, why in _REDIS_CLI_MUTATING.items() if name in opts.values), None)
    admin = opts.one("cluster-admin")
    if acting is None and admin is not None and admin.lower() not in ("check", "info", "help"):
        acting = f"redis-cli --cluster {admin} changes the cluster"
    if acting is not None:
        return _mutating(acting)
    # the probe reads the server oncall is configured for: classify() checks it is the one named here
    opts.require(
        frozenset(
            {"host", "port", "socket", "uri", "connection", "ui", "format", "repeat"}
            | {"scan", "pattern", "count", "bigkeys", "bigkeys-option"}
        ),
        "redis-cli",
    )
    server = _redis_server(opts)
    if "scan" in opts.values or "bigkeys" in opts.values:
        if command:
            raise _Unsupported("redis-cli --scan or --bigkeys with a command as well")
        if "bigkeys" in opts.values:
            for sampler_command in _SAMPLER_COMMANDS:
                _allowed(*sampler_command)  # the allowlist is the authority, even for the sampler
            return LiveRead("redis", "bigkeys", ReadParams(), "", server=server)
        return replace(_redis_scan(opts.one("pattern"), opts.one("count")), server=server)
    if not command:
        raise _Unsupported("redis-cli without a command opens an interactive session oncall can't see")
    result = _redis_command(command)
    return replace(result, server=server) if isinstance(result, LiveRead) else result


def _redis_server(opts: _Options) -> Server | None:
    """The server redis-cli is pointed at by -h, -p, -s and -u redis://host:port."""
    hosts = [*opts.values.get("host", []), *opts.values.get("socket", [])]
    ports = list(opts.values.get("port", []))
    for uri in opts.values.get("uri", []):
        parts = urlsplit(uri)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise _Unsupported("redis-cli -u takes a redis://, rediss:// or unix:// URI")
        if parts.scheme == "unix":
            hosts.append(parts.path)
            continue
        try:
            port = parts.port
        except ValueError:
            raise _Unsupported("redis-cli -u names a port that is not a number") from None
        hosts.append(parts.hostname or "127.0.0.1")
        ports += [str(port)] if port else []
    return _server(hosts, ports, "redis-cli -p")


def _redis_command_words(args: list[str], depth: int) -> Classified:
    return _redis_command(args)


def _allowed(*command: str) -> tuple[str, str | None]:
    """The probe's allowlist decides; a refusal becomes the Unknown reason."""
    try:
        return check_command(*command)
    except CommandRefused as refused:
        raise _Unsupported(str(refused)) from None


def _redis_acts(command: Sequence[str]) -> str | None:
    name = command[0].upper()
    sub = command[1].upper() if len(command) > 1 else ""
    if (name, sub) in _REDIS_MUTATING_SUB:
        return _REDIS_MUTATING_SUB[name, sub]
    if name in _REDIS_MUTATING:
        return _REDIS_MUTATING[name]
    if name in _REDIS_WRITES:
        return f"{name} writes data"
    return None


def _redis_command(command: Sequence[str]) -> Classified:
    """One Redis command: mutating, or a read the probe's allowlist lets through."""
    acting = _redis_acts(command)
    if acting is not None:
        return _mutating(acting)
    name, sub = _allowed(*command)
    args = list(command[2 if sub else 1 :])
    if name == "INFO" and len(args) <= 1:
        return LiveRead("redis", "info", ReadParams(section=args[0].lower() if args else None), "")
    if (name, sub) == ("SLOWLOG", "GET") and len(args) <= 1:
        count = _number(args[0], "SLOWLOG GET") if args else None
        return LiveRead("redis", "slowlog", ReadParams(count=count), "")
    if (name, sub) == ("CONFIG", "GET") and len(args) == 1:
        return LiveRead("redis", "config-get", ReadParams(name=args[0].lower()), "")
    if (name, sub) == ("LATENCY", "LATEST") and not args:
        return LiveRead("redis", "latency", ReadParams(), "")
    if name == "SCAN":
        return _redis_scan_command(args)
    shown = f"{name} {sub}" if sub else name
    raise _Unsupported(f"{shown} is on the Redis allowlist, but oncall has no live view of it in this form")


def _redis_scan_command(args: list[str]) -> LiveRead:
    if not args or args[0] != "0" or len(args) % 2 == 0:
        raise _Unsupported("a SCAN that doesn't start at cursor 0 with MATCH/COUNT pairs")
    options = {args[i].upper(): args[i + 1] for i in range(1, len(args), 2)}
    if set(options) - {"MATCH", "COUNT"}:
        raise _Unsupported("SCAN with options other than MATCH and COUNT")
    return _redis_scan(options.get("MATCH"), options.get("COUNT"))


def _redis_scan(pattern: str | None, count: str | None) -> LiveRead:
    _allowed("SCAN", "0", *(("MATCH", pattern) if pattern is not None else ()))
    params = ReadParams(pattern=pattern, count=None if count is None else _number(count, "--count"))
    return LiveRead("redis", "scan", params, "")


_Handler = Callable[[list[str], int], Classified]
_PROGRAMS: dict[str, _Handler] = {
    "kubectl": _kubectl,
    "helm": _helm,
    "psql": _psql,
    "redis-cli": _redis_cli,
    "xargs": _xargs,
    "watch": _watch,
    **dict.fromkeys(_SHELLS, _shell),
}
