"""Kubernetes probe: pods by list + watch into a local cache, and plain reads, through a read-only client."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import math
import os
import re
import shlex
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import urlsplit

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.incluster_config import InClusterConfigLoader

from probes.base import Backoff, HealthState, Reading, SourceHealth
from probes.kubernetes.helm import HelmRevision, history_from_secrets, release_selector
from probes.kubernetes.jsonpath import JsonPathError
from probes.kubernetes.jsonpath import parse as jsonpath_parse
from probes.kubernetes.jsonpath import render as jsonpath_render
from probes.kubernetes.rows import Labels, PodRow, parse_quantity, parse_time, pod_row

if TYPE_CHECKING:
    from probes.kubernetes.settings import KubernetesSettings

SOURCE = "kubernetes"
USER_AGENT = "oncall/0.1 (read-only)"
DEFAULT_KUBECONFIG = "~/.kube/config"
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")  # token, ca.crt, namespace
LIST_PAGE = 250  # pods per list page: ~0.5 MB of JSON, parsed in about 10 ms, so no long GIL hold
WATCH_SECONDS = 30  # server-side watch timeout: the stream ends and is resumed from the last version
BACKOFF_CAP = 30.0  # seconds: the longest wait between reconnects while the API server is failing
LOG_TAIL_MAX = 5000  # lines: a larger tail would make the log view the slowest thing on screen
LOG_BYTES_MAX = 4 * 1024 * 1024  # a chatty pod's 5000 lines of 10 kB must not fill the memory
LOGS_PODS_MAX = 5  # pods a `kubectl logs -l` reading reads: a Deployment of 40 would flood the step
DESCRIBE_PODS_MAX = 10  # pods a `kubectl describe pod -l` reading describes (one events request each)
READING_ROWS_MAX = 500  # rows of a table reading
READING_LINES_MAX = 5000  # lines of a jsonpath reading
POD_COLUMNS = ("NAME", "READY", "STATUS", "RESTARTS", "AGE")
TOP_COLUMNS = ("NAME", "CPU(cores)", "MEMORY(bytes)")
# Subresources that would act on a container or a node rather than read an object.
FORBIDDEN_SUBRESOURCES = frozenset({"exec", "attach", "portforward", "proxy"})
# Resource names this probe reads: a segment after one of these is an object's name, which may be
# "proxy" without being the proxy subresource.
_COLLECTIONS = frozenset(
    {
        "namespaces",
        "pods",
        "events",
        "nodes",
        "services",
        "secrets",
        "persistentvolumeclaims",
        "networkpolicies",
        "horizontalpodautoscalers",
    }
)

T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


# --- the read-only client ---------------------------------------------------------------------


class ReadOnlyViolation(PermissionError):
    """A request this probe must never send (a write, exec, attach, port-forward or proxy)."""


def check_read_only(method: str, url: str) -> None:
    """Raise ReadOnlyViolation unless this is a GET of an ordinary object or collection."""
    if method.upper() != "GET":
        raise ReadOnlyViolation(f"oncall is read-only: refused {method.upper()} {urlsplit(url).path}")
    segments = [s for s in urlsplit(url).path.split("/") if s]
    for index, segment in enumerate(segments):
        if segment in FORBIDDEN_SUBRESOURCES and (index == 0 or segments[index - 1] not in _COLLECTIONS):
            raise ReadOnlyViolation(f"oncall is read-only: refused the {segment} subresource")


class _ReadOnlyRESTClient(k8s.rest.RESTClientObject):
    """The transport: the last place a request passes before bytes are sent, so the guard sits here too."""

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        check_read_only(method, url)
        return super().request(method, url, *args, **kwargs)


class ReadOnlyApiClient(k8s.ApiClient):
    """An ApiClient of its own (never the global default) that can only send GET reads."""

    def __init__(self, configuration: k8s.Configuration) -> None:
        super().__init__(configuration)
        self.rest_client = _ReadOnlyRESTClient(configuration)
        self.user_agent = USER_AGENT

    def call_api(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        check_read_only(method, url)
        return super().call_api(method, url, *args, **kwargs)


@dataclass(frozen=True)
class ClusterTarget:
    """Where the probe reads from, for headers and messages; never holds a credential."""

    server: str  # https://host:port
    context: str  # "" in cluster
    namespace: str
    kubeconfig: str  # the file(s) read, "" in cluster


class KubeConfigProblem(Exception):
    """The client can't be configured; `state` is "not-configured" or "down"."""

    def __init__(self, message: str, state: HealthState = "down") -> None:
        super().__init__(message)
        self.state = state


def build_client(
    settings: KubernetesSettings, env: Mapping[str, str] = os.environ
) -> tuple[ReadOnlyApiClient, ClusterTarget]:
    """A read-only client from in-cluster config or a kubeconfig (settings, then KUBECONFIG, then ~)."""
    configuration = type.__call__(k8s.Configuration)  # a fresh one, not a copy of the global default
    if settings.in_cluster:
        account = SERVICE_ACCOUNT_DIR
        try:
            # the loader re-reads the token file as it rotates (bound service account tokens expire)
            InClusterConfigLoader(
                token_filename=str(account / "token"), cert_filename=str(account / "ca.crt"), environ=env
            ).load_and_set(configuration)
        except ConfigException as exc:
            raise KubeConfigProblem(f"in-cluster config unavailable: {exc}", "not-configured") from None
        namespace = settings.namespace or _read_text(account / "namespace") or "default"
        target = ClusterTarget(configuration.host, "", namespace, "")
    else:
        target = _load_kubeconfig(settings, env, configuration)
    configuration.retries = False  # a failure is reported at once, in plain words, not after 3 retries
    return ReadOnlyApiClient(configuration), target


def _load_kubeconfig(
    settings: KubernetesSettings, env: Mapping[str, str], configuration: k8s.Configuration
) -> ClusterTarget:
    if settings.kubeconfig is not None:
        spec = str(settings.kubeconfig)
    else:
        spec = env.get("KUBECONFIG", "").strip() or DEFAULT_KUBECONFIG
    paths = [str(Path(p).expanduser()) for p in spec.split(os.pathsep) if p]
    existing = [p for p in paths if Path(p).is_file()]
    shown = os.pathsep.join(paths)
    if not existing:
        raise KubeConfigProblem(
            f"no kubeconfig at {shown}; set KUBECONFIG or [kubernetes] kubeconfig", "not-configured"
        )
    joined = os.pathsep.join(existing)
    try:
        contexts, current = k8s_config.list_kube_config_contexts(config_file=joined)
    except ConfigException as exc:
        raise KubeConfigProblem(f"kubeconfig {shown} is not usable: {exc}") from None
    except Exception as exc:  # a YAML error: the file is broken, say which
        raise KubeConfigProblem(f"kubeconfig {shown} is not valid YAML: {type(exc).__name__}") from None
    names = [c.get("name") for c in contexts or []]
    wanted = settings.context or (current or {}).get("name")
    if not wanted:
        raise KubeConfigProblem(f"kubeconfig {shown} has no current-context; set [kubernetes] context")
    if wanted not in names:
        known = ", ".join(str(n) for n in names) or "none"
        raise KubeConfigProblem(f"context {wanted!r} not found in kubeconfig {shown} (contexts: {known})")
    chosen = next(c for c in contexts if c.get("name") == wanted)
    try:
        k8s_config.load_kube_config(
            config_file=joined, context=wanted, client_configuration=configuration, persist_config=False
        )
    except ConfigException as exc:
        raise KubeConfigProblem(f"context {wanted!r} in kubeconfig {shown} is not usable: {exc}") from None
    except Exception as exc:  # exec plugins, missing cert files: say which context without a traceback
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise KubeConfigProblem(f"context {wanted!r} in kubeconfig {shown} is not usable: {reason}") from None
    namespace = settings.namespace or (chosen.get("context") or {}).get("namespace") or "default"
    return ClusterTarget(configuration.host, wanted, namespace, shown)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


# --- errors in plain words --------------------------------------------------------------------


class _ReadError(Exception):
    def __init__(self, message: str, state: HealthState = "down", status: int = 0) -> None:
        super().__init__(message)
        self.state = state
        self.status = status


def server_message(exc: ApiException) -> str:
    """The `message` of the Status body the API server sent, or its reason phrase."""
    body = exc.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body:
        with contextlib.suppress(ValueError):
            document = json.loads(body)
            if isinstance(document, dict) and isinstance(document.get("message"), str):
                return document["message"][:500]
        if not body.lstrip().startswith(("{", "<")):
            return body.strip()[:300]
    return str(exc.reason or "").strip()


def _root_cause(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        nxt = exc.__cause__ or exc.__context__ or getattr(exc, "reason", None)
        if not isinstance(nxt, BaseException):
            break
        exc = nxt
    return exc


def explain(exc: BaseException, target: ClusterTarget | None, timeout: float) -> _ReadError:
    """Any failure of a request as a health state and plain words; never a token, never a traceback."""
    where = target.server if target else "the API server"
    if isinstance(exc, _ReadError):
        return exc
    if isinstance(exc, ReadOnlyViolation):
        return _ReadError(str(exc))
    if isinstance(exc, ApiException) and exc.status:
        status = int(exc.status)
        message = server_message(exc)
        if status == 401:
            context = f"kubeconfig context {target.context}" if target and target.context else "config"
            return _ReadError(f"401 Unauthorized: check the token in {context}", "forbidden", status)
        if status == 403:
            return _ReadError(f"forbidden: {message}", "forbidden", status)
        if status == 404:
            return _ReadError(f"not found: {message}", "down", status)
        if status == 410:
            return _ReadError(f"expired: {message}", "down", status)
        reason = f" {exc.reason}" if exc.reason else ""
        return _ReadError(f"HTTP {status}{reason} from {where}: {message}".rstrip(": "), "down", status)
    cause = _root_cause(exc)
    # the cause first: urllib3's NewConnectionError is a ConnectTimeoutError even when refused at once
    if isinstance(cause, ConnectionRefusedError):
        return _ReadError(f"connection refused at {where}")
    if isinstance(cause, socket.gaierror) or isinstance(exc, urllib3.exceptions.NameResolutionError):
        host = urlsplit(where).hostname or where
        return _ReadError(f"cannot resolve host {host!r}")
    if isinstance(cause, ssl.SSLCertVerificationError):
        return _ReadError(f"TLS certificate not trusted at {where}: {cause.verify_message}")
    if isinstance(cause, ssl.SSLError) or isinstance(exc, urllib3.exceptions.SSLError):
        return _ReadError(f"TLS handshake failed at {where}")
    if isinstance(exc, urllib3.exceptions.TimeoutError) or isinstance(cause, TimeoutError):
        return _ReadError(f"timed out after {timeout:g}s waiting for {where}")
    if isinstance(exc, urllib3.exceptions.ProtocolError | ConnectionError | OSError):
        return _ReadError(f"connection to {where} lost: {type(cause).__name__}")
    if isinstance(exc, urllib3.exceptions.HTTPError):
        return _ReadError(f"request to {where} failed: {type(cause).__name__}")
    return _ReadError(f"internal error while reading Kubernetes: {type(exc).__name__}")


# --- the pod cache ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PodChanges:
    version: int  # the cache version these changes bring the reader to
    keys: frozenset[str]  # "namespace/name" of pods added, modified or deleted since the asked version
    full: bool  # the asked version is too old to know: redraw everything


def _row_order(row: PodRow) -> tuple[str, str]:
    return (row.namespace, row.name)


class PodCache:
    """Pods by "namespace/name", thread-safe; every change bumps `version`. The UI draws from it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, PodRow] = {}
        self._version = 0
        self._log_versions: list[int] = []  # parallel lists: which key changed at which version
        self._log_keys: list[str] = []
        self._log_floor = 0  # changes at or before this version were trimmed from the log
        self._sorted: tuple[PodRow, ...] = ()
        self._sorted_version = -1
        self.synced = False  # a full list has been applied: the cache is complete
        self.resource_version = ""

    @property
    def version(self) -> int:
        return self._version

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, key: str) -> PodRow | None:
        return self._rows.get(key)

    def rows(self) -> tuple[PodRow, ...]:
        """All pods sorted by namespace and name; the same tuple until the next change."""
        with self._lock:
            if self._sorted_version == self._version:
                return self._sorted
            version, values = self._version, list(self._rows.values())
        # sorted outside the lock: the informer thread never waits for a reader's sort
        ordered = tuple(sorted(values, key=_row_order))
        with self._lock:
            if version >= self._sorted_version:
                self._sorted, self._sorted_version = ordered, version
        return ordered

    def changed_since(self, version: int) -> PodChanges:
        with self._lock:
            if version >= self._version:
                return PodChanges(self._version, frozenset(), full=False)
            if version < self._log_floor:
                return PodChanges(self._version, frozenset(self._rows), full=True)
            start = bisect.bisect_right(self._log_versions, version)
            return PodChanges(self._version, frozenset(self._log_keys[start:]), full=False)

    def upsert(self, row: PodRow) -> None:
        with self._lock:
            self._rows[row.key] = row
            self._changed(row.key)

    def delete(self, key: str) -> None:
        with self._lock:
            if self._rows.pop(key, None) is not None:
                self._changed(key)

    def replace_all(self, rows: list[PodRow], resource_version: str) -> None:
        """A fresh list: pods gone from it are removed, the rest replaced; one version bump per change."""
        fresh = {row.key: row for row in rows}
        with self._lock:
            current = dict(self._rows)
        # the diff runs outside the lock (only the informer thread writes), so readers never wait on it
        removed = [key for key in current if key not in fresh]
        changed = [row for key, row in fresh.items() if current.get(key) != row]
        with self._lock:
            for key in removed:
                del self._rows[key]
                self._changed(key)
            for row in changed:
                self._rows[row.key] = row
                self._changed(row.key)
            self.synced = True
            self.resource_version = resource_version

    def _changed(self, key: str) -> None:
        self._version += 1
        self._log_versions.append(self._version)
        self._log_keys.append(key)
        # keep the log bounded: a reader further behind than this is told to redraw everything
        limit = 4 * len(self._rows) + 1024
        if len(self._log_keys) > 2 * limit:
            cut = len(self._log_keys) - limit
            self._log_floor = self._log_versions[cut - 1]
            del self._log_versions[:cut]
            del self._log_keys[:cut]


# --- the pod informer -------------------------------------------------------------------------


class _Expired(Exception):
    """The watch's resourceVersion is gone from the server's history: list again."""


class PodInformer:
    """List then watch pods in a daemon thread, like client-go's reflector, feeding a PodCache."""

    def __init__(
        self,
        api: ReadOnlyApiClient,
        target: ClusterTarget,
        *,
        namespace: str | None,
        label_selector: str | None = None,
        timeout: float = 5.0,
        watch_seconds: int = WATCH_SECONDS,
        cache: PodCache | None = None,
        clock: Callable[[], datetime] = utc_now,
        backoff_max: float = BACKOFF_CAP,
    ) -> None:
        self.cache = cache or PodCache()
        self.namespace = namespace  # None: all namespaces
        self.label_selector = label_selector
        self._api = api
        self._core: Any = None  # made in the thread: the client imports its API module lazily, slowly
        self._target = target
        self._timeout = timeout
        self._watch_seconds = watch_seconds
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._response: Any = None
        self._response_lock = threading.Lock()
        self.backoff = Backoff(base=0.2, cap=backoff_max)
        self.lists = 0  # full lists done: 1 at start, +1 per 410
        self.watches = 0  # watch requests sent
        self._health = SourceHealth(source=SOURCE, state="degraded", last_error="listing pods…")
        self._health_lock = threading.Lock()
        self.list_seconds: float | None = None  # how long the last full list took, parse included

    @property
    def health(self) -> SourceHealth:
        with self._health_lock:
            return self._health

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> PodInformer:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="oncall-pod-informer", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread: closes the open watch so a blocked read returns at once."""
        self._stop.set()
        self._abort_response()
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_synced(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.cache.synced:
                return True
            if self._stop.wait(0.01):
                break
        return self.cache.synced

    def _run(self) -> None:
        self._core = k8s.CoreV1Api(self._api)
        need_list = True
        while not self._stop.is_set():
            try:
                if need_list:
                    self._list()
                    need_list = False
                self._watch()
                self.backoff.success()
            except _Expired:
                need_list = True  # 410: the history we'd resume from is compacted; relist at once
            except Exception as exc:  # never let the thread die: report, back off, retry
                if self._stop.is_set():
                    break
                if isinstance(exc, ApiException) and exc.status == 410:
                    need_list = True
                    continue
                self._failed(explain(exc, self._target, self._timeout))
                self._stop.wait(self.backoff.next_delay())

    def _list(self) -> None:
        """A full list in pages, as client-go's pager does; the cache is replaced once, when complete."""
        started = time.perf_counter()
        rows: list[PodRow] = []
        token: str | None = None
        resource_version = ""
        while True:
            kwargs: dict[str, Any] = {
                "limit": LIST_PAGE,
                "_preload_content": False,
                "_request_timeout": self._request_timeout(),
            }
            if token:
                kwargs["_continue"] = token
            if self.label_selector:
                kwargs["label_selector"] = self.label_selector
            if self.namespace is None:
                response = self._core.list_pod_for_all_namespaces(**kwargs)
            else:
                response = self._core.list_namespaced_pod(self.namespace, **kwargs)
            with self._tracked(response):
                # one page at a time: json.loads holds the GIL, and a 17 MB list would stall the UI
                body = _json_body(response, "the pod list")
            rows.extend(pod_row(item) for item in body.get("items") or [])
            metadata = body.get("metadata") or {}
            resource_version = resource_version or str(metadata.get("resourceVersion", ""))
            token = metadata.get("continue") or None
            if token is None or self._stop.is_set():
                break
        if self._stop.is_set():
            return
        self.cache.replace_all(rows, resource_version)
        self.lists += 1
        self.list_seconds = time.perf_counter() - started
        self._ok(latency=self.list_seconds)

    def _watch(self) -> None:
        kwargs: dict[str, Any] = {
            "watch": True,
            "allow_watch_bookmarks": True,
            "resource_version": self.cache.resource_version,
            "timeout_seconds": self._watch_seconds,
            "_preload_content": False,
            # the answer's head must come within the timeout, like any request: a hung server is
            # found out in seconds, not after a whole watch
            "_request_timeout": self._request_timeout(),
        }
        if self.label_selector:
            kwargs["label_selector"] = self.label_selector
        self.watches += 1
        if self.namespace is None:
            response = self._core.list_pod_for_all_namespaces(**kwargs)
        else:
            response = self._core.list_namespaced_pod(self.namespace, **kwargs)
        opened = time.monotonic()
        events = 0
        with self._tracked(response):
            _expect_json(response, "the pod watch")
            # the stream's read timeout outlives the server's own watch timeout; a dead link ends there
            _stream_timeout(response, self._watch_seconds + self._timeout)
            self._ok()
            try:
                for line in _lines(response):
                    if self._stop.is_set():
                        return
                    if line:
                        events += 1
                        self._event(line)
            except (urllib3.exceptions.HTTPError, OSError):
                # a watch cut mid-stream (a proxy's idle timeout, a dropped link) is routine: resume
                # from the last version; only a failure to reconnect counts against the health
                if self._stop.is_set():
                    return
        if not events and time.monotonic() - opened < 0.5:
            # a server that ends every watch at once is failing, however politely: back off, say so
            raise _ReadError("the API server ended the pod watch at once, with no event")

    def _event(self, line: bytes) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            raise _ReadError(
                f"the API server sent a watch event that is not JSON: {_excerpt(line)}"
            ) from None
        if not isinstance(event, dict):
            raise _ReadError(f"the API server sent a watch event that is not an object: {_excerpt(line)}")
        kind = event.get("type")
        obj = event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise _Expired
            raise _ReadError(f"watch error from the API server: {obj.get('message') or obj.get('reason')}")
        version = str((obj.get("metadata") or {}).get("resourceVersion", ""))
        if kind in ("ADDED", "MODIFIED"):
            self.cache.upsert(pod_row(obj))
        elif kind == "DELETED":
            metadata = obj.get("metadata") or {}
            self.cache.delete(f"{metadata.get('namespace', '')}/{metadata.get('name', '')}")
        if version:
            self.cache.resource_version = version  # bookmarks carry only this, and it's what they're for

    def _request_timeout(self) -> tuple[float, float]:
        return (self._timeout, self._timeout)

    @contextlib.contextmanager
    def _tracked(self, response: Any) -> Iterator[None]:
        with self._response_lock:
            self._response = response
        if self._stop.is_set():
            self._abort_response()
        try:
            yield
        finally:
            with self._response_lock:
                self._response = None
            with contextlib.suppress(Exception):
                response.release_conn()

    def _abort_response(self) -> None:
        with self._response_lock:
            response = self._response
        if response is None:
            return
        # shutting the socket down wakes a thread blocked in recv (close() alone may wait for it)
        with contextlib.suppress(Exception):
            response.shutdown()
        with contextlib.suppress(Exception):
            sock = getattr(getattr(response, "connection", None), "sock", None)
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)

    def _ok(self, latency: float | None = None) -> None:
        now = self._clock()
        where = "all namespaces" if self.namespace is None else f"namespace {self.namespace}"
        count = len(self.cache)
        detail = f"{count} pod{'s' if count != 1 else ''} in {where}, watching"
        with self._health_lock:
            self._health = SourceHealth(
                source=SOURCE,
                state="ok",
                checked_at=now,
                last_success=now,
                latency=latency if latency is not None else self._health.latency,
                detail=detail,
                endpoint=self._target.server,
            )

    def _failed(self, error: _ReadError) -> None:
        self.backoff.failure()
        with self._health_lock:
            previous = self._health
            self._health = SourceHealth.failed(
                SOURCE,
                str(error),
                checked_at=self._clock(),
                previous=previous,
                endpoint=self._target.server,
                state=error.state,
            )


def _chunks(response: Any) -> Iterator[bytes]:
    """The body as it arrives: per HTTP chunk, or per socket read when the body isn't chunked."""
    if getattr(response, "chunked", False):
        yield from response.stream(amt=None, decode_content=True)
        return
    while chunk := response.read1(65536):
        yield chunk


def _lines(response: Any) -> Iterator[bytes]:
    """Newline-delimited watch events as they arrive, without waiting for a full read buffer.

    A last line without its newline is torn (the connection dropped mid-event) and is left out: the
    next watch resumes from the last version."""
    buffer = b""
    for chunk in _chunks(response):
        buffer += chunk
        if b"\n" not in buffer:
            continue
        *complete, buffer = buffer.split(b"\n")
        yield from complete


def _excerpt(data: bytes, limit: int = 60) -> str:
    text = data.decode("utf-8", "replace").strip()
    return repr(text[:limit] + ("…" if len(text) > limit else ""))


def _content_type(response: Any) -> str:
    headers = getattr(response, "headers", None) or {}
    return str(headers.get("Content-Type") or "").split(";")[0].strip().lower()


def _expect_json(response: Any, what: str) -> None:
    """A 200 that is not JSON (a login page, a proxy's error page) is a failure, said as such."""
    kind = _content_type(response)
    if kind and "json" not in kind:
        raise _ReadError(f"the API server answered {what} with {kind}, not JSON")


def _json_body(response: Any, what: str) -> Any:
    """The response's JSON document; anything else is a failure in plain words."""
    _expect_json(response, what)
    try:
        return json.loads(response.data)
    except ValueError:
        raise _ReadError(f"the API server answered {what} with something that is not JSON") from None


def _stream_timeout(response: Any, seconds: float) -> None:
    """Let a streaming body wait `seconds` between reads, once its head has come within the timeout."""
    sock = getattr(getattr(response, "connection", None), "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.settimeout(seconds)


# --- plain reads ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceSnapshot(Generic[T]):
    """One read of one resource; a failure keeps the last items, marked by health, for that panel only."""

    resource: str  # "events", "nodes", "pod metrics", ...
    items: tuple[T, ...]
    health: SourceHealth
    fetched_at: datetime | None  # when `items` were read; older than health.checked_at when stale


@dataclass(frozen=True, slots=True)
class KubeEvent:
    namespace: str
    type: str  # "Warning" or "Normal"
    reason: str  # "BackOff", "OOMKilling", "FailedScheduling", ...
    message: str
    object: str  # "Pod/inmidst-api-7d9f-abcde"
    involved_kind: str
    involved_name: str
    count: int
    first_seen: datetime | None
    last_seen: datetime | None
    source: str  # the component that reported it, e.g. "kubelet"


@dataclass(frozen=True, slots=True)
class NodeRow:
    name: str
    ready: str  # "True", "False" or "Unknown"
    memory_pressure: bool
    disk_pressure: bool
    pid_pressure: bool
    unschedulable: bool
    roles: tuple[str, ...]
    kubelet_version: str
    cpu_allocatable: float | None  # cores
    memory_allocatable: float | None  # bytes
    created_at: datetime | None
    conditions: tuple[tuple[str, str, str], ...]  # (type, status, message)

    @property
    def status(self) -> str:
        """kubectl's STATUS column: Ready / NotReady / Unknown, with SchedulingDisabled."""
        words = {"True": "Ready", "False": "NotReady"}.get(self.ready, "Unknown")
        return f"{words},SchedulingDisabled" if self.unschedulable else words


@dataclass(frozen=True, slots=True)
class HpaRow:
    namespace: str
    name: str
    target: str  # "Deployment/inmidst-api"
    min_replicas: int
    max_replicas: int
    current_replicas: int
    desired_replicas: int
    metrics: str  # kubectl's TARGETS column, e.g. "cpu: 85%/70%"
    at_max: bool  # scaled out as far as it may: more load will not add pods


@dataclass(frozen=True, slots=True)
class PvcRow:
    namespace: str
    name: str
    phase: str  # Bound, Pending, Lost
    volume: str
    capacity: str
    access_modes: tuple[str, ...]
    storage_class: str
    labels: Labels


@dataclass(frozen=True, slots=True)
class ServiceRow:
    namespace: str
    name: str
    type: str
    cluster_ip: str
    ports: str  # "80/TCP,5432/TCP"
    selector: Labels


@dataclass(frozen=True, slots=True)
class NetworkPolicyRow:
    namespace: str
    name: str
    pod_selector: str  # "app=inmidst-api", or "<all pods>"
    policy_types: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PodMetrics:
    namespace: str
    name: str
    cpu: float  # cores
    memory: float  # bytes
    containers: tuple[tuple[str, float, float], ...]  # (name, cores, bytes)
    timestamp: datetime | None


@dataclass(frozen=True)
class LogTail:
    namespace: str
    pod: str
    container: str | None
    previous: bool
    lines: tuple[str, ...]
    truncated: bool  # the server sent more than the bound; the oldest lines were dropped
    containers: tuple[str, ...]  # when the pod has several and none was named: the ones to choose from
    health: SourceHealth
    fetched_at: datetime | None


class KubernetesProbe:
    """Reads one cluster through a read-only client. Pods are watched; the rest are plain reads.

    Every read returns its own health, so a 403 on events marks only the events panel; nothing raises.
    Sync `read_*` methods block (for threads and tools); the async ones run them off the event loop.
    """

    def __init__(
        self,
        settings: KubernetesSettings,
        *,
        env: Mapping[str, str] = os.environ,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self._env = env
        self._clock = clock
        self._api: ReadOnlyApiClient | None = None
        self.target: ClusterTarget | None = None
        self._config_problem: KubeConfigProblem | None = None
        self._informer: PodInformer | None = None
        self._health: dict[str, SourceHealth] = {}
        self._last: dict[str, ResourceSnapshot[Any]] = {}
        self._unreachable: SourceHealth | None = None  # the last plain read the API server did not answer
        self._lock = threading.Lock()
        self.connect()

    # connection and lifecycle

    def connect(self) -> SourceHealth:
        """Build the client from the settings (no request is sent); the result is the config's health."""
        self.close()
        try:
            self._api, self.target = build_client(self.settings, self._env)
            self._config_problem = None
        except KubeConfigProblem as problem:
            self._api, self.target, self._config_problem = None, None, problem
        return self.health

    @property
    def namespace(self) -> str:
        return self.target.namespace if self.target else (self.settings.namespace or "default")

    @property
    def endpoint(self) -> str | None:
        return self.target.server if self.target else None

    @property
    def api_client(self) -> ReadOnlyApiClient | None:
        return self._api

    @property
    def health(self) -> SourceHealth:
        """The source's overall health: the config, then the pod watch when one runs."""
        if self._config_problem is not None:
            problem = self._config_problem
            if problem.state == "not-configured":
                return SourceHealth.not_configured(SOURCE, str(problem))
            return SourceHealth(
                source=SOURCE, state="down", checked_at=self._clock(), last_error=str(problem)
            )
        if self._informer is not None:
            watch = self._informer.health
            with self._lock:
                unreachable = self._unreachable
            # an open watch on a server that stopped answering looks fine until its read timeout (half a
            # minute); a plain read it has not answered since the watch was last known good says so now
            if (
                unreachable is not None
                and watch.state == "ok"
                and unreachable.checked_at is not None
                and watch.checked_at is not None
                and unreachable.checked_at > watch.checked_at
            ):
                return replace(unreachable, last_success=watch.last_success, detail=watch.detail)
            return watch
        return self._health.get("pods") or SourceHealth(source=SOURCE, state="ok", endpoint=self.endpoint)

    def resource_health(self, resource: str) -> SourceHealth | None:
        with self._lock:
            return self._health.get(resource)

    def close(self) -> None:
        self.stop_pods()
        if self._api is not None:
            with contextlib.suppress(Exception):
                self._api.close()
            self._api = None

    def __enter__(self) -> KubernetesProbe:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # pods

    def start_pods(
        self,
        namespace: str | None = None,
        *,
        all_namespaces: bool = False,
        label_selector: str | None = None,
        watch_seconds: int = WATCH_SECONDS,
    ) -> PodCache:
        """Start the pod informer (once); the returned cache fills as the list arrives."""
        if self._informer is not None:
            return self._informer.cache
        if self._api is None or self.target is None:
            return PodCache()
        self._informer = PodInformer(
            self._api,
            self.target,
            namespace=None if all_namespaces else (namespace or self.namespace),
            label_selector=label_selector,
            timeout=self.settings.timeout,
            watch_seconds=watch_seconds,
            clock=self._clock,
            backoff_max=self.settings.backoff_max,
        ).start()
        return self._informer.cache

    @property
    def informer(self) -> PodInformer | None:
        return self._informer

    @property
    def pods(self) -> PodCache | None:
        return self._informer.cache if self._informer else None

    def stop_pods(self, timeout: float = 2.0) -> None:
        if self._informer is not None:
            self._informer.stop(timeout)
            self._informer = None

    def read_pods(
        self, namespace: str | None = None, label_selector: str | None = None
    ) -> ResourceSnapshot[PodRow]:
        """One plain list of pods, for one-shot reports; the UI watches through start_pods instead."""

        def read() -> tuple[PodRow, ...]:
            body = self._json(
                k8s.CoreV1Api(self._client()).list_namespaced_pod,
                "pods",
                namespace or self.namespace,
                label_selector=label_selector,
            )
            rows = (pod_row(item) for item in body.get("items") or [])
            return tuple(sorted(rows, key=lambda r: (r.namespace, r.name)))

        return self._read("pods", read)

    async def list_pods(
        self, namespace: str | None = None, label_selector: str | None = None
    ) -> ResourceSnapshot[PodRow]:
        return await asyncio.to_thread(self.read_pods, namespace, label_selector)

    # check: what `oncall check` runs

    def read_check(self) -> SourceHealth:
        """The server's version and one pod: proves reachability, credentials and the right to list pods."""
        k8s.CoreV1Api  # noqa: B018 - the client imports this module lazily (~0.5 s); not a network cost
        started = time.perf_counter()
        try:
            api = self._client()
            version = self._get_path("/version")
            self._json(
                k8s.CoreV1Api(api).list_namespaced_pod, "pods", self.namespace, limit=1
            )  # the body is not needed: the 200 is the proof
        except Exception as exc:
            if self._config_problem is not None:
                return self.health
            error = explain(exc, self.target, self.settings.timeout)
            return SourceHealth(
                source=SOURCE,
                state=error.state,
                checked_at=self._clock(),
                last_error=str(error),
                endpoint=self.endpoint,
            )
        now = self._clock()
        git = version.get("gitVersion", "?") if isinstance(version, dict) else "?"
        context = f"context {self.target.context}, " if self.target and self.target.context else ""
        return SourceHealth(
            source=SOURCE,
            state="ok",
            checked_at=now,
            last_success=now,
            latency=time.perf_counter() - started,
            detail=f"Kubernetes {git} ({context}namespace {self.namespace}); pods readable",
            endpoint=self.endpoint,
        )

    async def check(self) -> SourceHealth:
        return await asyncio.to_thread(self.read_check)

    # events

    def read_events(
        self, namespace: str | None = None, involved: str | None = None, limit: int = 200
    ) -> ResourceSnapshot[KubeEvent]:
        """Events, warnings first then newest; `involved` is a pod (or "Kind/name") to narrow to."""
        selector = None
        if involved:
            kind, _, name = involved.rpartition("/")
            selector = f"involvedObject.name={name}" + (f",involvedObject.kind={kind}" if kind else "")

        def read() -> tuple[KubeEvent, ...]:
            body = self._json(
                k8s.CoreV1Api(self._client()).list_namespaced_event,
                "events",
                namespace or self.namespace,
                field_selector=selector,
            )
            events = [event_row(item) for item in body.get("items") or []]
            events.sort(key=event_order)
            return tuple(events[: max(0, limit)])

        return self._read("events", read)

    async def events(
        self, namespace: str | None = None, involved: str | None = None, limit: int = 200
    ) -> ResourceSnapshot[KubeEvent]:
        return await asyncio.to_thread(self.read_events, namespace, involved, limit)

    # logs

    def read_logs(
        self,
        namespace: str | None,
        pod: str,
        container: str | None = None,
        tail: int = 200,
        previous: bool = False,
    ) -> LogTail:
        """The last `tail` lines (at most LOG_TAIL_MAX) of a container, or of its previous instance."""
        namespace = namespace or self.namespace
        tail = max(1, min(tail, LOG_TAIL_MAX))
        started = time.perf_counter()
        containers: tuple[str, ...] = ()
        try:
            kwargs: dict[str, Any] = {
                "tail_lines": tail,
                "limit_bytes": LOG_BYTES_MAX,
                "_preload_content": False,
                "_request_timeout": self._request_timeout(),
            }
            if container:
                kwargs["container"] = container
            if previous:
                kwargs["previous"] = True
            response = k8s.CoreV1Api(self._client()).read_namespaced_pod_log(pod, namespace, **kwargs)
            data = response.data
        except Exception as exc:
            error = explain(exc, self.target, self.settings.timeout)
            message = str(error)
            if isinstance(exc, ApiException) and exc.status == 400:
                message, containers = _log_problem(server_message(exc), pod, previous)
            health = self._failed_health("logs", error.state, message)
            return LogTail(namespace, pod, container, previous, (), False, containers, health, None)
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
        lines = text.splitlines()
        truncated = len(lines) > tail or len(data) >= LOG_BYTES_MAX
        lines = lines[-tail:]
        what = f"{len(lines)} line{'s' if len(lines) != 1 else ''}" + (" (previous)" if previous else "")
        health = self._ok_health("logs", what, time.perf_counter() - started)
        return LogTail(
            namespace, pod, container, previous, tuple(lines), truncated, (), health, health.last_success
        )

    async def logs(
        self,
        namespace: str | None,
        pod: str,
        container: str | None = None,
        tail: int = 200,
        previous: bool = False,
    ) -> LogTail:
        return await asyncio.to_thread(self.read_logs, namespace, pod, container, tail, previous)

    # cluster objects

    def read_nodes(self) -> ResourceSnapshot[NodeRow]:
        def read() -> tuple[NodeRow, ...]:
            body = self._json(k8s.CoreV1Api(self._client()).list_node, "nodes")
            return tuple(sorted((node_row(item) for item in body.get("items") or []), key=lambda n: n.name))

        return self._read("nodes", read)

    async def nodes(self) -> ResourceSnapshot[NodeRow]:
        return await asyncio.to_thread(self.read_nodes)

    def read_hpas(self, namespace: str | None = None) -> ResourceSnapshot[HpaRow]:
        def read() -> tuple[HpaRow, ...]:
            body = self._json(
                k8s.AutoscalingV2Api(self._client()).list_namespaced_horizontal_pod_autoscaler,
                "horizontalpodautoscalers",
                namespace or self.namespace,
            )
            return tuple(sorted((hpa_row(i) for i in body.get("items") or []), key=lambda h: h.name))

        return self._read("hpas", read)

    async def hpas(self, namespace: str | None = None) -> ResourceSnapshot[HpaRow]:
        return await asyncio.to_thread(self.read_hpas, namespace)

    def read_pvcs(
        self, label_selector: str | None = None, namespace: str | None = None
    ) -> ResourceSnapshot[PvcRow]:
        def read() -> tuple[PvcRow, ...]:
            body = self._json(
                k8s.CoreV1Api(self._client()).list_namespaced_persistent_volume_claim,
                "persistentvolumeclaims",
                namespace or self.namespace,
                label_selector=label_selector,
            )
            return tuple(sorted((pvc_row(i) for i in body.get("items") or []), key=lambda p: p.name))

        return self._read("pvcs", read)

    async def pvcs(
        self, label_selector: str | None = None, namespace: str | None = None
    ) -> ResourceSnapshot[PvcRow]:
        return await asyncio.to_thread(self.read_pvcs, label_selector, namespace)

    def read_services(self, namespace: str | None = None) -> ResourceSnapshot[ServiceRow]:
        def read() -> tuple[ServiceRow, ...]:
            body = self._json(
                k8s.CoreV1Api(self._client()).list_namespaced_service, "services", namespace or self.namespace
            )
            return tuple(sorted((service_row(i) for i in body.get("items") or []), key=lambda s: s.name))

        return self._read("services", read)

    async def services(self, namespace: str | None = None) -> ResourceSnapshot[ServiceRow]:
        return await asyncio.to_thread(self.read_services, namespace)

    def read_network_policies(self, namespace: str | None = None) -> ResourceSnapshot[NetworkPolicyRow]:
        def read() -> tuple[NetworkPolicyRow, ...]:
            body = self._json(
                k8s.NetworkingV1Api(self._client()).list_namespaced_network_policy,
                "networkpolicies",
                namespace or self.namespace,
            )
            return tuple(
                sorted((network_policy_row(i) for i in body.get("items") or []), key=lambda p: p.name)
            )

        return self._read("network policies", read)

    async def network_policies(self, namespace: str | None = None) -> ResourceSnapshot[NetworkPolicyRow]:
        return await asyncio.to_thread(self.read_network_policies, namespace)

    def read_pod_metrics(self, namespace: str | None = None) -> ResourceSnapshot[PodMetrics]:
        """CPU and memory per pod from metrics.k8s.io; without metrics-server that's a state, not an error."""

        def read() -> tuple[PodMetrics, ...]:
            try:
                body = self._json(
                    k8s.CustomObjectsApi(self._client()).list_namespaced_custom_object,
                    "pods.metrics.k8s.io",
                    "metrics.k8s.io",
                    "v1beta1",
                    namespace or self.namespace,
                    "pods",
                )
            except ApiException as exc:
                if exc.status == 404:
                    raise _ReadError("metrics-server not installed", "not-configured", 404) from None
                if exc.status == 503:
                    raise _ReadError(
                        f"metrics-server not answering: {server_message(exc)}", "down", 503
                    ) from None
                raise
            return tuple(sorted((metrics_row(i) for i in body.get("items") or []), key=lambda m: m.name))

        return self._read("pod metrics", read)

    async def pod_metrics(self, namespace: str | None = None) -> ResourceSnapshot[PodMetrics]:
        return await asyncio.to_thread(self.read_pod_metrics, namespace)

    def read_helm_history(self, release: str, namespace: str | None = None) -> ResourceSnapshot[HelmRevision]:
        """A release's revisions, newest first, from its Secrets (the Helm 3 default storage)."""

        def read() -> tuple[HelmRevision, ...]:
            body = self._json(
                k8s.CoreV1Api(self._client()).list_namespaced_secret,
                "secrets",
                namespace or self.namespace,
                label_selector=release_selector(release),
            )
            revisions, skipped = history_from_secrets(body.get("items") or [])
            if skipped and not revisions:
                raise _ReadError(f"{skipped} Helm release secrets of {release} could not be decoded")
            return revisions

        return self._read("helm history", read)

    async def helm_history(
        self, release: str, namespace: str | None = None
    ) -> ResourceSnapshot[HelmRevision]:
        return await asyncio.to_thread(self.read_helm_history, release, namespace)

    # live triage: a runbook's kubectl command as a Reading

    def read_pods_reading(self, selector: str | None, namespace: str | None = None) -> Reading:
        """`kubectl get pods [-l selector]`: NAME, READY, STATUS, RESTARTS, AGE as kubectl prints them."""
        namespace = namespace or self.namespace
        what = kubectl(namespace, "get pods", selector)
        return self._reading(
            what,
            lambda: pods_reading_from(
                what, namespace, selector, self._pod_items(namespace, selector), self._clock
            ),
        )

    async def pods_reading(self, selector: str | None, namespace: str | None = None) -> Reading:
        return await asyncio.to_thread(self.read_pods_reading, selector, namespace)

    def read_logs_reading(
        self,
        selector: str,
        tail: int,
        namespace: str | None = None,
        container: str | None = None,
        previous: bool = False,
    ) -> Reading:
        """`kubectl logs -l selector --tail=N --prefix`: at most LOGS_PODS_MAX pods, `tail` lines each.

        Each pod's container is `container`, else its default one (the kubectl.kubernetes.io/default-container
        annotation, else the first), as kubectl picks it. With `previous`, only pods whose container has a
        terminated instance are read. When more pods match, those that restarted most are read.
        """
        namespace = namespace or self.namespace
        what, tail = logs_command(namespace, selector, tail, container, previous)

        def read() -> Reading:
            items = self._pod_items(namespace, selector)
            return logs_reading_from(
                what,
                namespace,
                selector,
                items,
                container,
                previous,
                lambda pod, name: self.read_logs(namespace, pod, name, tail, previous),
                self._clock,
            )

        return self._reading(what, read)

    async def logs_reading(
        self,
        selector: str,
        tail: int,
        namespace: str | None = None,
        container: str | None = None,
        previous: bool = False,
    ) -> Reading:
        return await asyncio.to_thread(self.read_logs_reading, selector, tail, namespace, container, previous)

    def read_describe_reading(self, selector: str, namespace: str | None = None) -> Reading:
        """`kubectl describe pod -l selector`, the lines that matter in triage, in kubectl's layout.

        Per pod (at most DESCRIBE_PODS_MAX): Name, Namespace, Node, Status, per container its State, Last
        State, Ready, Restart Count, Limits and Requests, then the pod's Events; so `grep -A5 "Last State"`
        finds here what it finds in kubectl's output.
        """
        namespace = namespace or self.namespace
        what = kubectl(namespace, "describe pod", selector)

        def pod_events(item: dict[str, Any]) -> list[dict[str, Any]] | str:
            try:
                return self._pod_events(namespace, item)
            except Exception as exc:  # the pod is still worth showing without its events
                return str(explain(exc, self.target, self.settings.timeout))

        def read() -> Reading:
            items = self._pod_items(namespace, selector)
            return describe_reading_from(what, namespace, selector, items, pod_events, self._clock)

        return self._reading(what, read)

    async def describe_reading(self, selector: str, namespace: str | None = None) -> Reading:
        return await asyncio.to_thread(self.read_describe_reading, selector, namespace)

    def read_top_reading(self, selector: str, namespace: str | None = None) -> Reading:
        """`kubectl top pods -l selector`: NAME, CPU(cores), MEMORY(bytes) from metrics.k8s.io."""
        namespace = namespace or self.namespace
        what = kubectl(namespace, "top pods", selector)

        def read() -> Reading:
            items = self._pod_items(namespace, selector)
            try:
                body = self._json(
                    k8s.CustomObjectsApi(self._client()).list_namespaced_custom_object,
                    "pods.metrics.k8s.io",
                    "metrics.k8s.io",
                    "v1beta1",
                    namespace,
                    "pods",
                    label_selector=selector,
                )
            except ApiException as exc:
                if exc.status == 404:
                    raise _ReadError(
                        "metrics API not available: metrics.k8s.io is not served "
                        "(is metrics-server installed?)",
                        "not-configured",
                        404,
                    ) from None
                if exc.status == 503:
                    raise _ReadError(
                        f"metrics API not answering: {server_message(exc)}", "down", 503
                    ) from None
                raise
            metrics = [metrics_row(item) for item in body.get("items") or []]
            return top_reading_from(what, namespace, selector, items, metrics, self._clock)

        return self._reading(what, read)

    async def top_reading(self, selector: str, namespace: str | None = None) -> Reading:
        return await asyncio.to_thread(self.read_top_reading, selector, namespace)

    def read_jsonpath_reading(
        self, selector: str | None, jsonpath: str, namespace: str | None = None
    ) -> Reading:
        """`kubectl get pods [-l selector] -o jsonpath=TEMPLATE`: the same text, as lines, tabs expanded.

        The template runs over the pod list as kubectl gives it to its printer (a List whose items carry
        apiVersion and kind); values of one `{}` are space-separated on one line, as kubectl prints them.
        """
        namespace = namespace or self.namespace
        what = jsonpath_command(namespace, selector, jsonpath)

        def pod_list() -> dict[str, Any]:
            return self._json(
                k8s.CoreV1Api(self._client()).list_namespaced_pod, "pods", namespace, label_selector=selector
            )

        return self._reading(what, lambda: jsonpath_reading_from(what, jsonpath, pod_list, self._clock))

    async def jsonpath_reading(
        self, selector: str | None, jsonpath: str, namespace: str | None = None
    ) -> Reading:
        return await asyncio.to_thread(self.read_jsonpath_reading, selector, jsonpath, namespace)

    def _reading(self, what: str, read: Callable[[], Reading]) -> Reading:
        """Run a triage read; any failure is a failed Reading in plain words (a 403 with the server's)."""
        try:
            return read()
        except Exception as exc:
            return Reading.failed(SOURCE, what, str(explain(exc, self.target, self.settings.timeout)))

    def _pod_items(self, namespace: str, selector: str | None) -> list[dict[str, Any]]:
        """The pods' JSON as the API returns them, sorted by name."""
        body = self._json(
            k8s.CoreV1Api(self._client()).list_namespaced_pod, "pods", namespace, label_selector=selector
        )
        items = [_d(item) for item in body.get("items") or []]
        return sorted(items, key=_name)

    def _pod_events(self, namespace: str, pod: dict[str, Any]) -> list[dict[str, Any]]:
        """The events of one pod, as kubectl describe asks for them (by name and kind, then by uid)."""
        name = _name(pod)
        body = self._json(
            k8s.CoreV1Api(self._client()).list_namespaced_event,
            "events",
            namespace,
            field_selector=f"involvedObject.name={name},involvedObject.kind=Pod",
        )
        uid = _s(_d(pod.get("metadata")).get("uid"))
        events = [_d(item) for item in body.get("items") or []]
        # a StatefulSet's pod keeps its name across instances: only this one's events
        return [e for e in events if not uid or _s(_d(e.get("involvedObject")).get("uid")) in ("", uid)]

    # plumbing

    def _client(self) -> ReadOnlyApiClient:
        if self._api is None:
            problem = self._config_problem or KubeConfigProblem("not connected")
            raise _ReadError(str(problem), problem.state)
        return self._api

    def _request_timeout(self) -> tuple[float, float]:
        return (self.settings.timeout, self.settings.timeout)

    def _json(self, method: Callable[..., Any], what: str, *args: Any, **kwargs: Any) -> Any:
        """Call a generated API method for raw JSON: dicts parse far faster than the client's models."""
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        response = method(*args, _preload_content=False, _request_timeout=self._request_timeout(), **kwargs)
        return _json_body(response, what)

    def _get_path(self, path: str) -> Any:
        """GET a fixed path as JSON; the generated VersionApi asks for "/version/", which proxies may 404."""
        api = self._client()
        request = api.param_serialize(
            "GET", path, header_params={"Accept": "application/json"}, auth_settings=["BearerToken"]
        )
        response = api.call_api(*request, _request_timeout=self._request_timeout())
        response.read()
        if not 200 <= response.status <= 299:
            raise ApiException.from_response(http_resp=response, body=None, data=None)
        return _json_body(response, path)

    def _read(self, resource: str, read: Callable[[], tuple[T, ...]]) -> ResourceSnapshot[T]:
        started = time.perf_counter()
        try:
            items = read()
        except Exception as exc:
            error = explain(exc, self.target, self.settings.timeout)
            health = self._failed_health(resource, error.state, str(error))
            with self._lock:
                previous = self._last.get(resource)
                if error.status == 0 or error.status >= 500:  # the server, not this resource, is failing
                    self._unreachable = health
            if previous is not None and error.state == "down":
                # stale rows stay on screen with the time they were really read
                return ResourceSnapshot(resource, previous.items, health, previous.fetched_at)
            return ResourceSnapshot(resource, (), health, None)
        count = len(items)
        health = self._ok_health(resource, f"{count} {resource}", time.perf_counter() - started)
        snapshot = ResourceSnapshot(resource, items, health, health.last_success)
        with self._lock:
            self._last[resource] = snapshot
            self._unreachable = None
        return snapshot

    def _ok_health(self, resource: str, detail: str, latency: float) -> SourceHealth:
        now = self._clock()
        health = SourceHealth(
            source=SOURCE,
            state="ok",
            checked_at=now,
            last_success=now,
            latency=latency,
            detail=detail,
            endpoint=self.endpoint,
        )
        with self._lock:
            self._health[resource] = health
        return health

    def _failed_health(self, resource: str, state: HealthState, message: str) -> SourceHealth:
        with self._lock:
            previous = self._health.get(resource)
            health = SourceHealth.failed(
                SOURCE,
                message,
                checked_at=self._clock(),
                previous=previous,
                endpoint=self.endpoint,
                state=state,
            )
            self._health[resource] = health
        return health


# --- JSON to rows -----------------------------------------------------------------------------


def _d(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _s(value: object) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _i(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def event_row(item: dict[str, Any]) -> KubeEvent:
    metadata = _d(item.get("metadata"))
    involved = _d(item.get("involvedObject"))
    series = _d(item.get("series"))
    source = _d(item.get("source"))
    last = (
        parse_time(series.get("lastObservedTime"))
        or parse_time(item.get("lastTimestamp"))
        or parse_time(item.get("eventTime"))
        or parse_time(metadata.get("creationTimestamp"))
    )
    first = parse_time(item.get("firstTimestamp")) or parse_time(item.get("eventTime")) or last
    kind, name = _s(involved.get("kind")), _s(involved.get("name"))
    return KubeEvent(
        namespace=_s(metadata.get("namespace")),
        type=_s(item.get("type")) or "Normal",
        reason=_s(item.get("reason")),
        message=_s(item.get("message")).strip(),
        object=f"{kind}/{name}" if kind else name,
        involved_kind=kind,
        involved_name=name,
        count=_i(series.get("count")) or _i(item.get("count")) or 1,
        first_seen=first,
        last_seen=last,
        source=_s(source.get("component")) or _s(item.get("reportingComponent")),
    )


def event_order(event: KubeEvent) -> tuple[int, float]:
    newest = -(event.last_seen.timestamp() if event.last_seen else 0.0)
    return (0 if event.type == "Warning" else 1, newest)


_CHOOSE = re.compile(r"choose one of: \[([^\]]*)\]")


def _log_problem(message: str, pod: str, previous: bool) -> tuple[str, tuple[str, ...]]:
    """The server's 400 for logs in plain words, with the containers to choose from when it lists them."""
    match = _CHOOSE.search(message)
    if match:
        containers = tuple(match.group(1).split())
        return f"pod {pod} has several containers; choose one of: {', '.join(containers)}", containers
    if previous and "previous terminated container" in message:
        return f"no previous container: {message}", ()
    return f"cannot read logs: {message}", ()


def node_row(item: dict[str, Any]) -> NodeRow:
    metadata = _d(item.get("metadata"))
    status = _d(item.get("status"))
    conditions = {_s(_d(c).get("type")): _d(c) for c in status.get("conditions") or []}
    labels = _d(metadata.get("labels"))
    roles = tuple(
        sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/") and "/" in k)
    )
    allocatable = _d(status.get("allocatable"))

    def pressed(kind: str) -> bool:
        return _s(conditions.get(kind, {}).get("status")) == "True"

    return NodeRow(
        name=_s(metadata.get("name")),
        ready=_s(conditions.get("Ready", {}).get("status")) or "Unknown",
        memory_pressure=pressed("MemoryPressure"),
        disk_pressure=pressed("DiskPressure"),
        pid_pressure=pressed("PIDPressure"),
        unschedulable=_d(item.get("spec")).get("unschedulable") is True,
        roles=roles,
        kubelet_version=_s(_d(status.get("nodeInfo")).get("kubeletVersion")),
        cpu_allocatable=parse_quantity(allocatable.get("cpu")),
        memory_allocatable=parse_quantity(allocatable.get("memory")),
        created_at=parse_time(metadata.get("creationTimestamp")),
        conditions=tuple(
            (kind, _s(c.get("status")), _s(c.get("message"))) for kind, c in sorted(conditions.items())
        ),
    )


def _hpa_metric(spec: dict[str, Any], current: dict[str, Any] | None) -> str:
    """One entry of kubectl's TARGETS column for autoscaling/v2, e.g. "cpu: 85%/70%"."""
    kind = _s(spec.get("type"))
    body = _d(spec.get(_camel(kind)))
    now = _d((current or {}).get(_camel(kind)))
    name = _s(_d(body.get("metric")).get("name")) or _s(body.get("name"))
    target = _d(body.get("target"))
    value = _d(now.get("current"))
    if _s(target.get("type")) == "Utilization":
        have = value.get("averageUtilization")
        shown = f"{have}%" if have is not None else "<unknown>"
        return f"{name}: {shown}/{target.get('averageUtilization')}%"
    want = target.get("averageValue") or target.get("value")
    have = value.get("averageValue") or value.get("value")
    return f"{name}: {have if have is not None else '<unknown>'}/{want}"


def _camel(kind: str) -> str:
    return kind[:1].lower() + kind[1:] if kind else ""


def hpa_row(item: dict[str, Any]) -> HpaRow:
    metadata = _d(item.get("metadata"))
    spec = _d(item.get("spec"))
    status = _d(item.get("status"))
    ref = _d(spec.get("scaleTargetRef"))
    specs = [_d(m) for m in spec.get("metrics") or []]
    currents = [_d(m) for m in status.get("currentMetrics") or []]
    metrics = ", ".join(
        _hpa_metric(m, currents[i] if i < len(currents) else None) for i, m in enumerate(specs)
    )
    maximum = _i(spec.get("maxReplicas"))
    current = _i(status.get("currentReplicas"))
    return HpaRow(
        namespace=_s(metadata.get("namespace")),
        name=_s(metadata.get("name")),
        target=f"{_s(ref.get('kind'))}/{_s(ref.get('name'))}",
        min_replicas=_i(spec.get("minReplicas")) or 1,
        max_replicas=maximum,
        current_replicas=current,
        desired_replicas=_i(status.get("desiredReplicas")),
        metrics=metrics or "<none>",
        at_max=maximum > 0 and current >= maximum,
    )


def pvc_row(item: dict[str, Any]) -> PvcRow:
    metadata = _d(item.get("metadata"))
    spec = _d(item.get("spec"))
    status = _d(item.get("status"))
    capacity = _d(status.get("capacity")).get("storage") or _d(_d(spec.get("resources")).get("requests")).get(
        "storage"
    )
    return PvcRow(
        namespace=_s(metadata.get("namespace")),
        name=_s(metadata.get("name")),
        phase=_s(status.get("phase")) or "Pending",
        volume=_s(spec.get("volumeName")),
        capacity=_s(capacity),
        access_modes=tuple(_s(m) for m in status.get("accessModes") or spec.get("accessModes") or []),
        storage_class=_s(spec.get("storageClassName")),
        labels=tuple(sorted((str(k), str(v)) for k, v in _d(metadata.get("labels")).items())),
    )


def service_row(item: dict[str, Any]) -> ServiceRow:
    metadata = _d(item.get("metadata"))
    spec = _d(item.get("spec"))
    ports = ",".join(
        f"{_d(p).get('port')}/{_s(_d(p).get('protocol')) or 'TCP'}" for p in spec.get("ports") or []
    )
    return ServiceRow(
        namespace=_s(metadata.get("namespace")),
        name=_s(metadata.get("name")),
        type=_s(spec.get("type")) or "ClusterIP",
        cluster_ip=_s(spec.get("clusterIP")),
        ports=ports or "<none>",
        selector=tuple(sorted((str(k), str(v)) for k, v in _d(spec.get("selector")).items())),
    )


def _selector_text(selector: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in sorted(_d(selector.get("matchLabels")).items())]
    for expression in selector.get("matchExpressions") or []:
        e = _d(expression)
        values = ",".join(_s(v) for v in e.get("values") or [])
        operator = _s(e.get("operator"))
        key = _s(e.get("key"))
        if operator == "Exists":
            parts.append(key)
        elif operator == "DoesNotExist":
            parts.append(f"!{key}")
        else:
            parts.append(f"{key} {operator.lower()} ({values})")
    return ",".join(parts) or "<all pods>"


def network_policy_row(item: dict[str, Any]) -> NetworkPolicyRow:
    metadata = _d(item.get("metadata"))
    spec = _d(item.get("spec"))
    return NetworkPolicyRow(
        namespace=_s(metadata.get("namespace")),
        name=_s(metadata.get("name")),
        pod_selector=_selector_text(_d(spec.get("podSelector"))),
        policy_types=tuple(_s(t) for t in spec.get("policyTypes") or ["Ingress"]),
    )


def metrics_row(item: dict[str, Any]) -> PodMetrics:
    metadata = _d(item.get("metadata"))
    containers = tuple(
        (
            _s(_d(c).get("name")),
            parse_quantity(_d(_d(c).get("usage")).get("cpu")) or 0.0,
            parse_quantity(_d(_d(c).get("usage")).get("memory")) or 0.0,
        )
        for c in item.get("containers") or []
    )
    return PodMetrics(
        namespace=_s(metadata.get("namespace")),
        name=_s(metadata.get("name")),
        cpu=sum(c[1] for c in containers),
        memory=sum(c[2] for c in containers),
        containers=containers,
        timestamp=parse_time(item.get("timestamp")),
    )


# --- live triage readings: kubectl's words and layout -----------------------------------------


def human_duration(seconds: float) -> str:
    """kubectl's HumanDuration (AGE, "3m4s ago"): 45s, 3m20s, 120m, 5h10m, 30h, 3d4h, 12d, 2y30d."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = hours // 24
        return f"{days // 365}y" if days % 365 == 0 else f"{days // 365}y{days % 365}d"
    return f"{hours // 24 // 365}y"


def _since(moment: datetime | None, now: datetime) -> str:
    return human_duration((now - moment).total_seconds()) if moment else "<unknown>"


def kubectl(namespace: str, words: str, selector: str | None = None) -> str:
    """The command as a user types it: `kubectl -n production get pods -l app=inmidst-api`."""
    command = f"kubectl -n {shlex.quote(namespace)} {words}"
    return command + (f" -l {shlex.quote(selector)}" if selector else "")


def no_pods(namespace: str, selector: str | None) -> str:
    if selector:
        return f"no pods match -l {selector} in namespace {namespace}"
    return f"No resources found in {namespace} namespace."


def _name(item: dict[str, Any]) -> str:
    return _s(_d(item.get("metadata")).get("name"))


def restarts(item: dict[str, Any]) -> int:
    statuses = _d(item.get("status")).get("containerStatuses") or []
    return sum(_i(_d(c).get("restartCount")) for c in statuses)


def pods_columns(row: PodRow, now: datetime) -> tuple[str, ...]:
    restarts = str(row.restarts)
    if row.restarts and row.last_restart_at is not None:
        restarts += f" ({_since(row.last_restart_at, now)} ago)"
    return (row.name, row.ready, row.status, restarts, _since(row.created_at, now))


def top_columns(metrics: PodMetrics) -> tuple[str, ...]:
    """kubectl top's units: millicores rounded up, whole MiB rounded down."""
    millicores = math.ceil(round(metrics.cpu * 1000, 6))
    mebibytes = math.ceil(round(metrics.memory, 3)) // (1024 * 1024)
    return (metrics.name, f"{millicores}m", f"{mebibytes}Mi")


def log_container(item: dict[str, Any], wanted: str | None) -> str:
    """The container `kubectl logs` reads: the one asked for, else the pod's default one."""
    if wanted:
        return wanted
    annotations = _d(_d(item.get("metadata")).get("annotations"))
    default = _s(annotations.get("kubectl.kubernetes.io/default-container"))
    names = [_s(_d(c).get("name")) for c in _d(item.get("spec")).get("containers") or []]
    if default and default in names:
        return default
    return names[0] if names else ""


def has_previous(item: dict[str, Any], container: str) -> bool:
    for status in _d(item.get("status")).get("containerStatuses") or []:
        status = _d(status)
        if _s(status.get("name")) == container:
            return isinstance(_d(status.get("lastState")).get("terminated"), dict)
    return False


def kubectl_list(body: dict[str, Any]) -> dict[str, Any]:
    """A pod list as kubectl hands it to its printers: a v1 List whose items name their kind."""
    api_version = _s(body.get("apiVersion")) or "v1"
    kind = _s(body.get("kind")).removesuffix("List") or "Pod"
    items = [{"apiVersion": api_version, "kind": kind, **_d(item)} for item in body.get("items") or []]
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _rfc1123z(moment: datetime | None) -> str:
    """Go's time.RFC1123Z, as kubectl describe prints times: "Mon, 02 Jan 2006 15:04:05 -0700"."""
    if moment is None:
        return "<unknown>"
    return (
        f"{_DAYS[moment.weekday()]}, {moment.day:02d} {_MONTHS[moment.month - 1]} {moment.year} "
        f"{moment:%H:%M:%S} {moment:%z}"
    )


def _one_line(value: object) -> str:
    """A server's text on one line: a tab or newline in it must not break the layout."""
    return _CONTROL.sub(" ", _s(value)).strip()


def _tabwriter(lines: list[str], padding: int = 2) -> list[str]:
    """Go's text/tabwriter as kubectl describe uses it: tab-ended cells aligned per block of lines."""
    rows = [line.split("\t") for line in lines]
    widths = [[0] * (len(row) - 1) for row in rows]

    def layout(first: int, last: int, column: int) -> None:
        index = first
        while index < last:
            if column >= len(rows[index]) - 1:
                index += 1
                continue
            start, width = index, 0
            while index < last and column < len(rows[index]) - 1:
                width = max(width, len(rows[index][column]) + padding)
                index += 1
            for line in range(start, index):
                widths[line][column] = width
            layout(start, index, column + 1)

    layout(0, len(rows), 0)
    return [
        "".join(cell.ljust(width) for cell, width in zip(row, widths[i], strict=False)) + row[-1]
        for i, row in enumerate(rows)
    ]


def _describe_state(label: str, state: dict[str, Any]) -> list[str]:
    """kubectl's describeStatus: a container state and its details, one level deeper."""
    running, waiting, terminated = (state.get(k) for k in ("running", "waiting", "terminated"))
    if isinstance(running, dict):
        return [
            f"    {label}:\tRunning",
            f"      Started:\t{_rfc1123z(parse_time(running.get('startedAt')))}",
        ]
    if isinstance(terminated, dict):
        lines = [f"    {label}:\tTerminated"]
        if _s(terminated.get("reason")):
            lines.append(f"      Reason:\t{_one_line(terminated.get('reason'))}")
        if _s(terminated.get("message")):
            lines.append(f"      Message:\t{_one_line(terminated.get('message'))}")
        lines.append(f"      Exit Code:\t{_i(terminated.get('exitCode'))}")
        if _i(terminated.get("signal")) > 0:
            lines.append(f"      Signal:\t{_i(terminated.get('signal'))}")
        lines.append(f"      Started:\t{_rfc1123z(parse_time(terminated.get('startedAt')))}")
        lines.append(f"      Finished:\t{_rfc1123z(parse_time(terminated.get('finishedAt')))}")
        return lines
    lines = [f"    {label}:\tWaiting"]
    if isinstance(waiting, dict) and _s(waiting.get("reason")):
        lines.append(f"      Reason:\t{_one_line(waiting.get('reason'))}")
    return lines


def _describe_containers(title: str, specs: list[Any], statuses: list[Any]) -> list[str]:
    by_name = {_s(_d(s).get("name")): _d(s) for s in statuses}
    lines = [f"{title}:"]
    for raw in specs:
        spec = _d(raw)
        name = _s(spec.get("name"))
        lines += [f"  {_one_line(name)}:", f"    Image:\t{_one_line(spec.get('image'))}"]
        status = by_name.get(name)
        if status is not None:
            lines += _describe_state("State", _d(status.get("state")))
            last = _d(status.get("lastState"))
            if isinstance(last.get("terminated"), dict):
                lines += _describe_state("Last State", last)
            lines.append(f"    Ready:\t{'True' if status.get('ready') is True else 'False'}")
            lines.append(f"    Restart Count:\t{_i(status.get('restartCount'))}")
        resources = _d(spec.get("resources"))
        for kind in ("limits", "requests"):
            amounts = _d(resources.get(kind))
            if amounts:
                lines.append(f"    {kind.capitalize()}:")
                lines += [f"      {_one_line(k)}:\t{_one_line(amounts[k])}" for k in sorted(amounts)]
    return lines


def _describe_events(events: list[dict[str, Any]] | None, now: datetime) -> list[str]:
    """kubectl's DescribeEvents: oldest first; "3m4s (x7 over 20m)" for repeated ones."""
    if events is None:
        return ["Events:  <not read>"]
    if not events:
        return ["Events:  <none>"]
    rows = sorted(
        (event_row(e) for e in events), key=lambda e: e.last_seen or datetime.min.replace(tzinfo=UTC)
    )
    lines = ["Events:", "  Type\tReason\tAge\tFrom\tMessage", "  ----\t------\t----\t----\t-------"]
    for event in rows:
        age = _since(event.first_seen, now)
        if event.count > 1:
            age = f"{_since(event.last_seen, now)} (x{event.count} over {age})"
        fields = (event.type, event.reason, age, event.source, event.message)
        lines.append("  " + "\t".join(_one_line(f) for f in fields))
    return _tabwriter(lines)


def describe_pod_lines(pod: dict[str, Any], events: list[dict[str, Any]] | None, now: datetime) -> list[str]:
    """One pod as `kubectl describe pod` lays it out, the triage part: events None when not read."""
    metadata, spec, status = _d(pod.get("metadata")), _d(pod.get("spec")), _d(pod.get("status"))
    node = _s(spec.get("nodeName"))
    lines = [
        f"Name:\t{_one_line(metadata.get('name'))}",
        f"Namespace:\t{_one_line(metadata.get('namespace'))}",
        f"Service Account:\t{_one_line(spec.get('serviceAccountName'))}",
        f"Node:\t{_one_line(node)}/{_one_line(status.get('hostIP'))}" if node else "Node:\t<none>",
    ]
    if parse_time(status.get("startTime")):
        lines.append(f"Start Time:\t{_rfc1123z(parse_time(status.get('startTime')))}")
    labels = sorted(f"{_one_line(k)}={_one_line(v)}" for k, v in _d(metadata.get("labels")).items())
    lines += (
        [f"Labels:\t{labels[0]}", *(f"\t{label}" for label in labels[1:])] if labels else ["Labels:\t<none>"]
    )
    deleting = parse_time(metadata.get("deletionTimestamp"))
    if deleting is not None:
        lines.append(f"Status:\tTerminating (lasts {_since(deleting, now)})")
        grace = metadata.get("deletionGracePeriodSeconds")
        if isinstance(grace, int):
            lines.append(f"Termination Grace Period:\t{grace}s")
    else:
        lines.append(f"Status:\t{_one_line(status.get('phase'))}")
    for key in ("reason", "message"):
        if _s(status.get(key)):
            lines.append(f"{key.capitalize()}:\t{_one_line(status.get(key))}")
    lines.append(f"IP:\t{_one_line(status.get('podIP'))}")
    owners = [_d(r) for r in metadata.get("ownerReferences") or []]
    owner = next((r for r in owners if r.get("controller") is True), None)
    if owner:
        lines.append(f"Controlled By:\t{_one_line(owner.get('kind'))}/{_one_line(owner.get('name'))}")
    if spec.get("initContainers"):
        lines += _describe_containers(
            "Init Containers", spec.get("initContainers") or [], status.get("initContainerStatuses") or []
        )
    lines += _describe_containers(
        "Containers", spec.get("containers") or [], status.get("containerStatuses") or []
    )
    # kubectl flushes its tab writer before the events table, so the two are aligned apart
    return _tabwriter(lines) + _describe_events(events, now)


# live triage: each reading's steps, over pods read from the API server or held by the demo cluster

# the pods a selector matches, sorted by name; or why none could be read
PodItems = list[dict[str, Any]] | str


def logs_command(
    namespace: str, selector: str, tail: int, container: str | None, previous: bool
) -> tuple[str, int]:
    """`kubectl logs -l selector --tail=N --prefix` as typed, and the tail it reads."""
    tail = tail if tail > 0 else LOG_TAIL_MAX  # kubectl's --tail=-1: all lines, here bounded
    words = f"logs -l {shlex.quote(selector)} --tail={tail}"
    if container:
        words += f" -c {shlex.quote(container)}"
    return kubectl(namespace, words + (" --previous" if previous else "") + " --prefix"), tail


def jsonpath_command(namespace: str, selector: str | None, jsonpath: str) -> str:
    return kubectl(namespace, "get pods", selector) + f" -o jsonpath={shlex.quote(jsonpath)}"


def pods_reading_from(
    what: str, namespace: str, selector: str | None, items: PodItems, clock: Callable[[], datetime]
) -> Reading:
    """`kubectl get pods [-l selector]` of these pods: NAME, READY, STATUS, RESTARTS, AGE."""
    if isinstance(items, str):
        return Reading.failed(SOURCE, what, items)
    now = clock()
    rows = [pods_columns(pod_row(item), now) for item in items]
    reading = Reading.table(SOURCE, what, POD_COLUMNS, rows, read_at=now, limit=READING_ROWS_MAX)
    return replace(reading, problem=no_pods(namespace, selector)) if not rows else reading


def logs_reading_from(
    what: str,
    namespace: str,
    selector: str,
    items: PodItems,
    container: str | None,
    previous: bool,
    read_logs: Callable[[str, str | None], LogTail],
    clock: Callable[[], datetime],
) -> Reading:
    """`kubectl logs -l selector --prefix` of these pods, each one's tail from `read_logs(pod, container)`.

    At most LOGS_PODS_MAX pods, those that restarted most; with `previous`, only pods whose container has
    a terminated instance.
    """
    if isinstance(items, str):
        return Reading.failed(SOURCE, what, items)
    chosen = [(item, log_container(item, container)) for item in items]
    if previous:
        chosen = [(item, name) for item, name in chosen if has_previous(item, name)]
    if not chosen:
        why = no_pods(namespace, selector)
        if items:
            why = f"no pod matching -l {selector} has a previous terminated container"
        return Reading.failed(SOURCE, what, why, read_at=clock())
    kept = sorted(chosen, key=lambda c: (-restarts(c[0]), _name(c[0])))[:LOGS_PODS_MAX]
    lines: list[str] = []
    problems: list[tuple[str, str]] = []
    truncated = len(chosen) > len(kept)
    for item, name in sorted(kept, key=lambda c: _name(c[0])):
        pod = _name(item)
        logs = read_logs(pod, name or None)
        if logs.fetched_at is None:
            problems.append((pod, logs.health.last_error or "cannot read logs"))
            continue
        truncated = truncated or logs.truncated
        lines.extend(f"[pod/{pod}/{name}] {line}" for line in logs.lines)
    now = clock()
    if len(problems) == len(kept):
        messages = {message for _, message in problems}
        if len(messages) == 1:
            return Reading.failed(SOURCE, what, messages.pop())
        return Reading.failed(SOURCE, what, "; ".join(f"{pod}: {m}" for pod, m in problems))
    reading = Reading.text(SOURCE, what, lines, read_at=now)
    problem = None
    if problems:
        problem = f"logs of {len(problems)} of {len(kept)} pods not read: " + "; ".join(
            f"{pod}: {m}" for pod, m in problems
        )
    return replace(reading, truncated=truncated, problem=problem)


def describe_reading_from(
    what: str,
    namespace: str,
    selector: str,
    items: PodItems,
    pod_events: Callable[[dict[str, Any]], list[dict[str, Any]] | str],
    clock: Callable[[], datetime],
) -> Reading:
    """`kubectl describe pod -l selector` of these pods (at most DESCRIBE_PODS_MAX), with their events.

    `pod_events(pod)` gives a pod's events, or why they could not be read: the pods are still described,
    and no more events are asked for.
    """
    if isinstance(items, str):
        return Reading.failed(SOURCE, what, items)
    if not items:
        return Reading.failed(SOURCE, what, no_pods(namespace, selector), read_at=clock())
    lines: list[str] = []
    events_problem: str | None = None
    for index, item in enumerate(items[:DESCRIBE_PODS_MAX]):
        events: list[dict[str, Any]] | None = None
        if events_problem is None:
            found = pod_events(item)
            if isinstance(found, str):
                events_problem = found
            else:
                events = found
        if index:
            lines += ["", ""]  # kubectl separates described objects so
        lines += describe_pod_lines(item, events, clock())
    reading = Reading.text(SOURCE, what, lines, read_at=clock())
    return replace(
        reading,
        truncated=len(items) > DESCRIBE_PODS_MAX,
        problem=f"events not read: {events_problem}" if events_problem else None,
    )


def top_reading_from(
    what: str,
    namespace: str,
    selector: str,
    items: PodItems,
    metrics: list[PodMetrics],
    clock: Callable[[], datetime],
) -> Reading:
    """`kubectl top pods -l selector`: NAME, CPU(cores), MEMORY(bytes) of these pods from their metrics."""
    if isinstance(items, str):
        return Reading.failed(SOURCE, what, items)
    now = clock()
    if not items:
        return Reading.failed(SOURCE, what, no_pods(namespace, selector), read_at=now)
    names = {_name(item) for item in items}
    rows = [top_columns(m) for m in sorted(metrics, key=lambda m: m.name) if m.name in names]
    if not rows:
        return Reading.failed(
            SOURCE, what, f"metrics not available yet for pods matching -l {selector}", read_at=now
        )
    return Reading.table(SOURCE, what, TOP_COLUMNS, rows, read_at=now, limit=READING_ROWS_MAX)


def jsonpath_reading_from(
    what: str,
    jsonpath: str,
    pod_list: Callable[[], dict[str, Any] | str],
    clock: Callable[[], datetime],
) -> Reading:
    """`kubectl get pods -o jsonpath=TEMPLATE` over `pod_list()` (a PodList, or why it can't be read).

    The template is parsed before the pods are read; values of one `{}` are space-separated on one line,
    as kubectl prints them, and tabs are expanded.
    """
    try:
        template = jsonpath_parse(jsonpath)
    except JsonPathError as exc:
        return Reading.failed(SOURCE, what, str(exc))
    body = pod_list()
    if isinstance(body, str):
        return Reading.failed(SOURCE, what, body)
    now = clock()
    try:
        text = jsonpath_render(template, kubectl_list(body))
    except JsonPathError as exc:
        return Reading.failed(SOURCE, what, f'error executing jsonpath "{jsonpath}": {exc}', read_at=now)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [line.expandtabs(8) for line in lines]
    reading = Reading.text(SOURCE, what, lines[:READING_LINES_MAX], read_at=now)
    return replace(reading, truncated=len(lines) > READING_LINES_MAX)


def pod_summary(rows: tuple[PodRow, ...] | list[PodRow]) -> dict[str, Any]:
    """Counts by STATUS, total restarts and OOMKilled pods, for `oncall snapshot` and the header."""
    by_status: dict[str, int] = {}
    for row in rows:
        by_status[row.status] = by_status.get(row.status, 0) + 1
    return {
        "pods": len(rows),
        "by_status": dict(sorted(by_status.items(), key=lambda kv: (-kv[1], kv[0]))),
        "restarts": sum(row.restarts for row in rows),
        "oom_killed": sorted(row.key for row in rows if row.oom_killed),
        "not_ready": sorted(
            row.key for row in rows if row.ready_count < row.container_count and row.status != "Completed"
        ),
    }


__all__ = [
    "ClusterTarget",
    "HelmRevision",
    "HpaRow",
    "KubeEvent",
    "KubernetesProbe",
    "LogTail",
    "NetworkPolicyRow",
    "NodeRow",
    "PodCache",
    "PodChanges",
    "PodInformer",
    "PodMetrics",
    "PodRow",
    "PvcRow",
    "ReadOnlyApiClient",
    "ReadOnlyViolation",
    "ResourceSnapshot",
    "ServiceRow",
    "build_client",
    "check_read_only",
    "describe_pod_lines",
    "has_previous",
    "hpa_row",
    "human_duration",
    "kubectl",
    "kubectl_list",
    "log_container",
    "network_policy_row",
    "no_pods",
    "node_row",
    "pod_row",
    "pod_summary",
    "pods_columns",
    "pvc_row",
    "restarts",
    "service_row",
    "top_columns",
]
