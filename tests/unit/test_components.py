"""The pods a runbook section is about come from its kubectl label selectors."""

from __future__ import annotations

from tui.config.paths import example_runbook
from tui.triage.runbook import load_runbook
from tui.triage.selectors import command_selectors, helm_releases, matches, section_selectors


def test_the_seed_sections_name_their_components():
    runbook = load_runbook(example_runbook())
    assert section_selectors(runbook.section("api-down")) == [(("app", "inmidst-api"),)]
    assert section_selectors(runbook.section("postgresql-down")) == [(("app", "inmidst-postgres"),)]
    assert section_selectors(runbook.section("redis-down")) == [(("app", "inmidst-redis"),)]
    assert section_selectors(runbook.section("high-database-connections")) == []  # SQL only


def test_selector_spellings():
    assert command_selectors("kubectl get pods -l app=x,tier=web") == [(("app", "x"), ("tier", "web"))]
    assert command_selectors("kubectl get pods --selector=app==x") == [(("app", "x"),)]
    assert command_selectors("kubectl get pods -lapp=x") == [(("app", "x"),)]
    assert command_selectors("kubectl get pods -l 'app in (a,b)'") == []  # not an equality selector
    assert command_selectors("kubectl get pods -l app!=x") == []
    assert command_selectors("redis-cli -l x=y") == []  # not kubectl
    assert command_selectors("kubectl get pods -l 'unbalanced") == []


def test_matches_needs_every_term():
    labels = (("app", "inmidst-api"), ("tier", "web"))
    assert matches(labels, (("app", "inmidst-api"),))
    assert not matches(labels, (("app", "inmidst-api"), ("tier", "db")))


def test_the_seed_names_its_helm_release():
    runbook = load_runbook(example_runbook())
    assert helm_releases(runbook.sections) == [("in-midst-my-life", "production")]
