"""Pods kept current by list + watch, as client-go's reflector does: `PodInformer` runs in a daemon thread
and feeds a `PodCache`, which the UI draws from and asks only for what changed (`PodChanges`).

A full list comes in pages; the watch then resumes from the last resourceVersion, relists on 410 Gone,
and backs off while the API server fails. The helpers at the end read a watch stream event by event.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import operator
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import urllib3
from kubernetes.client.exceptions import ApiException

from probes.base import Backoff, SourceHealth, utc_now
from probes.kubernetes.client import (
    SOURCE,
    ClusterTarget,
    ReadError,
    ReadOnlyApiClient,
    api_path,
    expect_json,
    explain,
    json_body,
    raw_get,
)
from probes.kubernetes.rows import PodRow, PodRows, pod_row

LIST_PAGE = 250  # pods per list page: ~0.5 MB of JSON, parsed in about 10 ms, so no long GIL hold
WATCH_SECONDS = 30  # server-side watch timeout: the stream ends and is resumed from the last version
BACKOFF_CAP = 30.0  # seconds: the longest wait between reconnects while the API server is failing


# --- the pod cache ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PodChanges:
    """What a reader must redraw since the cache version it last drew."""

    version: int  # the cache version these changes bring the reader to
    keys: frozenset[str]  # "namespace/name" of pods added, modified or deleted since the asked version
    full: bool  # the asked version is too old to know: redraw everything


_row_order = operator.attrgetter("namespace", "name")  # in C: a 10,000-pod sort without 10,000 Python calls


class PodCache:
    """Pods by "namespace/name", thread-safe; every change bumps `version`. The UI draws from it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, PodRow] = {}
        self._version = 0
        self._log_versions: list[int] = []  # parallel lists: which key changed at which version
        self._log_keys: list[str] = []
        self._log_floor = 0  # changes at or before this version were trimmed from the log
        self._sorted: PodRows = PodRows()
        self._sorted_version = -1
        self.synced = False  # a full list has been applied: the cache is complete
        self.expected = 0  # while the first list comes in pages: how many pods it holds, as the server says
        self.resource_version = ""

    @property
    def version(self) -> int:
        return self._version

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, key: str) -> PodRow | None:
        return self._rows.get(key)

    def rows(self) -> PodRows:
        """All pods sorted by namespace and name; the same tuple until the next change. Before the first
        list is complete these are the pages read so far (`complete` False, `expected` the list's size)."""
        with self._lock:
            if self._sorted_version == self._version:
                return self._sorted
            version, values = self._version, list(self._rows.values())
            complete, expected = self.synced, self.expected
        # sorted outside the lock: the informer thread never waits for a reader's sort
        ordered = PodRows(sorted(values, key=_row_order), complete=complete, expected=expected)
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

    def add_page(self, rows: list[PodRow], expected: int) -> None:
        """One page of the first list: shown at once, while the rest is read (`expected`: the list's size)."""
        with self._lock:
            for row in rows:
                self._rows[row.key] = row
                self._changed(row.key)
            self.expected = expected
            if not rows:
                self._changed("")  # the reader learns how far the list has got even from an empty page

    def replace_all(self, rows: list[PodRow], resource_version: str) -> None:
        """A fresh list: pods gone from it are removed, the rest replaced; one version bump per change."""
        fresh = {row.key: row for row in rows}
        with self._lock:
            current = dict(self._rows)
        # the diff runs outside the lock (only the informer thread writes), so readers never wait on it
        removed = [key for key in current if key not in fresh]
        changed = [
            row for key, row in fresh.items() if current.get(key) is not row and current.get(key) != row
        ]
        with self._lock:
            for key in removed:
                del self._rows[key]
                self._changed(key)
            for row in changed:
                self._rows[row.key] = row
                self._changed(row.key)
            if not self.synced:
                self.synced = True
                self.expected = len(self._rows)
                self._changed("")  # complete now: a reader redraws its "loading" state even if no pod changed
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
        self._streaming = False  # a watch stream is open and answering: the cache is current now
        self._heard_at: datetime | None = None  # the last list, watch opened, event or bookmark
        self.list_seconds: float | None = None  # how long the last full list took, parse included

    @property
    def health(self) -> SourceHealth:
        """While a watch stream is open and healthy the cache is current: its last good read is now."""
        with self._health_lock:
            health, streaming = self._health, self._streaming
        if streaming and health.state == "ok":
            now = self._clock()
            return replace(health, checked_at=now, last_success=now)
        return health

    @property
    def heard_at(self) -> datetime | None:
        """When the API server was last heard from on the watch (a list, a watch opened, an event)."""
        return self._heard_at

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
        """A full list in pages, as client-go's pager does. The first list shows each page as it comes (the
        pods panel says how many of how many); a relist replaces the cache once, when complete, so the
        pods shown meanwhile are the last complete ones. A 410 for an expired continue token (the list took
        longer than the server keeps its snapshot) raises, and `_run` lists again from the start."""
        started = time.perf_counter()
        first = not self.cache.synced
        rows: list[PodRow] = []
        token: str | None = None
        resource_version = ""
        while True:
            query = {"limit": LIST_PAGE, "continue": token, "labelSelector": self.label_selector or None}
            response = raw_get(self._api, self._pods_path(), query, self._request_timeout())
            with self._tracked(response):
                # one page at a time: json.loads holds the GIL, and a 17 MB list would stall the UI
                body = json_body(response, "the pod list")
            del response  # its bytes, and then the page's JSON, go before the next page is read
            metadata = body.get("metadata") or {}
            page = [pod_row(item) for item in body.get("items") or []]
            del body
            rows.extend(page)
            resource_version = resource_version or str(metadata.get("resourceVersion", ""))
            token = metadata.get("continue") or None
            if first:
                remaining = metadata.get("remainingItemCount")
                remaining = remaining if isinstance(remaining, int) and token else 0
                self.cache.add_page(page, expected=len(rows) + remaining)
            if token is None or self._stop.is_set():
                break
        if self._stop.is_set():
            return
        self.cache.replace_all(rows, resource_version)
        self.lists += 1
        self.list_seconds = time.perf_counter() - started
        self._ok(latency=self.list_seconds)

    def _watch(self) -> None:
        query = {
            "watch": True,
            "allowWatchBookmarks": True,
            "resourceVersion": self.cache.resource_version,
            "timeoutSeconds": self._watch_seconds,
            "labelSelector": self.label_selector or None,
        }
        self.watches += 1
        # the answer's head must come within the timeout, like any request: a hung server is found out
        # in seconds, not after a whole watch
        response = raw_get(self._api, self._pods_path(), query, self._request_timeout())
        opened = time.monotonic()
        events = 0
        with self._tracked(response):
            expect_json(response, "the pod watch")
            # the stream's read timeout outlives the server's own watch timeout; a dead link ends there
            _stream_timeout(response, self._watch_seconds + self._timeout)
            self._ok()
            self._streaming = True
            try:
                for line in _lines(response):
                    if self._stop.is_set():
                        return
                    if line:
                        events += 1
                        self._heard_at = self._clock()
                        self._event(line)
            except (urllib3.exceptions.HTTPError, OSError):
                # a watch cut mid-stream (a proxy's idle timeout, a dropped link) is routine: resume
                # from the last version; only a failure to reconnect counts against the health
                if self._stop.is_set():
                    return
            finally:
                self._stream_ended()
        if not events and time.monotonic() - opened < 0.5:
            # a server that ends every watch at once is failing, however politely: back off, say so
            raise ReadError("the API server ended the pod watch at once, with no event")

    def _event(self, line: bytes) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            raise ReadError(f"the API server sent a watch event that is not JSON: {_excerpt(line)}") from None
        if not isinstance(event, dict):
            raise ReadError(f"the API server sent a watch event that is not an object: {_excerpt(line)}")
        kind = event.get("type")
        obj = event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise _Expired
            raise ReadError(f"watch error from the API server: {obj.get('message') or obj.get('reason')}")
        version = str((obj.get("metadata") or {}).get("resourceVersion", ""))
        if kind in ("ADDED", "MODIFIED"):
            self.cache.upsert(pod_row(obj))
        elif kind == "DELETED":
            metadata = obj.get("metadata") or {}
            self.cache.delete(f"{metadata.get('namespace', '')}/{metadata.get('name', '')}")
        if version:
            self.cache.resource_version = version  # bookmarks carry only this, and it's what they're for

    def _pods_path(self) -> str:
        if self.namespace is None:
            return api_path("api", "v1", "pods")
        return api_path("api", "v1", "namespaces", self.namespace, "pods")

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

    def _stream_ended(self) -> None:
        """The stream was good until it was last heard from: that is the pods' last good read now."""
        with self._health_lock:
            self._streaming = False
            heard = self._heard_at
            if self._health.state == "ok" and heard is not None:
                self._health = replace(self._health, checked_at=heard, last_success=heard)

    def _ok(self, latency: float | None = None) -> None:
        now = self._clock()
        self._heard_at = now
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

    def _failed(self, error: ReadError) -> None:
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


# --- reading a watch stream ---------------------------------------------------------------------


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


def _stream_timeout(response: Any, seconds: float) -> None:
    """Let a streaming body wait `seconds` between reads, once its head has come within the timeout."""
    sock = getattr(getattr(response, "connection", None), "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.settimeout(seconds)
