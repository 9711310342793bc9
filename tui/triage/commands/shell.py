"""The shell as a runbook command uses it: words, quotes, pipelines, `$(…)`, and the `| grep` and `| head`
stages a live read keeps as filters."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tui.triage.commands.model import LineFilter
from tui.triage.commands.options import Unsupported, flag_table, number, parse_options


@dataclass(frozen=True)
class _Op:
    text: str


@dataclass
class Stage:
    words: list[str] = field(default_factory=list)
    redirects: list[str] = field(default_factory=list)


_OPERATOR = re.compile(r"[0-9]*(?:>>|>&|<&|&>|>|<)|&&|\|\||;;|\|&|[;|&()\n]")
_SEPARATORS = frozenset({";", ";;", "&&", "||", "&", "(", ")", "\n"})
_HARMLESS_REDIRECTS = frozenset({"2>/dev/null", "2>&1"})


def parse_shell(text: str) -> tuple[list[list[Stage]], list[str]]:
    """Pipelines (each a list of stages) split at ; && || & and newlines, and the $(…) texts inside."""
    tokens, substitutions = _shell_tokens(text)
    pipelines: list[list[Stage]] = []
    stages: list[Stage] = [Stage()]
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
            stages.append(Stage())
        elif token.text in _SEPARATORS:
            if any(not s.words for s in stages) and (len(stages) > 1 or stages[0].redirects):
                raise Unsupported("a `|` or redirection with no command on one side")
            if stages[0].words:
                pipelines.append(stages)
            stages = [Stage()]
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
                raise Unsupported("a ' quote is never closed")
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
    raise Unsupported('a " quote is never closed')


def _substitution_end(text: str, i: int) -> int:
    """The index just past the `…` or $(…) that starts at i (parentheses counted, quotes not)."""
    if text[i] == "`":
        end = text.find("`", i + 1)
        if end < 0:
            raise Unsupported("a ` is never closed")
        return end + 1
    depth = 0
    for j in range(i + 1, len(text)):
        if text[j] == "(":
            depth += 1
        elif text[j] == ")":
            depth -= 1
            if depth == 0:
                return j + 1
    raise Unsupported("a $( is never closed")


SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh"})

_GREP_FLAGS = flag_table(
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


def grep_filter(program: str, args: list[str]) -> LineFilter:
    opts = parse_options(args, _GREP_FLAGS, "grep")
    opts.require(_GREP_OPTIONS, "`| grep`")
    patterns = opts.values.get("pattern", [])
    files = opts.positionals if patterns else opts.positionals[1:]
    patterns = patterns or opts.positionals[:1]
    if len(patterns) != 1:
        raise Unsupported("a `| grep` needs exactly one pattern")
    if files:
        raise Unsupported(f"`grep` reads the local file {files[0]}")
    context = number(opts.one("context") or "0", "grep -C")
    fixed = program == "fgrep" or "fixed" in opts.values
    extended = program == "egrep" or "extended" in opts.values
    return LineFilter(
        pattern=patterns[0],
        before=number(opts.one("before") or str(context), "grep -B"),
        after=number(opts.one("after") or str(context), "grep -A"),
        ignore_case="ignore-case" in opts.values,
        invert="invert" in opts.values,
        syntax="fixed" if fixed else "extended" if extended else "basic",
    )


def head_limit(args: list[str]) -> int:
    if len(args) == 1 and re.fullmatch(r"-[0-9]+", args[0]):
        return number(args[0][1:], "head")
    opts = parse_options(args, flag_table(("-n --lines", "lines", True)), "head")
    opts.require(frozenset({"lines"}), "`| head`")
    if opts.positionals:
        raise Unsupported(f"`head` reads the local file {opts.positionals[0]}")
    return number(opts.one("lines") or "10", "head -n")  # head prints 10 lines unless told


def runs_script_text(word: str) -> bool:
    return word.startswith("-") and not word.startswith("--") and "c" in word[1:]
