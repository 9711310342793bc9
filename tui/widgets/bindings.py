"""The bindings the footer shows for a screen: the one list that help and the command palette also use."""

from __future__ import annotations

from textual.binding import ActiveBinding
from textual.screen import Screen


def shown_bindings(screen: Screen) -> list[ActiveBinding]:
    """Each enabled binding the footer shows, once per action, in the footer's order."""
    shown: list[ActiveBinding] = []
    seen: set[str] = set()
    for active in screen.active_bindings.values():
        binding = active.binding
        if binding.show and binding.description and active.enabled and binding.action not in seen:
            seen.add(binding.action)
            shown.append(active)
    return shown
