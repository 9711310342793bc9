"""How oncall writes what it shows: untrusted server text made safe for the terminal (no control character
ever reaches it), and ages, durations and sizes in one style."""

from __future__ import annotations

import math
import re
import unicodedata
from pathlib import Path

# C0 controls (but tab/newline handled separately), DEL and C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Format characters (Unicode category Cf: bidi embeddings, overrides and isolates, zero-width spaces and
# joiners, the BOM, invisible operators, tags) and lone surrogates: they reorder, hide or break text.
FORMAT_CHARACTERS = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f\ud800-\udfff"
)
_FORMAT = re.compile(f"[{FORMAT_CHARACTERS}]")
# Variation selectors only pick a glyph's look; terminals disagree on the width they give it, so they go.
_VARIATION = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_LINE_BREAKS = re.compile("\r\n|[\r\n\u2028\u2029]")
# A terminal escape sequence (CSI such as colours, OSC such as titles and hyperlinks) as a whole.
_ESCAPE_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]")
REPLACEMENT = "\ufffd"


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode "control picture", e.g. ␛ for ESC
    if code == 0x7F:
        return "\u2421"  # ␡
    return REPLACEMENT


def clean(value: object, *, single_line: bool = True) -> str:
    """Return ``value`` as a string with control characters replaced by visible symbols.

    With ``single_line`` newlines and tabs become spaces, so one value stays on one row. Format characters
    (bidi controls, zero-width characters) show as U+FFFD, so nothing is reordered or hidden.
    """
    text = "" if value is None else str(value)
    if text.isascii() and text.isprintable():
        return text  # nearly every value: nothing to replace, and tables clean thousands of cells
    if single_line:
        text = _LINE_BREAKS.sub(" ", text).replace("\t", " ")
    else:
        text = _LINE_BREAKS.sub("\n", text).replace("\t", "    ")
    text = _FORMAT.sub(REPLACEMENT, _VARIATION.sub("", text))
    return _CONTROL.sub(_picture, text)


def clipboard_text(value: object) -> str:
    """What a copy puts on the clipboard: one line of printable text, nothing that runs or hides on paste.

    Line breaks and tabs become spaces (a newline would run a pasted command), escape sequences, control
    and format characters are dropped, and there is no leading or trailing whitespace.
    """
    text = _ESCAPE_SEQUENCE.sub("", "" if value is None else str(value))
    text = _LINE_BREAKS.sub(" ", text).replace("\t", " ")
    text = _CONTROL.sub("", _FORMAT.sub("", _VARIATION.sub("", text)))
    return text.strip()


def cell_width(text: str) -> int:
    """How many terminal cells ``text`` takes: wide (CJK, emoji) characters two, combining marks none."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def fit_cells(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` cells (a wide character that would straddle is left out), then
    padded with spaces to exactly ``width``."""
    out: list[str] = []
    used = 0
    for char in text:
        size = cell_width(char)
        if used + size > width:
            break
        out.append(char)
        used += size
    return "".join(out) + " " * (width - used)


def read_text_file(path: Path, what: str, kind: str, error: type[Exception]) -> str:
    """Read a UTF-8 file the user named; every failure is `error` in plain words naming `what` and the path.

    `what` is e.g. "the runbook", `kind` what it should be ("Markdown file"). A BOM is not content.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise error(f"{what} {path} is a directory, not a {kind}")
        data = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist") from None
    except PermissionError:
        raise error(f"no permission to read {what} {path}") from None
    except IsADirectoryError:
        raise error(f"{what} {path} is a directory, not a {kind}") from None
    except OSError as problem:
        raise error(f"can't read {what} {path}: {problem.strerror or problem}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        raise error(f"{what} {path} is not UTF-8 text (undecodable byte at offset {problem.start})") from None


# --- numbers as oncall writes them: one style for ages, durations and sizes -------------------------------


def format_age(seconds: float | None) -> str:
    """oncall's short age, two units at most: 45s, 12m, 3h5m, 2d4h; "?" when unknown."""
    if seconds is None or math.isnan(seconds):
        return "?"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        hours, minutes = divmod(s // 60, 60)
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(s // 3600, 24)
    return f"{days}d{hours}h" if hours else f"{days}d"


def human_duration(seconds: float) -> str:
    """kubectl's HumanDuration, for readings that stand in for kubectl (AGE, "5 (3m4s ago)"):
    45s, 3m20s, 120m, 5h10m, 30h, 3d4h, 12d, 2y30d."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = hours // 24
        return f"{days // 365}y" if days % 365 == 0 else f"{days // 365}y{days % 365}d"
    return f"{hours // 24 // 365}y"


def format_bytes(n: float | None, *, df: bool = False) -> str:
    """A size in powers of 1024 with one decimal, as oncall writes it everywhere: "512 B", "1.4 GiB"; "?"
    when unknown. `df=True` gives `df -h`'s "8.6G" ("" when unknown), for a reading that stands in for df."""
    if n is None:
        return "" if df else "?"
    size = float(n)
    units = ("B", "K", "M", "G", "T", "P") if df else ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
    gap = "" if df else " "
    for unit in units:
        if abs(size) < 1024 or unit == units[-1]:
            return f"{size:.0f}{gap}{unit}" if unit == "B" else f"{size:.1f}{gap}{unit}"
        size /= 1024
    raise AssertionError("unreachable: the last unit always returns")


def format_duration(seconds: float) -> str:
    """How long an incident has run, to the second, as a report says it: 45s, 3m 07s, 1h 02m 03s, 2d 4h 05m"""
    s = max(0, int(seconds))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, s = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {minutes:02d}m"
    if hours:
        return f"{hours}h {minutes:02d}m {s:02d}s"
    if minutes:
        return f"{minutes}m {s:02d}s"
    return f"{s}s"
