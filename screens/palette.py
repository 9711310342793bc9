"""The command palette: Textual's, made safe to page before its list of matches is drawn."""

from __future__ import annotations

from textual.command import CommandList, CommandPalette


class Palette(CommandPalette):
    """ctrl+p. Its commands come from the app (the same bindings as the footer and the help)."""

    def _action_command_list(self, action: str) -> None:
        # Textual 8.2's OptionList pages by its drawn lines: before the first draw that raised KeyError
        if action in ("page_up", "page_down") and not self.query_one(CommandList).scrollable_content_region:
            return
        super()._action_command_list(action)
