"""What every oncall screen gets from the app itself: toasts as plain text, a clipboard that pastes safely,
the palette that pages safely, and help; the OncallApp (tui/app.py) builds on it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

from rich.text import Text
from textual.app import App, SystemCommand
from textual.command import CommandListItem, ProviderSource, SimpleProvider
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.theme import ThemeProvider
from textual.widget import AwaitMount

from probes.format import clean, clipboard_text
from screens.palette import Palette, palette_commands


class ConsoleApp(App[None]):
    """Toasts, clipboard, palette and help: what the app gives every screen, whatever it watches."""

    # -- what leaves the app: toasts and the clipboard --------------------------------------------

    def notify(
        self,
        message: object,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every toast (screens' and widgets' `notify` come here): plain text, never markup.

        Messages are built from paths, config values and server text: `[@click=app.quit]x[/].md` is a
        file name to show, not an action to run. `markup` is accepted and ignored for that reason.
        """
        del markup
        text = message.plain if isinstance(message, Text) else str(message)
        super().notify(
            clean(text, single_line=False),
            title=clean(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def action_help_quit(self) -> None:
        # Textual's own says this with markup, which notify() above shows as written
        self.notify("Press q or ctrl+q to quit the app", title="Do you want to quit?")

    def copy_to_clipboard(self, text: str) -> None:
        """Copy (OSC 52) one line of printable text: no newline that runs on paste, no escape, no bidi."""
        super().copy_to_clipboard(clipboard_text(text))

    def copy_lines_to_clipboard(self, text: str) -> None:
        """Copy several lines (evidence for a ticket): each printable, escapes and controls made visible."""
        super().copy_to_clipboard("\n".join(clean(line).rstrip() for line in text.split("\n")))

    # -- keys everywhere ---------------------------------------------------------------------

    # Every palette Textual opens (ctrl+p, the Theme command, a command list) is the one that pages safely.
    def action_command_palette(self) -> None:
        if self.use_command_palette and not Palette.is_open(cast("App[object]", self)):
            self.push_screen(Palette(id="--command-palette"))

    def search_commands(
        self, commands: Sequence[CommandListItem], placeholder: str = "Search for commands…"
    ) -> AwaitMount:
        # as Textual's own search_commands: a SimpleProvider instance, which its ProviderSource type omits
        provider = cast("ProviderSource", [SimpleProvider(self.screen, list(commands))])
        return self.push_screen(Palette(providers=provider, placeholder=placeholder))

    def search_themes(self) -> None:
        self.push_screen(Palette(providers=[ThemeProvider], placeholder="Search for themes…"))

    def action_help(self) -> None:
        from screens.help import HelpScreen  # here: the first screen doesn't need it

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        # the screen's bindings (as the footer and the help), then Textual's own that none of them repeats
        return palette_commands(cast("App[object]", self), screen, super().get_system_commands(screen))
