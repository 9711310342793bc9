"""Make untrusted server text safe to show: no control character ever reaches the terminal."""

from __future__ import annotations

import re

# C0 controls (but tab/newline handled separately), DEL and C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode "control picture", e.g. ␛ for ESC
    if code == 0x7F:
        return "\u2421"  # ␡
    return "\ufffd"


def clean(value: object, *, single_line: bool = True) -> str:
    """Return ``value`` as a string with control characters replaced by visible symbols.

    With ``single_line`` newlines and tabs become spaces, so one value stays on one row.
    """
    text = "" if value is None else str(value)
    if single_line:
        text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ").replace("\t", " ")
    else:
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    return _CONTROL.sub(_picture, text)
