"""The shipped alerting rules, time compressed: each `for:` and PromQL range divided by the lab's factor."""

from __future__ import annotations

import re

MIN_RANGE_SECONDS = 3  # a rate needs a few 1s scrapes in its window
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
# a Prometheus duration: one or more number+unit parts, largest first ("1h30m", "5m", "90s")
_DURATION = r"(?:\d+(?:ms|s|m|h|d|w|y))+"
_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_FOR = re.compile(rf"^(?P<head>\s*for:\s*)(?P<value>['\"]?{_DURATION}['\"]?)(?P<tail>\s*(?:#.*)?)$")
# a range selector [5m] or a subquery [30m:1m] (its resolution too)
_RANGE = re.compile(rf"\[(?P<range>{_DURATION})(?::(?P<step>{_DURATION})?)?\]")


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus duration ("5m", "1h30m", "500ms"); ValueError if it is not one."""
    if not re.fullmatch(_DURATION, text):
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(text))


def format_duration(seconds: float) -> str:
    """A duration Prometheus reads: whole seconds ("5s", "150s"), or milliseconds under a second."""
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{round(seconds * 1000)}ms"


def scale(text: str, factor: float, minimum: float = 0) -> str:
    """One duration divided by `factor`, never below `minimum` seconds (nor below what it was)."""
    seconds = parse_duration(text)
    scaled = seconds / factor
    return format_duration(max(scaled, min(minimum, seconds)))


def _scale_range(match: re.Match[str], factor: float) -> str:
    window = scale(match["range"], factor, MIN_RANGE_SECONDS)
    if match["step"] is not None:
        return f"[{window}:{scale(match['step'], factor)}]"
    if match.group(0).endswith(":]"):
        return f"[{window}:]"
    return f"[{window}]"


def scale_rules(text: str, factor: float) -> str:
    """`text` (a rules file) with each `for:` and each range window divided by `factor`; ranges never under
    MIN_RANGE_SECONDS. Every other character is kept as it was (comments, annotations, layout)."""
    if factor <= 0:
        raise ValueError("the factor must be more than 0")
    out: list[str] = []
    in_expr_block = False
    expr_indent = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        indent = len(body) - len(body.lstrip())
        if in_expr_block and body.strip() and indent <= expr_indent:
            in_expr_block = False
        found = _FOR.match(body)
        if found and not in_expr_block:
            value = found["value"]
            quote = value[0] if value[0] in "'\"" else ""
            new = scale(value.strip("'\""), factor)
            out.append(f"{found['head']}{quote}{new}{quote}{found['tail']}{ending}")
            continue
        stripped = body.lstrip()
        if stripped.startswith("expr:") or in_expr_block:
            if stripped.startswith("expr:"):
                rest = stripped[len("expr:") :].strip()
                in_expr_block = rest.startswith(("|", ">"))
                expr_indent = indent
            body = _RANGE.sub(lambda m: _scale_range(m, factor), body)
        out.append(body + ending)
    return "".join(out)
