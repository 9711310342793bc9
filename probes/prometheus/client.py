"""The Prometheus probe's HTTP client: GET only, to the API paths it reads, every failure in plain words."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

from probes.base import Backoff, PolledSource
from probes.http import ReadError, get, make_client, redact_url
from probes.prometheus.snapshot import AlertsSnapshot
from probes.prometheus.stream import decode_along

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


class PromReadError(ReadError):
    """One request to Prometheus failed; the message is plain words for the health record."""


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
        return make_client(self.settings, self._transport, PromReadError)

    async def _get_json(self, client: httpx.AsyncClient, path: str, params: Mapping[str, str] | None) -> Any:
        """The answer's JSON object, decoded in a worker thread (a big answer never stalls the screen)."""
        content = await self._get_content(client, path, params)
        return await asyncio.to_thread(decode_json, content, path)

    async def _get_content(
        self, client: httpx.AsyncClient, path: str, params: Mapping[str, str] | None
    ) -> bytes:
        """The body of a 2xx JSON answer from `path`, not decoded yet; every other answer a PromReadError."""
        response = await get(
            client, path, params, timeout=self.settings.timeout, endpoint=self.endpoint, error=PromReadError
        )
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
        return response.content

    def _auth_problem(self, status: int, path: str) -> str:
        s = self.settings
        if status == 401:
            if s.token is not None:
                return "HTTP 401: check the bearer token"
            if s.username is not None:
                return "HTTP 401: check the username and password"
            return "HTTP 401: Prometheus wants credentials; set [prometheus] token or username"
        return f"HTTP 403: these credentials may not read {path}"


def _prometheus_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ""
    return prometheus_error_body(body) if isinstance(body, dict) else ""


def decode_json(
    content: bytes,
    path: str,
    *,
    along: tuple[str, ...] | None = None,
    each: Callable[[Any], Any] | None = None,
    each_text: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """Prometheus's answer from `path` as an object whose status is success (PromReadError if not), decoded
    a piece at a time along `along` when given (stream.decode_along): run it in a worker thread."""
    try:
        text = content.decode(json.detect_encoding(content), "surrogatepass")
        body = decode_along(text, along, each, each_text=each_text) if along and each else json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise PromReadError(f"invalid JSON from {path}") from None
    if not isinstance(body, dict):
        raise PromReadError(f"unexpected response shape from {path}: not a JSON object")
    if body.get("status") != "success":
        detail = prometheus_error_body(body)
        raise PromReadError(f"Prometheus reported an error from {path}" + (f": {detail}" if detail else ""))
    return body


def prometheus_error_body(body: dict[str, Any]) -> str:
    """Prometheus's own errorType/error, shortened: they say what was wrong with the query or server."""
    kind, error = body.get("errorType"), body.get("error")
    parts = [str(p) for p in (kind, error) if p]
    return ": ".join(parts)[:200]
