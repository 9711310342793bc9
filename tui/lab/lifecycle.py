"""Bring the whole lab up, report on it, and take it down: `oncall lab up`, `status` and `down`."""

from __future__ import annotations

import json
import secrets
import shutil
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.lab import configs, postgres, services, sim_faults
from tui.lab.api import warm_cache
from tui.lab.profile import remove_profile, write_profile
from tui.lab.services import NAMES, ServiceError, free_port, service_running, start_service, stop_service
from tui.lab.state import LAB_FACTOR, LabNotRunning, LabState, Service, lab_root
from tui.lab.watchdog import start_watchdog

PROMETHEUS_READY_TIMEOUT = 15.0
# Debian package -> the binary it installs that the lab runs
PACKAGES: dict[str, tuple[str, ...]] = {
    "postgresql": (),  # found by postgres_bindir()
    "redis-server": (str(services.REDIS_SERVER), "redis-server"),
    "prometheus": (str(services.PROMETHEUS), "prometheus"),
    "prometheus-postgres-exporter": ("/usr/bin/prometheus-postgres-exporter", "postgres_exporter"),
    "prometheus-redis-exporter": ("/usr/bin/prometheus-redis-exporter", "redis_exporter"),
    "prometheus-alertmanager": (str(services.ALERTMANAGER), "alertmanager"),
}


class LabUpError(RuntimeError):
    """A part of the lab did not start; what had started is stopped again."""


@dataclass
class UpResult:
    state: LabState
    already: bool = False
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def missing_packages() -> list[str]:
    """The Debian packages the lab needs that are not installed (by the binaries they install)."""
    missing = []
    for package, binaries in PACKAGES.items():
        if package == "postgresql":
            found = postgres.postgres_bindir() is not None
        else:
            found = any(Path(b).is_file() if "/" in b else shutil.which(b) for b in binaries)
        if not found:
            missing.append(package)
    return missing


def install_line(packages: list[str]) -> str:
    return f"apt-get install {' '.join(packages)}"


def running_state(root: Path | None = None) -> LabState | None:
    """The lab's state when at least one of its processes still runs and answers, else None."""
    try:
        state = LabState.load(root)
    except LabNotRunning:
        return None
    # alive and answering on its port: a pid alone may be another process's after a reboot
    if any(service_running(state, name) for name in state.services):
        return state
    return None


def up(root: Path | None = None, factor: int = LAB_FACTOR) -> UpResult:
    """Start every part in order; on any failure stop what started and raise LabUpError naming the part."""
    started = time.monotonic()
    root = root or lab_root()
    existing = running_state(root)
    if existing is not None:
        return UpResult(existing, already=True)
    down(root)  # a stale state file from a lab that died: clean up what is left
    root.mkdir(parents=True, exist_ok=True)
    state = LabState(root=root, factor=factor, kube_token=secrets.token_urlsafe(16))
    for name in NAMES:
        state.services[name] = Service(name=name, pid=0, port=free_port(), log="")
    port = {name: s.port for name, s in state.services.items()}
    state.redis_port = port["redis"]
    state.api_url = f"http://127.0.0.1:{port['api']}"
    state.load_url = f"http://127.0.0.1:{port['load']}"
    state.prometheus_url = f"http://127.0.0.1:{port['prometheus']}"
    state.alertmanager_url = f"http://127.0.0.1:{port['alertmanager']}"
    state.kube_url = f"http://127.0.0.1:{port['kube-sim']}"
    part = "postgres"
    try:
        state.postgres_data = str(postgres.server_folder(root) / "data")  # known before initdb: down cleans
        state.save()
        postgres.initdb(state, Path(state.postgres_data).parent, port["postgres"])
        part = "configuration"
        configs.write_all(state)
        state.save()
        for name in NAMES:
            part = name
            start_service(state, name)
            if name == "postgres":
                part = "postgres (schema and data)"
                postgres.setup(state)
            if name == "redis":
                part = "redis (cache warm-up)"
                warm_cache(state.postgres_dsn(postgres.API_ROLE), state.redis_url)
            if name == "kube-sim":  # no pod near its memory limit: only a fault plants a cause
                sim_faults.lab_baseline(state)
        part = "prometheus (rules)"
        wait_for_rules(state)
        part = "profile"
        notes = write_profile(state)
        state.save()
        start_watchdog(root)
    except Exception as error:  # psycopg, redis, OS: any part's failure stops the rest
        log = ""
        service = state.services.get(part.split()[0])
        if service is not None and service.log and not isinstance(error, ServiceError):
            log = "\n" + services.log_tail(service.log)
        down(root)
        raise LabUpError(f"the lab did not start: {part} failed: {error}{log}") from None
    except BaseException:  # Ctrl-C half-way: nothing left running
        down(root)
        raise
    return UpResult(state, notes=notes, seconds=time.monotonic() - started)


def _get_json(url: str, timeout: float = 2.0) -> Any:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy
    with opener.open(url, timeout=timeout) as response:
        return json.load(response)


def rules_loaded(state: LabState) -> list[dict[str, Any]]:
    """The alerting rules the lab's Prometheus has loaded (its /api/v1/rules)."""
    data = _get_json(f"{state.prometheus_url}/api/v1/rules?type=alert")
    return [rule for group in data["data"]["groups"] for rule in group["rules"]]


def wait_for_rules(state: LabState, timeout: float = PROMETHEUS_READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if rules_loaded(state):
                return
        except (OSError, ValueError, KeyError) as exc:
            error = exc
        time.sleep(0.1)
    log = services.log_tail(state.services["prometheus"].log)
    raise ServiceError(f"no alerting rules loaded after {timeout:g}s ({error}):\n{log}")


def alerts(state: LabState) -> list[dict[str, str]]:
    """Pending and firing alerts in the lab's Prometheus: name, state, since (RFC 3339)."""
    data = _get_json(f"{state.prometheus_url}/api/v1/alerts")
    found = [
        {
            "name": str(alert["labels"].get("alertname", "")),
            "state": str(alert.get("state", "")),
            "since": str(alert.get("activeAt", "")),
        }
        for alert in data["data"]["alerts"]
    ]
    return sorted(found, key=lambda a: (a["state"] != "firing", a["since"], a["name"]))


def status(root: Path | None = None) -> dict[str, Any]:
    """Each part up or down, the factor, what is broken, and the lab Prometheus's pending/firing alerts.
    Raises LabNotRunning when there is no state file."""
    state = LabState.load(root)
    parts = []
    for name in NAMES:
        service = state.services.get(name)
        if service is None:
            continue
        up_now = service_running(state, name)
        parts.append(
            {"name": name, "up": up_now, "pid": service.pid, "port": service.port, "log": service.log}
        )
    try:
        firing: list[dict[str, str]] | None = alerts(state)
    except (OSError, ValueError, KeyError):
        firing = None  # Prometheus is down
    return {
        "root": str(state.root),
        "factor": state.factor,
        "parts": parts,
        "broken": list(state.broken),
        "alerts": firing,
        "profile": state.profile,
    }


def down(root: Path | None = None) -> list[str]:
    """Stop every part (reverse order), remove the profile block and the server's data; what it did.
    Works with parts already dead and on a half-started lab."""
    root = root or lab_root()
    done: list[str] = []
    try:
        state = LabState.load(root)
    except LabNotRunning:
        note = remove_profile()
        return [note] if note else []
    for name in reversed(NAMES):
        if name not in state.services:
            continue
        try:
            if stop_service(state, name):
                done.append(f"stopped {name}")
        except (OSError, services.ServiceError) as error:
            done.append(f"{name}: {error}")
    note = remove_profile()
    if note:
        done.append(note)
    postgres.remove(state)
    shutil.rmtree(root / "prometheus" / "data", ignore_errors=True)
    state.path.unlink(missing_ok=True)
    return done
