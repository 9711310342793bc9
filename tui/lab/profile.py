"""The `lab` profile: `<lab root>/oncall.toml`, and a marked block in the user's config file so that
`oncall --profile lab` works from any folder; `lab down` takes the block out again, every other line kept."""

from __future__ import annotations

from pathlib import Path

import platformdirs

from tui.config.document import CONFIG_FILE_NAME, USER_CONFIG_FILE_NAME
from tui.config.paths import example_runbook
from tui.lab import postgres
from tui.lab.configs import KUBE_CONTEXT, toml_string
from tui.lab.state import LAB_NAMESPACE, LabState

PROFILE = "lab"
BEGIN = "# >>> oncall lab: written by `oncall lab up`, removed by `oncall lab down` >>>"
END = "# <<< oncall lab <<<"


def profile_text(state: LabState) -> str:
    """The [profiles.lab] tables: every source of the lab (Alertmanager too), the shipped runbook, the lab's
    own store."""
    q = toml_string
    return "\n".join(
        [
            f"[profiles.{PROFILE}]",
            f"runbook = {q(str(example_runbook()))}",
            f"store = {q(str(state.root / 'sessions.db'))}",
            f"lab_factor = {state.factor}",
            "",
            f"[profiles.{PROFILE}.prometheus]",
            f"url = {q(state.prometheus_url)}",
            "",
            f"[profiles.{PROFILE}.kubernetes]",
            f"kubeconfig = {q(state.kubeconfig)}",
            f"context = {q(KUBE_CONTEXT)}",
            f"namespace = {q(LAB_NAMESPACE)}",
            "helm_history = true  # the bad-deploy fault is a new Helm revision",
            "",
            f"[profiles.{PROFILE}.postgres]",
            f"dsn = {q(state.postgres_dsn(postgres.CONSOLE_ROLE))}",
            "",
            f"[profiles.{PROFILE}.redis]",
            f"url = {q(state.redis_url)}",
            "",
        ]
        + (  # a state written before the lab ran Alertmanager has none
            [f"[profiles.{PROFILE}.alertmanager]", f"url = {q(state.alertmanager_url)}", ""]
            if state.alertmanager_url
            else []
        )
    )


def user_config_file() -> Path:
    """The file `oncall` reads when the working folder has no oncall.toml."""
    return Path(platformdirs.user_config_dir("oncall")) / USER_CONFIG_FILE_NAME


def _without_block(text: str) -> str:
    """The text with the lab's marked block taken out: the file as it was before `write_profile`."""
    start = text.find(BEGIN)
    if start < 0:
        return text
    end = text.find(END, start)
    end = len(text) if end < 0 else end + len(END)
    if text[end : end + 1] == "\n":
        end += 1
    return text[:start] + text[end:]


def _has_own_lab_profile(text: str) -> bool:
    """The user already wrote a [profiles.lab] of their own (outside the block): not ours to replace."""
    return any(line.strip().startswith(f"[profiles.{PROFILE}") for line in _without_block(text).splitlines())


def write_profile(state: LabState) -> list[str]:
    """Write `<root>/oncall.toml` and add (or replace) the block in the user's config file; the notes for
    the user (where it went, and when ./oncall.toml shadows the user file)."""
    notes: list[str] = []
    own = state.root / CONFIG_FILE_NAME
    own.write_text(profile_text(state), encoding="utf-8")
    state.profile = str(own)
    user = user_config_file()
    try:
        text = user.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    if _has_own_lab_profile(text):
        notes.append(
            f"{user} has its own [profiles.{PROFILE}]: left as it is; use --config {own} --profile lab"
        )
        return notes
    kept = _without_block(text)
    separator = "" if not kept or kept.endswith("\n") else "\n"
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text(f"{kept}{separator}{BEGIN}\n{profile_text(state)}{END}\n", encoding="utf-8")
    notes.append(f"profile `{PROFILE}` added to {user}")
    if (Path.cwd() / CONFIG_FILE_NAME).is_file():
        notes.append(
            f"./{CONFIG_FILE_NAME} here shadows {user}: from this folder run "
            f"oncall --config {own} --profile lab"
        )
    return notes


def remove_profile() -> str | None:
    """Take the lab's block out of the user's config file (the file removed if nothing else is left);
    what was done, or None when there was no block."""
    user = user_config_file()
    try:
        text = user.read_text(encoding="utf-8")
    except OSError:
        return None
    if BEGIN not in text:
        return None
    kept = _without_block(text)
    if kept.strip():
        user.write_text(kept, encoding="utf-8")
    else:
        user.unlink()
    return f"profile `{PROFILE}` removed from {user}"
