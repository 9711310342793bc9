"""The Alertmanager probe: GET only, to /api/v2/alerts, /api/v2/silences and /api/v2/alerts/groups, over
async httpx with the same TLS and auth handling as Prometheus's; every failure a health state in plain words.
"""

from __future__ import annotations

import asyncio
import errno
import json
import socket
import ssl
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from probes.alertmanager.model import (
    AmShapeError,
    AmSnapshot,
    parse_alerts,
    parse_groups,
    parse_silences,
)
from probes.alertmanager.settings import AlertmanagerSettings
from probes.base import Backoff, PolledSource, SourceHealth, utc_now
from probes.prometheus.client import _os_reason, _root_cause, redact_url, secs

SOURCE = "alertmanager"
ALERTS_PATH = "/api/v2/alerts"
SILENCES_PATH = "/api/v2/silences"
GROUPS_PATH = "/api/v2/alerts/groups"
# The only requests this probe ever sends: (method, path).
ALLOWED_REQUESTS = frozenset({("GET", ALERTS_PATH), ("GET", SILENCES_PATH), ("GET", GROUPS_PATH)})
NOT_CONFIGURED = "set ALERTMANAGER_URL, [alertmanager] url or --alertmanager"


class AmReadError(Exception):
    """One request failed; the message is plain words for the health record."""

    def __init__(self, message: str, *, forbidden: bool = False) -> None:
        super().__init__(message)
        self.forbidden = forbidden


class AlertmanagerProbe(PolledSource[AmSnapshot]):
    """Reads one Alertmanager's alerts, silences and groups; read-only, never raises from poll()."""

    SOURCE = SOURCE
    NAME = "Alertmanager"
    NOT_CONFIGURED = NOT_CONFIGURED

    def __init__(
        self,
        settings: AlertmanagerSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = utc_now,
        backoff: Backoff | None = None,
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

    @property
    def url(self) -> str:
        """The base URL for amtool's --alertmanager.url, without credentials."""
        return (self.endpoint or "").rstrip("/")

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _reset(self) -> None:
        await self.aclose()

    def _make_client(self) -> httpx.AsyncClient:
        s = self.settings
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
                raise AmReadError(f"cannot use CA file {s.ca_file}: {reason}") from None
        t = s.timeout
        return httpx.AsyncClient(
            base_url=redact_url(s.url),
            headers=headers,
            auth=auth,
            verify=verify,
            timeout=httpx.Timeout(connect=t, read=t, write=t, pool=t),
            transport=self._transport,
            follow_redirects=False,
        )

    async def _poll_guarded(self) -> AmSnapshot:
        started = time.perf_counter()
        try:
            if self._client is None:
                self._client = self._make_client()
            client = self._client
            bodies = await asyncio.gather(
                self._get_json(client, ALERTS_PATH),
                self._get_json(client, SILENCES_PATH),
                self._get_json(client, GROUPS_PATH),
                return_exceptions=True,
            )
            for body in bodies:  # the first failure is the one said
                if isinstance(body, BaseException):
                    raise body
            alerts, skipped = parse_alerts(bodies[0], ALERTS_PATH)
            silences = parse_silences(bodies[1], SILENCES_PATH)
            groups = parse_groups(bodies[2], GROUPS_PATH)
        except AmReadError as exc:
            return self._failed(str(exc), "forbidden" if exc.forbidden else "down")
        except AmShapeError as exc:
            return self._failed(str(exc))
        latency = time.perf_counter() - started
        now = self._clock()
        self.backoff.success()
        note = (
            f"skipped {skipped} malformed alert{'s' if skipped != 1 else ''} from {ALERTS_PATH}"
            if skipped
            else None
        )
        silenced = sum(1 for a in alerts if a.silenced_by)
        inhibited = sum(1 for a in alerts if a.inhibited_by and not a.silenced_by)
        health = SourceHealth(
            source=SOURCE,
            state="degraded" if note else "ok",
            checked_at=now,
            last_success=now,
            latency=latency,
            last_error=note,
            detail=f"{plural(len(alerts), 'alert')} ({silenced} silenced, {inhibited} inhibited), "
            f"{plural(sum(1 for s in silences if s.state == 'active'), 'active silence')}",
            endpoint=self.endpoint,
        )
        return AmSnapshot(tuple(alerts), tuple(silences), tuple(groups), health, now)

    def _empty(self, health: SourceHealth) -> AmSnapshot:
        return AmSnapshot((), (), (), health, None)

    async def _get_json(self, client: httpx.AsyncClient, path: str) -> Any:
        t = self.settings.timeout
        deadline = 2 * t
        try:
            async with asyncio.timeout(deadline):
                response = await client.get(path)
        except TimeoutError:
            raise AmReadError(
                f"timed out waiting for a response after {secs(deadline)} from {path}"
            ) from None
        except httpx.ConnectTimeout:
            raise AmReadError(f"timed out connecting after {secs(t)} to {self.endpoint}") from None
        except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout):
            raise AmReadError(f"timed out after {secs(t)} on {path}") from None
        except httpx.ConnectError as exc:
            raise AmReadError(self._connect_problem(exc)) from None
        except httpx.RemoteProtocolError:
            raise AmReadError(f"the server closed the connection or broke HTTP on {path}") from None
        except httpx.TransportError as exc:
            raise AmReadError(f"network error on {path}: {_os_reason(exc) or type(exc).__name__}") from None
        except httpx.HTTPError as exc:
            raise AmReadError(f"request to {path} failed: {type(exc).__name__}") from None
        status = response.status_code
        if status == 401:
            raise AmReadError("HTTP 401: check [alertmanager] token or username and password", forbidden=True)
        if status == 403:
            raise AmReadError(f"HTTP 403: these credentials may not read {path}", forbidden=True)
        if response.is_redirect:
            where = redact_url(response.headers.get("location", "?"))
            raise AmReadError(f"HTTP {status} redirect from {path} to {where}: set the URL it points to")
        if status >= 400:
            message = f"HTTP {status} {response.reason_phrase or ''}".rstrip() + f" from {path}"
            if status == 404:
                message += f": is {self.endpoint} the Alertmanager base URL (v0.16 or later)?"
            raise AmReadError(message)
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind and "json" not in kind:
            raise AmReadError(f"{self.endpoint} answered {path} with {kind[:60]}, not JSON")
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise AmReadError(f"invalid JSON from {path}") from None

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


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
