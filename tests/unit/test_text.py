"""Untrusted text made safe: nothing reorders, hides or runs, and widths are terminal cells."""

from __future__ import annotations

import sys
import unicodedata
from datetime import UTC, datetime

from probes.base import Reading
from probes.format import cell_width, clean, clipboard_text, fit_cells
from tui.triage.shaping import reading_text

BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\ufeff", "\u2060", "\u00ad", "\U000e0041"]


def _format_characters() -> list[str]:
    return [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"]


def test_every_bidi_control_and_invisible_character_shows_as_a_replacement_symbol():
    for char in BIDI + INVISIBLE:
        assert clean(f"a{char}b") == "a\ufffdb", repr(char)
        assert clean(f"a{char}b", single_line=False) == "a\ufffdb", repr(char)


def test_no_format_character_of_any_kind_survives():
    for char in _format_characters():
        assert unicodedata.category(clean(char)) != "Cf", f"U+{ord(char):04X}"


def test_line_and_paragraph_separators_break_lines_only_where_lines_may_break():
    assert clean("a\u2028b\u2029c") == "a b c"
    assert clean("a\u2028b\u2029c", single_line=False) == "a\nb\nc"


def test_a_lone_surrogate_cannot_break_the_terminal_writer():
    shown = clean("key\udcff")
    assert shown == "key\ufffd"
    shown.encode("utf-8")


def test_variation_selectors_go_so_an_emoji_has_one_width():
    assert clean("\u2764\ufe0f ok") == "\u2764 ok"


def test_the_clipboard_gets_one_printable_line_without_escapes():
    raw = "kubectl get pods\r\n\x1b[31m\u202erm -rf /\x1b]0;title\x07\ttail\n"
    assert clipboard_text(raw) == "kubectl get pods rm -rf / tail"
    assert clipboard_text("SELECT 1;\n") == "SELECT 1;"
    assert clipboard_text(None) == ""


def test_wide_and_zero_width_characters_are_measured_in_cells():
    assert cell_width("abc") == 3
    assert cell_width("日本語") == 6
    assert cell_width("😀x") == 3
    assert cell_width("e\u0301") == 1
    assert fit_cells("日本語", 5) == "日本 "
    assert fit_cells("ab", 4) == "ab  "


def test_an_evidence_table_with_wide_and_bidi_cells_stays_aligned():
    reading = Reading.table(
        "redis",
        "keys",
        ["key", "bytes"],
        [["日本語のキー", 10], ["\u202eevil\u200b", 20], ["😀😀", 30], ["plain", 40]],
        read_at=datetime(2026, 11, 27, tzinfo=UTC),
    )
    lines = reading_text(reading).split("\n")[1:]
    assert all("\u202e" not in line and "\u200b" not in line for line in lines)
    # the second column starts at the same cell on every line
    starts = [
        cell_width(line[: line.index(value)])
        for line, value in zip(lines, ("bytes", "10", "20", "30", "40"), strict=True)
    ]
    assert len(set(starts)) == 1, lines
