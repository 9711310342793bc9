"""The keys of a screen: what the footer shows, and every described key for the help (one list for both)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import App
from textual.binding import ActiveBinding, Binding
from textual.dom import DOMNode
from textual.screen import Screen

# how the help names keys it has no `key_display` for: as a user types them, arrows as arrows
KEY_NAMES = {"up": "↑", "down": "↓", "left": "←", "right": "→", "escape": "esc", "question_mark": "?"}
KEY_NAMES |= {"slash": "/", "colon": ":", "plus": "+", "minus": "-", "enter": "enter"}
# Textual's own words for its keys, said as this app means them
DESCRIPTIONS = {
    "app.focus_next": "Next pane",
    "app.focus_previous": "Previous pane",
    "command_palette": "Command palette: every action, and sections, pods and sessions by name",
}
GROUPS = ("focused", "screen", "app")  # where a key is bound: the focused widget (or its parents)


@dataclass(frozen=True)
class KeyRow:
    """One action in the help: its keys joined ("j/↓"), what it does, and where it is bound (GROUPS)."""

    keys: str
    description: str
    group: str


def shown_bindings(screen: Screen) -> list[ActiveBinding]:
    """Each binding the footer shows, once per action, in the footer's order: greyed ones too (check_action
    None: a key that works later, shown dim), not hidden ones (check_action False: not bound here)."""
    shown: list[ActiveBinding] = []
    seen: set[str] = set()
    for active in screen.active_bindings.values():
        binding = active.binding
        if binding.show and binding.description and binding.action not in seen:
            seen.add(binding.action)
            shown.append(active)
    return shown


def key_name(binding: Binding) -> str:
    """A key as the help writes it: its own display if it has one, else its name ("pagedown", "shift+tab")."""
    if binding.key_display:
        return binding.key_display
    return KEY_NAMES.get(binding.key, binding.key)


def _group(node: DOMNode, screen: Screen) -> str:
    if isinstance(node, App):
        return GROUPS[2]
    return GROUPS[1] if node is screen else GROUPS[0]


def key_rows(screen: Screen) -> list[KeyRow]:
    """Every key `screen` answers now that says what it does, hidden from the footer or not: one row per
    action and place, its keys joined, grouped (the focused list, the screen, the app), no key twice.

    A key whose action can't run here (check_action False) is not bound at all, so it is not listed."""
    keys: dict[tuple[str, str], list[str]] = {}
    described: dict[tuple[str, str], str] = {}
    named: set[str] = set()  # each key in one row only: the first, the most specific (focused → app)
    active_bindings = list(screen.active_bindings.values())
    # tab(1) shown as "1-7" names the keys of tab(2) … tab(7), which have no display of their own
    ranged = {
        a.binding.action.split("(")[0]
        for a in active_bindings
        if a.binding.key_display and "(" in a.binding.action
    }
    for active in active_bindings:
        binding = active.binding
        action = binding.action
        description = DESCRIPTIONS.get(action, binding.description)
        if not description or (action.split("(")[0] in ranged and not binding.key_display):
            continue
        slot = (GROUPS[2] if action in DESCRIPTIONS else _group(active.node, screen), action)
        parts = keys.setdefault(slot, [])
        shown = key_name(binding)
        for part in [shown] if shown == "/" else shown.split("/"):
            # a display naming a key the focused widget binds itself ("j/↓" where the list has ↓): its row
            if part not in named:
                named.add(part)
                parts.append(part)
        described.setdefault(slot, description)
    rows = [KeyRow("/".join(parts), described[slot], slot[0]) for slot, parts in keys.items() if parts]
    return sorted(rows, key=lambda row: GROUPS.index(row.group))
