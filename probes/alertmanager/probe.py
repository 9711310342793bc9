"""The Alertmanager probe: GET only, to /api/v2/alerts, /api/v2/silences and /api/v2/alerts/groups, over
async httpx with the same TLS and auth handling as Prometheus's; every failure a health state in plain words.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

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
from probes.http import ReadError, get, make_client, redact_url

SOURCE = "alertmanager"
ALERTS_PATH = "/api/v2/alerts"
SILENCES_PATH = "/api/v2/silences"
GROUPS_PATH = "/api/v2/alerts/groups"
# The only requests this probe ever sends: (method, path).
ALLOWED_REQUESTS = frozenset({("GET", ALERTS_PATH), ("GET", SILENCES_PATH), ("GET", GROUPS_PATH)})
NOT_CONFIGURED = "set ALERTMANAGER_URL, [alertmanager] url or --alertmanager"


class AmReadError(ReadError):
    """One request to Alertmanager failed; the message is plain words for the health record."""


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
        return make_client(self.settings, self._transport, AmReadError)

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
        response = await get(
            client, path, None, timeout=self.settings.timeout, endpoint=self.endpoint, error=AmReadError
        )
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


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
