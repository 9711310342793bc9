"""The keys of a screen: what the footer shows, and every described key for the help (one list for both)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import App
from textual.binding import ActiveBinding, Binding
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input

# how the help names keys it has no `key_display` for: as a user types them, arrows as arrows
KEY_NAMES = {"up": "↑", "down": "↓", "left": "←", "right": "→", "escape": "esc", "question_mark": "?"}
KEY_NAMES |= {"slash": "/", "colon": ":", "plus": "+", "minus": "-", "enter": "enter"}
# Textual's own words for its keys, said as this app means them
DESCRIPTIONS = {
    "app.focus_next": "Next pane",
    "app.focus_previous": "Previous pane",
    "command_palette": "Command palette: every action, and sections, pods and sessions by name",
}
# where a key is bound, in the help's order: the screen's own actions, the focused widget's (or its
# parents'), the app's
GROUPS = ("screen", "focused", "app")


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
        return "app"
    return "screen" if node is screen else "focused"


def key_rows(screen: Screen) -> list[KeyRow]:
    """Every key `screen` answers now that says what it does, hidden from the footer or not: one row per
    action and place, its keys joined, grouped (the screen, the focused list, the app), no key twice.

    A key whose action can't run here (check_action False) is not bound at all, so it is not listed."""
    bound = screen.active_bindings
    # which bound key each name stands for: "↓" is down, whoever a display ("j/↓") says answers it
    answers = {KEY_NAMES.get(key, key): active for key, active in bound.items()}
    keys: dict[tuple[str, str], list[str]] = {}
    described: dict[tuple[str, str], str] = {}
    preferred: dict[tuple[str, str], list[str]] = {}  # a display's own order: "j/↓", not "↓/j"
    # tab(1) shown as "1-7" names the keys of tab(2) … tab(7), which have no display of their own
    ranged = {
        a.binding.action.split("(")[0]
        for a in bound.values()
        if a.binding.key_display and "(" in a.binding.action
    }
    for active in bound.values():
        binding = active.binding
        action = binding.action
        description = DESCRIPTIONS.get(action, binding.description)
        if not description or (action.split("(")[0] in ranged and not binding.key_display):
            continue
        slot = ("app" if action in DESCRIPTIONS else _group(active.node, screen), action)
        parts = keys.setdefault(slot, [])
        shown = key_name(binding)
        names = [shown] if shown == "/" else shown.split("/")
        if binding.key_display:
            preferred.setdefault(slot, names)
        for part in names:
            other = answers.get(part)
            if other is not None and (other.binding.action, other.node) != (action, active.node):
                continue  # the display names a key that another binding answers: that one's row
            if part not in parts:
                parts.append(part)
        described.setdefault(slot, description)
    rows = []
    for slot, parts in keys.items():
        order = preferred.get(slot, [])
        parts.sort(key=lambda part: order.index(part) if part in order else len(order))
        if parts:
            rows.append(KeyRow("/".join(parts), described[slot], slot[0]))
    return sorted(rows, key=lambda row: GROUPS.index(row.group))


def focus_now(widget: Widget) -> None:
    """Focus `widget` before the next key is routed. `Widget.focus()` waits for the message queue, so keys
    typed in one burst (`/api` enter, `2` enter, a paste, tmux send-keys) went to the old focus."""
    widget.screen.set_focus(widget)


def typing(screen: Screen) -> bool:
    """A text box has the focus: its keys are characters, not the screen's priority keys."""
    return isinstance(screen.focused, Input)
