"""The Alertmanager lab: Debian's real prometheus-alertmanager on loopback (no clustering, storage in the
test's directory), grouping by alertname, a critical alert inhibiting the warnings; a Prometheus lab feeds it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.labs import LabError, free_port, stop_process
from tests.labs.prometheus import _clean_env, _opener

ALERTMANAGER_BIN = Path("/usr/bin/prometheus-alertmanager")
START_TIMEOUT = 20.0

# group by alertname; a critical alert inhibits the warnings that share its (absent) namespace label: in the
# Prometheus lab HighApiErrorRate (critical) inhibits HighRedisMemory and HighApiLatency (warning)
ALERTMANAGER_CONFIG = """\
route:
  receiver: lab
  group_by: [alertname]
  group_wait: 1s
  group_interval: 5s
  repeat_interval: 1h
receivers:
  - name: lab
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [namespace]
"""


def alertmanager_binary() -> Path | None:
    if ALERTMANAGER_BIN.is_file():
        return ALERTMANAGER_BIN
    found = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    return Path(found) if found else None


@dataclass
class AlertmanagerLab:
    """A real Alertmanager on 127.0.0.1; `.url` is its base URL, `.target` its host:port for Prometheus."""

    workdir: Path
    binary: Path = field(default_factory=lambda: alertmanager_binary() or ALERTMANAGER_BIN)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = START_TIMEOUT) -> AlertmanagerLab:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()
        (self.workdir / "alertmanager.yml").write_text(ALERTMANAGER_CONFIG)
        args = [
            str(self.binary),
            f"--config.file={self.workdir / 'alertmanager.yml'}",
            f"--storage.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]
        with (self.workdir / "alertmanager.stderr").open("ab") as stderr:
            self.process = subprocess.Popen(
                args, stdout=subprocess.DEVNULL, stderr=stderr, cwd=self.workdir, env=_clean_env()
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LabError(f"alertmanager exited with {self.process.returncode}:\n{self._stderr()}")
            try:
                self.get("/api/v2/status")
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise LabError(f"alertmanager at {self.url} did not answer within {timeout:g}s\n{self._stderr()}")

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def get(self, path: str) -> Any:
        """The server's API, read directly (not through the code under test)."""
        with _opener().open(f"{self.url}{path}", timeout=2) as response:
            return json.load(response)

    def silence(self, matchers: dict[str, str], created_by: str, comment: str, hours: float = 2) -> str:
        """POST /api/v2/silences (the test writes; oncall never does): the new silence's id."""
        now = datetime.now(UTC)
        body = {
            "matchers": [
                {"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in matchers.items()
            ],
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(hours=hours)).isoformat(),
            "createdBy": created_by,
            "comment": comment,
        }
        request = urllib.request.Request(
            f"{self.url}/api/v2/silences",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with _opener().open(request, timeout=2) as response:
            return str(json.load(response)["silenceID"])

    def wait_for_alerts(self, names: set[str], timeout: float = START_TIMEOUT) -> list[dict[str, Any]]:
        """Until Prometheus has sent every alert in `names`; Alertmanager's /api/v2/alerts then."""
        deadline = time.monotonic() + timeout
        seen: set[str] = set()
        while time.monotonic() < deadline:
            try:
                alerts = self.get("/api/v2/alerts")
                seen = {a["labels"].get("alertname", "") for a in alerts}
                if names <= seen:
                    return alerts
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.2)
        raise LabError(f"alertmanager at {self.url} never got {sorted(names - seen)}\n{self._stderr()}")

    def _stderr(self) -> str:
        try:
            return (self.workdir / "alertmanager.stderr").read_text(errors="replace")[-4000:]
        except OSError:
            return "(no stderr)"
