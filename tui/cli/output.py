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


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#])")


def md(text: str) -> str:
    """Server text for Markdown: control characters made visible, Markdown syntax escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", clean(text))
