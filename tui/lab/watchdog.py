"""Take the lab down when a given process dies: the test suite's guard, so no lab outlives a killed pytest.

`oncall lab up` starts it when ONCALL_LAB_WATCH_PID is set: `python -m tui.lab.watchdog PID ROOT`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tui.lab.services import PACKAGE_ROOT, pid_alive

WATCH_ENV = "ONCALL_LAB_WATCH_PID"


def start_watchdog(root: Path) -> None:
    """When ONCALL_LAB_WATCH_PID names a process, watch it from a detached process of its own."""
    text = os.environ.get(WATCH_ENV, "")
    if not text.isdigit():
        return
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), env.get("PYTHONPATH")]))
    subprocess.Popen(
        [sys.executable, "-m", "tui.lab.watchdog", text, str(root)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )


def main(argv: list[str]) -> int:
    pid, root = int(argv[0]), Path(argv[1])
    while pid_alive(pid) and (root / "state.json").exists():
        time.sleep(1.0)
    if (root / "state.json").exists():
        from tui.lab.lifecycle import down

        down(root)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
