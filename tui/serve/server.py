"""The web server of `oncall serve`: the page (textual-serve's terminal in a browser) and its websocket, each
websocket driving its own `oncall --observe` process (textual-serve's AppService). Every request passes the
guard first: with a token, the token (query, then an HttpOnly SameSite=Strict cookie, or a Bearer header);
without one, only a loopback Host (no DNS rebinding), and a websocket only from this server's own page."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import os
import shlex
import signal
import sys
from asyncio.subprocess import Process
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import textual_serve
from aiohttp import WSCloseCode, WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

from tui.serve.access import cookie_for, host_name, is_loopback, same_secret

STATIC = Path(textual_serve.__file__).resolve().parent / "static"
COOKIE = "oncall_observer"
MAX_BROWSERS = 16  # each runs an observer process: a cap, so a page left reloading can't exhaust the host
QUIT_WAIT = 5.0  # seconds an observer gets to quit when its browser leaves, before it is killed

NEEDS_TOKEN = (
    "oncall serve: this page needs its token. Open the URL `oncall serve` printed (.../?token=...), "
    "or send Authorization: Bearer TOKEN.\n"
)
LOOPBACK_ONLY = "oncall serve: this server has no token, so it answers only on 127.0.0.1 and localhost.\n"
OTHER_SITE = "oncall serve: a page from another site can't open the observer.\n"
HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}

Announce = Callable[[int], list[str]]


def serve(command: Sequence[str], *, host: str, port: int, token: str | None, announce: Announce) -> int:
    """Serve until Ctrl-C (or SIGTERM): 0 then, 1 when the address can't be bound."""
    server = ObserverServer(command, token=token)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(server.run(host, port, announce))
    return 0


class ObserverServer:
    """One command (the observer), served to every browser that passes the guard."""

    def __init__(self, command: Sequence[str], *, token: str | None) -> None:
        self.command = tuple(command)
        self.token = token
        self.cookie = cookie_for(token) if token is not None else None
        self.sockets: set[web.WebSocketResponse] = set()
        self.downloads = DownloadManager()

    def app(self) -> web.Application:
        @web.middleware
        async def guard(
            request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            refusal = self.refusal(request)
            if refusal is not None:
                return refusal
            return await handler(request)

        app = web.Application(middlewares=[guard])
        app.router.add_get("/", self.index)
        app.router.add_get("/ws", self.websocket)
        app.router.add_get("/download/{key}", self.download)
        app.router.add_static("/static", STATIC)
        app.on_response_prepare.append(_headers)
        app.on_shutdown.append(self._close_all)
        return app

    async def run(self, host: str, port: int, announce: Announce) -> int:
        runner = web.AppRunner(
            self.app(), handle_signals=False, access_log=None, shutdown_timeout=QUIT_WAIT * 2
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            try:
                await site.start()
            except OSError as error:
                code = error.errno or 0
                reason = os.strerror(code) if code > 0 else (error.strerror or str(error))
                print(f"oncall: can't listen on {host}:{port}: {reason}", file=sys.stderr)
                return 1
            bound = runner.addresses[0][1] if runner.addresses else port
            print("\n".join(announce(int(bound))), flush=True)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            await stop.wait()
            print(f"oncall serve: stopping ({len(self.sockets)} browser(s) watching)", flush=True)
        finally:
            await runner.cleanup()  # closes every websocket (on_shutdown); each observer then quits
        return 0

    # -- the guard -----------------------------------------------------------------------------------

    def refusal(self, request: web.Request) -> web.Response | None:
        """None when the request may pass, else the response refusing it (a short plain-text reason)."""
        if self.token is None:
            if not is_loopback(host_name(request.host)):
                return _plain(403, LOOPBACK_ONLY)
            return None
        if self.admitted_by_query(request) or same_secret(request.cookies.get(COOKIE), self.cookie or ""):
            return None
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and same_secret(credentials.strip(), self.token):
            return None
        response = _plain(401, NEEDS_TOKEN)
        response.headers["WWW-Authenticate"] = 'Bearer realm="oncall observer"'
        return response

    def admitted_by_query(self, request: web.Request) -> bool:
        return self.token is not None and same_secret(request.query.get("token"), self.token)

    # -- the page and its websocket ------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.Response:
        scheme = "wss" if request.secure else "ws"
        font_size = _int(request.query.get("fontsize"), 16, 6, 48)
        body = (
            PAGE.replace("@STATIC@", "/static/")
            .replace("@WS@", html.escape(f"{scheme}://{request.host}/ws"))
            .replace("@FONT@", str(font_size))
        )
        response = web.Response(text=body, content_type="text/html")
        response.headers["Cache-Control"] = "no-store"
        if self.admitted_by_query(request) and self.cookie is not None:
            # the page's own requests (script, websocket) then carry the cookie, never the token
            response.set_cookie(COOKIE, self.cookie, httponly=True, samesite="Strict", path="/")
        return response

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc.lower() != request.host.lower():
            return _plain(403, OTHER_SITE)  # no other site's page may read the incident through a browser
        if len(self.sockets) >= MAX_BROWSERS:
            return _plain(503, f"oncall serve: {MAX_BROWSERS} browsers are watching already; try later.\n")
        socket = web.WebSocketResponse(heartbeat=15)
        await socket.prepare(request)
        self.sockets.add(socket)
        service = ObserverProcess(
            self.command,
            write_bytes=socket.send_bytes,
            write_str=socket.send_str,
            close=lambda: _close(socket),
            download_manager=self.downloads,
        )
        try:
            width = _int(request.query.get("width"), 80, 20, 500)
            height = _int(request.query.get("height"), 24, 5, 200)
            await service.start(width, height)
            await _relay(socket, service)
        finally:
            self.sockets.discard(socket)
            await _stop(service)
        return socket

    async def download(self, request: web.Request) -> web.StreamResponse:
        """A file the observer hands to its browser (Textual's deliver_text/deliver_binary), streamed once."""
        key = request.match_info["key"]
        try:
            meta = await self.downloads.get_download_metadata(key)
        except KeyError:
            return _plain(404, "oncall serve: no such download (it may have been fetched already).\n")
        content_type = meta.mime_type + (f"; charset={meta.encoding}" if meta.encoding else "")
        disposition = "inline" if meta.open_method == "browser" else "attachment"
        name = (
            "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(meta.file_name).name) or "download"
        )
        response = web.StreamResponse(
            headers={
                "Content-Type": content_type,
                "Content-Disposition": f'{disposition}; filename="{name}"',
                "Cache-Control": "no-store",
            }
        )
        await response.prepare(request)
        async for chunk in self.downloads.download(key):
            await response.write(chunk)
        await response.write_eof()
        return response

    async def _close_all(self, app: web.Application) -> None:
        for socket in list(self.sockets):
            await socket.close(code=WSCloseCode.GOING_AWAY, message=b"oncall serve stopped")


class ObserverProcess(AppService):
    """textual-serve's AppService, but its command run without a shell (a shell's child would outlive a kill)
    and in a session of its own: the terminal's Ctrl-C reaches `oncall serve`, which closes each observer."""

    def __init__(self, argv: Sequence[str], **kwargs: Any) -> None:
        super().__init__(shlex.join(argv), **kwargs)
        self.argv = tuple(argv)

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Process:
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width=width, height=height),
            start_new_session=True,
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process


async def _relay(socket: web.WebSocketResponse, service: AppService) -> None:
    """The browser's keys, size, focus and pings, to the observer (which has no key that changes anything)."""
    async for message in socket:
        if message.type != WSMsgType.TEXT:
            continue
        try:
            envelope = json.loads(message.data)
        except ValueError:
            continue
        if not isinstance(envelope, list) or not envelope:
            continue
        kind, data = envelope[0], envelope[1] if len(envelope) > 1 else None
        if kind == "stdin" and isinstance(data, str):
            await service.send_bytes(data.encode("utf-8", "replace"))
        elif kind == "resize" and isinstance(data, dict):
            width = _int(str(data.get("width")), 80, 20, 500)
            height = _int(str(data.get("height")), 24, 5, 200)
            await service.set_terminal_size(width, height)
        elif kind == "ping" and isinstance(data, str):
            await socket.send_json(["pong", data[:32]])
        elif kind == "blur":
            await service.blur()
        elif kind == "focus":
            await service.focus()


async def _stop(service: AppService) -> None:
    """Ask the observer to quit; kill it (and anything it started) if it hasn't within QUIT_WAIT seconds, or
    if the server is shutting down too fast to wait."""
    process = service._process
    try:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(service.stop(), QUIT_WAIT)
        if process is not None and process.returncode is None:
            _kill(process)
            await asyncio.wait_for(process.wait(), QUIT_WAIT)
    finally:
        if process is not None:
            if process.returncode is None:
                _kill(process)
            # closed here, even when shutdown cancelled the wait: not left to the garbage collector, which
            # would close it after the event loop is gone
            transport = getattr(process, "_transport", None)
            if transport is not None:
                transport.close()


def _kill(process: Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # its own session: the observer and any child of it


async def _close(socket: web.WebSocketResponse) -> None:
    await socket.close()


async def _headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)


def _plain(status: int, text: str) -> web.Response:
    return web.Response(
        status=status, text=text, content_type="text/plain", headers={"Cache-Control": "no-store"}
    )


def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        number = int(value or "")
    except ValueError:
        return default
    return min(max(number, low), high)


# textual-serve's page, made the observer's: no third-party font (nobody else learns who watches an incident,
# and the URL may carry the token), no referrer, and the token taken out of the address bar once used.
PAGE = """<!DOCTYPE html>
<html>
  <head>
    <meta charset="utf-8" />
    <meta name="referrer" content="no-referrer" />
    <title>oncall observer</title>
    <link rel="stylesheet" href="@STATIC@css/xterm.css" />
    <script src="@STATIC@js/textual.js"></script>
    <style>
      @font-face {
        font-family: "Roboto Mono";
        src: url("@STATIC@fonts/RobotoMono-VariableFont_wght.ttf");
      }
      body {
        background: #0c181f;
      }

      .dialog-container {
        position: absolute;
        width: 100vw;
        height: 100vh;
        display: flex;
        align-items: center;
        justify-content: center;
        z-index: 10;
        box-shadow: var(--shadow-elevation-high);
      }
      .shade {
        position: absolute;
        width: 100%;
        height: 100%;
        background: #0c181f;
        background-image: url("@STATIC@images/background.png");
      }
      .intro {
        width: 640px;
        height: 240px;
        font-size: 16px;
        z-index: 20;
        font-family: "Roboto Mono", menlo, monospace;
        text-align: center;
        opacity: 1;
        color: rgba(255, 255, 255, 0.95);
        background-color: #12232d;
        display: flex;
        align-items: center;
        justify-content: center;
        margin: 32px;
      }

      body.-first-byte .intro-dialog,
      body.-first-byte .intro-dialog .shade {
        opacity: 0;
        transition: opacity 0.3s ease-out;
        display: none;
      }

      body .textual-terminal {
        opacity: 0;
        transition: opacity 0.3s ease-out;
      }

      body.-first-byte .textual-terminal {
        opacity: 1;
        transition: opacity 0.3s ease-out;
      }

      .intro svg {
        padding-right: 16px;
      }

      body Button {
        padding: 16px 32px;
        background-color: #5e0ba7;
        color: rgba(255, 255, 255, 0.95);
        border: none;
        font-family: "Roboto Mono", menlo, monospace;
        margin: 16px;
        display: block;
      }

      Button:hover {
        background: #ac5af4;
        cursor: pointer;
      }

      .closed-dialog {
        opacity: 0;
        display: none;
      }

      body.-closed .closed-dialog {
        opacity: 1;
        display: flex;
      }

      #start {
        display: none;
      }

      #start.-delay {
        display: flex;
      }
    </style>
    <script>
      // the token has done its work (a cookie now): keep it out of the address bar and the history
      if (new URLSearchParams(window.location.search).has("token")) {
        const clean = new URL(window.location.href);
        clean.searchParams.delete("token");
        history.replaceState(null, "", clean.pathname + clean.search);
      }
      function getStartUrl() {
        const url = new URL(window.location.href);
        const params = new URLSearchParams(url.search);
        params.delete("delay");
        return url.pathname + "?" + params.toString();
      }
      async function refresh() {
        const ping_url = document.body.dataset.pingurl;
        if (ping_url) {
          await fetch(ping_url, {
            method: "GET",
            mode: "no-cors",
          });
        }
        window.location.href = getStartUrl();
      }
    </script>
  </head>
  <body>
    <div class="dialog-container intro-dialog">
      <div class="shade"></div>
      <div class="intro">

        <div>oncall observer (read-only)</div>
        <button type="button" onClick="refresh()" id="start">Start</button>
      </div>
    </div>

    <div class="dialog-container closed-dialog">
      <div class="shade"></div>
      <div class="intro">
        <div class="message">Session ended.</div>
        <button type="button" onClick="refresh()">Restart</button>
      </div>
    </div>

    <div
      id="terminal"
      class="textual-terminal"
      data-session-websocket-url="@WS@"
      data-font-size="@FONT@"
    ></div>
  </body>
</html>
"""
