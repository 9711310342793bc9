"""JSON decoded a piece at a time, so that a 5 MB answer never holds the interpreter for long.

`json.loads` of Prometheus's answer in an alert storm is one C call of ~30 ms that keeps the GIL: run in a
worker thread it still freezes the event loop that long. Here the containers on `path` are walked in Python
and everything else, down to each element of the array at the end of the path, is decoded with its own
`raw_decode` call (microseconds each), so the thread hands the GIL back between elements. Each element goes
through `each` as soon as it is decoded: the raw dicts never all exist at once."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
# The text of one JSON object whose values are strings, numbers, literals or such objects themselves (an
# alert: its labels and annotations inside), found in one C call; possessive, so never backtracking.
_STRING = r'"(?:[^"\\]++|\\.)*+"'
_FLAT = r"\{(?:[^{}\[\]\"]++|" + _STRING + r")*+\}"
_OBJECT = re.compile(r"\{(?:[^{}\[\]\"]++|" + _STRING + "|" + _FLAT + r")*+\}")

ANY = "*"  # in a path: every element of an array


def decode_along(
    text: str,
    path: Sequence[str],
    each: Callable[[Any], Any],
    *,
    each_text: Callable[[str], Any] | None = None,
) -> Any:
    """The JSON document `text`, with the array at `path` (object keys, or ANY for every element of an
    array) holding `each(element)` for its elements instead of the elements. Raises ValueError when `text`
    is not one JSON document (as json.loads does). With `each_text`, an element that is an object of
    objects is handed over as its JSON text, not decoded (`each_text` decodes it, or knows that text
    already); any other element still goes through `each`."""
    walker = _Walker(text, each, each_text)
    value = walker.value(tuple(path))
    walker.space()
    if walker.at != len(text):
        raise ValueError(f"extra data at {walker.at}")
    return value


class _Walker:
    def __init__(self, text: str, each: Callable[[Any], Any], each_text: Callable[[str], Any] | None) -> None:
        self.text = text
        self.at = 0
        self.each = each
        self.each_text = each_text

    def space(self) -> None:
        match = _SPACE.match(self.text, self.at)
        assert match is not None  # the pattern matches the empty string
        self.at = match.end()

    def peek(self) -> str:
        self.space()
        return self.text[self.at : self.at + 1]

    def take(self, char: str) -> None:
        if self.peek() != char:
            raise ValueError(f"expected {char!r} at {self.at}")
        self.at += 1

    def decoded(self) -> Any:
        self.space()
        value, self.at = _DECODER.raw_decode(self.text, self.at)
        return value

    def value(self, path: tuple[str, ...]) -> Any:
        """The value here: walked into when the path goes on through it, else decoded in one call."""
        first = self.peek()
        if not path or first not in ("{", "["):
            return self.decoded()
        if first == "{":
            return self.object(path)
        if path[0] != ANY:
            return self.decoded()  # an array where the path wants an object: kept as it is, for the caller
        return self.array(path[1:], last=len(path) == 1)

    def object(self, path: tuple[str, ...]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        self.take("{")
        if self.peek() == "}":
            self.at += 1
            return result
        while True:
            key = self.decoded()
            if not isinstance(key, str):
                raise ValueError(f"an object key that is not a string at {self.at}")
            self.take(":")
            if key == path[0] and len(path) == 1 and self.peek() == "[":
                result[key] = self.array((), last=True)
            elif key == path[0]:
                result[key] = self.value(path[1:])
            else:
                result[key] = self.decoded()
            char = self.peek()
            self.at += 1
            if char == "}":
                return result
            if char != ",":
                raise ValueError(f"expected ',' or '}}' at {self.at - 1}")

    def array(self, path: tuple[str, ...], *, last: bool) -> list[Any]:
        result: list[Any] = []
        self.take("[")
        if self.peek() == "]":
            self.at += 1
            return result
        while True:
            result.append(self.element() if last else self.value(path))
            char = self.peek()
            self.at += 1
            if char == "]":
                return result
            if char != ",":
                raise ValueError(f"expected ',' or ']' at {self.at - 1}")

    def element(self) -> Any:
        if self.each_text is not None:
            self.space()
            found = _OBJECT.match(self.text, self.at)
            if found is not None:
                self.at = found.end()
                return self.each_text(found.group())
        return self.each(self.decoded())
