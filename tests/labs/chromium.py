"""Debian's chromium (/usr/bin/chromium), headless, driven by Playwright's Python API: no browser download,
a fresh profile per launch, nothing phoning home. And a way to read what xterm.js draws on its canvas."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from tests.labs import require

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Route

CHROMIUM = Path(os.environ.get("ONCALL_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def installed() -> str | None:
    """None when chromium and Playwright's Python package are here, else what is missing."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: apt-get install chromium"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is missing: pip install playwright"
    return None


@contextmanager
def chromium(*, width: int = 1280, height: int = 800) -> Iterator[BrowserContext]:
    """A headless chromium with a fresh user-data-dir (removed after), as one browser context."""
    missing = installed()
    require(missing is None, missing or "")
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="oncall-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                headless=True,
                args=ARGS,
                viewport={"width": width, "height": height},
                env={k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")},
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


# textual-serve's page keeps its xterm.js Terminal in a closure; one line of its script, rewritten as the page
# is loaded, hands it to the test so the test reads the terminal's buffer: the text the canvas draws.
_CREATE = "const t=new w(e,{ping:r});"
_EXPOSE = _CREATE + "window.__oncallTerminal=t;"


def expose_terminal(page: Page) -> None:
    """Route textual-serve's script through a rewrite that exposes the page's terminal (call before goto)."""

    def rewrite(route: Route) -> None:
        response = route.fetch()
        script = response.text()
        assert _CREATE in script, "textual-serve's textual.js changed: update tests/labs/chromium.py"
        route.fulfill(response=response, body=script.replace(_CREATE, _EXPOSE))

    page.route("**/static/js/textual.js", rewrite)


def terminal_text(page: Page) -> str:
    """The lines the page's terminal shows now (xterm.js's buffer, row by row), or "" before it exists."""
    return str(
        page.evaluate(
            """() => {
                const holder = window.__oncallTerminal;
                if (!holder) return "";
                const term = holder.terminal, buffer = term.buffer.active, lines = [];
                for (let y = 0; y < term.rows; y++) {
                    const line = buffer.getLine(buffer.viewportY + y);
                    lines.push(line ? line.translateToString(true) : "");
                }
                return lines.join("\\n");
            }"""
        )
    )


def wait_for_text(page: Page, needle: str, timeout: float) -> None:
    """Wait, inside the page (each animation frame, no round trip per look), until its terminal shows
    `needle`; Playwright's TimeoutError after `timeout` seconds."""
    page.wait_for_function(
        """(needle) => {
            const holder = window.__oncallTerminal;
            if (!holder) return false;
            const term = holder.terminal, buffer = term.buffer.active;
            for (let y = 0; y < term.rows; y++) {
                const line = buffer.getLine(buffer.viewportY + y);
                if (line && line.translateToString(true).includes(needle)) return true;
            }
            return false;
        }""",
        arg=needle,
        timeout=timeout * 1000,
    )
