"""classify(): a runbook command's text through the shell, its pipeline stages and each program's rules."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from tui.triage.commands.helm import classify_helm
from tui.triage.commands.kubectl import classify_kubectl
from tui.triage.commands.model import Classified, ConfiguredServers, LineFilter, LiveRead, Mutating, Unknown
from tui.triage.commands.options import Unsupported, flag_table, mutating, parse_options, unknown
from tui.triage.commands.redis_cli import REDIS_NAMES, classify_redis_cli, classify_redis_words
from tui.triage.commands.servers import aimed_elsewhere
from tui.triage.commands.shell import SHELLS, Stage, grep_filter, head_limit, parse_shell, runs_script_text
from tui.triage.commands.sql import SQL_ALLOW, classify_psql, classify_sql, looks_like_sql


def classify(command: str, servers: ConfiguredServers | None = None) -> Classified:
    """Classify one runbook command. Never raises: what isn't understood is Unknown, with the reason.

    A psql or redis-cli read that names a server (-h, -p, -u, a connection string) is live only when that
    is the server oncall reads (`servers`, from its configuration); aimed anywhere else it is copy-only.
    """
    text = _PROMPT.sub("", command).strip()
    servers = servers or ConfiguredServers()
    token = SQL_ALLOW.set(servers.sql_allow)
    try:
        result = _classify_text(text, depth=0)
    finally:
        SQL_ALLOW.reset(token)
    if isinstance(result, LiveRead) and result.server is not None:
        result = aimed_elsewhere(result, servers) or result
    return replace(result, command=text)


_PROMPT = re.compile(r"^[ \t]*\$[ \t]+", re.MULTILINE)
_MAX_DEPTH = 4  # sh -c, xargs, watch and $(…) nest; deeper than this is not a runbook command


def _classify_text(text: str, depth: int) -> Classified:
    if not text:
        return unknown("no command")
    if depth > _MAX_DEPTH:
        return unknown("commands nested too deeply to check")
    if looks_like_sql(text):
        return classify_sql(text)
    try:
        pipelines, substitutions = parse_shell(text)
    except Unsupported as problem:
        return unknown(str(problem))
    for inner in substitutions:
        result = _classify_text(inner, depth + 1)
        if isinstance(result, Mutating):
            return result
    results = [_pipeline(stages, depth) for stages in pipelines]
    if not results:
        return unknown("no command")
    for result in results:
        if isinstance(result, Mutating):
            return result  # one mutating part makes the whole chain mutating
    if substitutions:
        return unknown("it runs a command substitution ($(…) or `…`), which oncall doesn't run")
    if len(results) > 1:
        return unknown(f"a chain of {len(results)} commands; oncall runs one read per command")
    return results[0]


# --- pipelines and programs ------------------------------------------------------------------------------


def _pipeline(stages: list[Stage], depth: int) -> Classified:
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
        return unknown(f"it redirects input or output (`{shown}`), which a live read doesn't")
    params = first.params
    for shape in shapes:
        if isinstance(shape, LineFilter):
            if params.filter is not None or params.limit is not None:
                return unknown(
                    "a `grep` after another `grep` or after `head`; oncall keeps one grep, then head"
                )
            params = replace(params, filter=shape)
        elif isinstance(shape, int):
            params = replace(params, limit=shape if params.limit is None else min(shape, params.limit))
    return replace(first, params=params)


def _pipe_stage(words: list[str], depth: int) -> LineFilter | int | Mutating | Unknown | None:
    """What a stage after `|` does: a filter, a line limit, nothing (cat, less), or why it can't be kept."""
    program = words[0].rsplit("/", 1)[-1]
    try:
        if program in ("grep", "egrep", "fgrep"):
            return grep_filter(program, words[1:])
        if program == "head":
            return head_limit(words[1:])
    except Unsupported as problem:
        return unknown(str(problem))
    if program in ("cat", "less", "more") and len(words) == 1:
        return None
    if program in SHELLS and not any(runs_script_text(w) for w in words[1:]):
        return mutating(f"it pipes text into `{program}`, which runs whatever it is fed as commands")
    result = _simple(words, depth)
    if isinstance(result, Mutating):
        return result
    return unknown(
        f"oncall can't apply the `| {program}` stage to a live read; it keeps `| grep` and `| head`"
    )


def _simple(words: list[str], depth: int) -> Classified:
    """One command (no pipes): dispatched on its program."""
    if not words:
        return unknown("no command")
    if depth > _MAX_DEPTH:
        return unknown("commands nested too deeply to check")
    program = words[0].rsplit("/", 1)[-1]
    handler, args = _PROGRAMS.get(program), words[1:]
    if handler is None and words[0].isupper() and words[0] in REDIS_NAMES:
        handler, args = classify_redis_words, words  # a bare Redis command: `CONFIG GET appendonly`
    if handler is None:
        return unknown(
            f"`{program}` is not one of the commands oncall reads live (kubectl, helm, psql, redis-cli, SQL)"
        )
    try:
        return handler(args, depth)
    except Unsupported as problem:
        return unknown(str(problem))


def _shell(args: list[str], depth: int) -> Classified:
    for position, word in enumerate(args):
        if runs_script_text(word) and position + 1 < len(args):
            return _classify_text(args[position + 1], depth + 1)
    return unknown("it runs a shell script oncall can't see")


_XARGS_FLAGS = flag_table(
    (
        "-n --max-args -I -L --max-lines -P --max-procs -d --delimiter -s --max-chars -E -a --arg-file",
        "value",
        True,
    ),
    ("-0 --null -r --no-run-if-empty -t --verbose -p --interactive -x --exit", "switch", False),
)


def _xargs(args: list[str], depth: int) -> Classified:
    command = parse_options(args, _XARGS_FLAGS, "xargs", interleaved=False).positionals
    result = _simple(command, depth + 1) if command else unknown("xargs without a command")
    if isinstance(result, Mutating):
        return result
    return unknown("xargs runs a command once per input line; oncall doesn't")


def _watch(args: list[str], depth: int) -> Classified:
    flags = flag_table(
        ("-n --interval", "interval", True), ("-d --differences -t --no-title", "switch", False)
    )
    command = parse_options(args, flags, "watch", interleaved=False).positionals
    if len(command) == 1:  # watch 'kubectl get pods | grep x' runs its one argument through sh -c
        return _classify_text(command[0], depth + 1)
    return _simple(command, depth + 1)  # a live read refreshes by itself, so watch adds nothing


_Handler = Callable[[list[str], int], Classified]
_PROGRAMS: dict[str, _Handler] = {
    "kubectl": classify_kubectl,
    "helm": classify_helm,
    "psql": classify_psql,
    "redis-cli": classify_redis_cli,
    "xargs": _xargs,
    "watch": _watch,
    **dict.fromkeys(SHELLS, _shell),
}
