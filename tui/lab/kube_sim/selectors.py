"""Kubernetes label and field selectors, parsed and matched as the API server does."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_LABEL_KEY = re.compile(rf"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{_NAME}$")
_LABEL_VALUE = re.compile(rf"^({_NAME})?$")


class SelectorError(ValueError):
    """A selector the real API server would refuse with 400 BadRequest."""


@dataclass(frozen=True)
class Requirement:
    """One clause of a label selector: key, operator and values."""

    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!", "gt", "lt"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        has = self.key in labels
        value = labels.get(self.key)
        if self.op in ("=", "in"):
            return has and value in self.values
        if self.op in ("!=", "notin"):
            return not has or value not in self.values
        if self.op == "exists":
            return has
        if self.op == "!":
            return not has
        if not has:
            return False
        try:
            number = int(value or "")
        except ValueError:
            return False
        return number > int(self.values[0]) if self.op == "gt" else number < int(self.values[0])


_TOKEN = re.compile(r"\s*(==|!=|=|!|\(|\)|,|>|<|[^\s=!(),<>]+)")


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos:].strip() == "":
                break
            raise SelectorError(f"unable to parse requirement: unexpected character at {text[pos:]!r}")
        out.append(match.group(1))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _check_key(key: str) -> str:
    if len(key) > 317 or not _LABEL_KEY.match(key):
        raise SelectorError(
            f'unable to parse requirement: key: Invalid value: "{key}": name part must consist of '
            "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        )
    return key


def _check_value(value: str) -> str:
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        raise SelectorError(
            f'unable to parse requirement: values[0]: Invalid value: "{value}": a valid label must be an '
            "empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end "
            "with an alphanumeric character"
        )
    return value


def parse_label_selector(text: str) -> tuple[Requirement, ...]:
    """Parse `app=api,tier!=db,env in (a,b),!canary,release` into requirements (all must hold)."""
    tokens = _tokens(text or "")
    reqs: list[Requirement] = []
    i = 0

    def peek(offset: int = 0) -> str | None:
        return tokens[i + offset] if i + offset < len(tokens) else None

    while i < len(tokens):
        tok = tokens[i]
        if tok == "!":
            key = peek(1)
            if key is None or key in "=!(),<>":
                raise SelectorError("unable to parse requirement: found '!' without a key")
            reqs.append(Requirement(_check_key(key), "!"))
            i += 2
        elif tok in ("=", "==", "!=", "(", ")", ",", ">", "<"):
            raise SelectorError(f"unable to parse requirement: found '{tok}', expected: identifier")
        else:
            key = _check_key(tok)
            op = peek(1)
            if op is None or op == ",":
                reqs.append(Requirement(key, "exists"))
                i += 1
            elif op in ("=", "==", "!="):
                value = peek(2)
                if value is None or value == ",":
                    value_text, i = "", i + 2
                elif value in "=!()<>":
                    raise SelectorError(f"unable to parse requirement: found '{value}', expected: identifier")
                else:
                    value_text, i = value, i + 3
                reqs.append(Requirement(key, "!=" if op == "!=" else "=", (_check_value(value_text),)))
            elif op in (">", "<"):
                value = peek(2)
                if value is None or not value.lstrip("-").isdigit():
                    raise SelectorError(f"unable to parse requirement: for 'Gt', 'Lt' operators, {value!r}")
                reqs.append(Requirement(key, "gt" if op == ">" else "lt", (value,)))
                i += 3
            elif op in ("in", "notin"):
                if peek(2) != "(":
                    raise SelectorError("unable to parse requirement: found '', expected: '('")
                i += 3
                values: list[str] = []
                while True:
                    tok2 = peek()
                    if tok2 is None:
                        raise SelectorError("unable to parse requirement: found '', expected: ')'")
                    if tok2 == ")":
                        i += 1
                        break
                    if tok2 == ",":
                        i += 1
                        continue
                    values.append(_check_value(tok2))
                    i += 1
                if not values and op == "in":
                    raise SelectorError(
                        "unable to parse requirement: for 'in', 'notin' operators, values set can't be empty"
                    )
                reqs.append(Requirement(key, op, tuple(values)))
            else:
                raise SelectorError(
                    f"unable to parse requirement: found '{op}', expected: in, notin, =, ==, !=, gt, lt"
                )
        if i < len(tokens):
            if tokens[i] != ",":
                raise SelectorError(f"unable to parse requirement: found '{tokens[i]}', expected: ','")
            i += 1
            if i == len(tokens):
                raise SelectorError("unable to parse requirement: found '', expected: identifier")
    return tuple(reqs)


@dataclass(frozen=True)
class FieldRequirement:
    """One clause of a field selector: `field=value` or `field!=value`."""

    field: str
    value: str
    negate: bool


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, current, escaped = [], [], False
    for ch in text:
        if escaped:
            current.append("\\" + ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def parse_field_selector(text: str) -> tuple[FieldRequirement, ...]:
    """Parse `metadata.name=x,status.phase!=Running` (with `\\,` `\\=` escapes) into requirements."""
    reqs: list[FieldRequirement] = []
    for part in _split_unescaped(text or "", ","):
        if not part.strip():
            continue
        for op in ("!=", "==", "="):
            index = part.find(op)
            if index > 0:
                reqs.append(
                    FieldRequirement(part[:index].strip(), _unescape(part[index + len(op) :]), op == "!=")
                )
                break
        else:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
    return tuple(reqs)


def _dig(obj: Mapping[str, Any], *path: str) -> str:
    node: Any = obj
    for step in path:
        if not isinstance(node, Mapping):
            return ""
        node = node.get(step)
    return "" if node is None else str(node)


def _common(obj: Mapping[str, Any]) -> dict[str, str]:
    return {
        "metadata.name": _dig(obj, "metadata", "name"),
        "metadata.namespace": _dig(obj, "metadata", "namespace"),
    }


def _pod_fields(obj: Mapping[str, Any]) -> dict[str, str]:
    return {
        **_common(obj),
        "spec.nodeName": _dig(obj, "spec", "nodeName"),
        "spec.restartPolicy": _dig(obj, "spec", "restartPolicy"),
        "spec.schedulerName": _dig(obj, "spec", "schedulerName"),
        "spec.serviceAccountName": _dig(obj, "spec", "serviceAccountName"),
        "spec.hostNetwork": _dig(obj, "spec", "hostNetwork") or "false",
        "status.phase": _dig(obj, "status", "phase"),
        "status.podIP": _dig(obj, "status", "podIP"),
        "status.nominatedNodeName": _dig(obj, "status", "nominatedNodeName"),
    }


def _event_fields(obj: Mapping[str, Any]) -> dict[str, str]:
    fields = _common(obj)
    for key in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"):
        fields[f"involvedObject.{key}"] = _dig(obj, "involvedObject", key)
    fields["reason"] = _dig(obj, "reason")
    fields["reportingComponent"] = _dig(obj, "reportingComponent")
    fields["source"] = _dig(obj, "source", "component")
    fields["type"] = _dig(obj, "type")
    return fields


# Which fields each resource supports; anything else is refused like the real server does.
FIELD_EXTRACTORS: dict[str, Callable[[Mapping[str, Any]], dict[str, str]]] = {
    "pods": _pod_fields,
    "events": _event_fields,
    "secrets": lambda o: {**_common(o), "type": _dig(o, "type")},
    "nodes": lambda o: {**_common(o), "spec.unschedulable": _dig(o, "spec", "unschedulable") or "false"},
    "namespaces": lambda o: {**_common(o), "status.phase": _dig(o, "status", "phase")},
}


def check_fields(resource: str, reqs: tuple[FieldRequirement, ...]) -> None:
    """Refuse a field the resource cannot be selected by (`field label not supported: x`)."""
    sample = FIELD_EXTRACTORS.get(resource, _common)({})
    for req in reqs:
        if req.field not in sample:
            raise SelectorError(
                f'"{req.field}" is not a known field selector: only "{", ".join(sorted(sample))}"'
            )


def fields_match(resource: str, obj: Mapping[str, Any], reqs: tuple[FieldRequirement, ...]) -> bool:
    """True if the object satisfies every field requirement."""
    if not reqs:
        return True
    fields = FIELD_EXTRACTORS.get(resource, _common)(obj)
    return all((fields.get(r.field, "") == r.value) != r.negate for r in reqs)


def labels_match(obj: Mapping[str, Any], reqs: tuple[Requirement, ...]) -> bool:
    """True if the object's labels satisfy every requirement."""
    if not reqs:
        return True
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(r.matches(labels) for r in reqs)
