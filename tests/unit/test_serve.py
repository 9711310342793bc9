"""`oncall serve`: the command each browser gets (always the observer), who may start it where, and the guard
every request passes (the token, its cookie, loopback only without one). The browser itself:
tests/integration/test_serve_browser.py."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import WSServerHandshakeError
from aiohttp.test_utils import TestClient, TestServer

from tui.cli.args import build_parser
from tui.cli.serve import ServeError, announce, serve_plan
from tui.serve import server as served
from tui.serve.access import cookie_for, is_loopback, same_secret
from tui.serve.server import COOKIE, ObserverServer

TOKEN = "a-token-long-enough-0123456789"


def plan(*argv: str):
    return serve_plan(build_parser().parse_args(["serve", *argv]))


# -- the command each browser gets --


def test_every_browser_gets_the_observer_of_the_latest_session_by_default():
    assert plan().command == (sys.executable, "-m", "tui", "--observe")
    assert plan("--session", "7").command[-2:] == ("--observe", "7")


def test_the_options_serve_got_reach_the_observer_with_paths_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    command = plan(
        "--demo",
        "--config",
        "team.toml",
        "--profile",
        "prod",
        "--store",
        "sessions.db",
        "--runbook",
        "RUNBOOK.md",
        "--user",
        "ic@bastion",
        "--prometheus-url",
        "http://prom:9090",
    ).command
    assert command[:4] == (sys.executable, "-m", "tui", "--demo")
    options = dict(zip(command[4:-1:2], command[5:-1:2], strict=True))
    assert options == {
        "--config": str(tmp_path / "team.toml"),
        "--profile": "prod",
        "--store": str(tmp_path / "sessions.db"),
        "--runbook": str(tmp_path / "RUNBOOK.md"),
        "--user": "ic@bastion",
        "--prometheus-url": "http://prom:9090",
    }
    assert command[-1] == "--observe"
    url = plan("--store", "postgresql://observer@db/oncall").command
    assert url[url.index("--store") + 1] == "postgresql://observer@db/oncall"  # a URL is no path


@pytest.mark.parametrize("session", ["abc", "-1", "1; rm -rf /", ""])
def test_a_session_that_is_no_number_is_refused(session):
    with pytest.raises(ServeError, match="--session takes a session number"):
        plan("--session", session)


# -- where, and with which token --


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_loopback_needs_no_token(host):
    assert plan("--host", host).token is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "bastion.example.com"])
def test_any_other_address_needs_a_token(host):
    with pytest.raises(ServeError, match=f"--host {host} lets other machines in: give --token TOKEN or"):
        plan("--host", host)
    assert plan("--host", host, "--token", TOKEN).token == TOKEN


def test_a_short_token_or_two_tokens_are_refused(tmp_path):
    with pytest.raises(ServeError, match="--token is too short: use 16 characters or more"):
        plan("--host", "0.0.0.0", "--token", "hunter2")
    with pytest.raises(ServeError, match="--token or --token-file, not both"):
        plan("--token", TOKEN, "--token-file", str(tmp_path / "t"))


def test_a_token_file_must_exist_hold_a_token_and_be_private(tmp_path):
    path = tmp_path / "token"
    with pytest.raises(ServeError, match=f"--token-file {path}: no such file"):
        plan("--host", "0.0.0.0", "--token-file", str(path))
    path.write_text("\n\n")
    path.chmod(0o600)
    with pytest.raises(ServeError, match="is empty: write the token on its first line"):
        plan("--host", "0.0.0.0", "--token-file", str(path))
    path.write_text(f"{TOKEN}\n")
    path.chmod(0o644)
    with pytest.raises(ServeError, match=f"every user of this machine: chmod 600 {path}"):
        plan("--host", "0.0.0.0", "--token-file", str(path))
    path.chmod(0o600)
    from_file = plan("--host", "0.0.0.0", "--token-file", str(path))
    assert from_file.token == TOKEN and not from_file.token_shown


def test_the_printed_url_shows_a_typed_token_but_never_one_from_a_file(tmp_path):
    typed = "\n".join(announce(plan("--host", "127.0.0.1", "--token", TOKEN), 8765))
    assert f"http://127.0.0.1:8765/?token={TOKEN}" in typed
    path = tmp_path / "token"
    path.write_text(TOKEN)
    path.chmod(0o600)
    filed = "\n".join(announce(plan("--host", "0.0.0.0", "--token-file", str(path)), 8765))
    assert TOKEN not in filed and "?token=<the token in your --token-file>" in filed
    assert "http://127.0.0.1:8765/ (" not in "\n".join(announce(plan(), 8765))
    assert "only this machine can connect" in "\n".join(announce(plan(), 8765))


def test_loopback_and_secrets():
    assert is_loopback("127.0.0.1") and is_loopback("[::1]") and is_loopback("LOCALHOST")
    assert not is_loopback("0.0.0.0") and not is_loopback("localhost.evil.example")
    assert same_secret(TOKEN, TOKEN) and not same_secret(TOKEN[:-1], TOKEN) and not same_secret(None, TOKEN)
    assert TOKEN not in cookie_for(TOKEN) and cookie_for(TOKEN) != cookie_for(TOKEN + "x")


# -- the guard, on a real server (aiohttp's test server; no browser) --


async def _client(token: str | None, command: tuple[str, ...] = ("false",)) -> TestClient:
    client = TestClient(TestServer(ObserverServer(command, token=token).app()))
    await client.start_server()
    return client


@pytest.fixture
async def open_server() -> AsyncIterator[TestClient]:
    client = await _client(None)
    yield client
    await client.close()


@pytest.fixture
async def token_server() -> AsyncIterator[TestClient]:
    client = await _client(TOKEN)
    yield client
    await client.close()


async def test_without_a_token_the_page_is_served_to_loopback_only(open_server):
    page = await open_server.get("/")
    assert page.status == 200
    body = await page.text()
    assert f'data-session-websocket-url="ws://{page.url.host}:{page.url.port}/ws"' in body
    assert "fonts.googleapis.com" not in body and 'content="no-referrer"' in body
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Referrer-Policy"] == "no-referrer"
    assert (await open_server.get("/static/js/textual.js")).status == 200
    # a name that resolves to 127.0.0.1 only for the attacker (DNS rebinding) gets nothing
    rebound = await open_server.get("/", headers={"Host": "evil.example:8765"})
    assert rebound.status == 403
    assert "answers only on 127.0.0.1 and localhost" in await rebound.text()


async def test_no_other_site_opens_the_observer_websocket(open_server):
    with pytest.raises(WSServerHandshakeError) as refused:
        await open_server.ws_connect("/ws", headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403


async def test_with_a_token_every_request_must_present_it(token_server):
    for path in ("/", "/ws", "/static/js/textual.js", "/download/x"):
        refused = await token_server.get(path)
        assert refused.status == 401, path
        assert "this page needs its token" in await refused.text()
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await token_server.get("/", params={"token": TOKEN + "x"})).status == 401
    assert (
        await token_server.get("/", headers={"Authorization": "Bearer nope-nope-nope-nope"})
    ).status == 401
    assert (await token_server.get("/", headers={"Authorization": f"Bearer {TOKEN}"})).status == 200


async def test_the_token_buys_an_http_only_strict_cookie_that_is_not_the_token(token_server):
    page = await token_server.get("/", params={"token": TOKEN})
    assert page.status == 200
    cookie = page.cookies[COOKIE]
    assert cookie.value == cookie_for(TOKEN) and TOKEN not in cookie.value
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
    assert page.headers["Cache-Control"] == "no-store"
    # the client keeps the cookie: the page's own requests need no token now
    assert (await token_server.get("/static/js/textual.js")).status == 200
    token_server.session.cookie_jar.clear()
    assert (await token_server.get("/static/js/textual.js")).status == 401


async def test_a_strange_host_header_cannot_write_into_the_page(token_server):
    host = 'x"><script>alert(1)</script>'
    page = await token_server.get("/", headers={"Authorization": f"Bearer {TOKEN}", "Host": host})
    assert page.status == 200
    body = await page.text()
    assert "<script>alert(1)" not in body
    assert 'data-session-websocket-url="ws://x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;/ws"' in body


async def test_an_observer_that_will_not_quit_is_killed_when_its_browser_leaves(monkeypatch, tmp_path):
    """A stuck observer process (here: one that ignores textual-serve's quit) is killed, not left behind."""
    monkeypatch.setattr(served, "QUIT_WAIT", 0.5)
    pid_file = tmp_path / "pid"
    stuck = (
        sys.executable,
        "-c",
        f"import os,time; open({str(pid_file)!r},'w').write(str(os.getpid())); time.sleep(60)",
    )
    client = await _client(None, stuck)
    try:
        socket = await client.ws_connect("/ws")
        deadline = time.monotonic() + 10
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the observer process never started"
            await asyncio.sleep(0.05)
        pid = int(pid_file.read_text())
        await socket.close()
        deadline = time.monotonic() + 5
        while Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid):
            assert time.monotonic() < deadline, "the observer outlived its browser"
            await asyncio.sleep(0.05)
    finally:
        await client.close()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0].lower()
    except (OSError, IndexError):
        return "zombie"


async def test_a_file_the_observer_delivers_is_downloaded_once_through_the_guard(open_server, tmp_path):
    assert (await open_server.get("/download/nope")).status == 404
    app = tmp_path / "deliver.py"
    app.write_text(
        "import io\n"
        "from textual.app import App\n"
        "class Deliver(App):\n"
        "    def on_mount(self):\n"
        "        self.deliver_text(io.StringIO('# timeline'), save_filename='../session 1.md')\n"
        "Deliver().run()\n"
    )
    client = await _client(TOKEN, (sys.executable, str(app)))
    try:
        socket = await client.ws_connect("/ws", headers={"Authorization": f"Bearer {TOKEN}"})
        key = None
        async with asyncio.timeout(30):
            async for message in socket:
                if isinstance(message.data, str) and "deliver_file_start" in message.data:
                    key = json.loads(message.data)[1]
                    break
        assert key
        assert (await client.get(f"/download/{key}")).status == 401  # the token, here too
        got = await client.get(f"/download/{key}", headers={"Authorization": f"Bearer {TOKEN}"})
        assert got.status == 200 and await got.text() == "# timeline"
        assert got.headers["Content-Disposition"] == 'attachment; filename="session_1.md"'
        await socket.close()
    finally:
        await client.close()
