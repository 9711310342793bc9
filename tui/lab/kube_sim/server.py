"""The simulator's HTTP(S) front: REST paths, watch streams, logs, Status errors, the control API."""

from __future__ import annotations

import base64
import bisect
import contextlib
import json
import select
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tui.lab.kube_sim import tables
from tui.lab.kube_sim.api import (
    REVIEW_GROUP,
    REVIEW_KINDS,
    ApiError,
    bad_request,
    discovery_resources,
    forbidden,
    group_list,
    not_found,
    page_not_found,
    review_discovery,
    status,
    version_info,
)
from tui.lab.kube_sim.control import control_reply
from tui.lab.kube_sim.rbac import Authorizer
from tui.lab.kube_sim.selectors import (
    SelectorError,
    check_fields,
    fields_match,
    labels_match,
    parse_field_selector,
    parse_label_selector,
)
from tui.lab.kube_sim.store import (
    BY_KEY,
    BY_PATH,
    RESOURCES,
    ObjectStore,
    ResourceType,
    dumps,
)

DEFAULT_WATCH_TIMEOUT = 1800  # the real server's --min-request-timeout
# the real API server's words for a continue token whose snapshot is compacted (staging/.../storage/errors)
CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new "
    "list without the continue parameter, or use the continue token in this response to retrieve the "
    "remainder of the results. Continuing with the provided token results in an inconsistent list - objects "
    "that were created, modified, or deleted between the time the first chunk was returned and now may show "
    "up in the list."
)
WRITE_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


class _CountingWriter:
    """Wraps the socket writer to count the API bytes sent (for the watch-vs-relist benchmark)."""

    def __init__(self, raw: Any, handler: SimHandler) -> None:
        self._raw = raw
        self._handler = handler

    def write(self, data: bytes) -> int:
        written = self._raw.write(data)
        if self._handler.counting:
            self._handler.server.add_bytes(len(data), watch=self._handler.watching)
        return written

    def flush(self) -> None:
        self._raw.flush()

    @property
    def closed(self) -> bool:
        return self._raw.closed

    def close(self) -> None:
        self._raw.close()


class SimServer(ThreadingHTTPServer):
    """The threaded server: one thread per connection, so many long watches run side by side."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(
        self, address: tuple[str, int], store: ObjectStore, token: str, tls: ssl.SSLContext | None
    ) -> None:
        super().__init__(address, SimHandler)
        self.store = store
        self.token = token
        self.tls = tls
        self.rbac = Authorizer()  # cluster admin until a test binds roles (control API `rbac`)
        self.requests_seen: list[dict[str, Any]] = []
        self._bytes_lock = threading.Lock()
        self.bytes_sent = 0
        self.watch_bytes_sent = 0  # the part of bytes_sent that went down watch streams
        self.open_watches = 0

    def add_bytes(self, count: int, watch: bool = False) -> None:
        with self._bytes_lock:
            self.bytes_sent += count
            if watch:
                self.watch_bytes_sent += count

    def clear_requests(self) -> None:
        self.requests_seen.clear()
        with self._bytes_lock:
            self.bytes_sent = 0
            self.watch_bytes_sent = 0

    def count_watch(self, delta: int) -> None:
        with self._bytes_lock:
            self.open_watches += delta

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        if self.tls is not None:
            # The handshake runs later in the connection's own thread, so a slow client never blocks accept().
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr


class SimHandler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive, like the API server."""

    protocol_version = "HTTP/1.1"
    server: SimServer
    counting = False
    watching = False  # serving a watch: its bytes are counted apart too
    _table_watch: tuple[ResourceType, str] | None = None
    _body = b""

    def setup(self) -> None:
        # Without NODELAY, headers and body in two writes meet delayed ACK: 40 ms per response.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.request.settimeout(30)
        if isinstance(self.request, ssl.SSLSocket):
            try:
                self.request.do_handshake()
            except (OSError, ssl.SSLError):
                self.close_connection = True
                raise
        self.request.settimeout(None)
        super().setup()
        self.wfile = _CountingWriter(self.wfile, self)  # type: ignore[assignment]

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the test output stays quiet; requests() records what matters

    # --- plumbing --------------------------------------------------------------------------
    def _send(self, code: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, code: int, obj: Any) -> None:
        self._send(code, dumps(obj))

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _authorized(self) -> bool:
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and token == self.server.token  # the scheme is case-insensitive

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        body = self._read_body()
        self._body = body
        control = url.path.startswith("/_sim/")
        latency = self.server.store.latency
        if not control:
            self.server.requests_seen.append(
                {
                    "method": self.command,
                    "path": url.path,
                    "query": query,
                    "user_agent": self.headers.get("User-Agent", ""),
                    "at": time.monotonic(),  # CLOCK_MONOTONIC: comparable with the client's on one machine
                    "held": latency,  # seconds the answer was held back (set_latency)
                }
            )
        if not self._authorized():
            self._send_json(401, status(401, "Unauthorized", "Unauthorized"))
            return
        try:
            if control:
                self._send_json(*control_reply(self.server, url.path[len("/_sim/") :], body))
                return
            self.counting = True
            if latency:
                time.sleep(latency)
            self._api(url.path, query)
        except ApiError as exc:
            self._send_json(exc.code, exc.body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            self.close_connection = True
        finally:
            self.counting = False
            self.watching = False

    # --- the Kubernetes API ----------------------------------------------------------------
    def _api(self, path: str, query: dict[str, str]) -> None:
        segments = [s for s in path.split("/") if s]
        if path in ("/healthz", "/livez", "/readyz"):
            self._send(200, b"ok", "text/plain; charset=utf-8")
            return
        if path in ("/version", "/version/"):
            self._send_json(200, version_info())
            return
        if path == "/api":
            self._send_json(
                200,
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [
                        {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}
                    ],
                },
            )
            return
        if path == "/apis":
            self._send_json(200, group_list())
            return
        if segments[:1] == ["api"] and len(segments) >= 2:
            group, version, rest = "", segments[1], segments[2:]
        elif segments[:1] == ["apis"] and len(segments) == 2:
            group_entry = next((g for g in group_list()["groups"] if g["name"] == segments[1]), None)
            if group_entry is None:
                raise page_not_found()
            self._send_json(200, {"kind": "APIGroup", "apiVersion": "v1", **group_entry})
            return
        elif segments[:1] == ["apis"] and len(segments) >= 3:
            group, version, rest = segments[1], segments[2], segments[3:]
        else:
            raise page_not_found()
        if (group, version) == (REVIEW_GROUP, "v1") and group not in self.server.store.unserved:
            self._review(rest)
            return
        if not any((r.group, r.version) == (group, version) for r in RESOURCES):
            raise page_not_found()
        if not rest:
            self._send_json(200, discovery_resources(group, version))
            return
        self._resource(group, version, rest, query)

    def _resource(self, group: str, version: str, rest: list[str], query: dict[str, str]) -> None:
        watch = query.get("watch", "").lower() in ("true", "1")
        if rest[0] == "watch":  # the deprecated /watch/ path prefix
            watch, rest = True, rest[1:]
        namespace: str | None = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        rtype = BY_PATH.get((group, version, rest[0]))
        if (
            rtype is None
            or (namespace is not None and not rtype.namespaced)
            or group in self.server.store.unserved
        ):
            raise page_not_found()
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else ""
        if len(rest) > 3 or (sub and (rtype.key, sub) != ("pods", "log")):
            raise page_not_found()
        if self.command not in ("GET", "HEAD"):
            verb = WRITE_VERBS.get(self.command, self.command.lower())
            if verb == "delete" and name is None:
                verb = "deletecollection"
            # The simulator is read-only to its clients, as the oncall account is in RBAC.
            raise forbidden(rtype, verb, namespace, name, sub)
        verb = "get" if name else ("watch" if watch else "list")
        self._check_denied(rtype, verb, namespace, name, sub)
        resource = f"{rtype.plural}/{sub}" if sub else rtype.plural
        if self.server.rbac.allowed_by(verb, rtype.group, resource, namespace, name) is None:
            raise forbidden(rtype, verb, namespace, name, sub)
        if sub == "log":
            self._logs(namespace or "", name or "", query)
        elif name:
            self._get(rtype, namespace, name)
        elif watch:
            self._watch(rtype, namespace, query)
        else:
            self._list(rtype, namespace, query)

    def _review(self, rest: list[str]) -> None:
        """authorization.k8s.io/v1: its discovery, and the two self-reviews answered from the RBAC rules.
        A review is answered and not stored, as on a real API server."""
        if not rest:
            self._send_json(200, review_discovery())
            return
        kind = REVIEW_KINDS.get(rest[0]) if len(rest) == 1 else None
        if kind is None:
            raise page_not_found()
        if self.command != "POST":
            message = "the server does not allow this method on the requested resource"
            raise ApiError(405, "MethodNotAllowed", message)
        try:
            review = json.loads(self._body or b"{}")
        except ValueError:
            raise bad_request("the body of the request was in an unknown format") from None
        if not isinstance(review, dict) or review.get("kind") not in (None, kind):
            raise bad_request(f"the body is not a {kind}")
        spec = review.get("spec") or {}
        rbac = self.server.rbac
        answer = rbac.access_review(spec) if kind == "SelfSubjectAccessReview" else rbac.rules_review(spec)
        if answer.get("allowed") and self._denied_by_fault(spec.get("resourceAttributes") or {}):
            answer = {"allowed": False}  # deny() answers reads with 403: the review says the same
        self._send_json(
            201,
            {
                "kind": kind,
                "apiVersion": f"{REVIEW_GROUP}/v1",
                "metadata": {"creationTimestamp": None},
                "spec": spec,
                "status": answer,
            },
        )

    def _denied_by_fault(self, attributes: dict[str, Any]) -> bool:
        group, plural = str(attributes.get("group") or ""), str(attributes.get("resource") or "")
        key = f"{plural}.{group}" if group else plural
        if attributes.get("subresource"):
            key += f"/{attributes['subresource']}"
        rule = self.server.store.denied.get(key)
        if rule is None:
            return False
        verbs, only_namespace = rule
        namespace = attributes.get("namespace") or None
        return attributes.get("verb") in verbs and (only_namespace is None or only_namespace == namespace)

    def _check_denied(
        self, rtype: ResourceType, verb: str, namespace: str | None, name: str | None, sub: str
    ) -> None:
        key = f"{rtype.key}/{sub}" if sub else rtype.key
        rule = self.server.store.denied.get(key)
        if rule is None:
            return
        verbs, only_namespace = rule
        if verb in verbs and (only_namespace is None or only_namespace == namespace):
            raise forbidden(rtype, verb, namespace, name, sub)

    def _get(self, rtype: ResourceType, namespace: str | None, name: str) -> None:
        stored = self.server.store.objects[rtype.key].get((namespace or "", name))
        if stored is None:
            raise not_found(rtype, name)
        if "as=Table" in self.headers.get("Accept", ""):
            self._send_json(
                200,
                tables.table(
                    rtype.key, [stored.obj], {"resourceVersion": str(self.server.store.rv)}, "Metadata"
                ),
            )
            return
        self._send(200, stored.raw)

    def _selectors(self, rtype: ResourceType, query: dict[str, str]) -> tuple[Any, Any]:
        try:
            labels = parse_label_selector(query.get("labelSelector", ""))
            fields = parse_field_selector(query.get("fieldSelector", ""))
            check_fields(rtype.plural if not rtype.group else rtype.key, fields)
        except SelectorError as exc:
            raise bad_request(str(exc)) from None
        return labels, fields

    def _matching(
        self, rtype: ResourceType, namespace: str | None, query: dict[str, str]
    ) -> tuple[list[Any], int]:
        labels, fields = self._selectors(rtype, query)
        store = self.server.store
        with store.lock:
            rv = store.rv
            items = store.items(rtype.key, namespace)
        field_resource = rtype.plural if not rtype.group else rtype.key
        if labels or fields:
            items = [
                s
                for s in items
                if labels_match(s.obj, labels) and fields_match(field_resource, s.obj, fields)
            ]
        return items, rv

    def _list(self, rtype: ResourceType, namespace: str | None, query: dict[str, str]) -> None:
        store = self.server.store
        items, rv = self._matching(rtype, namespace, query)
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        token = query.get("continue")
        if token:
            try:
                after = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
                start_key = (after["ns"], after["name"])
            except (ValueError, KeyError, TypeError):
                raise bad_request(
                    "continue key is not valid: incorrect encoded start resourceVersion"
                ) from None
            if int(after.get("rv", rv)) < store.compacted_rv:
                # the snapshot the list began from is compacted away, as etcd does after ~5 minutes: the
                # real server answers 410 Expired, and a client wanting a consistent list starts again
                raise ApiError(410, "Expired", CONTINUE_EXPIRED)
            meta["resourceVersion"] = str(after.get("rv", rv))
            # the items come in key order, as etcd keeps them: the page starts right after the token's key
            start = bisect.bisect_right(
                items,
                start_key,
                key=lambda s: (s.obj["metadata"].get("namespace", ""), s.obj["metadata"]["name"]),
            )
            items = items[start:]
        limit = int(query.get("limit") or 0)
        if limit and len(items) > limit:
            last = items[limit - 1].obj["metadata"]
            continue_token = {
                "ns": last.get("namespace", ""),
                "name": last["name"],
                "rv": int(meta["resourceVersion"]),
            }
            meta["continue"] = base64.urlsafe_b64encode(dumps(continue_token)).decode().rstrip("=")
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        if "as=Table" in self.headers.get("Accept", ""):
            include = query.get("includeObject", "Metadata")
            self._send_json(200, tables.table(rtype.key, [s.obj for s in items], meta, include))
            return
        head = b'{"kind":"' + rtype.list_kind.encode() + b'","apiVersion":"' + rtype.api_version.encode()
        body = b"".join(
            [head, b'","metadata":', dumps(meta), b',"items":[', b",".join(s.raw for s in items), b"]}"]
        )
        self._send(200, body)

    # --- watch -----------------------------------------------------------------------------
    def _start_stream(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def _client_gone(self) -> bool:
        # A watch client never sends anything more; readable means it closed the connection.
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def _hang_up(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _event_line(self, kind: str, obj: dict[str, Any], line: bytes) -> bytes:
        """The cached JSON line, or for `kubectl get -w` (which asks for Tables) a one-row Table."""
        if self._table_watch is None:
            return line
        rtype, include = self._table_watch
        meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
        return dumps({"type": kind, "object": tables.table(rtype.key, [obj], meta, include)}) + b"\n"

    def _watch(self, rtype: ResourceType, namespace: str | None, query: dict[str, str]) -> None:
        self.watching = True
        self._table_watch = None
        if "as=Table" in self.headers.get("Accept", ""):
            self._table_watch = (rtype, query.get("includeObject", "Metadata"))
        labels, fields = self._selectors(rtype, query)
        field_resource = rtype.plural if not rtype.group else rtype.key
        store = self.server.store
        rv_text = query.get("resourceVersion", "")
        timeout = float(query.get("timeoutSeconds") or DEFAULT_WATCH_TIMEOUT)
        bookmarks = query.get("allowWatchBookmarks", "").lower() in ("true", "1")
        if rv_text and not rv_text.isdigit():
            raise bad_request(f'resourceVersion: Invalid value: "{rv_text}": must be a non-negative integer')

        def wanted(ev_resource: str, ev_namespace: str, obj: dict[str, Any]) -> bool:
            return (
                ev_resource == rtype.key
                and (not namespace or ev_namespace == namespace)
                and labels_match(obj, labels)
                and fields_match(field_resource, obj, fields)
            )

        initial: list[bytes] = []
        with store.lock:
            generation = store.watch_generation
            if rv_text in ("", "0"):
                position = store.end_position()
                for s in store.items(rtype.key, namespace):
                    if wanted(rtype.key, s.obj["metadata"].get("namespace", ""), s.obj):
                        initial.append(
                            self._event_line("ADDED", s.obj, b'{"type":"ADDED","object":' + s.raw + b"}\n")
                        )
                expired = None
            elif int(rv_text) < store.compacted_rv:
                position, expired = 0, f"too old resource version: {rv_text} ({store.compacted_rv})"
            else:
                position, expired = store.position_after(int(rv_text)), None
            last_rv = store.rv
        self._start_stream("application/json")
        if expired is not None:
            self._chunk(dumps({"type": "ERROR", "object": status(410, "Expired", expired)}) + b"\n")
            self._end_stream()
            return
        self.server.count_watch(1)
        try:
            self._chunk(b"".join(initial))
            self._watch_loop(store, wanted, position, generation, timeout, bookmarks, rtype, last_rv)
        finally:
            self.server.count_watch(-1)

    def _watch_loop(
        self,
        store: ObjectStore,
        wanted: Any,
        position: int,
        generation: int,
        timeout: float,
        bookmarks: bool,
        rtype: ResourceType,
        last_rv: int,
    ) -> None:
        deadline = time.monotonic() + timeout
        next_bookmark = time.monotonic() + store.bookmark_interval
        while True:
            now = time.monotonic()
            if now >= deadline:
                self._end_stream()
                return
            with store.changed:
                if position >= store.end_position() and store.watch_generation == generation:
                    store.changed.wait(min(1.0, deadline - now, max(0.01, next_bookmark - now)))
                if store.watch_generation != generation:
                    self._hang_up()
                    return
                batch = store.events_from(position)
                if batch is None:  # compacted while we were behind: the real server ends with 410 too
                    expired = f"too old resource version: {last_rv} ({store.compacted_rv})"
                else:
                    events, position = batch
                    current_rv = store.rv
            if batch is None:
                self._chunk(dumps({"type": "ERROR", "object": status(410, "Expired", expired)}) + b"\n")
                self._end_stream()
                return
            lines = [
                self._event_line(e.type, e.obj, e.line)
                for e in events
                if wanted(e.resource, e.namespace, e.obj)
            ]
            if events:
                last_rv = events[-1].rv
            self._chunk(b"".join(lines))
            if bookmarks and time.monotonic() >= next_bookmark:
                mark = {
                    "kind": rtype.kind,
                    "apiVersion": rtype.api_version,
                    "metadata": {"resourceVersion": str(current_rv)},
                }
                self._chunk(dumps({"type": "BOOKMARK", "object": mark}) + b"\n")
                next_bookmark = time.monotonic() + store.bookmark_interval
            if not lines and self._client_gone():
                return

    # --- logs ------------------------------------------------------------------------------
    def _logs(self, namespace: str, name: str, query: dict[str, str]) -> None:
        store = self.server.store
        pod = store.get("pods", namespace, name)
        if pod is None:
            raise not_found(BY_KEY["pods"], name)
        containers = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
        container = query.get("container") or ""
        if not container:
            if len(containers) != 1:
                raise bad_request(
                    f"a container name must be specified for pod {name}, "
                    f"choose one of: [{' '.join(containers)}]"
                )
            container = containers[0]
        if container not in containers:
            raise bad_request(f"container {container} is not valid for pod {name}")
        previous = query.get("previous", "").lower() in ("true", "1")
        logs = store.container_logs(namespace, name, container)
        with store.lock:
            lines = list(logs.previous or []) if previous else list(logs.current)
        if previous and logs.previous is None:
            raise bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
        if not previous and not lines and query.get("follow", "").lower() not in ("true", "1"):
            waiting = self._waiting_reason(pod, container)
            if waiting and waiting != "CrashLoopBackOff":
                raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: {waiting}')
        timestamps = query.get("timestamps", "").lower() in ("true", "1")
        since = query.get("sinceSeconds")
        if since:
            cutoff = tables.datetime.now(tables.UTC).timestamp() - int(since)
            lines = [(ts, text) for ts, text in lines if _ts_epoch(ts) >= cutoff]
        tail = query.get("tailLines")
        if tail:
            count = int(tail)
            lines = lines[-count:] if count > 0 else []

        def render(chunk: list[tuple[str, str]]) -> bytes:
            return "".join(f"{ts} {text}\n" if timestamps else f"{text}\n" for ts, text in chunk).encode()

        body = render(lines)
        limit = query.get("limitBytes")
        if limit:
            body = body[: int(limit)]
        if query.get("follow", "").lower() not in ("true", "1") or previous:
            self._send(200, body, "text/plain")
            return
        self._start_stream("text/plain")
        self._chunk(body)
        sent = len(logs.current)
        generation = store.watch_generation
        while True:
            with store.changed:
                if len(logs.current) <= sent and store.watch_generation == generation:
                    store.changed.wait(1.0)
                if store.watch_generation != generation:
                    self._hang_up()
                    return
                fresh = logs.current[sent:]
                sent = len(logs.current)
                gone = store.get("pods", namespace, name) is None
            self._chunk(render(fresh))
            if gone:
                self._end_stream()
                return
            if not fresh and self._client_gone():
                return

    @staticmethod
    def _waiting_reason(pod: dict[str, Any], container: str) -> str | None:
        for cs in (pod.get("status") or {}).get("containerStatuses") or []:
            if cs.get("name") == container:
                return ((cs.get("state") or {}).get("waiting") or {}).get("reason")
        return None


def _ts_epoch(stamp: str) -> float:
    when = tables.parse_time(stamp)
    return when.timestamp() if when else 0.0
