"""The runbook parser: the team runbook's exact content, the variations people write, and clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.triage.runbook import CommonCause, RunbookError, TriageStep, load_runbook, parse_runbook

SEED = Path(__file__).resolve().parents[2] / "examples" / "inmidst" / "RUNBOOK.md"


@pytest.fixture(scope="module")
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


# --- the team runbook ----------------------------------------------------------------------------


def test_seed_runbook_has_12_sections_37_steps_47_causes_30_commands() -> None:
    runbook = load_runbook(SEED)

    assert runbook.title == "On-Call Runbook"
    assert runbook.source == SEED
    assert [s.slug for s in runbook.sections] == [
        "high-api-error-rate",
        "high-api-latency",
        "api-down",
        "high-database-connections",
        "slow-database-queries",
        "postgresql-down",
        "high-redis-memory",
        "redis-down",
        "slow-redis-operations",
        "high-active-connections",
        "low-cache-hit-ratio",
        "target-down",
    ]
    assert sum(len(s.steps) for s in runbook.sections) == 37
    assert sum(len(s.causes) for s in runbook.sections) == 47
    assert sum(len(s.commands) for s in runbook.sections) == 30


def test_step_with_two_inline_commands_gives_both_in_order() -> None:
    step = load_runbook(SEED).section("redis-down").steps[1]  # type: ignore[union-attr]

    assert step == TriageStep(
        number=2,
        text="Check persistence config: `redis-cli CONFIG GET save` and `CONFIG GET appendonly`",
        commands=("redis-cli CONFIG GET save", "CONFIG GET appendonly"),
    )


def test_section_parts_are_read_as_written() -> None:
    section = load_runbook(SEED).section("high-api-error-rate")

    assert section is not None
    assert section.title == "high-api-error-rate"
    assert section.alert == "API 5xx error rate exceeds 5% for 5 minutes."
    assert [s.number for s in section.steps] == [1, 2, 3]
    assert section.steps[0].commands == ("kubectl -n production logs -l app=inmidst-api --tail=200",)
    assert section.steps[1].commands == ()  # a step without a command stays a manual step
    assert section.causes[1] == CommonCause(
        "Database connection failures: see #postgresql-down", ("postgresql-down",)
    )
    assert section.resolution.startswith("If caused by a bad deploy, rollback.")


def test_backticks_in_causes_and_resolution_are_not_commands() -> None:
    section = load_runbook(SEED).section("high-api-error-rate")

    assert section is not None
    assert "helm rollback in-midst-my-life -n production" not in section.commands
    assert (
        section.causes[0].text
        == "Bad deployment: rollback with `helm rollback in-midst-my-life -n production`"
    )


def test_command_with_quotes_and_pipes_is_kept_whole() -> None:
    section = load_runbook(SEED).section("postgresql-down")

    assert section is not None
    assert section.steps[2].commands == (
        'kubectl -n production describe pod -l app=inmidst-postgres | grep -A5 "Last State"',
    )


def test_crlf_runbook_parses_like_the_original(seed_text: str) -> None:
    assert parse_runbook(seed_text.replace("\n", "\r\n")) == parse_runbook(seed_text)


# --- variations ----------------------------------------------------------------------------------


def test_sections_at_level_3_under_a_level_1_title() -> None:
    runbook = parse_runbook(
        "# Payments runbook\n\nIntro prose.\n\n### redis-down\n\n**Alert**: Redis down.\n\n"
        "**Triage**:\n1. Ping: `redis-cli PING`\n\n### api-down\n\n**Triage**:\n1. Pods: `kubectl get pods`\n"
    )

    assert runbook.title == "Payments runbook"
    assert [s.slug for s in runbook.sections] == ["redis-down", "api-down"]
    assert runbook.sections[0].alert == "Redis down."
    assert runbook.sections[1].commands == ("kubectl get pods",)


def test_section_level_is_the_one_holding_the_parts_not_the_first_heading_seen() -> None:
    runbook = parse_runbook(
        "# Runbook\n\n## Database\n\nGroup intro.\n\n### postgresql-down\n\n**Triage**:\n1. `pg_isready`\n\n"
        "### high-database-connections\n\n**Triage**:\n1. `SELECT 1;`\n\n## Cache\n\n### redis-down\n\n"
        "**Triage**:\n1. `redis-cli PING`\n"
    )

    assert [s.slug for s in runbook.sections] == [
        "postgresql-down",
        "high-database-connections",
        "redis-down",
    ]


def test_headings_without_parts_are_not_sections() -> None:
    runbook = parse_runbook(
        "# Runbook\n\n## Overview\n\nHow to use this page.\n\n"
        "## redis-down\n\n**Triage**:\n1. `redis-cli PING`\n"
    )

    assert [s.slug for s in runbook.sections] == ["redis-down"]


def test_fenced_block_inside_a_step_is_its_command() -> None:
    section = parse_runbook(
        "## slow-redis-operations\n\n**Triage**:\n1. Check slow log:\n\n"
        "   ```sh\n   redis-cli SLOWLOG GET 10\n"
        "   ```\n2. Check key sizes: `redis-cli --bigkeys`\n"
    ).sections[0]

    assert section.steps[0].commands == ("redis-cli SLOWLOG GET 10",)
    assert section.steps[0].text == "Check slow log:"
    assert section.steps[1].commands == ("redis-cli --bigkeys",)


def test_fenced_block_after_a_step_belongs_to_that_step_and_numbering_continues() -> None:
    section = parse_runbook(
        "## postgresql-down\n\n**Triage**:\n1. Check connections:\n\n"
        "```sql\nSELECT count(*)\nFROM pg_stat_activity;\n"
        "```\n\n2. Check disk: `df -h`\n"
    ).sections[0]

    assert [(s.number, s.commands) for s in section.steps] == [
        (1, ("SELECT count(*)\nFROM pg_stat_activity;",)),
        (2, ("df -h",)),
    ]


def test_extra_prose_does_not_break_the_parts() -> None:
    section = parse_runbook(
        "## redis-down\n\nThis alert is noisy on Mondays.\n\n**Alert**: Redis down for 2 minutes.\n\n"
        "Read this first.\n\n**Triage**:\n\nWork through these in order.\n\n1. Pods: `kubectl get pods`\n\n"
        "Then:\n\n2. Ping: `redis-cli PING`\n\n"
        "**Common causes**:\n\nUsually one of:\n\n- OOM\n- Disk full\n\n"
        "**Resolution**: Restart it.\n"
    ).sections[0]

    assert section.alert == "Redis down for 2 minutes."
    assert [s.commands for s in section.steps] == [("kubectl get pods",), ("redis-cli PING",)]
    assert [c.text for c in section.causes] == ["OOM", "Disk full"]
    assert section.resolution == "Restart it."


def test_missing_parts_are_empty() -> None:
    section = parse_runbook("## api-down\n\n**Triage**:\n1. `kubectl get pods`\n").sections[0]

    assert section.alert == ""
    assert section.causes == ()
    assert section.resolution == ""
    assert len(section.steps) == 1


def test_section_with_only_an_alert_line_has_no_steps() -> None:
    section = parse_runbook("## api-down\n\n**Alert**: API unreachable.\n").sections[0]

    assert section.alert == "API unreachable."
    assert section.steps == ()


def test_unicode_in_titles_and_text_is_kept() -> None:
    runbook = parse_runbook(
        "# Журнал дежурств\n\n## Base de données en panne 🔥\n\n**Alert**: Connexions > 80 % ✓\n\n"
        "**Triage**:\n1. Vérifier: `SELECT 'café';`\n"
    )

    section = runbook.sections[0]
    assert runbook.title == "Журнал дежурств"
    assert section.title == "Base de données en panne 🔥"
    assert section.slug == "base-de-données-en-panne-"
    assert section.alert == "Connexions > 80 % ✓"
    assert section.steps[0].commands == ("SELECT 'café';",)


def test_heading_that_is_not_a_slug_gets_its_anchor_as_slug_and_keeps_its_title() -> None:
    section = parse_runbook("## High API error rate\n\n**Triage**:\n1. `kubectl logs`\n").sections[0]

    assert section.slug == "high-api-error-rate"
    assert section.title == "High API error rate"


def test_heading_with_trailing_spaces_has_a_clean_slug() -> None:
    section = parse_runbook("## redis-down   \n\n**Triage**:\n1. `redis-cli PING`\n").sections[0]

    assert section.slug == "redis-down"
    assert section.title == "redis-down"


def test_colon_inside_the_bold_label_is_accepted() -> None:
    section = parse_runbook(
        "## redis-down\n\n**Alert:** Redis down.\n\n**Triage:**\n1. `redis-cli PING`\n\n"
        "**Common causes:**\n- OOM\n\n**Resolution:** Restart.\n"
    ).sections[0]

    assert section.alert == "Redis down."
    assert section.commands == ("redis-cli PING",)
    assert [c.text for c in section.causes] == ["OOM"]
    assert section.resolution == "Restart."


def test_bullet_triage_list_is_numbered_from_one() -> None:
    section = parse_runbook(
        "## redis-down\n\n**Triage**:\n"
        "- Pods: `kubectl get pods`\n- Memory: `redis-cli INFO memory`\n- Think\n"
    ).sections[0]

    assert [(s.number, s.text) for s in section.steps] == [
        (1, "Pods: `kubectl get pods`"),
        (2, "Memory: `redis-cli INFO memory`"),
        (3, "Think"),
    ]


def test_cause_links_are_only_in_page_anchors() -> None:
    cause = (
        parse_runbook(
            "## api-down\n\n**Triage**:\n1. `kubectl get pods`\n\n**Common causes**:\n"
            "- Redis: see [#redis-down](#redis-down), [dashboard](https://grafana.example/d/1) "
            "and [the DB section](#postgresql-down)\n"
        )
        .sections[0]
        .causes[0]
    )

    assert cause.links == ("redis-down", "postgresql-down")
    assert cause.text == "Redis: see #redis-down, dashboard and the DB section"


def test_sub_headings_work_as_part_labels() -> None:
    section = parse_runbook(
        "# RB\n\n## redis-down\n\n### Alert\nRedis is down.\n\n### Triage\n1. `redis-cli PING`\n\n"
        "### Common causes\n- OOM\n\n### Resolution\nRestart.\n"
    ).sections[0]

    assert (section.slug, section.alert, section.commands, section.resolution) == (
        "redis-down",
        "Redis is down.",
        ("redis-cli PING",),
        "Restart.",
    )
    assert [c.text for c in section.causes] == ["OOM"]


def test_another_bold_label_ends_the_current_part() -> None:
    section = parse_runbook(
        "## api-down\n\n**Triage**:\n1. `kubectl get pods`\n\n**Escalation**:\n- Page the DB team\n"
    ).sections[0]

    assert len(section.steps) == 1


# --- errors --------------------------------------------------------------------------------------


def test_text_without_sections_is_an_error() -> None:
    with pytest.raises(RunbookError, match="no runbook sections found"):
        parse_runbook("# Notes\n\nJust prose, no alerts here.\n")


def test_missing_file_error_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.md"

    with pytest.raises(RunbookError, match="does not exist") as caught:
        load_runbook(path)
    assert str(path) in str(caught.value)


def test_directory_error_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(RunbookError, match="is a directory") as caught:
        load_runbook(tmp_path)
    assert str(tmp_path) in str(caught.value)


def test_non_utf8_file_error_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "latin1.md"
    path.write_bytes("## redis-down\n\n**Triage**:\n1. `café`\n".encode("latin-1"))

    with pytest.raises(RunbookError, match="not UTF-8") as caught:
        load_runbook(path)
    assert str(path) in str(caught.value)


def test_unreadable_file_error_says_permission(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret.md"
    path.write_text("## redis-down\n\n**Triage**:\n1. `x`\n", encoding="utf-8")
    if os.geteuid() == 0:  # root reads any file, so the refusal is simulated where chmod can't cause it

        def refuse(self: Path) -> bytes:
            raise PermissionError(13, "Permission denied", str(self))

        monkeypatch.setattr(Path, "read_bytes", refuse)
    path.chmod(0)

    try:
        with pytest.raises(RunbookError, match="no permission") as caught:
            load_runbook(path)
    finally:
        path.chmod(0o600)
    assert str(path) in str(caught.value)


def test_file_without_sections_error_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "empty.md"
    path.write_text("", encoding="utf-8")

    with pytest.raises(RunbookError, match="no runbook sections found") as caught:
        load_runbook(path)
    assert str(path) in str(caught.value)


def test_utf8_bom_is_not_content(tmp_path: Path) -> None:
    path = tmp_path / "bom.md"
    path.write_bytes(b"\xef\xbb\xbf## redis-down\n\n**Triage**:\n1. `redis-cli PING`\n")

    assert load_runbook(path).sections[0].slug == "redis-down"


# Runbook-shaped fragments reach the parser's label and list code far more often than random text.
_MARKDOWNISH = st.lists(
    st.sampled_from(
        [
            *"#*-`:[]()1. \n\r\t>~_!|aZé\u00a0",
            "**Triage**:",
            "**Alert:**",
            "## ",
            "```",
            "\n1. ",
            "\n- ",
            "](#",
        ]
    ),
    max_size=120,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=400), _MARKDOWNISH))
def test_parse_runbook_only_ever_raises_runbook_error(text: str) -> None:
    try:
        runbook = parse_runbook(text)
    except RunbookError:
        return
    assert runbook.sections
