"""The exporters' lab: Debian's postgres_exporter and redis_exporter as real processes, their /metrics read
back, and the metric names a PromQL expression uses."""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.labs import LabError, free_port, stop_process

START_TIMEOUT = 10.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the test process dies, so no exporter outlives pytest."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class ExporterProcess:
    """One process serving /metrics on 127.0.0.1:port (an exporter as tui.lab.exporters builds its argv and
    extra env, or the lab's API): `start()` waits until it answers, `scrape()`, `stop()`."""

    argv: list[str]
    env: dict[str, str]
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"exporter-{self.port}.log"

    def start(self, timeout: float = START_TIMEOUT) -> ExporterProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                env=os.environ | self.env,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LabError(f"{self.argv[0]} exited ({self.process.returncode}):\n{self.log()}")
            try:
                self.scrape()
                return self
            except (OSError, urllib.error.URLError):
                time.sleep(0.05)
        self.stop()
        raise LabError(f"{self.argv[0]} did not answer on {self.url} in {timeout}s:\n{self.log()}")

    def scrape(self) -> str:
        with urllib.request.urlopen(self.url, timeout=10) as answer:
            return str(answer.read().decode())

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None


def start_exporter(command: tuple[list[str], dict[str, str]], port: int, workdir: Path) -> ExporterProcess:
    argv, env = command
    return ExporterProcess(argv, env, port, workdir).start()


def closed_port() -> int:
    """A loopback port nothing listens on: a server that is down."""
    return free_port()


# --- the Prometheus text format --------------------------------------------------------------------------

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str] = field(hash=False)
    value: float


def parse_metrics(text: str) -> list[Sample]:
    """The samples of a /metrics page (text format 0.0.4); comments and blank lines skipped."""
    samples: list[Sample] = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = _SAMPLE.match(line.strip())
        if match is None:
            raise ValueError(f"not a sample line: {line!r}")
        name, labels_text, value = match.groups()
        labels = {k: v for k, v in _LABEL.findall(labels_text or "")}
        samples.append(Sample(name, labels, float(value)))
    return samples


def metric_names(text: str) -> set[str]:
    return {sample.name for sample in parse_metrics(text)}


# --- the metric names a PromQL expression reads ----------------------------------------------------------

_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
    "offset", "atan2", "inf", "nan",
}  # fmt: skip
# after these, a parenthesised list of label names, not an expression
_LABEL_LIST = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"' + r"|'(?:[^'\\]|\\.)*'|`[^`]*`")
_MATCHERS = re.compile(r"\{([^{}]*)\}")
_NAME_MATCHER = re.compile(r'__name__\s*=\s*"((?:[^"\\]|\\.)*)"')
_IDENTIFIER = re.compile(r"(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)")


def promql_metric_names(expr: str) -> set[str]:
    """Every metric name `expr` selects: identifiers that are not a function or aggregation (followed by
    `(`), a keyword, a label name (in `{...}` or a by/on/... list), a string or a duration; plus the
    names of `{__name__="..."}` selectors."""
    names: set[str] = set()
    for matchers in _MATCHERS.findall(expr):
        names |= set(_NAME_MATCHER.findall(matchers))
    text = _MATCHERS.sub(" ", _STRING.sub('""', expr))
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range and subquery durations
    text = re.sub(r"\boffset\s+-?[0-9a-z]+", " ", text)
    text = _LABEL_LIST.sub(" ", text)
    for match in _IDENTIFIER.finditer(text):
        word = match.group(1)
        rest = text[match.end() :].lstrip()
        if word.lower() in _KEYWORDS or rest.startswith("("):
            continue
        if re.fullmatch(r"[0-9.eE+-]+", word):
            continue
        names.add(word)
    return names
