"""A Kubernetes API server simulator on loopback, in its own process, for tests, benches and the demo."""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tui.demo.cluster import lab_cluster, lab_logs

__all__ = ["KubeSimulator", "SimulatorError"]

PACKAGE_ROOT = Path(__file__).resolve().parents[3]  # the folder holding tui/: importable by the child
START_TIMEOUT = 30.0  # seconds; generating 10,000 pods takes a few


class SimulatorError(RuntimeError):
    """The simulator did not start, or a control call failed."""


class KubeSimulator:
    """Start, steer and stop a simulator process; `url` and `kubeconfig()` are what clients use."""

    def __init__(
        self,
        workdir: Path,
        *,
        tls: bool = True,
        token: str = "sim-token",
        pods: int = 0,
        namespaces: int = 1,
        lab: bool = False,
        bookmark_interval: float = 5.0,
        rbac: Sequence[Path] = (),
    ) -> None:
        self.workdir = Path(workdir)
        self.tls = tls
        self.token = token
        self.pods = pods
        self.namespaces = namespaces
        self.lab = lab
        self.bookmark_interval = bookmark_interval
        self.rbac = tuple(rbac)  # YAML files of roles to authorize by from the start (see set_rbac)
        self.port = 0
        self.ca_pem = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._ssl: ssl.SSLContext | None = None

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> KubeSimulator:
        """Spawn the server process and wait (bounded) until it listens; raise with its stderr if not."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        ready = self.workdir / "kube-sim.ready"
        ready.unlink(missing_ok=True)
        command = [sys.executable, "-m", "tui.lab.kube_sim", "--port", "0", "--token", self.token]
        command += [
            "--ready-file",
            str(ready),
            "--pods",
            str(self.pods),
            "--namespaces",
            str(self.namespaces),
        ]
        command += ["--bookmark-interval", str(self.bookmark_interval), "--exit-with-parent"]
        if self.tls:
            command.append("--tls")
        if self.lab:
            command.append("--lab")
        for path in self.rbac:
            command += ["--rbac", str(path)]
        self._stderr_path = self.workdir / "kube-sim.stderr"
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), env.get("PYTHONPATH")]))
        with open(self._stderr_path, "wb") as stderr:
            self._process = subprocess.Popen(
                command, cwd=self.workdir, env=env, stdout=subprocess.DEVNULL, stderr=stderr
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not ready.exists():
            if self._process.poll() is not None:
                raise SimulatorError(
                    f"kube simulator exited with {self._process.returncode}: {self._stderr()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise SimulatorError(f"kube simulator not ready after {START_TIMEOUT:.0f}s: {self._stderr()}")
            time.sleep(0.02)
        info = json.loads(ready.read_text())
        self.port = int(info["port"])
        self.ca_pem = info.get("ca_pem", "")
        if self.tls:
            self._ssl = ssl.create_default_context(cadata=self.ca_pem)
        return self

    def _stderr(self) -> str:
        try:
            return self._stderr_path.read_text(errors="replace")[-4000:].strip() or "(no stderr)"
        except OSError:
            return "(no stderr)"

    def stop(self) -> None:
        """Stop the server process (SIGTERM, then SIGKILL if it lingers)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def __enter__(self) -> KubeSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def kubeconfig(
        self, namespace: str = "production", context: str = "sim", *, token: str | None = None
    ) -> Path:
        """Write a kubeconfig (CA data, bearer token, the context's namespace) and return its path."""
        cluster: dict[str, Any] = {"server": self.url}
        if self.tls:
            cluster["certificate-authority-data"] = base64.b64encode(self.ca_pem.encode()).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": f"{context}-cluster", "cluster": cluster}],
            "users": [
                {"name": f"{context}-user", "user": {"token": token if token is not None else self.token}}
            ],
            "contexts": [
                {
                    "name": context,
                    "context": {
                        "cluster": f"{context}-cluster",
                        "user": f"{context}-user",
                        "namespace": namespace,
                    },
                }
            ],
            "current-context": context,
            "preferences": {},
        }
        path = self.workdir / f"kubeconfig-{context}.yaml"
        path.write_text(json.dumps(config, indent=2))  # JSON is YAML; both kubectl and the client read it
        path.chmod(0o600)
        return path

    # --- control API -------------------------------------------------------------------------
    def _control(self, action: str, payload: Any = None, method: str = "POST") -> Any:
        if not self.port:
            raise SimulatorError("kube simulator is not started")
        if self.tls:
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                "127.0.0.1", self.port, context=self._ssl, timeout=30
            )
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            body = json.dumps(payload).encode() if payload is not None else None
            headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
            conn.request(method, f"/_sim/{action}", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        result = json.loads(data) if data else None
        if response.status != 200:
            message = result.get("error") if isinstance(result, dict) else data.decode(errors="replace")
            raise SimulatorError(f"{action}: {response.status} {message}")
        return result

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or replace an object; returns it as stored (uid, creationTimestamp, resourceVersion set)."""
        return self._control("apply", obj)

    def apply_all(self, objs: Iterable[dict[str, Any]]) -> str:
        """Apply many objects in one call; returns the resourceVersion after the last."""
        return self._control("apply", {"objects": list(objs)})["resourceVersion"]

    def get(self, resource: str, namespace: str | None, name: str) -> dict[str, Any]:
        """An object as stored (not recorded as an API request)."""
        return self._control("get", {"resource": resource, "namespace": namespace, "name": name})

    def delete(self, resource: str, namespace: str | None, name: str) -> dict[str, Any]:
        """Delete an object (emits DELETED); resource is a plural, short name or `plural.group`."""
        return self._control("delete", {"resource": resource, "namespace": namespace, "name": name})

    def crash(
        self,
        namespace: str,
        pod: str,
        *,
        container: str | None = None,
        reason: str = "OOMKilled",
        exit_code: int = 137,
    ) -> dict[str, Any]:
        """Terminate a container: restartCount+1, lastState.terminated, CrashLoopBackOff, not ready."""
        args = {
            "namespace": namespace,
            "pod": pod,
            "container": container,
            "reason": reason,
            "exit_code": exit_code,
        }
        return self._control("crash", args)

    def recover(self, namespace: str, pod: str, *, container: str | None = None) -> dict[str, Any]:
        """The restarted container runs and is ready again (restart count and last state kept)."""
        return self._control("recover", {"namespace": namespace, "pod": pod, "container": container})

    def append_logs(
        self, namespace: str, pod: str, container: str, lines: Sequence[str], *, previous: bool = False
    ) -> None:
        """Add log lines to the running container (or, previous=True, to the last terminated one)."""
        payload = {
            "namespace": namespace,
            "pod": pod,
            "container": container,
            "lines": list(lines),
            "previous": previous,
        }
        self._control("logs", payload)

    def deny(
        self, resource: str, verbs: Sequence[str] = ("list", "watch", "get"), namespace: str | None = None
    ) -> None:
        """Answer these verbs on a resource (`pods`, `events`, `pods/log`) with the real 403 Forbidden."""
        self._control("deny", {"resource": resource, "verbs": list(verbs), "namespace": namespace})

    def allow(self, resource: str) -> None:
        """Undo deny()."""
        self._control("allow", {"resource": resource})

    def set_rbac(self, objects: Iterable[dict[str, Any]] | None) -> None:
        """Authorize as RBAC would with these Roles, ClusterRoles and bindings (Kubernetes objects, e.g. the
        documents of examples/rbac/*.yaml), every binding taken to bind the simulator's user; reads no rule
        allows get the real 403, and the self-reviews answer from them. None: cluster admin again."""
        self._control("rbac", {"objects": None if objects is None else [o for o in objects if o]})

    def unserve(self, *groups: str) -> None:
        """Answer these API groups with 404, as a cluster without their server (`metrics.k8s.io`: no
        metrics-server); none given: serve every group again."""
        self._control("unserve", {"groups": list(groups)})

    def set_latency(self, seconds: float) -> None:
        """Delay every API request (not the control API) by this many seconds."""
        self._control("latency", {"seconds": seconds})

    def set_bookmark_interval(self, seconds: float) -> None:
        """How often watches that allow bookmarks get one."""
        self._control("bookmark-interval", {"seconds": seconds})

    def drop_watches(self) -> None:
        """Cut every open watch (and log follow) connection, as a network failure would."""
        self._control("drop-watches")

    def compact(self) -> str:
        """Forget event history: a watch from an older resourceVersion gets the 410 Expired ERROR event."""
        return self._control("compact")["resourceVersion"]

    def churn(self, rate: float = 100.0, seconds: float = 10.0, namespace: str | None = None) -> None:
        """Modify pods at `rate` changes per second for `seconds`, inside the server (for benchmarks)."""
        self._control("churn", {"rate": rate, "seconds": seconds, "namespace": namespace})

    def requests(self) -> list[dict[str, Any]]:
        """Every API request seen: method, path, query (a dict), user_agent, at (time.monotonic() when it
        came), held (the seconds set_latency held its answer); the control API is excluded."""
        return self._control("requests", method="GET")

    def clear_requests(self) -> None:
        """Forget the recorded requests and reset the byte counter."""
        self._control("clear-requests")

    def stats(self) -> dict[str, Any]:
        return self._control("stats", method="GET")

    def bytes_sent(self) -> int:
        """Bytes of API responses sent so far (headers and bodies, watches included)."""
        return int(self.stats()["bytes_sent"])

    def watch_bytes_sent(self) -> int:
        """The part of bytes_sent() that went down watch streams (events and bookmarks)."""
        return int(self.stats()["watch_bytes_sent"])

    def open_watches(self) -> int:
        return int(self.stats()["open_watches"])

    def resource_version(self) -> str:
        return str(self.stats()["resourceVersion"])

    def wait_for_watches(self, count: int = 1, timeout: float = 5.0) -> None:
        """Block until at least `count` watches are open, so a change made next is seen live."""
        deadline = time.monotonic() + timeout
        while self.open_watches() < count:
            if time.monotonic() > deadline:
                raise SimulatorError(f"expected {count} open watches, have {self.open_watches()}")
            time.sleep(0.02)

    def load_lab(self) -> None:
        """Apply lab_cluster() and its log lines."""
        self.apply_all(lab_cluster())
        for namespace, pod, container, lines, previous in lab_logs():
            self.append_logs(namespace, pod, container, lines, previous=previous)
