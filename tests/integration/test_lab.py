"""`oncall lab up`, `status` and `down` as a user runs them, and the console against the lab they start."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import get_json, lab_env, oncall, running_lab, wait_for
from tests.labs import require
from tui.app import OncallApp
from tui.cli.main import run
from tui.config.settings import load_settings
from tui.lab import lifecycle, services
from tui.lab.services import pid_alive, port_answers
from tui.lab.state import LabState, Service
from tui.widgets.header import StatusHeader

pytestmark = pytest.mark.integration

# a user's own config file: the lab adds its profile block and takes it out again, every byte else kept
USER_CONFIG = (
    '# my settings\nuser = "alice@bastion"\n\n[prometheus]\nurl = "http://prometheus.example:9090"\n'
)
SCALED_FOR = {"HighApiErrorRate": 5, "HighApiLatency": 10, "ApiDown": 2, "LowCacheHitRatio": 15}


@dataclass
class Lab:
    env: dict[str, str]
    root: Path
    config: Path  # the user's config file
    up: subprocess.CompletedProcess[str]

    def state(self) -> LabState:
        return LabState.load(self.root)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("lab")
    config = base / "config" / "oncall" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(USER_CONFIG, encoding="utf-8")
    with running_lab(base) as (env, up):
        yield Lab(env, base / "lab", config, up)


def test_up_says_what_runs_where_and_what_to_do_next(lab: Lab) -> None:
    out = lab.up.stdout

    assert "time ×60" in out
    for part in ("postgresql", "redis", "postgres-exporter", "redis-exporter", "api", "load", "alertmanager"):
        assert f"  {part} " in out
    assert "prometheus" in out and "kubernetes" in out
    for step in ("oncall --profile lab", "oncall lab break high-database-connections", "oncall lab down"):
        assert step in out
    assert f"profile `lab` added to {lab.config}" in out


def test_up_again_says_the_lab_is_up(lab: Lab) -> None:
    again = oncall("lab", "up", env=lab.env)

    assert again.returncode == 0, again.stderr
    assert "already up" in again.stdout


def test_the_profile_reaches_every_source(lab: Lab) -> None:
    check = oncall("--profile", "lab", "check", "--json", env=lab.env)

    assert check.returncode == 0, check.stdout + check.stderr
    states = {item["source"]: item["state"] for item in json.loads(check.stdout)}
    assert states == {"prometheus": "ok", "kubernetes": "ok", "postgresql": "ok", "redis": "ok"}


def test_a_snapshot_of_the_lab(lab: Lab) -> None:
    snapshot = oncall("--profile", "lab", "snapshot", "--json", env=lab.env)

    assert snapshot.returncode == 0, snapshot.stdout + snapshot.stderr
    assert isinstance(json.loads(snapshot.stdout), dict | list)


def test_the_lab_prometheus_has_the_twelve_rules_scaled(lab: Lab) -> None:
    state = lab.state()
    rules = lifecycle.rules_loaded(state)

    assert len(rules) == 12
    durations = {rule["name"]: rule["duration"] for rule in rules}
    assert {name: durations[name] for name in SCALED_FOR} == SCALED_FOR
    queries = " ".join(rule["query"] for rule in rules)
    assert "[5s]" in queries and "[5m]" not in queries
    # Prometheus finds its Alertmanager a few seconds after it starts
    deadline = time.monotonic() + 20
    found: list[str] = []
    while time.monotonic() < deadline and not found:
        answer = get_json(f"{state.prometheus_url}/api/v1/alertmanagers")["data"]["activeAlertmanagers"]
        found = [a["url"].split("/api/")[0] for a in answer]
        time.sleep(0.2)
    assert found == [state.alertmanager_url]


def test_status_lists_every_part(lab: Lab) -> None:
    text = oncall("lab", "status", env=lab.env)
    as_json = oncall("lab", "status", "--json", env=lab.env)

    assert text.returncode == 0, text.stderr
    for name in services.NAMES:
        assert f"  {name} " in text.stdout
    assert "time ×60" in text.stdout and "broken: nothing" in text.stdout
    report = json.loads(as_json.stdout)
    assert [p["name"] for p in report["parts"] if p["up"]] == list(services.NAMES)
    assert report["factor"] == 60 and report["broken"] == []
    assert isinstance(report["alerts"], list)


def test_break_and_heal_name_a_section_by_its_slug_or_a_prefix(lab: Lab) -> None:
    unknown = oncall("lab", "break", "no-such-section", env=lab.env)
    ambiguous = oncall("lab", "break", "high-", env=lab.env)
    nothing = oncall("lab", "heal", env=lab.env)

    assert unknown.returncode == 2
    assert "no lab fault for section 'no-such-section'; sections: high-api-error-rate," in unknown.stderr
    assert ambiguous.returncode == 2 and "high-database-connections" in ambiguous.stderr
    assert nothing.returncode == 2 and "--all" in nothing.stderr

    broke = oncall("lab", "break", "high-data", env=lab.env)
    try:
        assert broke.returncode == 0, broke.stderr
        assert "broke high-database-connections" in broke.stdout
        assert "broken: high-database-connections" in oncall("lab", "status", env=lab.env).stdout
    finally:
        healed = oncall("lab", "heal", "--all", env=lab.env)
    assert healed.returncode == 0, healed.stderr
    assert "healed high-database-connections" in healed.stdout
    assert "broken: nothing" in oncall("lab", "status", env=lab.env).stdout


async def test_the_dashboard_on_the_lab_shows_the_badge_and_every_source_ok(lab: Lab) -> None:
    state = lab.state()
    settings = load_settings(config_path=Path(state.profile), profile="lab", env={}, cwd=lab.root)
    app = OncallApp(settings, tick=False)

    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        sources = ("prometheus", "kubernetes", "postgresql", "redis")
        await wait_for(
            lambda: all(app.healths.get(s) is not None and app.healths[s].state == "ok" for s in sources),
            timeout=20,
            what=f"every source ok: {app.healths}",
        )
        header = app.screen.query_one(StatusHeader).render()

        assert "LAB ×60" in str(getattr(header, "plain", header))
        assert " down" not in str(getattr(header, "plain", header))


def test_up_names_the_missing_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ONCALL_LAB_DIR", str(tmp_path / "lab"))
    packages = dict(lifecycle.PACKAGES)
    packages["prometheus-alertmanager"] = (str(tmp_path / "no-alertmanager"),)
    monkeypatch.setattr(lifecycle, "PACKAGES", packages)

    code = run(["lab", "up"], run_app=lambda args, settings: 0)

    out = capsys.readouterr()
    assert code == 2
    assert "apt-get install prometheus-alertmanager\n" in out.out
    assert not (tmp_path / "lab").exists()  # nothing started, nothing written


def test_a_part_that_fails_stops_what_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    require(not lifecycle.missing_packages(), "the lab's packages are not installed")
    for name, value in lab_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(services, "ALERTMANAGER", Path("/bin/false"))  # exits at once
    started: list[tuple[int, int]] = []

    def start(state: LabState, name: str) -> Service:
        try:
            return services.start_service(state, name)
        finally:
            started.append((state.services[name].pid, state.services[name].port))

    monkeypatch.setattr(lifecycle, "start_service", start)

    code = run(["lab", "up"], run_app=lambda args, settings: 0)

    err = capsys.readouterr().err
    assert code == 1
    assert "alertmanager failed: alertmanager exited with 1" in err
    assert len(started) == services.NAMES.index("alertmanager") + 1
    assert [pid for pid, _ in started if pid_alive(pid)] == []
    assert [port for _, port in started if port_answers(port)] == []
    assert not (tmp_path / "lab" / "state.json").exists()
    assert not (tmp_path / "config" / "oncall" / "config.toml").exists()


def test_a_lab_goes_down_with_the_process_it_watches(tmp_path: Path) -> None:
    require(not lifecycle.missing_packages(), "the lab's packages are not installed")
    guarded = subprocess.Popen(["sleep", "60"])
    env = lab_env(tmp_path) | {"ONCALL_LAB_WATCH_PID": str(guarded.pid)}
    try:
        up = oncall("lab", "up", env=env)
        assert up.returncode == 0, up.stdout + up.stderr
        state = LabState.load(tmp_path / "lab")
    finally:
        guarded.kill()
        guarded.wait()
    deadline = time.monotonic() + 20
    while (tmp_path / "lab" / "state.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)

    assert not (tmp_path / "lab" / "state.json").exists()
    assert [s.name for s in state.services.values() if pid_alive(s.pid)] == []
    assert [s.name for s in state.services.values() if port_answers(s.port)] == []


def test_down_stops_everything_and_gives_the_config_back(lab: Lab) -> None:
    state = lab.state()
    pids = [s.pid for s in state.services.values()]
    ports = [s.port for s in state.services.values()]
    assert all(pid_alive(pid) for pid in pids)
    os.kill(state.services["load"].pid, signal.SIGKILL)  # a part that died on its own: down copes
    services.stop_service(state, "redis", kill=True)

    down = oncall("lab", "down", env=lab.env)

    assert down.returncode == 0, down.stderr
    for name in services.NAMES:
        if name not in ("load", "redis"):
            assert f"stopped {name}\n" in down.stdout
    assert [pid for pid in pids if pid_alive(pid)] == []
    assert [port for port in ports if port_answers(port)] == []
    assert lab.config.read_text(encoding="utf-8") == USER_CONFIG
    assert not Path(state.postgres_data).exists()
    lab.config.write_text("not toml [\n", encoding="utf-8")  # a broken config stops no lab command
    again = oncall("lab", "down", env=lab.env)
    assert again.returncode == 0 and "no lab is up" in again.stdout
    status = oncall("lab", "status", env=lab.env)
    assert status.returncode == 1 and "no lab is up" in status.stdout
