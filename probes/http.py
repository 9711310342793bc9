"""The read-only HTTP plumbing Prometheus and Alertmanager share: one client with the configured credentials
and TLS, one GET bounded in time, and every way it can fail said in plain words."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from probes.base import Secret


class ReadError(Exception):
    """One request failed; the message is plain words for the health record."""

    def __init__(self, message: str, *, forbidden: bool = False) -> None:
        super().__init__(message)
        self.forbidden = forbidden


@dataclass(frozen=True)
class HttpSettings:
    """How a server read over HTTP is reached ([prometheus], [alertmanager]; tui.config fills them)."""

    url: str | None = None  # None: not configured
    token: Secret | None = None  # bearer token
    username: str | None = None  # basic auth
    password: Secret | None = None
    ca_file: Path | None = None
    verify: bool = True
    timeout: float = 5.0  # seconds, per request
    refresh: float = 5.0  # seconds between polls when healthy
    backoff_max: float = 60.0  # seconds: the longest wait between polls while the server is failing


def redact_url(url: str) -> str:
    """The URL without any user:password@ part, for messages and screens."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def secs(seconds: float) -> str:
    return f"{seconds:g}s"


def make_client(
    s: HttpSettings, transport: httpx.AsyncBaseTransport | None, error: type[ReadError]
) -> httpx.AsyncClient:
    """A client that sends only what the probe asks, with a bearer token or basic auth, never follows a
    redirect, and names a CA file it can't use (as `error`)."""
    assert s.url is not None
    parts = urlsplit(s.url)
    headers = {"Accept": "application/json", "User-Agent": "oncall (read-only)"}
    auth: httpx.Auth | None = None
    if s.token is not None:
        headers["Authorization"] = f"Bearer {s.token.reveal()}"
    elif s.username is not None:
        auth = httpx.BasicAuth(s.username, s.password.reveal() if s.password else "")
    elif parts.username is not None:
        auth = httpx.BasicAuth(parts.username, parts.password or "")
    verify: ssl.SSLContext | bool = s.verify
    if s.ca_file is not None and s.verify:
        try:
            verify = ssl.create_default_context(cafile=str(s.ca_file))
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise error(f"cannot use CA file {s.ca_file}: {reason}") from None
    t = s.timeout
    return httpx.AsyncClient(
        # credentials in the URL would end up in logs and messages; they were moved to settings by config
        base_url=redact_url(s.url),
        headers=headers,
        auth=auth,
        verify=verify,
        timeout=httpx.Timeout(connect=t, read=t, write=t, pool=t),
        transport=transport,
        follow_redirects=False,
    )


async def get(
    client: httpx.AsyncClient,
    path: str,
    params: Mapping[str, str] | None,
    *,
    timeout: float,
    endpoint: str | None,
    error: type[ReadError],
) -> httpx.Response:
    """GET `path`, whatever the network does: a response, or `error` saying what went wrong."""
    t = timeout
    # httpx's timeouts bound each phase; this bounds the whole request (a server dripping bytes,
    # a transport that hangs), leaving room for a connect plus a read before it fires.
    deadline = 2 * t
    try:
        async with asyncio.timeout(deadline):
            return await client.get(path, params=params)
    except TimeoutError:
        raise error(f"timed out waiting for a response after {secs(deadline)} from {path}") from None
    except httpx.ConnectTimeout:
        raise error(f"timed out connecting after {secs(t)} to {endpoint}") from None
    except httpx.ReadTimeout:
        raise error(f"timed out waiting for a response after {secs(t)} from {path}") from None
    except httpx.WriteTimeout:
        raise error(f"timed out sending the request after {secs(t)} to {path}") from None
    except httpx.PoolTimeout:
        raise error(f"timed out waiting for a free connection after {secs(t)}") from None
    except httpx.ConnectError as exc:
        raise error(connect_problem(exc, endpoint)) from None
    except httpx.RemoteProtocolError:
        raise error(f"the server closed the connection or broke HTTP on {path}") from None
    except httpx.TransportError as exc:
        raise error(f"network error on {path}: {os_reason(exc) or type(exc).__name__}") from None
    except httpx.HTTPError as exc:
        raise error(f"request to {path} failed: {type(exc).__name__}") from None


def connect_problem(exc: httpx.ConnectError, where: str | None) -> str:
    cause = root_cause(exc)
    if isinstance(cause, ConnectionRefusedError):
        return f"connection refused at {where}"
    if isinstance(cause, socket.gaierror):
        host = urlsplit(where or "").hostname
        return f"cannot resolve host {host!r}: {cause.strerror or cause}"
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted at {where}: {cause.verify_message}; set ca_file or verify"
    if isinstance(cause, ssl.SSLError):
        return f"TLS handshake failed at {where}: {cause.reason or cause}"
    if isinstance(cause, OSError) and cause.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return f"{cause.strerror.lower() if cause.strerror else 'unreachable'} for {where}"
    return f"cannot connect to {where}: {os_reason(exc) or 'connection failed'}"


def root_cause(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        nxt = exc.__cause__ or exc.__context__
        if nxt is None:
            break
        exc = nxt
    return exc


def os_reason(exc: BaseException) -> str:
    cause = root_cause(exc)
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return str(cause)[:200]
