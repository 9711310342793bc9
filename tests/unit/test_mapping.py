"""Alert to runbook section: kebab-cased alertnames and the order in which an alert finds its section."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.triage.runbook import Runbook, kebab, load_runbook, match_section, parse_runbook

SEED = Path(__file__).resolve().parents[2] / "examples" / "inmidst" / "RUNBOOK.md"
URL = "https://github.com/in-midst-my-life/infra/blob/main/docs/RUNBOOK.md"


@pytest.fixture(scope="module")
def runbook() -> Runbook:
    return load_runbook(SEED)


@pytest.mark.parametrize(
    ("alertname", "expected"),
    [
        ("HighApiErrorRate", "high-api-error-rate"),
        ("PostgreSQLDown", "postgresql-down"),
        ("TargetDown", "target-down"),
        ("HighAPILatency", "high-api-latency"),
        ("LowCacheHitRatio", "low-cache-hit-ratio"),
        ("high_api_latency", "high-api-latency"),
        ("APIDown", "api-down"),
        ("MySQLReplicationLag", "mysql-replication-lag"),
        ("KubePodCrashLooping", "kube-pod-crash-looping"),
        ("S3BucketDown", "s3-bucket-down"),
        ("HTTP5xxErrors", "http-5xx-errors"),
        ("redis-down", "redis-down"),
        ("", ""),
    ],
)
def test_kebab_turns_alertnames_into_section_slugs(alertname: str, expected: str) -> None:
    assert kebab(alertname) == expected


@pytest.mark.parametrize(
    "alertname",
    [
        "HighApiErrorRate",
        "HighApiLatency",
        "ApiDown",
        "HighDatabaseConnections",
        "SlowDatabaseQueries",
        "PostgreSQLDown",
        "HighRedisMemory",
        "RedisDown",
        "SlowRedisOperations",
        "HighActiveConnections",
        "LowCacheHitRatio",
        "TargetDown",
    ],
)
def test_every_team_alert_finds_its_section_by_name_alone(runbook: Runbook, alertname: str) -> None:
    match = match_section(runbook, alertname, {}, {})

    assert match.section is not None
    assert match.section.slug == kebab(alertname)
    assert match.via == "alertname"


def test_runbook_url_anchor_wins_over_the_alertname(runbook: Runbook) -> None:
    match = match_section(runbook, "RedisDown", {}, {"runbook_url": f"{URL}#postgresql-down"})

    assert match.section is not None
    assert (match.section.slug, match.via, match.nearest) == ("postgresql-down", "runbook_url", ())


def test_runbook_url_to_a_missing_anchor_falls_through_to_the_label(runbook: Runbook) -> None:
    match = match_section(
        runbook, "Whatever", {"runbook": "api-down"}, {"runbook_url": f"{URL}#no-such-section"}
    )

    assert match.section is not None
    assert (match.section.slug, match.via) == ("api-down", "runbook label")


def test_runbook_url_without_anchor_is_ignored(runbook: Runbook) -> None:
    match = match_section(runbook, "RedisDown", {}, {"runbook_url": URL})

    assert match.section is not None
    assert (match.section.slug, match.via) == ("redis-down", "alertname")


def test_runbook_label_wins_over_runbook_annotation(runbook: Runbook) -> None:
    match = match_section(runbook, "Whatever", {"runbook": "#redis-down"}, {"runbook": "api-down"})

    assert match.section is not None
    assert (match.section.slug, match.via) == ("redis-down", "runbook label")


@pytest.mark.parametrize("value", ["target-down", "#target-down", f"{URL}#target-down"])
def test_runbook_annotation_may_be_a_slug_an_anchor_or_a_url(runbook: Runbook, value: str) -> None:
    match = match_section(runbook, "Whatever", {}, {"runbook": value})

    assert match.section is not None
    assert (match.section.slug, match.via) == ("target-down", "runbook annotation")


def test_runbook_label_naming_a_heading_finds_its_slug() -> None:
    runbook = parse_runbook("## High API error rate\n\n**Triage**:\n1. `kubectl logs`\n")

    match = match_section(runbook, "Errors", {"runbook": "High API error rate"}, {})

    assert match.section is not None
    assert (match.section.slug, match.via) == ("high-api-error-rate", "runbook label")


def test_alertname_matches_a_section_spelled_with_other_hyphens() -> None:
    runbook = parse_runbook("## postgre-sql-down\n\n**Triage**:\n1. `pg_isready`\n")

    match = match_section(runbook, "PostgreSQLDown", {}, {})

    assert match.section is not None
    assert (match.section.slug, match.via) == ("postgre-sql-down", "alertname")


def test_percent_encoded_anchor_finds_a_unicode_section() -> None:
    runbook = parse_runbook("## Base de données\n\n**Triage**:\n1. `pg_isready`\n")

    match = match_section(runbook, "X", {}, {"runbook_url": "https://wiki/RUNBOOK.md#base-de-donn%C3%A9es"})

    assert match.section is not None
    assert match.section.slug == "base-de-données"


def test_unmapped_alert_names_the_nearest_sections_best_first(runbook: Runbook) -> None:
    match = match_section(runbook, "RedisMemoryHigh", {}, {})

    assert (match.section, match.via, match.nearest) == (None, "", ("high-redis-memory",))


def test_unmapped_alert_close_to_two_sections_lists_both(runbook: Runbook) -> None:
    match = match_section(runbook, "HighRedisLatency", {}, {})

    assert match.section is None
    assert match.nearest == ("high-api-latency", "high-redis-memory")


def test_unmapped_alert_far_from_everything_still_gets_one_nearest(runbook: Runbook) -> None:
    match = match_section(runbook, "Watchdog", {}, {})

    assert match.section is None
    assert len(match.nearest) == 1
    assert match.nearest[0] in {s.slug for s in runbook.sections}
