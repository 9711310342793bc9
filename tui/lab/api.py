"""The lab's stand-in for the in-midst-my-life API: a real HTTP service on PostgreSQL and Redis, with metrics.

`python -m tui.lab.api --port P --dsn DSN --redis URL`. Routes: `/api/items/<id>` (Redis cache, PostgreSQL
on a miss), `/api/search?customer=<n>`, `/api/catalog`, `/healthz`, `/metrics` (Prometheus text format, by
hand), and `POST /_lab/fault {"name": N, "on": bool, ...}` that switches the game-day faults' modes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import queue
import random
import signal
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import redis

APP_NAME = "inmidst-api"
POOL_SIZE = 5
MAX_CONNECTIONS = 40  # the API's stated capacity, exported as http_max_connections
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
FAULTS = ("errors", "slow-queries", "leak-connections", "seqscan", "slow-responses")
ERROR_SHARE = 0.3  # the bad deploy's share of 5xx answers
SLOW_QUERY_SECONDS = 2.5
SLOW_RESPONSE_SECONDS = 1.5
CACHE_TTL = 300
WARM_ITEMS = 1000  # the ids the normal load asks for


class Metrics:
    """http_requests_total, the latency histogram and the connection gauges, kept in memory."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict[tuple[str, str, str], int] = {}
        self.buckets = [0] * len(BUCKETS)
        self.count = 0
        self.sum = 0.0
        self.active = 0

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self.lock:
            key = (method, route, str(status))
            self.requests[key] = self.requests.get(key, 0) + 1
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    self.buckets[i] += 1
            self.count += 1
            self.sum += seconds

    def text(self) -> str:
        with self.lock:
            lines = [
                "# HELP http_requests_total HTTP requests answered, by method, route and status.",
                "# TYPE http_requests_total counter",
            ]
            for (method, route, status), n in sorted(self.requests.items()):
                lines.append(
                    f'http_requests_total{{method="{method}",route="{route}",status="{status}"}} {n}'
                )
            lines += [
                "# HELP http_request_duration_seconds Time to answer an HTTP request.",
                "# TYPE http_request_duration_seconds histogram",
            ]
            for bound, n in zip(BUCKETS, self.buckets, strict=True):
                lines.append(f'http_request_duration_seconds_bucket{{le="{bound:g}"}} {n}')
            lines.append(f'http_request_duration_seconds_bucket{{le="+Inf"}} {self.count}')
            lines.append(f"http_request_duration_seconds_sum {self.sum:.6f}")
            lines.append(f"http_request_duration_seconds_count {self.count}")
            lines += [
                "# HELP http_active_connections Requests in flight.",
                "# TYPE http_active_connections gauge",
                f"http_active_connections {self.active}",
                "# HELP http_max_connections Requests the API can hold at once.",
                "# TYPE http_max_connections gauge",
                f"http_max_connections {MAX_CONNECTIONS}",
            ]
        return "\n".join(lines) + "\n"


class Backend:
    """The API's PostgreSQL pool, its Redis client, and the fault modes switched on now."""

    def __init__(self, dsn: str, redis_url: str) -> None:
        self.dsn = dsn
        self.pool: queue.Queue[psycopg.Connection | None] = queue.Queue()
        for _ in range(POOL_SIZE):
            self.pool.put(None)  # connected on first use, so the API starts even with PostgreSQL down
        self.redis = redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=5)
        self.faults: dict[str, dict[str, Any]] = {}
        self.leaked: list[psycopg.Connection] = []
        self.lock = threading.Lock()

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.dsn, autocommit=True, application_name=APP_NAME, connect_timeout=3)

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        try:
            conn = self.pool.get(timeout=10)
        except queue.Empty:
            raise TimeoutError("no free database connection in the pool") from None
        try:
            if conn is None or conn.closed or conn.broken:
                conn = self.connect()
            yield conn
        except psycopg.OperationalError:
            if conn is not None:
                conn.close()
            conn = None
            raise
        finally:
            self.pool.put(conn)

    def query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        if "slow-queries" in self.faults:
            sql = f"SELECT q.* FROM pg_sleep({SLOW_QUERY_SECONDS}), ({sql}) AS q"  # once a query, not a row
        with self.connection() as conn:
            return conn.execute(sql, params).fetchall()

    def set_fault(self, name: str, on: bool, args: dict[str, Any]) -> None:
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
        with self.lock:
            if on:
                self.faults[name] = args
            else:
                self.faults.pop(name, None)
            if name == "leak-connections":
                self._leak(int(args.get("count", 38)) if on else 0)

    def _leak(self, count: int) -> None:
        """Hold `count` sessions idle in transaction (BEGIN; SELECT 1), or close them all at 0."""
        while len(self.leaked) > count:
            with contextlib.suppress(psycopg.Error):
                self.leaked.pop().close()
        while len(self.leaked) < count:
            conn = psycopg.connect(self.dsn, application_name=APP_NAME, connect_timeout=3)
            conn.execute("SELECT 1")  # not autocommit: the transaction stays open, idle
            self.leaked.append(conn)

    def item(self, item_id: int) -> dict[str, Any] | None:
        cached = self.redis.get(f"item:{item_id}")
        # slow queries reach every request: the cache is read, then the row read through anyway
        if cached is not None and "slow-queries" not in self.faults:
            found: dict[str, Any] = json.loads(cached)
            return found
        rows = self.query("SELECT id, name, payload FROM items WHERE id = %s", (item_id,))
        if not rows:
            return None
        row = rows[-1]
        value = {"id": row[-3], "name": row[-2], "payload": row[-1]}
        self.redis.set(f"item:{item_id}", json.dumps(value), ex=CACHE_TTL)
        return value

    def search(self, customer: int) -> list[int]:
        if "seqscan" in self.faults:
            # case-insensitive and sorted on the unindexed column: every row is read, no early stop
            sql = "SELECT id FROM orders WHERE note ILIKE %s ORDER BY note LIMIT 20"
            rows = self.query(sql, (f"%customer {customer}%",))
        else:
            rows = self.query("SELECT id FROM orders WHERE customer_id = %s LIMIT 20", (customer,))
        return [int(row[-1]) for row in rows]

    def catalog(self) -> int:
        return len(self.redis.hgetall("catalog:all"))


def warm_cache(dsn: str, redis_url: str, last_id: int = WARM_ITEMS) -> int:
    """Put items 1..last_id in the cache as the API would, so a fresh lab starts with a warm cache (the
    normal load asks for those ids) and no LowCacheHitRatio of its own; how many were cached."""
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=10)
    try:
        with psycopg.connect(dsn, application_name=APP_NAME, connect_timeout=3) as conn:
            rows = conn.execute("SELECT id, name, payload FROM items WHERE id <= %s", (last_id,)).fetchall()
        pipe = client.pipeline(transaction=False)
        for item_id, name, payload in rows:
            value = {"id": item_id, "name": name, "payload": payload}
            # TTLs spread over a second CACHE_TTL: all expiring at once paged LowCacheHitRatio 5 min later
            pipe.set(f"item:{item_id}", json.dumps(value), ex=CACHE_TTL + item_id % CACHE_TTL)
        pipe.execute()
    finally:
        client.close()
    return len(rows)


class Handler(BaseHTTPRequestHandler):
    server: ApiServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the load would fill the log

    def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value: Any) -> None:
        self._send(status, json.dumps(value).encode())

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/metrics":
            self._send(200, self.server.metrics.text().encode(), "text/plain; version=0.0.4")
            return
        if url.path == "/healthz":
            self._json(200, {"ok": True})
            return
        self._api(url.path, parse_qs(url.query))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            args = json.loads(self.rfile.read(length) or b"{}")
            if self.path != "/_lab/fault":
                self._json(404, {"error": "not found"})
                return
            self.server.backend.set_fault(str(args["name"]), bool(args.get("on", True)), args)
        except (ValueError, KeyError, TypeError, psycopg.Error) as error:
            self._json(400, {"error": str(error)})
            return
        self._json(200, {"faults": sorted(self.server.backend.faults)})

    def _api(self, path: str, query: dict[str, list[str]]) -> None:
        metrics, backend = self.server.metrics, self.server.backend
        route = "/api/items/:id" if path.startswith("/api/items/") else path
        if route not in ("/api/items/:id", "/api/search", "/api/catalog"):
            self._json(404, {"error": "not found"})
            return
        started = time.monotonic()
        with metrics.lock:
            metrics.active += 1
        try:
            status, body = self._answer(backend, route, path, query)
        finally:
            with metrics.lock:
                metrics.active -= 1
        metrics.observe("GET", route, status, time.monotonic() - started)
        self._json(status, body)

    def _answer(
        self, backend: Backend, route: str, path: str, query: dict[str, list[str]]
    ) -> tuple[int, Any]:
        if "slow-responses" in backend.faults:
            time.sleep(SLOW_RESPONSE_SECONDS)
        if "errors" in backend.faults and random.random() < ERROR_SHARE:
            return random.choice((500, 502, 503)), {"error": "bad deploy"}
        try:
            if route == "/api/items/:id":
                item = backend.item(int(path.rsplit("/", 1)[-1]))
                return (200, item) if item else (404, {"error": "no such item"})
            if route == "/api/search":
                return 200, backend.search(int(query.get("customer", ["1"])[0]))
            return 200, {"fields": backend.catalog()}
        except ValueError:
            return 400, {"error": "bad request"}
        except (psycopg.Error, redis.RedisError, TimeoutError, OSError) as error:
            return 503, {"error": type(error).__name__}


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, port: int, backend: Backend) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.metrics = Metrics()
        self.backend = backend


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tui.lab.api", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True, help="libpq conninfo of the API's role")
    parser.add_argument("--redis", required=True, help="redis:// URL")
    args = parser.parse_args(argv)
    server = ApiServer(args.port, Backend(args.dsn, args.redis))

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"inmidst-api stand-in listening on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
