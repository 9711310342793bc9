"""The key footer: the screen's key hints (the list help and the palette use), on as many lines as they need
(at most two, then shorter descriptions, then the least useful hints go), with `? Help` always shown."""

from __future__ import annotations

from typing import NamedTuple

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import RenderResult
from textual.geometry import Size
from textual.screen import Screen
from textual.widget import Widget

from tui.widgets.bindings import shown_bindings

MAX_LINES = 2
GAP = 2  # spaces between two hints


class Hint(NamedTuple):
    key: str  # the key to simulate on a click
    display: str  # how the key is shown: "?", "1-7", "⏎"
    description: str
    enabled: bool
    pinned: bool  # never dropped (help)

    def short(self) -> Hint:
        """The hint with a one-word description: "Sample keys" -> "Sample"."""
        return self._replace(description=self.description.split(" ")[0])

    def width(self) -> int:
        return cell_len(self.display) + (1 + cell_len(self.description) if self.description else 0)


def _fits(hints: list[Hint], width: int, lines: int) -> list[list[Hint]] | None:
    """Hints laid out left to right, wrapped at `width`; None when they need more than `lines` lines."""
    rows: list[list[Hint]] = [[]]
    used = 0
    for hint in hints:
        need = hint.width() + (GAP if rows[-1] else 0)
        if rows[-1] and used + need > width:
            rows.append([])
            used, need = 0, hint.width()
        if hint.width() > width:
            return None
        rows[-1].append(hint)
        used += need
    return rows if len(rows) <= lines else None


def layout(hints: list[Hint], width: int, lines: int = MAX_LINES) -> list[list[Hint]]:
    """Every hint in full if they fit in `lines` lines; else the longest descriptions shortened to their first
    word, one at a time, until they fit; else the first hints that fit (shortened), the pinned ones kept."""
    width = max(width, 1)
    hints = list(hints)
    while True:
        rows = _fits(hints, width, lines)
        if rows is not None:
            return rows
        longer = [i for i, h in enumerate(hints) if h.short() != h]
        if not longer:
            break
        index = max(longer, key=lambda i: cell_len(hints[i].description))
        hints[index] = hints[index].short()
    kept = [h for h in hints if h.pinned]
    for hint in hints:
        if not hint.pinned and _fits([h for h in hints if h in kept or h is hint], width, lines) is not None:
            kept.append(hint)
    rows = _fits([h for h in hints if h in kept], width, lines)
    return rows if rows is not None else [[h] for h in kept[:lines]]


class KeyFooter(Widget, can_focus=False):
    """A drop-in for textual's Footer (same constructor) that never cuts a hint."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"key-footer--key", "key-footer--description"}
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: auto;
        max-height: 2;
        padding: 0 1;
        color: $footer-foreground;
        background: $footer-background;
        .key-footer--key {
            color: $footer-key-foreground;
            text-style: bold;
        }
        .key-footer--description {
            color: $footer-description-foreground;
        }
    }
    """

    def __init__(
        self,
        *children: Widget,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
        show_command_palette: bool = True,
        compact: bool = False,
    ) -> None:
        super().__init__(*children, name=name, id=id, classes=classes, disabled=disabled)
        self.show_command_palette = show_command_palette
        self.compact = compact
        self.hints: list[Hint] = []
        self._rows: list[list[Hint]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        # once the screen's other widgets are up: a screen's check_action may look for them
        self.call_after_refresh(self._bindings_changed, self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        if not self.is_attached or screen is not self.screen:
            return
        hints = self._read_hints(screen)
        if hints != self.hints:
            self.hints = hints
            self.refresh(layout=True)

    def _read_hints(self, screen: Screen) -> list[Hint]:
        app = self.app
        hints = [
            Hint(
                a.binding.key,
                app.get_key_display(a.binding),
                a.binding.description,
                a.enabled,
                a.binding.action in ("help", "app.help"),
            )
            for a in shown_bindings(screen)
        ]
        if self.show_command_palette and app.ENABLE_COMMAND_PALETTE:
            palette = screen.active_bindings.get(app.COMMAND_PALETTE_BINDING)
            if palette is not None and palette.binding.action.endswith("command_palette"):
                hints.append(
                    Hint(palette.binding.key, app.get_key_display(palette.binding), "Palette", True, False)
                )
        return hints

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, len(layout(self.hints, width)))

    def render(self) -> RenderResult:
        self._rows = layout(self.hints, self.content_region.width)
        key_style = self.get_component_rich_style("key-footer--key", partial=True)
        description_style = self.get_component_rich_style("key-footer--description", partial=True)
        text = Text(no_wrap=True, overflow="crop", end="")
        for number, row in enumerate(self._rows):
            if number:
                text.append("\n")
            for index, hint in enumerate(row):
                if index:
                    text.append(" " * GAP)
                dim = "" if hint.enabled else "dim"
                text.append(hint.display, style=key_style + Style.parse(dim) if dim else key_style)
                if hint.description:
                    text.append(" " + hint.description, style=description_style + Style.parse(dim or "none"))
        return text

    def hint_at(self, x: int, y: int) -> Hint | None:
        """The hint drawn at content offset (x, y), for mouse clicks."""
        if not 0 <= y < len(self._rows):
            return None
        start = 0
        for hint in self._rows[y]:
            if start <= x < start + hint.width():
                return hint
            start += hint.width() + GAP
        return None

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        hint = self.hint_at(offset.x, offset.y) if offset is not None else None
        if hint is not None and hint.enabled:
            event.stop()
            self.app.simulate_key(hint.key)
