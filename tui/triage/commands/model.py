"""What the classifier says of a command: a live read with its parameters, mutating, or unknown."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from probes.postgres import NOTHING_ALLOWED, Allowlist

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
    # the reads a step's or a cause's words ask for (tui/triage/plans.py), never a command's own
    "status-codes",  # kubernetes: HTTP status codes counted in the log tail
    "memory-vs-limits",  # kubernetes: `kubectl top pods` beside each pod's memory limit
    "log-matches",  # kubernetes: the log tail's lines matching a pattern
    "alert-query",  # prometheus: the selected alert's own expression
    "targets-down",  # prometheus: the scrape targets that are down
    "restart",  # redis: uptime, keys per database and the last save, from INFO
    "flushes",  # redis: uptime and FLUSHALL/FLUSHDB calls, from INFO all (a cause's read)
    "promql",  # prometheus: a fixed expression a cause's rule reads (tui/triage/plans.py)
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
