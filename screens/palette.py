"""The command palette: Textual's, made safe to page before its list of matches is laid out."""

from __future__ import annotations

import contextlib

from textual.command import CommandPalette


class Palette(CommandPalette):
    """ctrl+p. Its commands come from the app (the same bindings as the footer and the help)."""

    def _action_command_list(self, action: str) -> None:
        # Textual 8.2's OptionList pages by lines it computes when laid out: before that, KeyError
        with contextlib.suppress(KeyError):
            super()._action_command_list(action)
