"""The runtime dependencies are pinned to the majors the tests run on, and those are what is installed."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
PINNED = ("textual", "httpx", "psycopg", "redis", "kubernetes", "markdown-it-py")


def _requirements() -> dict[str, Requirement]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    return {(r := Requirement(line)).name: r for line in project["dependencies"]}


def test_each_library_the_app_calls_into_has_an_upper_bound_at_the_next_major():
    requirements = _requirements()
    for name in PINNED:
        uppers = [spec for spec in requirements[name].specifier if spec.operator == "<"]
        assert uppers, f"{name} has no upper bound: a new major would be installed untested"


def test_the_installed_versions_are_the_pinned_majors():
    for name, requirement in _requirements().items():
        assert requirement.specifier.contains(version(name), prereleases=True), (name, version(name))


def test_textual_is_pinned_to_major_8():
    assert str(_requirements()["textual"].specifier) in ("<9,>=8.2", ">=8.2,<9")
