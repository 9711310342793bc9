"""The real `oncall --demo` in a real terminal (tmux): what a newcomer sees and does first."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tui.sessions.store import SessionStore

pytestmark = pytest.mark.integration


@pytest.fixture
def tmux(tmp_path):
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is missing: .ci/run installs it")
        pytest.skip("tmux is not installed")
    socket = f"oncall-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "TERM": "xterm-256color",
    }
    env.pop("PROMETHEUS_URL", None)
    for size in ("COLUMNS", "LINES"):  # set by some runners; they would override the pane's real size
        env.pop(size, None)

    def run(*args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", socket, *args], env=env, check=True, capture_output=True, text=True
        ).stdout

    yield run
    subprocess.run(["tmux", "-L", socket, "kill-server"], env=env, capture_output=True)


def _wait_screen(run, needle: str, timeout: float = 40.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = run("capture-pane", "-p", "-t", "t")
        if needle in screen:
            return screen
        time.sleep(0.2)
    pytest.fail(f"{needle!r} never appeared on the terminal; last screen:\n{screen}")


def test_demo_in_a_real_terminal_shows_alerts_and_ticks_a_step(tmux, tmp_path):
    run = tmux
    store = tmp_path / "demo.db"
    config = tmp_path / "oncall.toml"
    config.write_text("")  # keep the user's own config out of the test
    command = f"{sys.executable} -m tui --demo --store {store} --user carol@test --config {config}"
    run("new-session", "-d", "-s", "t", "-x", "160", "-y", "48", "-c", str(Path.cwd()), command)
    # each on its own wait: a capture can catch the terminal halfway through a frame
    for needle in ("HighDatabaseConnections", "DEMO", "FIRING", "pending"):
        _wait_screen(run, needle)
    _wait_screen(run, "Check current connections")
    run("send-keys", "-t", "t", "Enter")
    _wait_screen(run, "No session yet")  # opening a checklist starts none: the first change does
    run("send-keys", "-t", "t", "Space")
    _wait_screen(run, "done by carol@test")
    _wait_screen(run, "Session #1")
    run("send-keys", "-t", "t", "q")
    deadline = time.monotonic() + 30  # a loaded CI machine: generous, it ends as soon as oncall quits
    while time.monotonic() < deadline:
        try:
            run("has-session", "-t", "t")
        except subprocess.CalledProcessError:
            break  # the app quit and its terminal closed
        time.sleep(0.2)
    else:
        pytest.fail("oncall did not quit on q")
    reader = SessionStore.open(store, read_only=True)
    try:
        (session,) = reader.sessions()
        assert session.step_state(0) == "done"
        assert session.steps[0].who == "carol@test"
    finally:
        reader.close()


def test_keys_typed_while_it_starts_move_in_the_alerts_and_filter_nothing(tmux, tmp_path):
    """An SRE pressing j as the dashboard comes up: the hidden filter box once had the focus for a moment, and
    took the key as a filter that hid every alert ("0 of 4 shown")."""
    run = tmux
    config = tmp_path / "oncall.toml"
    config.write_text("")
    command = f"{sys.executable} -m tui --demo --store {tmp_path / 'demo.db'} --config {config}"
    run("new-session", "-d", "-s", "t", "-x", "160", "-y", "48", "-c", str(Path.cwd()), command)
    deadline = time.monotonic() + 40
    while "FIRING" not in run("capture-pane", "-p", "-t", "t") and time.monotonic() < deadline:
        run("send-keys", "-t", "t", "j")
        time.sleep(0.03)
    screen = _wait_screen(run, "HighDatabaseConnections")
    time.sleep(0.5)  # what the keys did has been drawn
    screen = run("capture-pane", "-p", "-t", "t")
    assert "filter" not in screen and "shown" not in screen, screen
    for name in ("HighDatabaseConnections", "HighApiLatency", "SlowRedisOperations", "TargetDown"):
        assert name in screen, screen

    # the runbook browser had the same hidden box first: b, then j at once, listed "0 of 12 sections"
    run("send-keys", "-t", "t", "b")
    for _ in range(8):
        run("send-keys", "-t", "t", "j")
        time.sleep(0.02)
    screen = _wait_screen(run, "Runbook ·")
    time.sleep(0.5)
    screen = run("capture-pane", "-p", "-t", "t")
    assert re.search(r"Runbook · \d+ sections", screen), screen  # not "0 of 12 sections"
