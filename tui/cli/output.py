"""How the command line writes: errors on stderr, times as ISO UTC, server text safe for Markdown."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime

from probes.format import clean


def err(message: str) -> None:
    print(f"oncall: {message}", file=sys.stderr)


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


# What GitHub or Slack could read as formatting, a link, HTML or an entity: backticks, stars, backslashes,
# brackets, angle brackets, pipes, tildes, ampersands, and an underscore at a word's edge (snake_case is safe)
_MARKUP = re.compile(r"[`*\\\[\]<>|~&]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


def md(text: str) -> str:
    """Server text for Markdown pasted into GitHub or Slack: as it is when nothing in it could be read as
    Markdown, else in a code span, whose text both show literally (a backslash escape shows in Slack)."""
    text = clean(text)
    return code_span(text) if _MARKUP.search(text) else text


def code_span(text: str) -> str:
    """An inline code span that no backtick inside the text can close early."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"
