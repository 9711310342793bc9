"""Make untrusted server text safe to show: no control character ever reaches the terminal."""

from __future__ import annotations

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
