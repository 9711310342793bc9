"""`oncall check` and `oncall snapshot` run as a user runs them, against the lab's real Prometheus."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers import oncall
from tests.labs.prometheus import PrometheusLab

pytestmark = pytest.mark.integration


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config file of the test's own, so the user's real one is never read."""
    path = tmp_path / "oncall.toml"
    path.write_text("[prometheus]\ntimeout = 5\n")
    return path


@pytest.fixture
def lab_env(isolated_env: dict[str, str], prometheus_server: PrometheusLab) -> dict[str, str]:
    return {**isolated_env, "PROMETHEUS_URL": prometheus_server.url}


@pytest.fixture
def dead_env(isolated_env: dict[str, str], closed_url: str) -> dict[str, str]:
    return {**isolated_env, "PROMETHEUS_URL": closed_url}


def line_of(output: str, source: str) -> str:
    lines = [line for line in output.splitlines() if line.split(" ", 1)[0] == source]
    assert len(lines) == 1, output
    return lines[0]


# --- oncall check -----------------------------------------------------------------------------


def test_check_against_the_lab_says_prometheus_ok_and_exits_0(
    config: Path, lab_env: dict[str, str], prometheus_server: PrometheusLab
) -> None:
    result = oncall("--config", str(config), "check", env=lab_env)
    assert result.returncode == 0, result.stdout + result.stderr
    line = line_of(result.stdout, "prometheus")
    assert line.startswith("prometheus  ok")
    pattern = (
        rf"^prometheus\s+ok\s+\d+ alerts \(\d+ firing, \d+ pending\) in \d+ ms from {prometheus_server.url}$"
    )
    assert re.match(pattern, line), line
    for source in ("kubernetes", "postgresql", "redis"):
        assert re.match(rf"^{source}\s+not-configured\b", line_of(result.stdout, source))


def test_check_json_lists_every_source(config: Path, lab_env: dict[str, str]) -> None:
    result = oncall("--config", str(config), "check", "--json", env=lab_env)
    assert result.returncode == 0, result.stderr
    sources = {entry["source"]: entry for entry in json.loads(result.stdout)}
    assert set(sources) == {"prometheus", "kubernetes", "postgresql", "redis"}
    assert sources["prometheus"]["state"] == "ok"
    assert sources["prometheus"]["latency_ms"] >= 0
    assert sources["redis"]["state"] == "not-configured"


def test_check_against_a_dead_url_says_connection_refused_and_exits_1(
    config: Path, dead_env: dict[str, str], closed_url: str
) -> None:
    result = oncall("--config", str(config), "check", env=dead_env)
    assert result.returncode == 1, result.stdout + result.stderr
    line = line_of(result.stdout, "prometheus")
    assert re.match(rf"^prometheus\s+down\s+connection refused at {re.escape(closed_url)}$", line), line
    assert "Traceback" not in result.stdout + result.stderr


def test_check_never_prints_the_token(tmp_path: Path, dead_env: dict[str, str]) -> None:
    config = tmp_path / "with-token.toml"
    config.write_text('[prometheus]\ntoken = "sekr3t-t0ken"\ntimeout = 2\n')
    for args in (("check",), ("check", "--json"), ("snapshot",), ("snapshot", "--json")):
        result = oncall("--config", str(config), *args, env=dead_env)
        assert "sekr3t" not in result.stdout + result.stderr


def test_a_wrong_type_in_the_config_exits_2_naming_file_and_key(
    tmp_path: Path, lab_env: dict[str, str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[prometheus]\ntimeout = "fast"\n')
    result = oncall("--config", str(bad), "check", env=lab_env)
    assert result.returncode == 2
    assert str(bad) in result.stderr
    assert "prometheus.timeout" in result.stderr
    assert "must be a number of seconds, got 'fast'" in result.stderr
    assert "Traceback" not in result.stderr


# --- oncall snapshot --------------------------------------------------------------------------


def test_snapshot_lists_the_firing_alerts_with_their_runbook_sections(
    config: Path, lab_env: dict[str, str]
) -> None:
    result = oncall("--config", str(config), "snapshot", env=lab_env)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    rows = {line.split()[2]: line for line in out.splitlines() if line.startswith(("firing ", "pending "))}
    assert rows["HighApiErrorRate"].split()[:2] == ["firing", "critical"]
    assert "high-api-error-rate" in rows["HighApiErrorRate"]
    assert "high-redis-memory" in rows["HighRedisMemory"]
    assert rows["SlowDatabaseQueries"].startswith("pending")
    assert "slow-database-queries" in rows["SlowDatabaseQueries"]
    assert "no runbook section" in rows["MarkupInLabels"]
    # firing before pending, critical first
    order = [line.split()[2] for line in out.splitlines() if line.startswith(("firing ", "pending "))]
    assert order[0] == "HighApiErrorRate"
    assert order.index("SlowDatabaseQueries") > order.index("MarkupInLabels")
    # each mapped alert's section and likely cause: with only Prometheus configured, no cause is supported
    assert (
        "HighApiErrorRate (#high-api-error-rate): no cause supported by the evidence yet" in out.splitlines()
    )
    assert not any(
        line.startswith("MarkupInLabels (#") for line in out.splitlines()
    )  # no section: not judged
    # the ANSI escape in the lab's labels is shown, never sent to the terminal
    assert "\x1b" not in out
    assert "␛[31m" in out


def test_snapshot_json_carries_sections_expressions_and_fingerprints(
    config: Path, lab_env: dict[str, str]
) -> None:
    result = oncall("--config", str(config), "snapshot", "--json", env=lab_env)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["prometheus"]["state"] == "ok"
    alerts = {(a["name"], a["state"]): a for a in document["alerts"]}
    error_rate = alerts[("HighApiErrorRate", "firing")]
    assert error_rate["runbook"]["slug"] == "high-api-error-rate"
    assert error_rate["runbook"]["via"] == "runbook_url"
    assert error_rate["expression"] == "vector(0.085)"
    assert len(error_rate["fingerprint"]) == 16
    assert alerts[("HighRedisMemory", "firing")]["runbook"]["slug"] == "high-redis-memory"
    # each cause judged from what is configured: only Prometheus, so nothing supports one
    assert error_rate["top_cause"] is None
    causes = {c["cause"]: c for c in error_rate["causes"]}
    assert list(causes) == [
        "Bad deployment",
        "Database connection failures",
        "Redis unavailable",
        "Upstream dependency timeout",
    ]
    assert causes["Database connection failures"] == {
        "cause": "Database connection failures",
        "verdict": "unknown",
        "reason": "PostgreSQL is not configured here",
    }
    assert (
        causes["Upstream dependency timeout"]["reason"] == "nothing oncall reads bears on it: check by hand"
    )
    unmapped = next(a for a in document["alerts"] if a["name"] == "MarkupInLabels")
    assert unmapped["top_cause"] is None and unmapped["causes"] == []
    assert alerts[("SlowDatabaseQueries", "pending")]["for_seconds"] == 3600
    assert document["counts"]["firing"] >= 4 and document["counts"]["pending"] >= 2
    assert "\x1b" not in result.stdout  # JSON escapes it as \u001b


def test_snapshot_markdown_is_ready_to_paste(config: Path, lab_env: dict[str, str]) -> None:
    result = oncall("--config", str(config), "snapshot", "--markdown", env=lab_env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.match(r"^### Alerts at \d{4}-\d\d-\d\d \d\d:\d\d UTC: \d+ firing, \d+ pending$", lines[0])
    error_rate = next(line for line in lines if "**HighApiErrorRate**" in line)
    assert error_rate.startswith("- **FIRING** critical")
    assert "`high-api-error-rate`" in error_rate
    assert lines[lines.index(error_rate) + 1] == "  - no cause supported by the evidence yet"
    hostile = next(line for line in lines if "MarkupInLabels" in line)
    # in a code span, as written: GitHub and Slack show it literally, with no backslash escape to show
    assert "`[/bold] [link=x]click[/link] ␛[31mred`" in hostile and "\x1b" not in hostile
    assert "\\" not in hostile


def test_snapshot_against_a_dead_url_says_prometheus_is_down_and_exits_1(
    config: Path, dead_env: dict[str, str], closed_url: str
) -> None:
    result = oncall("--config", str(config), "snapshot", env=dead_env)
    assert result.returncode == 1
    assert f"Prometheus is down: connection refused at {closed_url}" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
