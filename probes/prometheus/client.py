"""The Prometheus probe's HTTP client: GET only, to the API paths it reads, every failure in plain words."""

from __future__ import annotations

import asyncio
import errno
import json
import socket
import ssl
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from probes.base import Backoff, PolledSource
from probes.prometheus.snapshot import AlertsSnapshot

if TYPE_CHECKING:
    from probes.prometheus.settings import PrometheusSettings

SOURCE = "prometheus"

ALERTS_PATH = "/api/v1/alerts"

RULES_PATH = "/api/v1/rules"

# The only requests this probe ever sends: (method, path, query).
ALLOWED_REQUESTS = frozenset({("GET", ALERTS_PATH, ""), ("GET", RULES_PATH, "type=alert")})

QUERY_PATH = "/api/v1/query"

TARGETS_PATH = "/api/v1/targets"

# The live triage reads: GET only, to these paths only (the query string carries the PromQL).
READ_PATHS = frozenset({QUERY_PATH, TARGETS_PATH})

NOT_CONFIGURED = "set PROMETHEUS_URL or [prometheus] url"


def redact_url(url: str) -> str:
    """The URL without any user:password@ part, for messages and screens."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


class PromReadError(Exception):
    """One request failed; the message is plain words for the health record."""

    def __init__(self, message: str, *, forbidden: bool = False) -> None:
        super().__init__(message)
        self.forbidden = forbidden


class PrometheusClient(PolledSource[AlertsSnapshot]):
    """One Prometheus, read over one httpx client with the configured credentials and timeouts."""

    SOURCE = SOURCE
    NAME = "Prometheus"
    NOT_CONFIGURED = NOT_CONFIGURED

    def __init__(
        self,
        settings: PrometheusSettings,
        *,
        transport: httpx.AsyncBaseTransport | None,
        clock: Callable[[], datetime],
        backoff: Backoff | None,
    ) -> None:
        super().__init__(
            backoff=backoff or Backoff.for_source(settings.refresh, settings.backoff_max),
            clock=clock,
            endpoint=redact_url(settings.url) if settings.url else None,
        )
        self.settings = settings
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    @property
    def configured(self) -> bool:
        return bool(self.settings.url)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _client_or_raise(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def _make_client(self) -> httpx.AsyncClient:
        s = self.settings
        assert s.url is not None
        parts = urlsplit(s.url)
        # credentials in the URL would end up in logs and messages; they were moved to settings by config
        base_url = redact_url(s.url)
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
                raise PromReadError(f"cannot use CA file {s.ca_file}: {reason}") from None
        t = s.timeout
        return httpx.AsyncClient(
            base_url=base_url,
            headers=headers,
            auth=auth,
            verify=verify,
            timeout=httpx.Timeout(connect=t, read=t, write=t, pool=t),
            transport=self._transport,
            follow_redirects=False,
        )

    async def _get_json(self, client: httpx.AsyncClient, path: str, params: Mapping[str, str] | None) -> Any:
        t = self.settings.timeout
        # httpx's timeouts bound each phase; this bounds the whole request (a server dripping bytes,
        # a transport that hangs), leaving room for a connect plus a read before it fires.
        deadline = 2 * t
        try:
            async with asyncio.timeout(deadline):
                response = await client.get(path, params=params)
        except TimeoutError:
            raise PromReadError(
                f"timed out waiting for a response after {secs(deadline)} from {path}"
            ) from None
        except httpx.ConnectTimeout:
            raise PromReadError(f"timed out connecting after {secs(t)} to {self.endpoint}") from None
        except httpx.ReadTimeout:
            raise PromReadError(f"timed out waiting for a response after {secs(t)} from {path}") from None
        except httpx.WriteTimeout:
            raise PromReadError(f"timed out sending the request after {secs(t)} to {path}") from None
        except httpx.PoolTimeout:
            raise PromReadError(f"timed out waiting for a free connection after {secs(t)}") from None
        except httpx.ConnectError as exc:
            raise PromReadError(self._connect_problem(exc)) from None
        except httpx.RemoteProtocolError:
            raise PromReadError(f"the server closed the connection or broke HTTP on {path}") from None
        except httpx.TransportError as exc:
            raise PromReadError(f"network error on {path}: {_os_reason(exc) or type(exc).__name__}") from None
        except httpx.HTTPError as exc:
            raise PromReadError(f"request to {path} failed: {type(exc).__name__}") from None

        if response.status_code in (401, 403):
            raise PromReadError(self._auth_problem(response.status_code, path), forbidden=True)
        if response.is_redirect:
            where = redact_url(response.headers.get("location", "?"))
            raise PromReadError(
                f"HTTP {response.status_code} redirect from {path} to {where}: set the URL it points to"
            )
        if response.status_code >= 400:
            reason = response.reason_phrase or ""
            message = f"HTTP {response.status_code} {reason}".rstrip() + f" from {path}"
            detail = _prometheus_error(response)
            if response.status_code == 404 and not detail:
                detail = f"is {self.endpoint} the Prometheus base URL?"
            raise PromReadError(f"{message}: {detail}" if detail else message)
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind and "json" not in kind:
            # a login page or a proxy's error page with a 200: not Prometheus answering
            raise PromReadError(f"{self.endpoint} answered {path} with {kind}, not JSON")
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise PromReadError(f"invalid JSON from {path}") from None
        if not isinstance(body, dict):
            raise PromReadError(f"unexpected response shape from {path}: not a JSON object")
        if body.get("status") != "success":
            detail = _prometheus_error_body(body)
            raise PromReadError(
                f"Prometheus reported an error from {path}" + (f": {detail}" if detail else "")
            )
        return body

    def _connect_problem(self, exc: httpx.ConnectError) -> str:
        where = self.endpoint
        cause = _root_cause(exc)
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
        return f"cannot connect to {where}: {_os_reason(exc) or 'connection failed'}"

    def _auth_problem(self, status: int, path: str) -> str:
        s = self.settings
        if status == 401:
            if s.token is not None:
                return "HTTP 401: check the bearer token"
            if s.username is not None:
                return "HTTP 401: check the username and password"
            return "HTTP 401: Prometheus wants credentials; set [prometheus] token or username"
        return f"HTTP 403: these credentials may not read {path}"


def secs(seconds: float) -> str:
    return f"{seconds:g}s"


def _root_cause(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        nxt = exc.__cause__ or exc.__context__
        if nxt is None:
            break
        exc = nxt
    return exc


def _os_reason(exc: BaseException) -> str:
    cause = _root_cause(exc)
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return str(cause)[:200]


def _prometheus_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ""
    return _prometheus_error_body(body) if isinstance(body, dict) else ""


def _prometheus_error_body(body: dict[str, Any]) -> str:
    """Prometheus's own errorType/error, shortened: they say what was wrong with the query or server."""
    kind, error = body.get("errorType"), body.get("error")
    parts = [str(p) for p in (kind, error) if p]
    return ": ".join(parts)[:200]
