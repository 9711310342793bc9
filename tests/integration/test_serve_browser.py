"""`oncall serve` in a real headless Chromium (Debian's, driven by Playwright): the page follows the session a
real terminal driver (`oncall --demo` in tmux) works on, within a second; the browser's keys change nothing;
off loopback, a request without the token is refused.

ONCALL_DOCS_SCREENSHOT=1 saves the followed checklist as docs/observer-browser.png."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.helpers import REPO, oncall
from tests.labs import stop_process
from tests.labs.chromium import chromium, expose_terminal, terminal_text, wait_for_text
from tui.sessions.store import SessionStore

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

pytestmark = pytest.mark.integration

TOKEN = "t0ken-for-the-browser-test-" + uuid.uuid4().hex[:8]
FOLLOW_WITHIN = 1.0  # seconds from the driver's key to the page showing the tick


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    for name in ("PROMETHEUS_URL", "ONCALL_STORE", "ONCALL_PROFILE", "COLUMNS", "LINES"):
        env.pop(name, None)
    return env | {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
        "TERM": "xterm-256color",
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserContext]:
    """One headless chromium for the module (it takes seconds to start); each test opens its own page."""
    with chromium() as context:
        yield context


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "oncall.toml").write_text("")  # keep the user's own config out of the test
    return tmp_path


@pytest.fixture
def driver(home: Path) -> Iterator[Callable[..., str]]:
    """The real `oncall --demo` starting in a tmux terminal: `driver(*tmux_args)` runs tmux on it."""
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is missing: .ci/run installs it")
        pytest.skip("tmux is not installed")
    socket = f"oncall-serve-{uuid.uuid4().hex[:8]}"
    env = _env(home)

    def tmux(*args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", socket, *args], env=env, check=True, capture_output=True, text=True
        ).stdout

    command = (
        f"{sys.executable} -m tui --demo --store {home / 'sessions.db'} --user carol@test "
        f"--config {home / 'oncall.toml'}"
    )
    tmux("new-session", "-d", "-s", "t", "-x", "160", "-y", "48", "-c", str(REPO), command)
    try:
        yield tmux
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], env=env, capture_output=True)


@contextmanager
def serving(home: Path, *extra: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`oncall serve` on a port the OS picks, on the driver's store; its process and the URL it printed."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui",
            "serve",
            "--demo",
            "--store",
            str(home / "sessions.db"),
            "--config",
            str(home / "oncall.toml"),
            "--port",
            "0",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(home),
        cwd=home,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"http://\S+", first)
        errors = process.stderr.read() if process.stderr and not match else ""
        assert match, f"oncall serve printed no URL: {first!r} {errors}"
        yield process, match.group(0)
    finally:
        stop_process(process)  # type: ignore[arg-type]


def _wait(read: Callable[[], str], needle: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = read()
        if needle in text:
            return text
        time.sleep(0.05)
    pytest.fail(f"{needle!r} never appeared within {timeout}s; last screen:\n{text}")


def _store_state(path: Path) -> tuple[list[tuple[int, list[str], int]], int]:
    """Every session's steps' states (steps 1-3), notes, and the store's timeline entries in all."""
    store = SessionStore.open(path, read_only=True)
    try:
        sessions = store.sessions()
        states = [(s.id, [str(s.step_state(i)) for i in range(3)], len(s.notes)) for s in sessions]
        return states, sum(len(store.timeline(s.id)) for s in sessions)
    finally:
        store.close()


@contextmanager
def _commits(path: Path) -> Iterator[Callable[[float], float]]:
    """`committed(timeout)`: waits for the store's next commit by another process (PRAGMA data_version, read
    every 5 ms on a connection of the test's own) and returns when it saw it (time.monotonic)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    def version() -> int:
        return int(connection.execute("PRAGMA data_version").fetchone()[0])

    last = version()

    def committed(timeout: float) -> float:
        nonlocal last
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (now := version()) != last:
                last = now
                return time.monotonic()
            time.sleep(0.005)
        pytest.fail(f"the driver stored nothing within {timeout}s")

    try:
        yield committed
    finally:
        connection.close()


def _follow(
    driver: Callable[..., str], page: Page, committed: Callable[[float], float], shown: list[str]
) -> list[float]:
    """Space in the driver's terminal once per text in `shown`; for each, the seconds from the store's commit
    to the page showing that text (and the whole way from the key, printed)."""
    from_commit, from_key = [], []
    for text in shown:
        pressed = time.monotonic()
        driver("send-keys", "-t", "t", "Space")
        stored = committed(10)
        wait_for_text(page, text, 10)
        from_commit.append(time.monotonic() - stored)
        from_key.append(time.monotonic() - pressed)
        time.sleep(0.3)
    print(f"  (from the driver's key in tmux: {_ms(from_key)})")
    return from_commit


def _ms(latencies: list[float]) -> str:
    return ", ".join(f"{latency * 1000:.0f} ms" for latency in latencies)


def _observer_children(server: subprocess.Popen[str]) -> list[int]:
    """The observer processes `oncall serve` runs for its browsers (its children, and theirs)."""
    found: list[int] = []
    todo = [server.pid]
    while todo:
        pid = todo.pop()
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        found += [int(c) for c in children]
        todo += [int(c) for c in children]
    return found


def test_the_page_follows_the_terminal_driver_and_its_keys_change_nothing(driver, home, browser):
    store = home / "sessions.db"
    with serving(home) as (server, url):
        assert url.startswith("http://127.0.0.1:")
        page = browser.new_page()
        expose_terminal(page)
        page.goto(url)  # the browser's observer starts while the driver does: nothing to follow yet
        # (a) the driver opens its first checklist and ticks step 1: the page lands on that session
        _wait(lambda: driver("capture-pane", "-p", "-t", "t"), "Check current connections", 40)
        driver("send-keys", "-t", "t", "Enter")
        _wait(lambda: driver("capture-pane", "-p", "-t", "t"), "No session yet", 20)
        driver("send-keys", "-t", "t", "Space")
        _wait(lambda: driver("capture-pane", "-p", "-t", "t"), "Session #1", 20)
        wait_for_text(page, "1/3 done", 40)
        screen = terminal_text(page)
        assert "OBSERVER" in screen and "Check current connections" in screen, screen

        # (b) the terminal driver ticks step 2, unticks it, and so on: the page shows each change within 1 s
        # of its reaching the store: the median of 6, after one change to warm up (the first change an
        # observer shows is slower, in a terminal too); a machine busy with other work gets a second series
        driver("send-keys", "-t", "t", "j")
        time.sleep(0.5)  # the driver's cursor on step 2
        with _commits(store) as committed:
            warm_up = _follow(driver, page, committed, ["2/3 done"])
            print(f"\nwarm-up: the driver's tick stored -> shown in the browser: {_ms(warm_up)}")
            for series in (1, 2):
                shown = ["1/3 done", "2/3 done"] * 3
                latencies = _follow(driver, page, committed, shown)
                median = sum(sorted(latencies)[2:4]) / 2
                print(f"series {series}: stored -> shown in the browser: {_ms(latencies)}")
                print(f"  median {median * 1000:.0f} ms")
                if median < FOLLOW_WITHIN:
                    break
        assert median < FOLLOW_WITHIN, f"the page took {_ms(latencies)} to show the driver's ticks"
        assert "2/3 done" in _wait(lambda: driver("capture-pane", "-p", "-t", "t"), "2/3 done", 5)

        if os.environ.get("ONCALL_DOCS_SCREENSHOT") == "1":
            time.sleep(0.5)  # the last frame drawn on the canvas
            page.screenshot(path=str(REPO / "docs" / "observer-browser.png"))

        # (c) the driver's keys, typed into the browser, change nothing
        before = _store_state(store)
        assert before[0][0][1][:2] == ["done", "done"], before
        page.locator(".xterm-screen").click()
        page.keyboard.press("h")  # the keys reach the observer: it opens the step's history, read-only
        wait_for_text(page, "every change", 10)
        page.keyboard.press("Escape")
        for key in ("Space", "s", "n", "x", "Enter", "k", "Space", "s", "n"):
            page.keyboard.press(key)
        page.keyboard.type("tick it anyway\n")  # a note, were there a note box (no e: that exports a file)
        time.sleep(1.0)  # an observer that wrote would have by now (the driver sees a change within 250 ms)
        assert _store_state(store) == before
        assert "tick it anyway" not in driver("capture-pane", "-p", "-t", "t")

        # Ctrl-C stops the server cleanly, and the observer it ran for the browser goes with it
        observers = _observer_children(server)
        assert observers, "no observer process was running for the browser"
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=15) == 0
        leftover = [pid for pid in observers if Path(f"/proc/{pid}").exists()]
        assert not leftover, f"observer processes outlived oncall serve: {leftover}"


def test_off_loopback_a_request_without_the_token_is_refused(home, browser):
    browser.clear_cookies()
    with serving(home, "--host", "0.0.0.0", "--token", TOKEN) as (_, url):
        assert f"?token={TOKEN}" in url  # typed on the command line, so shown: the URL to hand out
        port = url.split("/")[2].rsplit(":", 1)[1]
        local = f"http://127.0.0.1:{port}/"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        for path in ("", "ws", "static/js/textual.js"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                opener.open(local + path, timeout=5)
            assert refused.value.code == 401
            assert b"needs its token" in refused.value.read()
        wrong = urllib.request.Request(local, headers={"Authorization": "Bearer not-the-token-at-all"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            opener.open(wrong, timeout=5)
        assert refused.value.code == 401
        right = urllib.request.Request(local, headers={"Authorization": f"Bearer {TOKEN}"})
        with opener.open(right, timeout=5) as response:
            assert response.status == 200

        page = browser.new_page()
        response = page.goto(local)
        assert response is not None and response.status == 401
        assert "this page needs its token" in page.inner_text("body")

        expose_terminal(page)
        response = page.goto(f"{local}?token={TOKEN}")
        assert response is not None and response.status == 200
        wait_for_text(page, "OBSERVER", 40)  # the websocket got in with the cookie: the observer runs
        wait_for_text(page, "Nothing to follow yet", 10)  # no driver has started a session in this store
        assert "token" not in page.url  # taken out of the address bar once used
        cookie = next(c for c in browser.cookies() if c["name"] == "oncall_observer")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert TOKEN not in cookie["value"]


def test_another_address_without_a_token_refuses_to_start(home):
    env = _env(home)
    config = str(home / "oncall.toml")
    result = oncall("serve", "--host", "0.0.0.0", "--port", "0", "--config", config, env=env, timeout=30)
    assert result.returncode == 2
    assert "--host 0.0.0.0 lets other machines in: give --token TOKEN or --token-file FILE" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""

    token_file = home / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o644)
    result = oncall(
        "serve", "--host", "0.0.0.0", "--token-file", str(token_file), "--config", config, env=env
    )
    assert result.returncode == 2
    assert f"chmod 600 {token_file}" in result.stderr
