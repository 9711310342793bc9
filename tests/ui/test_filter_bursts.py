"""`/` then letters typed in one burst (a paste, tmux send-keys, a fast typist) all land in the filter box, on
the logs screen and in the runbook browser, as they do on the dashboard."""

from __future__ import annotations

from textual.widgets import Input

from screens.logs import LogsScreen
from screens.runbook_browser import RunbookBrowserScreen, SectionList
from tests.helpers import burst, make_app, wait_for


async def test_a_log_filter_typed_in_one_burst_keeps_every_letter(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)):
        await wait_for(lambda: len(app.pods) == 7, what="the demo's pods")
        pod = next(p for p in app.pods if p.name.startswith("inmidst-worker"))
        app.push_screen(LogsScreen(pod))
        await wait_for(lambda: isinstance(app.screen, LogsScreen), what="the logs")
        logs = app.screen
        await wait_for(lambda: len(logs.lines) > 0, what="the log tail")

        burst(app, ["slash", "slash", *"healthz", "enter"])  # the second `/` is typed in the box

        await wait_for(lambda: logs.needle == "/healthz", what="the whole word in the filter")
        await wait_for(lambda: app.focused is logs.query_one("#logs"), what="enter: back to the log")
        assert logs.query_one(Input).value == "/healthz"


async def test_a_runbook_filter_typed_in_one_burst_keeps_every_letter(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("b")
        await wait_for(lambda: isinstance(app.screen, RunbookBrowserScreen), what="the runbook browser")
        browser = app.screen

        burst(app, ["slash", *"redis", "enter"])

        box = browser.query_one("#section-filter", Input)
        await wait_for(lambda: box.value == "redis", what="the whole word in the filter")
        await wait_for(lambda: isinstance(app.focused, SectionList), what="enter: back to the list")
