"""Workarounds for Textual bugs that cost a long-running dashboard memory, each until Textual fixes it.

Imported for its effect by tui.widgets.render, which every screen's header loads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from rich.style import Style
from textual._styles_cache import StylesCache
from textual.color import Color
from textual.strip import Strip


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


def _whole_lines_without_cycles() -> None:
    """Textual 8's Strip.divide caches its pieces in the strip itself; cut at its own end, a strip is one
    piece, itself, so it caches `[self]` and refers to itself. The compositor divides every line it draws
    at its widgets' edges, and a line within one widget is one piece: nearly every line drawn became
    garbage that only a full cycle collection frees (~80% of the cyclic garbage: Strips, their Segments
    and caches). bench.soak_bench with it: RSS 155 MiB at the end instead of 166, the slope after warm-up
    +0.6 MiB/h instead of +1.0 (the RSS keeps the high-water mark of what waits for the collector), each
    full collection 100 ms instead of 255 under the soak's load. The whole line is given back as it is,
    cached nowhere: freed as soon as it is no longer drawn. Every other cut is Textual's own code."""
    original = Strip.divide
    if getattr(original, "_whole_lines_without_cycles", False):
        return

    def divide(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
        cell_length = self.cell_length
        kept = [cut for cut in cuts if cut <= cell_length]
        if kept == [cell_length]:
            return [self]
        return original(self, kept)

    divide._whole_lines_without_cycles = True  # type: ignore[attr-defined]
    setattr(Strip, "divide", divide)  # noqa: B010 (mypy: a method assigned)


_free_closed_widgets_lines()
_whole_lines_without_cycles()
