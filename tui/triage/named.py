"""What a command names narrows what was read: `kubectl get pods NAME` shows that pod, `helm history --max N`
the newest N revisions. The probes list a namespace (by -l selector); the narrowing is done here, on the
rows they answered, and an object that isn't there is said to be missing."""

from __future__ import annotations

from dataclasses import replace

from probes.base import Reading
from tui.triage.commands import LiveRead

# each read that lists objects as rows: the kind kubectl names, and its column of object names (`kubectl
# logs POD` and `describe pod POD` are copy-only: their probe reads a few pods of a selector, maybe not POD)
_NAMED: dict[str, tuple[str, str]] = {
    "pods": ("pod", "NAME"),
    "top-pods": ("pod", "NAME"),
    "hpas": ("horizontalpodautoscaler", "name"),
    "pvcs": ("persistentvolumeclaim", "name"),
    "services": ("service", "name"),
    "network-policies": ("networkpolicy", "name"),
    "nodes": ("node", "name"),
}


def as_named(reading: Reading, read: LiveRead, namespace: str | None) -> Reading:
    """The reading narrowed to what the command names: one object, or helm's newest `--max` revisions."""
    if not reading.ok or read.source != "kubernetes":
        return reading
    if read.read == "helm-history" and read.params.count is not None:
        return _newest_revisions(reading, read.params.count)
    named = _NAMED.get(read.read)
    name = read.params.name
    if named is None or not name:
        return reading
    kind, column = named
    if column not in reading.columns:  # -o name, json, yaml: nothing to narrow by
        why = f"oncall can't narrow this output to {kind} {name}: copy the command and run it"
        return Reading.failed(reading.source, reading.what, why, read_at=reading.read_at)
    at = reading.columns.index(column)
    rows = tuple(row for row in reading.rows if row[at] == name)
    if rows:
        return replace(reading, rows=rows, truncated=False)
    where = f" in namespace {namespace}" if namespace and kind != "node" else ""
    among = f" among the first {len(reading.rows)} read" if reading.truncated else ""
    problem = f'{kind} "{name}" not found{where}{among}'
    return Reading.failed(reading.source, reading.what, problem, read_at=reading.read_at)


def _newest_revisions(reading: Reading, most: int) -> Reading:
    """`helm history --max N`: the N newest revisions, in the order they were read."""
    if "revision" not in reading.columns:
        return reading
    at = reading.columns.index("revision")
    numbers = sorted((int(row[at]) for row in reading.rows if row[at].isdigit()), reverse=True)
    newest = set(numbers[: max(0, most)])
    rows = tuple(row for row in reading.rows if row[at].isdigit() and int(row[at]) in newest)
    return replace(reading, rows=rows)
