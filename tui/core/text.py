"""Make untrusted server text safe to show: no control character ever reaches the terminal."""

from __future__ import annotations

import re
from pathlib import Path

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
