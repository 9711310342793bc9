"""Prometheus probe: firing and pending alerts from /api/v1/alerts and /api/v1/rules, over async httpx;
and the live triage reads (an instant query, the scrape targets, PVC usage) from /api/v1/query and
/api/v1/targets, each answered as a `Reading`."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import math
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from probes.base import Backoff, PolledSource, Reading, SourceHealth

if TYPE_CHECKING:
    from probes.prometheus.settings import PrometheusSettings

Labels = tuple[tuple[str, str], ...]  # sorted (name, value) pairs: hashable and immutable

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
VOLUME_METRICS = ("used_bytes", "capacity_bytes", "inodes_used", "inodes")  # kubelet_volume_stats_*


@dataclass(frozen=True)
class FiringAlert:
    name: str  # the alertname label
    state: str  # "firing" or "pending"
    labels: Labels
    annotations: Labels
    active_at: datetime | None
    value: str  # as Prometheus gives it, e.g. "8.5e-01"; "" when absent
    expression: str | None  # the rule's PromQL, from /api/v1/rules
    for_seconds: float | None  # the rule's `for`, from /api/v1/rules
    fingerprint: str  # stable hash of the label set

    def label(self, name: str, default: str = "") -> str:
        return dict(self.labels).get(name, default)

    def annotation(self, name: str, default: str = "") -> str:
        return dict(self.annotations).get(name, default)

    @property
    def severity(self) -> str:
        return self.label("severity")

    @property
    def summary(self) -> str:
        return self.annotation("summary") or self.annotation("description")


@dataclass(frozen=True)
class AlertsSnapshot:
    alerts: tuple[FiringAlert, ...]
    health: SourceHealth
    fetched_at: datetime | None  # when `alerts` were fetched; older than health.checked_at when stale

    @property
    def firing(self) -> int:
        return sum(1 for alert in self.alerts if alert.state == "firing")

    @property
    def pending(self) -> int:
        return sum(1 for alert in self.alerts if alert.state == "pending")


def utc_now() -> datetime:
    return datetime.now(UTC)


def fingerprint(labels: Labels) -> str:
    """A stable id for an alert: sha256 of its sorted label set, 16 hex digits."""
    canonical = json.dumps(sorted(labels), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
)


def parse_rfc3339(text: str) -> datetime:
    """Parse Prometheus's RFC3339 timestamps, with Go's nanosecond fractions, to an aware UTC datetime."""
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"not an RFC3339 timestamp: {text!r}")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    # Python keeps microseconds; the nanoseconds Go writes are truncated, never rounded into the next second
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    tz = UTC
    if not zulu:
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        tz = timezone(-offset if sign == "-" else offset)
    moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz)
    return moment.astimezone(UTC)


def redact_url(url: str) -> str:
    """The URL without any user:password@ part, for messages and screens."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


class _PollError(Exception):
    """One request failed; the message is plain words for the health record."""

    def __init__(self, message: str, *, forbidden: bool = False) -> None:
        super().__init__(message)
        self.forbidden = forbidden


class PrometheusProbe(PolledSource[AlertsSnapshot]):
    """Reads alerts and alerting rules from one Prometheus; read-only, never raises from poll()."""

    SOURCE = SOURCE
    NAME = "Prometheus"
    NOT_CONFIGURED = NOT_CONFIGURED

    def __init__(
        self,
        settings: PrometheusSettings,
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
        self._rules: _RuleIndex | None = None  # the alerting rules of the last poll that read them

    @property
    def configured(self) -> bool:
        return bool(self.settings.url)

    def rule_expressions(self) -> dict[str, str]:
        """Each alerting rule's PromQL by its name, as of the last poll that read the rules."""
        rules = getattr(self, "_rules", None)
        if rules is None:
            return {}
        return {
            name: query for name, entries in rules.by_name.items() for _, query, _ in entries[:1] if query
        }

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _poll_guarded(self) -> AlertsSnapshot:
        started = time.perf_counter()
        rules_task: asyncio.Task[Any] | None = None
        try:
            client = self._client_or_raise()
            # both reads at once: a poll costs one round trip, not two
            rules_task = asyncio.create_task(self._get_json(client, RULES_PATH, {"type": "alert"}))
            raw_alerts = _alerts_list(await self._get_json(client, ALERTS_PATH, None))
        except _PollError as exc:
            await _cancel(rules_task)
            return self._failed(str(exc), "forbidden" if exc.forbidden else "down")
        except BaseException:
            await _cancel(rules_task)
            raise

        notes: list[str] = []
        rules: _RuleIndex | None = None
        try:
            rules = _RuleIndex.from_body(await rules_task)
            self._rules = rules
        except _PollError as exc:
            notes.append(f"rules unavailable ({exc}); alerts shown without their expressions")
        latency = time.perf_counter() - started

        alerts: list[FiringAlert] = []
        skipped = 0
        for raw in raw_alerts:
            alert = _parse_alert(raw, rules)
            if alert is None:
                skipped += 1
            else:
                alerts.append(alert)
        if skipped:
            noun = "alert" if skipped == 1 else "alerts"
            notes.insert(0, f"skipped {skipped} malformed {noun} from {ALERTS_PATH}")
        alerts.sort(key=lambda a: (a.name, a.fingerprint))

        now = self._clock()
        self.backoff.success()
        firing = sum(1 for a in alerts if a.state == "firing")
        health = SourceHealth(
            source=SOURCE,
            state="degraded" if notes else "ok",
            checked_at=now,
            last_success=now,
            latency=latency,
            last_error="; ".join(notes) or None,
            detail=_count_alerts(len(alerts), firing, len(alerts) - firing),
            endpoint=self.endpoint,
        )
        return AlertsSnapshot(alerts=tuple(alerts), health=health, fetched_at=now)

    # --- live triage reads: each one GET, answered as a Reading, never raising --------------------------

    async def query_reading(self, expr: str, *, limit: int = 20, what: str | None = None) -> Reading:
        """An instant query as a table: one row per series, a column per label and `value`, the highest
        value first; a scalar or string is one row. No series is an empty table saying so."""
        what = what or expr
        if not expr.strip():
            return Reading.failed(SOURCE, what, "empty query")
        return await self._read(what, lambda: self._query_table(expr, what, max(0, limit)))

    async def targets_reading(
        self, *, only_down: bool = True, match: str | None = None, limit: int = 50
    ) -> Reading:
        """The active scrape targets (only the down ones when `only_down`), those whose scrape URL or
        instance contains `match` when given: job, instance, health, last scrape, last error."""
        scope = f"targets whose instance or scrape URL contains {match!r}" if match else "targets"
        what = f"{'down ' if only_down else ''}{scope} ({TARGETS_PATH}?state=active)"
        return await self._read(what, lambda: self._targets_table(what, only_down, match, max(0, limit)))

    async def volume_usage_reading(self, namespace: str, workload: str | None) -> Reading:
        """PVC usage from the kubelet's kubelet_volume_stats_* series, for the PVCs in `namespace` whose
        name contains the workload's name ("deploy/inmidst-postgres" → "inmidst-postgres"); when
        Prometheus has no such series at all, says the kubelet's volume metrics are not scraped."""
        name = (workload or "").strip().rpartition("/")[2]
        scope = f"PVCs in {namespace}" if namespace else "PVCs in every namespace"
        if name:
            scope += f" named like {name!r}"
        what = f"kubelet_volume_stats_* for {scope}"
        return await self._read(what, lambda: self._volume_table(what, scope, namespace, name))

    async def _read(self, what: str, read: Callable[[], Awaitable[Reading]]) -> Reading:
        if not self.settings.url:
            return Reading.failed(SOURCE, what, NOT_CONFIGURED)
        try:
            return await read()
        except _PollError as exc:
            return Reading.failed(SOURCE, what, str(exc))
        except Exception as exc:  # a bug here must not take the console down at 3 a.m.
            return Reading.failed(
                SOURCE, what, f"internal error while reading Prometheus: {type(exc).__name__}"
            )

    async def _query(self, expr: str) -> tuple[str, Any]:
        """(resultType, result) of one instant query."""
        client = self._client_or_raise()
        # Prometheus gives up on a heavy query a little before we stop waiting, so the user reads its own
        # "query timed out" rather than ours, and the server stops working on it
        params = {"query": expr, "timeout": f"{0.8 * self.settings.timeout:g}"}
        body = await self._get_json(client, QUERY_PATH, params)
        data = body.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("resultType"), str):
            raise _PollError(f"unexpected response shape from {QUERY_PATH}: data.resultType missing")
        return data["resultType"], data.get("result")

    async def _query_table(self, expr: str, what: str, limit: int) -> Reading:
        kind, result = await self._query(expr)
        now = self._clock()
        if kind in ("scalar", "string"):
            return Reading.table(
                SOURCE, what, ("value",), [(format_value(_sample_value(result)),)], read_at=now
            )
        series = _series(kind, result)
        if not series:
            return Reading(SOURCE, what, columns=("value",), read_at=now, problem="no series")
        series.sort(key=lambda s: (_descending(s[1]), sorted(s[0].items())))
        kept = series[:limit]
        names = sorted({name for labels, _ in kept for name in labels}, key=lambda n: (n != "__name__", n))
        rows = tuple((*(labels.get(n, "") for n in names), format_value(value)) for labels, value in kept)
        return Reading(
            SOURCE, what, columns=(*names, "value"), rows=rows, read_at=now, truncated=len(series) > limit
        )

    async def _targets_table(self, what: str, only_down: bool, match: str | None, limit: int) -> Reading:
        client = self._client_or_raise()
        body = await self._get_json(client, TARGETS_PATH, {"state": "active"})
        data = body.get("data")
        active = data.get("activeTargets") if isinstance(data, dict) else None
        if active is None and isinstance(data, dict) and "activeTargets" in data:
            active = []  # a proxy turned an empty list into null
        if not isinstance(active, list):
            raise _PollError(f"unexpected response shape from {TARGETS_PATH}: data.activeTargets missing")
        now = self._clock()
        targets = [t for t in (_target(raw, now) for raw in active) if t is not None]
        shown = [t for t in targets if (not only_down or t.health == "down") and t.matches(match)]
        shown.sort(key=lambda t: (t.health == "up", t.job, t.instance))
        columns = ("job", "instance", "health", "last scrape", "last error")
        if not shown:
            return Reading(SOURCE, what, columns=columns, read_at=now, problem=_no_targets(targets, match))
        rows = [(t.job, t.instance, t.health, t.last_scrape, t.last_error) for t in shown]
        return Reading.table(SOURCE, what, columns, rows, read_at=now, limit=limit)

    async def _volume_table(self, what: str, scope: str, namespace: str, name: str) -> Reading:
        metrics = "|".join(VOLUME_METRICS)
        matchers = [f'__name__=~"kubelet_volume_stats_({metrics})"']
        if namespace:
            matchers.append(f"namespace={promql_string(namespace)}")
        if name:
            matchers.append(f"persistentvolumeclaim=~{promql_string('.*' + regex_quote(name) + '.*')}")
        kind, result = await self._query("{" + ",".join(matchers) + "}")
        series = _series(kind, result)
        now = self._clock()
        if not series:
            _, anywhere = await self._query("count(kubelet_volume_stats_capacity_bytes)")
            if not anywhere:
                return Reading.failed(
                    SOURCE,
                    what,
                    f"Prometheus has no kubelet_volume_stats_* series for {scope}: "
                    "the kubelet's volume metrics are not scraped",
                    read_at=now,
                )
            return Reading.failed(
                SOURCE,
                what,
                f"Prometheus has no kubelet_volume_stats_* series for {scope}, "
                "though it has them for other volumes: is the name or namespace right?",
                read_at=now,
            )
        # a PVC's series may come from more than one kubelet job or instance: keep the largest value
        volumes: dict[tuple[str, str], dict[str, float]] = {}
        for labels, value in series:
            metric = labels.get("__name__", "").removeprefix("kubelet_volume_stats_")
            key = (labels.get("namespace", ""), labels.get("persistentvolumeclaim", ""))
            number = _number(value)
            if number is None or not key[1]:
                continue
            stats = volumes.setdefault(key, {})
            stats[metric] = max(stats.get(metric, number), number)
        if not volumes:
            problem = f"the kubelet_volume_stats_* series for {scope} have no PVC name or no number"
            return Reading.failed(SOURCE, what, problem, read_at=now)
        inodes = any("inodes" in stats for stats in volumes.values())
        columns = ["persistentvolumeclaim", "used", "capacity", "used %"]
        if inodes:
            columns.append("inodes used %")
        if not namespace:
            columns.insert(0, "namespace")
        ordered = sorted(
            volumes.items(), key=lambda kv: (_descending_share(kv[1], "used_bytes", "capacity_bytes"), kv[0])
        )
        rows = []
        for (ns, pvc), stats in ordered:
            row = [pvc, _bytes(stats.get("used_bytes")), _bytes(stats.get("capacity_bytes"))]
            row.append(_percent(_share(stats, "used_bytes", "capacity_bytes")))
            if inodes:
                row.append(_percent(_share(stats, "inodes_used", "inodes")))
            rows.append(row if namespace else [ns, *row])
        return Reading.table(SOURCE, what, columns, rows, read_at=now)

    def _empty(self, health: SourceHealth) -> AlertsSnapshot:
        return AlertsSnapshot(alerts=(), health=health, fetched_at=None)

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
                raise _PollError(f"cannot use CA file {s.ca_file}: {reason}") from None
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
            raise _PollError(
                f"timed out waiting for a response after {_secs(deadline)} from {path}"
            ) from None
        except httpx.ConnectTimeout:
            raise _PollError(f"timed out connecting after {_secs(t)} to {self.endpoint}") from None
        except httpx.ReadTimeout:
            raise _PollError(f"timed out waiting for a response after {_secs(t)} from {path}") from None
        except httpx.WriteTimeout:
            raise _PollError(f"timed out sending the request after {_secs(t)} to {path}") from None
        except httpx.PoolTimeout:
            raise _PollError(f"timed out waiting for a free connection after {_secs(t)}") from None
        except httpx.ConnectError as exc:
            raise _PollError(self._connect_problem(exc)) from None
        except httpx.RemoteProtocolError:
            raise _PollError(f"the server closed the connection or broke HTTP on {path}") from None
        except httpx.TransportError as exc:
            raise _PollError(f"network error on {path}: {_os_reason(exc) or type(exc).__name__}") from None
        except httpx.HTTPError as exc:
            raise _PollError(f"request to {path} failed: {type(exc).__name__}") from None

        if response.status_code in (401, 403):
            raise _PollError(self._auth_problem(response.status_code, path), forbidden=True)
        if response.is_redirect:
            where = redact_url(response.headers.get("location", "?"))
            raise _PollError(
                f"HTTP {response.status_code} redirect from {path} to {where}: set the URL it points to"
            )
        if response.status_code >= 400:
            reason = response.reason_phrase or ""
            message = f"HTTP {response.status_code} {reason}".rstrip() + f" from {path}"
            detail = _prometheus_error(response)
            if response.status_code == 404 and not detail:
                detail = f"is {self.endpoint} the Prometheus base URL?"
            raise _PollError(f"{message}: {detail}" if detail else message)
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind and "json" not in kind:
            # a login page or a proxy's error page with a 200: not Prometheus answering
            raise _PollError(f"{self.endpoint} answered {path} with {kind}, not JSON")
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _PollError(f"invalid JSON from {path}") from None
        if not isinstance(body, dict):
            raise _PollError(f"unexpected response shape from {path}: not a JSON object")
        if body.get("status") != "success":
            detail = _prometheus_error_body(body)
            raise _PollError(f"Prometheus reported an error from {path}" + (f": {detail}" if detail else ""))
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


class _RuleIndex:
    """Alerting rules by the exact label sets of their active alerts, and by name for the rest."""

    def __init__(self) -> None:
        self.by_labels: dict[Labels, tuple[str | None, float | None]] = {}
        self.by_name: dict[str, list[tuple[Labels, str | None, float | None]]] = {}

    @classmethod
    def from_body(cls, body: Any) -> _RuleIndex:
        try:
            return cls._from_body(body)
        except (TypeError, ValueError, AttributeError):
            raise _PollError(f"unexpected response shape from {RULES_PATH}") from None

    @classmethod
    def _from_body(cls, body: Any) -> _RuleIndex:
        data = body.get("data")
        groups = data.get("groups") if isinstance(data, dict) else None
        if not isinstance(groups, list):
            raise _PollError(f"unexpected response shape from {RULES_PATH}: data.groups missing")
        index = cls()
        for group in groups:
            rules = group.get("rules") if isinstance(group, dict) else None
            for rule in rules if isinstance(rules, list) else ():
                if not isinstance(rule, dict) or rule.get("type", "alerting") != "alerting":
                    continue
                name = rule.get("name")
                if not isinstance(name, str):
                    continue
                query = rule.get("query") if isinstance(rule.get("query"), str) else None
                duration = rule.get("duration")
                for_seconds = (
                    float(duration)
                    if isinstance(duration, int | float) and not isinstance(duration, bool)
                    else None
                )
                static = _labels(rule.get("labels") or {}) or ()
                index.by_name.setdefault(name, []).append((static, query, for_seconds))
                for active in rule.get("alerts") or ():
                    labels = _labels(active.get("labels")) if isinstance(active, dict) else None
                    if labels:
                        index.by_labels[labels] = (query, for_seconds)
        return index

    def lookup(self, name: str, labels: Labels) -> tuple[str | None, float | None]:
        if labels in self.by_labels:
            return self.by_labels[labels]
        # between the two requests an alert may have started: fall back to the rule whose name and
        # static labels fit, if exactly one does
        have = set(labels)
        fits = [(q, f) for static, q, f in self.by_name.get(name, ()) if set(static) <= have]
        if len(fits) == 1 or (fits and len(set(fits)) == 1):
            return fits[0]
        return None, None


def promql_string(value: str) -> str:
    """`value` as a PromQL double-quoted string literal: backslash, quote and control characters escaped,
    so text from a runbook can never end the string and add PromQL of its own."""
    out = []
    for ch in value:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


_RE2_SPECIAL = frozenset("\\.+*?()|[]{}^$")


def regex_quote(text: str) -> str:
    """`text` matched literally in a PromQL (RE2) regex, as Go's regexp.QuoteMeta quotes it."""
    return "".join("\\" + ch if ch in _RE2_SPECIAL else ch for ch in text)


def format_value(value: str) -> str:
    """A sample value made readable ("8.5e-01" → "0.85"); NaN, ±Inf and text as given."""
    try:
        number = float(value)
    except ValueError:
        return value
    if math.isnan(number) or math.isinf(number):
        return value
    return f"{number:.4g}"


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return None if math.isnan(number) else number


def _descending(value: str) -> tuple[int, float]:
    """Sort key: the highest number first, then NaN and text."""
    number = _number(value)
    return (1, 0.0) if number is None else (0, -number)


def _sample_value(sample: object) -> str:
    """The value of a [timestamp, "value"] pair."""
    if isinstance(sample, list) and len(sample) == 2 and isinstance(sample[1], str):
        return sample[1]
    raise _PollError(f"unexpected response shape from {QUERY_PATH}: a sample is not [time, value]")


def _series(kind: str, result: object) -> list[tuple[dict[str, str], str]]:
    """(labels, value) of each series of a vector; of a matrix (a range selector), each one's last sample."""
    if kind not in ("vector", "matrix"):
        raise _PollError(f"unexpected result type {kind!r} from {QUERY_PATH}")
    if result is None:
        return []
    if not isinstance(result, list):
        raise _PollError(f"unexpected response shape from {QUERY_PATH}: data.result is not a list")
    series = []
    for item in result:
        labels = _labels(item.get("metric") or {}) if isinstance(item, dict) else None
        if labels is None:
            raise _PollError(f"unexpected response shape from {QUERY_PATH}: a series without labels")
        if kind == "vector":
            value = _sample_value(item.get("value"))
        else:
            values = item.get("values")
            if not isinstance(values, list) or not values:
                continue
            value = _sample_value(values[-1])
        series.append((dict(labels), value))
    return series


@dataclass(frozen=True)
class _Target:
    job: str
    instance: str
    health: str  # "up", "down" or "unknown"
    scrape_url: str
    last_scrape: str  # "3s ago", or "never"
    last_error: str

    def matches(self, match: str | None) -> bool:
        return not match or match in self.scrape_url or match in self.instance


def _target(raw: object, now: datetime) -> _Target | None:
    """One of data.activeTargets, or None when it is malformed."""
    if not isinstance(raw, dict):
        return None
    labels = raw.get("labels") if isinstance(raw.get("labels"), dict) else {}

    def text(value: object) -> str:
        return value if isinstance(value, str) else ""

    return _Target(
        job=text(labels.get("job")) or text(raw.get("scrapePool")),
        instance=text(labels.get("instance")),
        health=text(raw.get("health")) or "unknown",
        scrape_url=redact_url(text(raw.get("scrapeUrl"))),
        last_scrape=_scrape_age(text(raw.get("lastScrape")), now),
        last_error=text(raw.get("lastError")),
    )


def _scrape_age(text: str, now: datetime) -> str:
    try:
        when = parse_rfc3339(text)
    except ValueError:
        return ""
    if when.year <= 1:  # Go's zero time: not scraped yet
        return "never"
    seconds = max(0, int((now - when).total_seconds()))
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    return f"{seconds // 3600}h ago"


def _no_targets(targets: list[_Target], match: str | None) -> str:
    if match and not any(t.matches(match) for t in targets):
        return f"no active target's instance or scrape URL contains {match!r}"
    if match:
        return f"no target matching {match!r} is down"
    if not targets:
        return "Prometheus has no active targets"
    noun = "target" if len(targets) == 1 else "targets"
    up = sum(1 for t in targets if t.health == "up")
    return f"no target is down ({len(targets)} active {noun}, {up} up)"


def _share(stats: Mapping[str, float], part: str, whole: str) -> float | None:
    if part not in stats or not stats.get(whole):
        return None
    return stats[part] / stats[whole]


def _descending_share(stats: Mapping[str, float], part: str, whole: str) -> float:
    share = _share(stats, part, whole)
    return 1.0 if share is None else -share  # the fullest first, unknown last


def _percent(share: float | None) -> str:
    return "" if share is None else f"{100 * share:.1f}%"


def _bytes(value: float | None) -> str:
    """Bytes as df -h shows them, in powers of 1024: "8.6G"."""
    if value is None:
        return ""
    size = float(value)
    for unit in ("B", "K", "M", "G", "T", "P"):
        if abs(size) < 1024 or unit == "P":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1024
    return f"{size:.1f}P"


def _labels(raw: object) -> Labels | None:
    """Sorted (name, value) pairs, or None if this isn't a map of strings."""
    if not isinstance(raw, dict):
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        return None
    return tuple(sorted(raw.items()))


def _alerts_list(body: Any) -> list[Any]:
    data = body.get("data")
    if not isinstance(data, dict) or "alerts" not in data:
        raise _PollError(f"unexpected response shape from {ALERTS_PATH}: data.alerts missing")
    alerts = data["alerts"]
    if alerts is None:
        return []  # some proxies in front of Prometheus turn an empty list into null
    if not isinstance(alerts, list):
        raise _PollError(f"unexpected response shape from {ALERTS_PATH}: data.alerts is not a list")
    return alerts


def _parse_alert(raw: object, rules: _RuleIndex | None) -> FiringAlert | None:
    """One entry of data.alerts, or None when it is malformed (the caller counts and skips it)."""
    if not isinstance(raw, dict):
        return None
    labels = _labels(raw.get("labels"))
    annotations = _labels(raw.get("annotations") or {})
    if not labels or annotations is None:
        return None
    name = dict(labels).get("alertname")
    state = raw.get("state")
    if not name or state not in ("firing", "pending"):
        return None
    active_at: datetime | None = None
    raw_active = raw.get("activeAt")
    if raw_active is not None:
        if not isinstance(raw_active, str):
            return None
        try:
            active_at = parse_rfc3339(raw_active)
        except ValueError:
            return None
    value = raw.get("value", "")
    if not isinstance(value, str):
        value = "" if value is None else str(value)
    expression, for_seconds = rules.lookup(name, labels) if rules else (None, None)
    return FiringAlert(
        name=name,
        state=state,
        labels=labels,
        annotations=annotations,
        active_at=active_at,
        value=value,
        expression=expression,
        for_seconds=for_seconds,
        fingerprint=fingerprint(labels),
    )


async def _cancel(task: asyncio.Task[Any] | None) -> None:
    if task is not None and not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    elif task is not None and task.done() and not task.cancelled():
        task.exception()  # mark it retrieved: its failure is already reported through the alerts read


def _count_alerts(total: int, firing: int, pending: int) -> str:
    noun = "alert" if total == 1 else "alerts"
    return f"{total} {noun} ({firing} firing, {pending} pending)"


def _secs(seconds: float) -> str:
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
