"""Workarounds for Textual bugs that cost a long-running dashboard memory, each until Textual fixes it.

Imported for its effect by tui.widgets.render, which every screen's header loads."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from rich.style import Style
from textual._styles_cache import StylesCache
from textual.color import Color


def _free_closed_widgets_lines() -> None:
    """Textual 8's StylesCache.get_inner_outer is an lru_cache on a method, so `self` is part of its key:
    the cache keeps up to 1,024 StylesCaches alive, each with the drawn lines of its widget, long after the
    widget is removed (Textualize/textual#6665; each checklist closed left ~25 of them). The two styles
    depend on the colors alone: cached by the colors, with Textual's own code."""
    method = StylesCache.__dict__.get("get_inner_outer")
    original = getattr(method, "__wrapped__", None)
    if method is None or original is None or not hasattr(method, "cache_info"):
        return  # fixed in this Textual, or changed beyond what this knows: leave it alone

    @lru_cache(1024)
    def inner_outer(base_background: Color, background: Color) -> tuple[Style, Style]:
        return original(StylesCache, base_background, background)

    def get_inner_outer(self: Any, base_background: Color, background: Color) -> tuple[Style, Style]:
        return inner_outer(base_background, background)

    setattr(StylesCache, "get_inner_outer", get_inner_outer)  # noqa: B010 (mypy: a method assigned)
    method.cache_clear()


_free_closed_widgets_lines()
