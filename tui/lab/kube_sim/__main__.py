"""Run the simulator as a process: `python -m tui.lab.kube_sim --port 0 --tls --token T --ready-file F`."""

from __future__ import annotations

import argparse
import json
import os
import signal
import ssl
import sys
import threading
import time
from pathlib import Path
from types import FrameType

import yaml

from tui.demo.cluster import lab_cluster, lab_logs
from tui.lab.kube_sim.fixtures import generated_pods
from tui.lab.kube_sim.server import SimServer
from tui.lab.kube_sim.store import ObjectStore


def _tls_context() -> tuple[ssl.SSLContext, str]:
    import trustme  # only the TLS mode needs it

    ca = trustme.CA(organization_name="oncall kube simulator")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    context.set_alpn_protocols(["http/1.1"])  # no HTTP/2: kubectl and the Python client both fall back to 1.1
    return context, ca.cert_pem.bytes().decode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tui.lab.kube_sim", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a fresh trustme CA")
    parser.add_argument("--token", default="sim-token", help="the bearer token every request must carry")
    parser.add_argument(
        "--ready-file", type=Path, help="written (JSON: port, ca_pem, pid) once the server listens"
    )
    parser.add_argument("--pods", type=int, default=0, help="generate this many pods (benchmarks)")
    parser.add_argument(
        "--namespaces", type=int, default=1, help="spread generated pods over this many namespaces"
    )
    parser.add_argument("--lab", action="store_true", help="load the lab's production namespace and its logs")
    parser.add_argument(
        "--bookmark-interval", type=float, default=5.0, help="seconds between watch BOOKMARKs"
    )
    parser.add_argument("--exit-with-parent", action="store_true", help="stop when the parent process dies")
    parser.add_argument(
        "--rbac",
        type=Path,
        action="append",
        help="a YAML file of Roles, ClusterRoles and bindings (examples/rbac/...) to authorize by, "
        "repeatable; none: the user is a cluster admin",
    )
    args = parser.parse_args(argv)

    store = ObjectStore()
    store.bookmark_interval = args.bookmark_interval
    if args.lab:
        store.apply_many(lab_cluster())
        for ns, pod, container, lines, previous in lab_logs():
            store.append_logs(ns, pod, container, lines, previous)
    if args.pods:
        store.apply_many(generated_pods(args.pods, args.namespaces))

    context, ca_pem = _tls_context() if args.tls else (None, "")
    server = SimServer(("127.0.0.1", args.port), store, args.token, context)  # loopback only, always
    if args.rbac:
        try:
            documents = [d for path in args.rbac for d in yaml.safe_load_all(path.read_text()) if d]
            server.rbac.set(documents)
        except (OSError, yaml.YAMLError, ValueError) as exc:
            parser.error(f"--rbac: {exc}")

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    parent = os.getppid()

    def watch_parent() -> None:
        # An orphaned simulator (its test runner killed) must not hold a port forever.
        while os.getppid() == parent:
            time.sleep(1.0)
        server.shutdown()

    if args.exit_with_parent:
        threading.Thread(target=watch_parent, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.ready_file:
        ready = {"port": server.server_address[1], "ca_pem": ca_pem, "pid": os.getpid(), "tls": args.tls}
        partial = args.ready_file.with_suffix(".partial")
        partial.write_text(json.dumps(ready))
        partial.replace(args.ready_file)  # atomic: the parent never reads half a file
    else:
        print(f"listening on 127.0.0.1:{server.server_address[1]}", file=sys.stderr)
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
