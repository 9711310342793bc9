"""The lab's load generator: worker threads sending real HTTP requests to the stand-in API, mode by mode.

`python -m tui.lab.load --api URL --control-port P`; `POST /_lab/load {"mode": M}` on the control port picks
what the workers ask for: normal, searches, misses, catalog or surge (see MODES).
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from tui.lab.api import WARM_ITEMS

# mode -> (workers, think time in seconds); the machine is small, so the normal load stays light
MODES: dict[str, tuple[int, float]] = {
    "normal": (4, 0.25),
    "searches": (6, 0.1),
    "misses": (4, 0.1),
    "catalog": (4, 0.1),
    "surge": (45, 0.05),
}
MAX_WORKERS = max(workers for workers, _ in MODES.values())


class Load:
    """The workers and the mode they follow; a worker above the mode's count sleeps."""

    def __init__(self, api_url: str) -> None:
        url = urlsplit(api_url)
        self.host = url.hostname or "127.0.0.1"
        self.port = url.port or 80
        self.mode = "normal"
        self.stopping = threading.Event()
        self.sent = 0
        self.lock = threading.Lock()

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown load mode {mode!r}; known: {', '.join(MODES)}")
        self.mode = mode

    def path(self) -> str:
        mode = self.mode
        roll = random.random()
        if mode == "searches" or (mode == "normal" and roll < 0.05):
            return f"/api/search?customer={random.randint(1, 5000)}"
        if mode == "misses":
            return f"/api/items/{random.randint(1, 10_000_000)}"
        if mode == "catalog" and roll < 0.8:
            return "/api/catalog"
        return f"/api/items/{random.randint(1, WARM_ITEMS)}"

    def worker(self, index: int) -> None:
        conn: http.client.HTTPConnection | None = None
        while not self.stopping.is_set():
            workers, think = MODES[self.mode]
            if index >= workers:
                if conn is not None:
                    conn.close()
                    conn = None
                self.stopping.wait(0.5)
                continue
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                conn.request("GET", self.path())
                conn.getresponse().read()
                with self.lock:
                    self.sent += 1
            except (OSError, http.client.HTTPException):
                if conn is not None:
                    conn.close()
                conn = None
                self.stopping.wait(1.0)  # the API is down: try again later, quietly
                continue
            self.stopping.wait(think * random.uniform(0.5, 1.5))
        if conn is not None:
            conn.close()

    def start(self) -> None:
        for index in range(MAX_WORKERS):
            threading.Thread(target=self.worker, args=(index,), daemon=True).start()


class ControlHandler(BaseHTTPRequestHandler):
    server: ControlServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _json(self, status: int, value: Any) -> None:
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        load = self.server.load
        self._json(200, {"mode": load.mode, "sent": load.sent})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if self.path != "/_lab/load":
            self._json(404, {"error": "not found"})
            return
        try:
            args = json.loads(self.rfile.read(length) or b"{}")
            self.server.load.set_mode(str(args["mode"]))
        except (ValueError, KeyError, TypeError) as error:
            self._json(400, {"error": str(error)})
            return
        self._json(200, {"mode": self.server.load.mode})


class ControlServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, load: Load) -> None:
        super().__init__(("127.0.0.1", port), ControlHandler)
        self.load = load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tui.lab.load", description=__doc__)
    parser.add_argument("--api", required=True, help="the API's base URL")
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--mode", default="normal", choices=sorted(MODES))
    args = parser.parse_args(argv)
    load = Load(args.api)
    load.set_mode(args.mode)
    server = ControlServer(args.control_port, load)

    def stop(signum: int, frame: FrameType | None) -> None:
        load.stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    load.start()
    print(f"load on {args.api}, control on 127.0.0.1:{args.control_port}", file=sys.stderr, flush=True)
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    time.sleep(0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
