"""Where a running lab is: its folder, the address of each part, its time factor and what is broken now.

`oncall lab up` writes it (`<lab root>/state.json`); `down`, `status`, `break`, `heal` and `drill` read it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

# One stated factor compresses the shipped rules' `for:` and range windows: 5m becomes 5s at ×60.
LAB_FACTOR = 60
LAB_DB = "inmidst"  # the stand-in API's database
LAB_NAMESPACE = "production"


class LabNotRunning(RuntimeError):
    """No lab is up in this folder (no state file, or its processes are gone)."""


def lab_root() -> Path:
    """The lab's folder: $ONCALL_LAB_DIR, else <XDG state dir>/oncall/lab."""
    explicit = os.environ.get("ONCALL_LAB_DIR")
    return Path(explicit) if explicit else Path(platformdirs.user_state_dir("oncall")) / "lab"


@dataclass
class Service:
    """One process the lab started: how to find it again from another `oncall lab` command."""

    name: str
    pid: int
    port: int
    log: str  # path of its log file


@dataclass
class LabState:
    root: Path
    factor: int = LAB_FACTOR
    prometheus_url: str = ""
    alertmanager_url: str = ""
    api_url: str = ""  # the stand-in in-midst-my-life API
    load_url: str = ""  # the load generator's control endpoint
    kube_url: str = ""  # the Kubernetes API simulator
    kube_token: str = ""
    kubeconfig: str = ""
    postgres_port: int = 0
    postgres_bindir: str = ""
    postgres_data: str = ""
    postgres_sockets: str = ""
    redis_port: int = 0
    profile: str = ""  # path of the oncall.toml the lab wrote
    services: dict[str, Service] = field(default_factory=dict)
    broken: list[str] = field(default_factory=list)  # section slugs with a fault planted, in order

    @property
    def path(self) -> Path:
        return self.root / "state.json"

    def postgres_dsn(self, user: str = "postgres", dbname: str = LAB_DB) -> str:
        return f"host=127.0.0.1 port={self.postgres_port} dbname={dbname} user={user}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def save(self) -> None:
        data: dict[str, Any] = asdict(self)
        data["root"] = str(self.root)
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps(data, indent=2), encoding="utf-8")
        partial.replace(self.path)  # atomic: another command never reads half a file

    @classmethod
    def load(cls, root: Path | None = None) -> LabState:
        root = root or lab_root()
        path = root / "state.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LabNotRunning(f"no lab is up in {root} (start one with `oncall lab up`)") from None
        except (OSError, ValueError) as error:
            raise LabNotRunning(
                f"{path}: unreadable lab state ({error}); `oncall lab down` cleans up"
            ) from None
        data["root"] = Path(data["root"])
        data["services"] = {name: Service(**s) for name, s in data.get("services", {}).items()}
        return cls(**data)
