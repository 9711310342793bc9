"""Where oncall finds its shipped example runbook and keeps its session stores."""

from __future__ import annotations

import getpass
import socket
from pathlib import Path

import platformdirs

_PACKAGE = Path(__file__).resolve().parent.parent


def example_dir() -> Path:
    """The shipped example (examples/inmidst): beside the package in a checkout, inside it when installed."""
    for candidate in (_PACKAGE.parent / "examples" / "inmidst", _PACKAGE / "examples" / "inmidst"):
        if (candidate / "RUNBOOK.md").is_file():
            return candidate
    return _PACKAGE.parent / "examples" / "inmidst"


def example_runbook() -> Path:
    return example_dir() / "RUNBOOK.md"


def default_store(demo: bool = False) -> Path:
    """The session store: a separate one for the demo so practice never mixes with real incidents."""
    state = Path(platformdirs.user_state_dir("oncall"))
    return state / ("demo.db" if demo else "sessions.db")


def default_user() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
