"""The simulator's control API (`/_sim/...`): how tests and benchmarks load objects, crash pods, deny
resources, bind RBAC roles, add latency, drop watches and churn pods."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from typing import TYPE_CHECKING, Any

from tui.lab.kube_sim.store import READ_VERBS, ObjectStore, resolve

if TYPE_CHECKING:
    from tui.lab.kube_sim.server import SimServer


def control_reply(server: SimServer, action: str, body: bytes) -> tuple[int, Any]:
    """The answer to `POST /_sim/<action>` with JSON args: (HTTP status, JSON body)."""
    args: dict[str, Any] = json.loads(body) if body else {}
    try:
        return 200, control_action(server, action, args)
    except KeyError as exc:
        return 404, {"error": str(exc.args[0] if exc.args else exc)}
    except (ValueError, TypeError) as exc:
        return 400, {"error": str(exc)}


def control_action(server: SimServer, action: str, args: dict[str, Any]) -> Any:
    """Do one control action (`POST /_sim/<action>` with JSON args) and return its JSON answer."""
    store = server.store
    if action == "apply":
        if "objects" in args:
            return {"applied": store.apply_many(args["objects"]), "resourceVersion": str(store.rv)}
        return store.apply(args)
    if action == "delete":
        rtype = resolve(args["resource"])
        return store.delete(rtype.key, args.get("namespace") or "", args["name"])
    if action == "get":
        rtype = resolve(args["resource"])
        found = store.get(rtype.key, args.get("namespace") or "", args["name"])
        if found is None:
            raise KeyError(f"{args['resource']} {args['name']} not found")
        return found
    if action == "crash":
        return store.crash(
            args["namespace"],
            args["pod"],
            args.get("container"),
            args.get("reason", "OOMKilled"),
            int(args.get("exit_code", 137)),
        )
    if action == "recover":
        return store.recover(args["namespace"], args["pod"], args.get("container"))
    if action == "logs":
        store.append_logs(
            args["namespace"],
            args["pod"],
            args["container"],
            list(args["lines"]),
            bool(args.get("previous")),
        )
        return {}
    if action == "deny":
        resource = args["resource"]
        base, _, sub = resource.partition("/")
        key = resolve(base).key + (f"/{sub}" if sub else "")
        store.denied[key] = (set(args.get("verbs") or READ_VERBS), args.get("namespace"))
        return {}
    if action == "allow":
        base, _, sub = args["resource"].partition("/")
        store.denied.pop(resolve(base).key + (f"/{sub}" if sub else ""), None)
        return {}
    if action == "rbac":
        server.rbac.set(args.get("objects"))
        return {}
    if action == "unserve":
        store.unserved = set(args["groups"])
        return {}
    if action == "latency":
        store.latency = float(args["seconds"])
        return {}
    if action == "bookmark-interval":
        store.bookmark_interval = float(args["seconds"])
        return {}
    if action == "drop-watches":
        store.drop_watches()
        return {}
    if action == "compact":
        return {"resourceVersion": str(store.compact())}
    if action == "requests":
        return list(server.requests_seen)
    if action == "clear-requests":
        server.clear_requests()
        return {}
    if action == "stats":
        return {
            "bytes_sent": server.bytes_sent,
            "watch_bytes_sent": server.watch_bytes_sent,
            "open_watches": server.open_watches,
            "resourceVersion": str(store.rv),
        }
    if action == "churn":
        threading.Thread(target=_churn, args=(store, args), daemon=True).start()
        return {}
    raise KeyError(f"unknown control action {action!r}")


def _churn(store: ObjectStore, args: dict[str, Any]) -> None:
    """Modify pods at a steady rate (an annotation bump each), for the churn benchmark."""
    rate = float(args.get("rate", 100))
    seconds = float(args.get("seconds", 10))
    namespace = args.get("namespace")
    pods = [s.obj["metadata"] for s in store.items("pods", namespace)]
    if not pods:
        return
    start = time.monotonic()
    done = 0
    while time.monotonic() - start < seconds:
        target = pods[done % len(pods)]

        def bump(obj: dict[str, Any]) -> None:
            annotations = obj["metadata"].setdefault("annotations", {})
            annotations["sim.oncall/churn"] = str(int(annotations.get("sim.oncall/churn", "0")) + 1)

        with contextlib.suppress(KeyError):
            store.mutate("pods", target.get("namespace", ""), target["name"], bump)
        done += 1
        delay = start + done / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
