"""A loopback TCP proxy in front of one real server, whose fault is switched at run time, and a resolver
switch for DNS failures: the faults an SRE's sources really have, made on demand for the tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# "pass" forwards; "refuse": nothing listens; "hang": accept, never answer; "reset": accept, then RST;
# "reply": answer every request with the given bytes (a 403, a 503, HTML, garbage), then close.
MODES = ("pass", "refuse", "hang", "reset", "reply")
_REQUEST_LINE = re.compile(rb"^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) \S+ HTTP/1\.[01]\r\n", re.M)
IDLE_GAP = 0.2  # seconds of client silence after which a raw (non-HTTP) burst counts as a new request


def http_reply(status: int, body: bytes, content_type: str = "application/json", reason: str = "") -> bytes:
    """A whole HTTP/1.1 response that closes the connection."""
    head = (
        f"HTTP/1.1 {status} {reason or _REASONS.get(status, 'Status')}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


_REASONS = {
    200: "OK",
    401: "Unauthorized",
    403: "Forbidden",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def kube_status(code: int, reason: str, message: str) -> bytes:
    """The Status body a real API server sends with an error code."""
    return (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        + f'"message":"{message}","reason":"{reason}","code":{code}}}'.encode()
    )


def pg_error(sqlstate: str, message: str, severity: str = "FATAL") -> bytes:
    """A PostgreSQL ErrorResponse message, as the server sends it instead of an authentication request."""
    fields = b"".join(
        tag + value.encode() + b"\0"
        for tag, value in ((b"S", severity), (b"V", severity), (b"C", sqlstate), (b"M", message))
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!I", len(body) + 4) + body


@dataclass
class Counter:
    """What reached the proxy: connections accepted, and requests (HTTP request lines, or raw bursts)."""

    connections: int = 0
    requests: int = 0


class FaultProxy:
    """127.0.0.1:`port` → upstream; `set_mode` switches the fault and cuts every open connection, as a
    load balancer failing over does, so the fault meets the client's next request at once."""

    def __init__(self, upstream_port: int, *, http: bool, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.http = http
        self.port = 0
        self.mode = "pass"
        self.reply: bytes | list[bytes] = b""
        self.counter = Counter()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> FaultProxy:
        await self._listen()
        return self

    async def stop(self) -> None:
        await self._close_listener()
        self.cut()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def set_mode(self, mode: str, reply: bytes | list[bytes] = b"", *, cut: bool = True) -> None:
        """Switch the fault. Entering one cuts every open connection (with `cut=False`, open connections
        stay open and stop forwarding: a frozen server); ending one leaves the connections it hung
        hanging, as a dead server's sockets do, so a client that waits on them too long shows.

        For a binary protocol, `reply` may be a list: one answer per message the client sends (PostgreSQL's
        SSLRequest gets b"N", then its startup message the error)."""
        assert mode in MODES, mode
        self.mode, self.reply = mode, reply
        if mode != "pass" and cut:
            self.cut()
        if mode == "refuse":
            await self._close_listener()
        elif self._server is None:
            await self._listen()

    def count(self) -> int:
        return self.counter.requests

    # --- the listener ----------------------------------------------------------------------------

    async def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        self._server = await asyncio.start_server(self._accepted, sock=sock)

    async def _close_listener(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)

    def cut(self) -> None:
        """Reset every open connection, as a server process dying does."""
        for writer in list(self._writers):
            _reset(writer)
        self._writers.clear()

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.counter.connections += 1
        try:
            if self.mode == "reset":
                self.counter.requests += 1
                _reset(writer)
            elif self.mode == "hang":
                self.counter.requests += 1
                while await reader.read(65536):  # read and drop: the client waits for an answer forever
                    pass
            elif self.mode == "reply":
                await self._answer(reader, writer)
            else:
                await self._forward(reader, writer)
        except (ConnectionError, OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client or the test went away: nothing to forward any more
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.http:
            # one answer per request: read the head (a GET has no body), answer, close
            await reader.readuntil(b"\r\n\r\n")
            self.counter.requests += 1
            writer.write(self.reply if isinstance(self.reply, bytes) else b"".join(self.reply))
            await writer.drain()
            return
        self.counter.requests += 1
        # binary protocols: answer as soon as the client speaks (PostgreSQL's startup, Redis's AUTH)
        answers = [self.reply] if isinstance(self.reply, bytes) else list(self.reply)
        for answer in answers:
            if not await reader.read(65536):
                return
            writer.write(answer)
            await writer.drain()
        await asyncio.sleep(0.05)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        self._writers.add(up_writer)
        if not self.http:
            self.counter.requests += 1  # a new connection is a new request

        async def client_to_server() -> None:
            last = time.monotonic()
            while data := await reader.read(65536):
                now = time.monotonic()
                if self.http:
                    self.counter.requests += len(_REQUEST_LINE.findall(data))
                elif now - last > IDLE_GAP:
                    self.counter.requests += 1
                last = now
                if self.mode == "pass":  # a frozen server reads and never answers
                    up_writer.write(data)
                    await up_writer.drain()
            with contextlib.suppress(Exception):
                up_writer.write_eof()

        async def server_to_client() -> None:
            while data := await up_reader.read(65536):
                if self.mode == "pass":
                    writer.write(data)
                    await writer.drain()
            with contextlib.suppress(Exception):
                writer.write_eof()

        try:
            await asyncio.gather(client_to_server(), server_to_client())
        finally:
            self._writers.discard(up_writer)
            with contextlib.suppress(Exception):
                up_writer.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST (SO_LINGER 0), as a crashed server's kernel does."""
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(Exception):
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(Exception):
        writer.transport.abort()


class FaultResolver:
    """Hostnames under `.fault.test` resolve to 127.0.0.1, unless failed: then the system resolver is asked
    for `nonexistent.invalid`, so the error every client sees is the resolver's own."""

    SUFFIX = ".fault.test"

    def __init__(self) -> None:
        self.failing: set[str] = set()
        self._real = socket.getaddrinfo
        self.lookups: dict[str, int] = {}

    def name(self, label: str) -> str:
        return f"{label}{self.SUFFIX}"

    def getaddrinfo(self, host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        name = host.decode() if isinstance(host, bytes) else host
        if isinstance(name, str) and name.endswith(self.SUFFIX):
            self.lookups[name] = self.lookups.get(name, 0) + 1
            if name in self.failing:
                return self._real("nonexistent.invalid", port, *args, **kwargs)
            return self._real("127.0.0.1", port, *args, **kwargs)
        return self._real(host, port, *args, **kwargs)

    @contextlib.contextmanager
    def installed(self) -> Iterator[FaultResolver]:
        socket.getaddrinfo = self.getaddrinfo  # type: ignore[assignment]
        try:
            yield self
        finally:
            socket.getaddrinfo = self._real  # type: ignore[assignment]


def kubeconfig_for(path: Path, server: str, token: str) -> Path:
    """A kubeconfig (0600) whose one context reaches `server` with a bearer token, in namespace production."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": token}}],
        "contexts": [{"name": "fault", "context": {"cluster": "c", "user": "u", "namespace": "production"}}],
        "current-context": "fault",
    }
    path.write_text(json.dumps(config))
    path.chmod(0o600)
    return path
