"""The header says "LAB ×N" when the settings come from the profile `oncall lab up` writes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.helpers import FixedClock, make_app, prometheus_json, wait_for
from tests.labs import free_port
from tui.app import OncallApp
from tui.config.settings import load_settings
from tui.lab.profile import remove_profile, write_profile
from tui.lab.state import LabState
from tui.widgets.header import StatusHeader


def _header(app: OncallApp) -> str:
    header = app.screen.query_one(StatusHeader)
    return str(getattr(header.render(), "plain", header.render()))


def _lab_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LabState:
    """The profile a lab on closed ports would write, in a user config folder of the test's own."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    state = LabState(root=tmp_path / "lab", prometheus_url=f"http://127.0.0.1:{free_port()}")
    state.root.mkdir()
    state.kubeconfig = str(state.root / "kubeconfig-lab.yaml")
    state.postgres_port = free_port()
    state.redis_port = free_port()
    write_profile(state)
    return state


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
async def test_the_lab_profile_shows_the_lab_badge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    _lab_profile(tmp_path, monkeypatch)
    settings = load_settings(profile="lab", env={}, cwd=tmp_path)
    assert settings.lab_factor == 60
    app = OncallApp(settings, clock=FixedClock(), transport=prometheus_json([]), tick=False)

    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await wait_for(lambda: "LAB ×60" in _header(app), what="the LAB badge")

        text = _header(app)
        assert "DEMO" not in text
        assert len(text) <= size[0]
        if size[0] >= 160:
            assert "profile lab" in text


async def test_without_the_lab_profile_there_is_no_badge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _lab_profile(tmp_path, monkeypatch)
    assert remove_profile() is not None  # `oncall lab down` takes the profile out again
    assert load_settings(env={}, cwd=tmp_path).lab_factor is None
    app = make_app(tmp_path, demo=False, transport=prometheus_json([]))

    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await wait_for(lambda: "profile test" in _header(app), what="the header")

        assert "LAB" not in _header(app)


async def test_the_badge_names_the_factor_it_is_given(tmp_path: Path) -> None:
    app = make_app(tmp_path, demo=True)
    app.settings = replace(app.settings, lab_factor=30)

    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await wait_for(lambda: "LAB ×30" in _header(app), what="the LAB badge")

        assert "DEMO" in _header(app)  # the demo's badge stays first


def test_a_local_oncall_toml_that_shadows_the_profile_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "oncall.toml").write_text('user = "bob"\n', encoding="utf-8")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    state = LabState(root=tmp_path / "lab", prometheus_url="http://127.0.0.1:9")
    state.root.mkdir()

    notes = write_profile(state)

    assert notes[-1] == (
        f"./oncall.toml here shadows {tmp_path / 'config' / 'oncall' / 'config.toml'}: from this folder run "
        f"oncall --config {state.root / 'oncall.toml'} --profile lab"
    )
    settings = load_settings(config_path=state.root / "oncall.toml", profile="lab", env={}, cwd=tmp_path)
    assert settings.lab_factor == 60 and settings.prometheus.url == "http://127.0.0.1:9"
