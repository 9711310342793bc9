"""Start, stop and check the lab's processes by name, from what the state file records of them.

Each process runs detached (its own session, its log in `<lab root>/logs/`), so it outlives the `oncall lab`
command that started it; another command finds it again by the pid and port in `state.json`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tui.config.paths import example_dir
from tui.lab import postgres
from tui.lab.state import LabState, Service

# in the order `lab up` starts them (and `lab down` stops them in reverse)
NAMES = (
    "postgres",
    "redis",
    "postgres-exporter",
    "redis-exporter",
    "api",
    "load",
    "alertmanager",
    "prometheus",
    "kube-sim",
)
START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
REDIS_SERVER = Path("/usr/bin/redis-server")
PROMETHEUS = Path("/usr/bin/prometheus")
ALERTMANAGER = Path("/usr/bin/prometheus-alertmanager")
# the package root, so `python -m tui.lab...` works from any folder
PACKAGE_ROOT = Path(__file__).resolve().parents[2]

# a word of each process's command line: a pid from state.json is signalled only if it is still that process
# (after a reboot the number may belong to another one)
MARKS = {
    "postgres": "postgres",
    "redis": "redis-server",
    "postgres-exporter": "postgres",
    "redis-exporter": "redis",
    "api": "tui.lab.api",
    "load": "tui.lab.load",
    "alertmanager": "alertmanager",
    "prometheus": "prometheus",
    "kube-sim": "tui.lab.kube_sim",
}
_children: dict[int, subprocess.Popen[bytes]] = {}  # processes this process started, reaped on stop


class ServiceError(RuntimeError):
    """A lab process did not start or stop; the message names it and ends with the tail of its log."""


def log_tail(path: str | Path, lines: int = 15) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def pid_alive(pid: int) -> bool:
    """The process exists and is not a zombie (a dead child not yet reaped still has its pid)."""
    if pid <= 0:
        return False
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"


def is_ours(name: str, pid: int) -> bool:
    """The process with this pid is the lab's `name` (by its command line), or we cannot tell."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return True
    return MARKS.get(name, name) in cmdline


def port_answers(port: int, timeout: float = 0.5) -> bool:
    if port <= 0:
        return False
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def service_running(state: LabState, name: str) -> bool:
    """Its process is alive and its port answers."""
    service = state.services.get(name)
    if service is None:
        return False
    if name == "postgres":
        service.pid = postgres.postmaster_pid(state) or service.pid
    return pid_alive(service.pid) and port_answers(service.port)


def _clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), env.get("PYTHONPATH")]))
    return env | (extra or {})


def command(state: LabState, name: str) -> tuple[list[str], dict[str, str]]:
    """argv and extra environment of one lab process (not postgres: pg_ctl starts that one)."""
    root, port = state.root, state.services[name].port
    if name == "redis":
        return [str(REDIS_SERVER), str(root / "redis.conf")], {}
    if name in ("postgres-exporter", "redis-exporter"):
        from tui.lab import exporters

        if name == "redis-exporter":
            return exporters.redis_exporter_command(state.redis_url, port)
        dsn = state.postgres_dsn(postgres.EXPORTER_ROLE) + " sslmode=disable"
        return exporters.postgres_exporter_command(dsn, port)
    if name == "api":
        dsn = state.postgres_dsn(postgres.API_ROLE)
        python = [sys.executable, "-m", "tui.lab.api", "--port", str(port)]
        return [*python, "--dsn", dsn, "--redis", state.redis_url], {}
    if name == "load":
        python = [sys.executable, "-m", "tui.lab.load", "--api", state.api_url]
        return [*python, "--control-port", str(port)], {}
    if name == "kube-sim":
        # the lab's console runs as the example role with Helm history: what a team that opts in binds
        role = example_dir().parent / "rbac" / "oncall-role-helm.yaml"
        python = [sys.executable, "-m", "tui.lab.kube_sim", "--lab", "--rbac", str(role), "--port", str(port)]
        return [*python, f"--token={state.kube_token}"], {}  # a token may begin with "-"
    if name == "prometheus":
        folder = root / "prometheus"
        argv = [
            str(PROMETHEUS),
            f"--config.file={folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=2h",
            "--log.level=warn",
        ]
        return argv, {}
    if name == "alertmanager":
        folder = root / "alertmanager"
        argv = [
            str(ALERTMANAGER),
            f"--config.file={folder / 'alertmanager.yml'}",
            f"--storage.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # no gossip port: a lab of one
            "--log.level=warn",
        ]
        return argv, {}
    raise KeyError(f"no lab process {name!r}; known: {', '.join(NAMES)}")


def start_service(state: LabState, name: str, timeout: float = START_TIMEOUT) -> Service:
    """Start one lab process on its recorded port and wait (bounded) until the port answers; saves the
    state. Already running: nothing to do. Raises ServiceError with the tail of its log."""
    service = state.services[name]
    if service_running(state, name):
        return service
    if name == "postgres":
        service.log = str(postgres.log_path(state))
        try:
            service.pid = postgres.start(state, timeout)
        except postgres.PostgresError as error:
            raise ServiceError(f"postgres did not start: {error}\n{log_tail(service.log)}") from None
        state.save()
        return service
    logs = state.root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    service.log = str(logs / f"{name}.log")
    argv, extra = command(state, name)
    with open(service.log, "ab") as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=state.root,
            env=_clean_env(extra),
            start_new_session=True,  # detached: outlives `oncall lab up`, and a Ctrl-C in its terminal
        )
    _children[process.pid] = process
    service.pid = process.pid
    state.save()
    deadline = time.monotonic() + timeout
    while not port_answers(service.port, timeout=0.2):
        if process.poll() is not None:
            raise ServiceError(f"{name} exited with {process.returncode}:\n{log_tail(service.log)}")
        if time.monotonic() > deadline:
            raise ServiceError(
                f"{name} did not listen on {service.port} in {timeout:g}s:\n{log_tail(service.log)}"
            )
        time.sleep(0.05)
    return service


def stop_service(state: LabState, name: str, *, kill: bool = False, timeout: float = STOP_TIMEOUT) -> bool:
    """Stop one lab process: postgres with pg_ctl (fast, or immediate when `kill`), the others with SIGTERM
    then SIGKILL after `timeout` (at once when `kill`). True if it was running. Works on a dead one."""
    service = state.services.get(name)
    if service is None:
        return False
    if name == "postgres":
        service.pid = postgres.postmaster_pid(state) or service.pid
        was = pid_alive(service.pid) and is_ours(name, service.pid)
        if was and state.postgres_bindir:
            with contextlib.suppress(postgres.PostgresError):
                postgres.stop(state, immediate=kill, timeout=timeout * 2)
        if was:
            _signal_until_gone(service.pid, kill=True, timeout=timeout)  # pg_ctl failed: the hard way
        return was
    was = pid_alive(service.pid)
    if was and not is_ours(name, service.pid):
        return False  # that pid is another process now: ours is long gone
    _signal_until_gone(service.pid, kill=kill, timeout=timeout)
    return was


def _signal_until_gone(pid: int, *, kill: bool, timeout: float) -> None:
    if not pid_alive(pid):
        _reap(pid)
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL if kill else signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    _reap(pid)


def _reap(pid: int) -> None:
    child = _children.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=1)
