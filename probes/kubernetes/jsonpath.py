"""kubectl's JSONPath templates (`-o jsonpath=...`), evaluated over parsed JSON, printing as kubectl prints.

A port of the subset of k8s.io/client-go/util/jsonpath that runbooks use:

- text outside braces is printed as written; `{"\\t"}` and `{'\\n'}` print a quoted string;
- `{.a.b}`, `{.a['b.c']}`, `{.a[*]}`, `{.a[0]}`, `{.a[-1]}`, `{.a[1:3]}`, `{.a[::2]}`, `{.a.*}`, `{..name}`,
  `{.a['b','c']}`, `\\.` in a field name (`{.metadata.labels.app\\.kubernetes\\.io/name}`);
- filters `{.items[?(@.status.phase=="Running")]}` with `==`, `!=`, `<`, `>`, `<=`, `>=`, or `[?(@.x)]`;
- `{range .items[*]}...{end}`, nested;
- `$` and `@` at the start of a path mean the current object, as in client-go.

As `kubectl get -o jsonpath`: a missing key prints nothing, the values of one `{}` are joined by a space,
strings print raw, maps and lists print as compact JSON with sorted keys, and nothing adds a newline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["JsonPathError", "evaluate", "parse", "render"]


class JsonPathError(ValueError):
    """The template can't be parsed, or can't be evaluated on this data; in kubectl's words."""


# --- parsing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    names: tuple[str, ...]  # one name, or a union: ['a','b']; "" is the current object ({.})


@dataclass(frozen=True)
class _Index:
    start: int | None
    end: int | None
    step: int | None
    single: bool  # [n]: the end derives from the start


@dataclass(frozen=True)
class _Wildcard:  # [*] or .*
    pass


@dataclass(frozen=True)
class _Recursive:  # ..
    pass


@dataclass(frozen=True)
class _Literal:  # a quoted string, a number or a boolean on the right of a filter
    value: Any


@dataclass(frozen=True)
class _Filter:
    left: tuple[Any, ...]  # a path
    operator: str  # "exists", "==", "!=", "<", ">", "<=", ">="
    right: tuple[Any, ...]  # a path, or a single _Literal


Step = _Field | _Index | _Wildcard | _Recursive | _Filter | _Literal
Path = tuple[Step, ...]


@dataclass(frozen=True)
class _Text:
    text: str


@dataclass(frozen=True)
class _Action:
    path: Path


@dataclass(frozen=True)
class _Range:
    path: Path
    body: tuple[Node, ...]


Node = _Text | _Action | _Range

_FIELD_END = frozenset(" .,[]$@{}()=!<>")
_OPERATORS = ("==", "!=", "<=", ">=", "<", ">")


def parse(template: str) -> tuple[Node, ...]:
    """The template's nodes; JsonPathError on a syntax error."""
    pieces = list(_split(template))
    nodes, index = _nodes(pieces, 0, template, inside_range=False)
    if index != len(pieces):  # an {end} without a {range}
        raise JsonPathError(f"error parsing jsonpath {template}, not in range, nothing to end")
    return nodes


def _split(template: str) -> Iterator[tuple[str, str]]:
    """("text", ...) and ("action", inside the braces) pieces; quotes inside an action may hold braces."""
    position = 0
    while position < len(template):
        start = template.find("{", position)
        if start < 0:
            yield ("text", template[position:])
            return
        if start > position:
            yield ("text", template[position:start])
        index = start + 1
        quote = ""
        while index < len(template):
            char = template[index]
            if quote:
                if char == "\\":
                    index += 1
                elif char == quote:
                    quote = ""
            elif char in "\"'":
                quote = char
            elif char == "}":
                break
            index += 1
        else:
            raise JsonPathError(f"error parsing jsonpath {template}, unclosed action")
        yield ("action", template[start + 1 : index])
        position = index + 1


def _nodes(
    pieces: list[tuple[str, str]], index: int, template: str, *, inside_range: bool
) -> tuple[tuple[Node, ...], int]:
    nodes: list[Node] = []
    while index < len(pieces):
        kind, text = pieces[index]
        index += 1
        if kind == "text":
            nodes.append(_Text(text))
            continue
        body = text.strip()
        if body == "end":
            if not inside_range:
                raise JsonPathError(f"error parsing jsonpath {template}, not in range, nothing to end")
            return tuple(nodes), index
        if body.startswith("range ") or body == "range":
            path = _PathParser(body[len("range") :], template).parse()
            inner, index = _nodes(pieces, index, template, inside_range=True)
            nodes.append(_Range(path, inner))
            continue
        if len(body) >= 2 and body[0] in "\"'" and body[-1] == body[0]:
            nodes.append(_Text(_unquote(body, template)))
            continue
        nodes.append(_Action(_PathParser(body, template).parse()))
    if inside_range:
        raise JsonPathError(f"error parsing jsonpath {template}, unclosed range")
    return tuple(nodes), index


def _unquote(quoted: str, template: str) -> str:
    """A Go-quoted string: "\\t", "\\n", "\\"", "\\u00e9"; single quotes take the same escapes."""
    inner = quoted[1:-1]
    if quoted[0] == "'":
        inner = inner.replace('\\"', '"').replace('"', '\\"').replace("\\'", "'")
    try:
        value = json.loads(f'"{inner}"')
    except ValueError:
        raise JsonPathError(f"error parsing jsonpath {template}, invalid string {quoted}") from None
    return str(value)


class _PathParser:
    def __init__(self, text: str, template: str) -> None:
        self.text = text.strip()
        self.template = template
        self.i = 0

    def fail(self, message: str) -> JsonPathError:
        return JsonPathError(f"error parsing jsonpath {self.template}, {message}")

    def peek(self, ahead: int = 0) -> str:
        index = self.i + ahead
        return self.text[index] if index < len(self.text) else ""

    def rest(self) -> str:
        return self.text[self.i :].strip()

    def parse(self) -> Path:
        path = self.path()
        if self.i < len(self.text):
            raise self.fail(f"unrecognized character in action: {self.text[self.i]!r}")
        return path

    def path(self) -> Path:
        steps: list[Step] = []
        while self.i < len(self.text):
            char = self.peek()
            if char in "$@":
                self.i += 1
            elif char == "." and self.peek(1) == ".":
                self.i += 2
                steps.append(_Recursive())
                if self.peek() == "*":
                    self.i += 1
                    steps.append(_Wildcard())
                elif self.peek() and self.peek() not in _FIELD_END:
                    steps.append(_Field((self.name(),)))
            elif char == ".":
                self.i += 1
                if self.peek() == "*":
                    self.i += 1
                    steps.append(_Wildcard())
                else:
                    steps.append(_Field((self.name(),)))
            elif char == "[":
                steps.append(self.bracket())
            elif char == " ":
                break
            elif not steps and (char in "\"'-+" or char.isdigit() or self.rest() in ("true", "false")):
                steps.append(self.literal())
            else:
                raise self.fail(f"unrecognized character in action: {char!r}")
        return tuple(steps)

    def name(self) -> str:
        chars: list[str] = []
        while self.i < len(self.text):
            char = self.text[self.i]
            if char == "\\" and self.i + 1 < len(self.text):
                chars.append(self.text[self.i + 1])
                self.i += 2
                continue
            if char in _FIELD_END:
                break
            chars.append(char)
            self.i += 1
        return "".join(chars)

    def bracket(self) -> Step:
        self.i += 1  # [
        close = self._closing()
        inner = self.text[self.i : close].strip()
        if inner.startswith("?"):
            step: Step = self.filter(close)
        elif inner == "*":
            step = _Wildcard()
        elif inner[:1] in "\"'":
            step = _Field(tuple(_unquote(q.strip(), self.template) for q in _split_quoted(inner)))
        else:
            step = self.index(inner)
        self.i = close + 1
        return step

    def _closing(self) -> int:
        depth, quote, index = 0, "", self.i
        while index < len(self.text):
            char = self.text[index]
            if quote:
                if char == "\\":
                    index += 1
                elif char == quote:
                    quote = ""
            elif char in "\"'":
                quote = char
            elif char in "([":
                depth += 1
            elif char in ")]":
                if char == "]" and depth == 0:
                    return index
                depth -= 1
            index += 1
        raise self.fail("unterminated array")

    def index(self, inner: str) -> _Index:
        parts = inner.split(":")
        if len(parts) > 3 or not inner:
            raise self.fail(f"invalid array index {inner}")
        values: list[int | None] = []
        for part in parts:
            part = part.strip()
            if not part:
                values.append(None)
                continue
            if not re.fullmatch(r"[+-]?\d+", part):
                raise self.fail(f"invalid array index {part}")
            values.append(int(part))
        if len(parts) == 1:
            return _Index(values[0], None, None, single=True)
        values += [None] * (3 - len(values))
        return _Index(values[0], values[1], values[2], single=False)

    def filter(self, close: int) -> _Filter:
        body = self.text[self.i : close].strip()
        if not (body.startswith("?(") and body.endswith(")")):
            raise self.fail(f"invalid filter {body}")
        expression = body[2:-1].strip()
        operator, position = _find_operator(expression)
        if operator is None:
            return _Filter(_PathParser(expression, self.template).parse(), "exists", ())
        left = _PathParser(expression[:position], self.template).parse()
        right = _PathParser(expression[position + len(operator) :], self.template).parse()
        return _Filter(left, operator, right)

    def literal(self) -> _Literal:
        rest = self.rest()
        self.i = len(self.text)
        if rest[:1] in "\"'":
            return _Literal(_unquote(rest, self.template))
        if rest in ("true", "false"):
            return _Literal(rest == "true")
        try:
            return _Literal(int(rest))
        except ValueError:
            pass
        try:
            return _Literal(float(rest))
        except ValueError:
            raise self.fail(f"invalid literal {rest}") from None


def _split_quoted(inner: str) -> list[str]:
    """'a', 'b' → ["'a'", "'b'"], commas inside quotes kept."""
    parts: list[str] = []
    quote, start = "", 0
    for index, char in enumerate(inner):
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == ",":
            parts.append(inner[start:index])
            start = index + 1
    parts.append(inner[start:])
    return [p for p in (part.strip() for part in parts) if p]


def _find_operator(expression: str) -> tuple[str | None, int]:
    quote = ""
    for index, char in enumerate(expression):
        if quote:
            if char == quote:
                quote = ""
            continue
        if char in "\"'":
            quote = char
            continue
        for operator in _OPERATORS:
            if expression.startswith(operator, index):
                return operator, index
    return None, -1


# --- evaluation ---------------------------------------------------------------------------------


def evaluate(template: str, data: Any) -> str:
    """The text `kubectl get -o jsonpath=TEMPLATE` prints for this data (no newline added)."""
    return render(parse(template), data)


def render(nodes: tuple[Node, ...], data: Any) -> str:
    """A parsed template's text for this data; JsonPathError when it can't be evaluated (an index too big)."""
    out: list[str] = []
    _run(nodes, data, out)
    return "".join(out)


def _run(nodes: tuple[Node, ...], current: Any, out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, _Text):
            out.append(node.text)
        elif isinstance(node, _Action):
            out.append(" ".join(_text(value) for value in _walk(node.path, [current])))
        else:
            for item in _walk(node.path, [current]):
                _run(node.body, item, out)


def _walk(path: Path, values: list[Any]) -> list[Any]:
    for step in path:
        values = _step(step, values)
    return values


def _step(step: Step, values: list[Any]) -> list[Any]:
    if isinstance(step, _Field):
        if step.names == ("",):
            return values
        return [v[name] for v in values if isinstance(v, dict) for name in step.names if name in v]
    if isinstance(step, _Wildcard):
        found: list[Any] = []
        for value in values:
            if isinstance(value, dict):
                found.extend(value.values())
            elif isinstance(value, list):
                found.extend(value)
        return found
    if isinstance(step, _Recursive):
        found = []
        for value in values:
            _descend(value, found)
        return found
    if isinstance(step, _Index):
        found = []
        for value in values:
            if not isinstance(value, list):
                raise JsonPathError(f"{_go_type(value)} is not array or slice")
            found.extend(_slice(step, value))
        return found
    if isinstance(step, _Filter):
        found = []
        for value in values:
            if not isinstance(value, list):
                raise JsonPathError(f"{_go_type(value)} is not array or slice and cannot be filtered")
            found.extend(item for item in value if _matches(step, item))
        return found
    return [step.value]


def _descend(value: Any, found: list[Any]) -> None:
    children = list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else []
    if children:
        found.append(value)
        for child in children:
            _descend(child, found)


def _slice(index: _Index, value: list[Any]) -> list[Any]:
    """client-go's evalArray: negative indices count from the end, out of bounds is an error."""
    length = len(value)
    start = 0 if index.start is None else index.start
    if start < 0:
        start += length
    if index.single:
        end = start + 1
    else:
        end = length if index.end is None else index.end
        if end < 0:
            end += length
    if start == end:
        return []
    if start >= length or start < 0:
        raise JsonPathError(f"array index out of bounds: index {start}, length {length}")
    if end > length or end < 0:
        raise JsonPathError(f"array index out of bounds: index {end - 1}, length {length}")
    if start > end:
        raise JsonPathError(f"starting index {start} is greater than ending index {end}")
    step = 1 if index.step is None else index.step
    if step <= 0:
        raise JsonPathError("step must be > 0")
    return value[start:end:step]


def _matches(step: _Filter, item: Any) -> bool:
    lefts = _walk(step.left, [item])
    if step.operator == "exists":
        return bool(lefts)
    rights = _walk(step.right, [item])
    if len(lefts) != 1 or len(rights) != 1:
        return False  # a missing key matches nothing (kubectl allows missing keys)
    left, right = lefts[0], rights[0]
    if step.operator == "==":
        return _same_kind(left, right) and left == right
    if step.operator == "!=":
        return not (_same_kind(left, right) and left == right)
    if not _same_kind(left, right) or isinstance(left, dict | list | bool) or left is None:
        return False
    return {
        "<": left < right,
        ">": left > right,
        "<=": left <= right,
        ">=": left >= right,
    }[step.operator]


def _same_kind(left: Any, right: Any) -> bool:
    def kind(value: Any) -> str:
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int | float):
            return "number"
        return type(value).__name__

    return kind(left) == kind(right)


def _go_type(value: Any) -> str:
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    return "<nil>"


def _text(value: Any) -> str:
    """One value as kubectl prints it: strings raw, numbers as Go prints them, the rest as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if value is None:
        return "<nil>"
    text = json.dumps(_go_numbers(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # Go's json.Marshal escapes these for HTML safety; kubectl prints them so
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _go_numbers(value: Any) -> Any:
    """Whole floats as integers, as Go marshals them (2.0 prints 2)."""
    if isinstance(value, dict):
        return {k: _go_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_go_numbers(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    return value
