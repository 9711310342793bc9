"""Process start to the first alerts on screen: `oncall --demo` in tmux, against a bare Textual app that
shows one line, both started the same way in the same run; then what `import tui.app` still costs.

Run: .venv/bin/python -m bench.start_bench [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bare_textual import LINE as BARE_LINE

ALERT = "HighDatabaseConnections"  # the first of the demo's scripted alerts (tui/demo/scenario.py)
POLL = 0.01  # seconds between two looks at the pane
TIMEOUT = 30.0
GOAL = 2.0  # oncall's start may take this many times the bare app's
WIDTH = 58


SOCKET = f"start-bench-{os.getpid()}"  # a tmux server of its own: no other session is touched


def _tmux(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True, check=check)


def _time_to_text(command: str, text: str, home: Path) -> float:
    """Seconds from just before `tmux new` to `text` in the pane: process start, imports, first paint."""
    session = f"run-{time.monotonic_ns()}"
    # as installed: bytecode cached (PYTHONDONTWRITEBYTECODE emptied: it would compile oncall every run)
    env = [f"XDG_STATE_HOME={home / 'state'}", f"XDG_CONFIG_HOME={home / 'config'}"]
    env.append("PYTHONDONTWRITEBYTECODE=")
    start = time.perf_counter()
    _tmux(
        "new",
        "-d",
        "-s",
        session,
        "-x",
        "160",
        "-y",
        "48",
        *[a for p in env for a in ("-e", p)],
        command,
        check=True,
    )
    try:
        while time.perf_counter() - start < TIMEOUT:
            if text in _tmux("capture-pane", "-p", "-t", session).stdout:
                return time.perf_counter() - start
            time.sleep(POLL)
        raise RuntimeError(f"{text!r} not on screen after {TIMEOUT:.0f} s: {command}")
    finally:
        _tmux("kill-session", "-t", session)


def _installed_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _compile(here: Path) -> None:
    """Cache the bytecode of oncall's packages, as pip does for an installed package (Textual's is)."""
    packages = [str(here / name) for name in ("tui", "probes", "screens", "bench")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], check=True, env=_installed_env())


def _line(label: str, value: str) -> None:
    print(f"{label:<{WIDTH}} {value}")


def import_offenders(top: int) -> list[tuple[str, float]]:
    """`python -X importtime -c 'import tui.app, screens.dashboard'` (the dashboard loads at mount): the
    modules that cost most (cumulative ms), each with the module that imported it; a module that is mostly
    one import of its own (>= 90%) gives way to it."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import tui.app, screens.dashboard"],
        capture_output=True,
        text=True,
        check=True,
        env=_installed_env(),
    )
    rows: list[tuple[int, str, float]] = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            rows.append((len(match[3]), match[4], int(match[2]) / 1000))
    # importtime prints a module after what it imported, one level deeper: its importer comes later
    importer: dict[int, int] = {}
    biggest_child: dict[int, float] = {}
    for index, (depth, _, ms) in enumerate(rows):
        parent = next((j for j in range(index + 1, len(rows)) if rows[j][0] < depth), None)
        if parent is not None:
            importer[index] = parent
            biggest_child[parent] = max(biggest_child.get(parent, 0.0), ms)
    totals = {name: ms for _, name, ms in rows if name in ("tui.app", "screens.dashboard")}
    ranked = sorted(
        (
            (f"{name} (from {rows[importer[i]][1]})" if i in importer else name, ms)
            for i, (_, name, ms) in enumerate(rows)
            if name not in totals and biggest_child.get(i, 0.0) < 0.9 * ms
        ),
        key=lambda r: -r[1],
    )
    dashboard = ("import screens.dashboard after it (total)", totals.get("screens.dashboard", 0.0))
    return [("import tui.app (total)", totals.get("tui.app", 0.0)), dashboard, *ranked[:top]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--top", type=int, default=12, help="how many import offenders to print")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("start time: skipped (no tmux)")
        return
    oncall = Path(sys.executable).with_name("oncall")
    bare = f"{sys.executable} -m bench.bare_textual"
    here = Path(__file__).resolve().parent.parent
    _compile(here)
    oncall_times: list[float] = []
    bare_times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        # one idle session keeps this tmux server up between runs (its own start is not timed)
        _tmux("new", "-d", "-s", "keep", "-x", "160", "-y", "48", "sleep 3600", check=True)
        try:
            for run in range(args.runs):
                # alternated, so that a busy moment of the machine falls on both alike
                home = Path(tmp) / f"run{run}"
                oncall_times.append(_time_to_text(f"cd {here} && {oncall} --demo", ALERT, home))
                bare_times.append(_time_to_text(f"cd {here} && {bare}", BARE_LINE, home))
        finally:
            _tmux("kill-server")
    oncall_ms = statistics.median(oncall_times) * 1000
    bare_ms = statistics.median(bare_times) * 1000
    runs = f"median of {args.runs}"
    _line("oncall --demo: start to first alerts", f"{oncall_ms:7.0f} ms   ({runs}, tmux)")
    _line("bare Textual app: start to its line", f"{bare_ms:7.0f} ms   ({runs}, tmux)")
    ratio = oncall_ms / bare_ms
    verdict = "meets" if ratio <= GOAL else "MISSES"
    _line("ratio oncall / bare Textual", f"{ratio:7.2f}   ({verdict} the x{GOAL:.1f} goal)")
    print("import tui.app and screens.dashboard, largest cumulative imports (python -X importtime):")
    for name, ms in import_offenders(args.top):
        _line(f"  {name}", f"{ms:7.1f} ms")


if __name__ == "__main__":
    main()
