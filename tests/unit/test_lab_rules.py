"""The lab's copy of the shipped rules: every `for:` and range divided by the factor, nothing else changed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.labs import require
from tui.lab.rules import format_duration, parse_duration, scale, scale_rules

SHIPPED = Path(__file__).resolve().parents[2] / "examples" / "inmidst" / "alerts.yml"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5m", 300), ("90s", 90), ("1h30m", 5400), ("500ms", 0.5), ("2d", 172800), ("1w", 604800)],
)
def test_durations_parse_like_prometheus(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "m5", "5 m", "5min", "-5m"])
def test_what_is_not_a_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a Prometheus duration"):
        parse_duration(text)


def test_scaling_divides_and_keeps_a_floor() -> None:
    assert scale("5m", 60) == "5s"
    assert scale("15m", 60) == "15s"
    assert scale("1h30m", 60) == "90s"
    assert scale("2m", 60, minimum=3) == "3s"  # a range never under the floor
    assert scale("2s", 60, minimum=3) == "2s"  # nor above what it was
    assert scale("30s", 60) == "500ms"
    assert format_duration(1.5) == "1500ms"


def test_the_shipped_rules_scaled_by_60() -> None:
    original = SHIPPED.read_text(encoding="utf-8")
    scaled = scale_rules(original, 60)

    fors = {r["alert"]: r["for"] for g in yaml.safe_load(scaled)["groups"] for r in g["rules"]}
    assert fors == {
        "HighApiErrorRate": "5s",
        "HighApiLatency": "10s",
        "ApiDown": "2s",
        "HighActiveConnections": "5s",
        "HighDatabaseConnections": "5s",
        "SlowDatabaseQueries": "10s",
        "PostgreSQLDown": "2s",
        "HighRedisMemory": "5s",
        "RedisDown": "2s",
        "SlowRedisOperations": "5s",
        "LowCacheHitRatio": "15s",
        "TargetDown": "5s",
    }
    assert "[5m]" not in scaled and scaled.count("[5s]") == original.count("[5m]")
    # every other byte stays: undo the two kinds of change and the text is the shipped one
    restored = re.sub(r"\[5s\]", "[5m]", scaled)
    for duration in fors.values():
        restored = restored.replace(f"for: {duration}\n", "for: X\n")
    assert restored == re.sub(r"for: \d+m\n", "for: X\n", original)


def test_ranges_are_floored_and_subqueries_and_quotes_kept() -> None:
    text = (
        "groups:\n"
        "  - name: g\n"
        "    rules:\n"
        "      - alert: A  # a comment: for: 5m stays\n"
        "        expr: rate(x[1m]) > 0 and max_over_time(y[30m:1m]) > 1 and z[1h:]\n"
        "        for: '1h'   # quoted\n"
        "        annotations:\n"
        "          summary: over [5m] of text\n"
    )
    scaled = scale_rules(text, 60)

    assert "rate(x[3s])" in scaled  # 1s would be too short for a rate: the floor
    assert "max_over_time(y[30s:1s])" in scaled
    assert "z[60s:]" in scaled
    assert "for: '60s'   # quoted\n" in scaled
    assert "# a comment: for: 5m stays" in scaled
    assert "summary: over [5m] of text" in scaled  # not an expression


def test_the_factor_must_be_positive() -> None:
    with pytest.raises(ValueError, match="more than 0"):
        scale_rules("groups: []\n", 0)


def test_promtool_accepts_the_scaled_rules(tmp_path: Path) -> None:
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    require(Path(promtool).exists(), "promtool is not installed (apt-get install prometheus)")
    path = tmp_path / "alerts.yml"
    path.write_text(scale_rules(SHIPPED.read_text(encoding="utf-8"), 60), encoding="utf-8")

    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 12 rules found" in result.stdout
