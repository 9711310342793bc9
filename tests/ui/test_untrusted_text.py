"""Text from paths, config and servers reaches the screen and the clipboard as plain, printable text."""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Static
from textual.widgets._toast import Toast

from screens.checklist import ChecklistScreen
from screens.modals import TextScreen
from tests.helpers import FixedClock, make_app, mounted, wait_for
from tui.widgets.alerts import AlertsTable
from tui.widgets.kube_panels import ReadPanel
from tui.widgets.slowlog_panel import SlowlogPanel

HOSTILE_STEP = (
    "# Runbook\n\n## high-database-connections\n\n**Alert**: too many connections.\n\n**Triage**:\n"
    "1. Look at the pods:\n\n   ```\n   kubectl get pods\n   echo \x1b[2J\u202eevil\n   ```\n"
)


def toasts(app) -> list[str]:
    """The text of every toast on screen, as the user reads it."""
    return [toast.render().plain for toast in app.screen.query(Toast)]


async def _open_checklist(app, pilot) -> ChecklistScreen:
    table = app.screen.query_one(AlertsTable)
    await wait_for(lambda: table.row_count > 0, what="demo alerts")
    table.move_cursor(row=[a.name for a in table.alerts].index("HighDatabaseConnections"))
    await pilot.press("enter")
    await wait_for(
        lambda: isinstance(app.screen, ChecklistScreen) and app.screen.section is not None,
        what="the checklist",
    )
    return app.screen  # type: ignore[return-value]


async def test_a_runbook_path_with_markup_shows_as_written_in_the_toast(tmp_path: Path):
    runbook = tmp_path / "[@click=app.quit]x[/].md"
    app = make_app(tmp_path, runbook=runbook)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await wait_for(lambda: bool(toasts(app)), what="the runbook toast")
        (shown,) = toasts(app)
        assert "Runbook not loaded" in shown
        assert "[@click=app.quit]x[/].md" in shown
        await pilot.pause()
        assert app.is_running


async def test_a_toast_built_from_server_text_shows_controls_and_bidi_as_symbols(tmp_path: Path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48), notifications=True):
        app.screen.notify("key [b]x[/b] \x1b[31m \u202eevil", title="from \u2066Redis")
        await wait_for(lambda: bool(toasts(app)), what="the toast")
        (shown,) = toasts(app)
        assert "key [b]x[/b] ␛[31m \ufffdevil" in shown and "from \ufffdRedis" in shown
        assert "\x1b" not in shown and "\u202e" not in shown and "\u2066" not in shown


async def test_c_on_the_drivers_checklist_copies_the_command_and_says_so(tmp_path: Path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        screen = await _open_checklist(app, pilot)
        command = screen.section.steps[0].commands[0]
        await pilot.press("c")
        await wait_for(lambda: bool(toasts(app)), what="the copy toast")
        assert app.clipboard == command
        assert toasts(app) == [f"Copied to the clipboard\n{command}"]
        await pilot.pause()
        assert app.is_running and app.screen is screen


async def test_c_on_the_observers_checklist_copies_the_command_and_says_so(tmp_path: Path):
    clock = FixedClock()
    driver = make_app(tmp_path, clock=clock)
    async with driver.run_test(size=(160, 48), notifications=True) as dpilot:
        await _open_checklist(driver, dpilot)
        await dpilot.press("n", *"paged", "enter")  # the first change starts the session
        await wait_for(lambda: driver.screen.session is not None, what="the driver's session")
        observer = make_app(tmp_path, clock=clock, observe="latest", user="bob@laptop")
        async with observer.run_test(size=(160, 48), notifications=True) as opilot:
            await wait_for(
                lambda: isinstance(observer.screen, ChecklistScreen) and observer.screen.section is not None,
                what="the observer on the driver's checklist",
            )
            command = observer.screen.section.steps[0].commands[0]
            await opilot.press("c")
            await wait_for(lambda: bool(toasts(observer)), what="the copy toast")
            assert observer.clipboard == command
            assert f"Copied to the clipboard\n{command}" in toasts(observer)
            await opilot.pause()
            assert observer.is_running


async def test_c_copies_one_printable_line_of_a_multi_line_command(tmp_path: Path):
    runbook = tmp_path / "RUNBOOK.md"
    runbook.write_text(HOSTILE_STEP, encoding="utf-8")
    app = make_app(tmp_path, runbook=runbook)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        screen = await _open_checklist(app, pilot)
        assert "\n" in screen.section.steps[0].commands[0]
        await pilot.press("c")
        await wait_for(lambda: bool(toasts(app)), what="the copy toast")
        assert app.clipboard == "kubectl get pods echo evil"
        assert toasts(app) == ["Copied to the clipboard\nkubectl get pods echo evil"]


async def test_c_on_a_slow_log_entry_copies_it_without_a_newline(tmp_path: Path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await pilot.press("4")
        panel = app.screen.query_one(SlowlogPanel)
        await wait_for(lambda: bool(panel.table.view), what="the demo's slow log")
        panel.table.focus()
        entry = panel.table.selected
        await pilot.press("enter")
        await wait_for(lambda: mounted(app.screen, TextScreen), what="the full entry")
        await pilot.press("c")
        await wait_for(lambda: app.clipboard != "", what="the copy")
        assert app.clipboard == " ".join(entry.args)
        assert "\n" not in app.clipboard


async def test_ctrl_c_says_how_to_quit_in_plain_words(tmp_path: Path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await pilot.press("ctrl+c")
        await wait_for(lambda: bool(toasts(app)), what="the toast")
        assert toasts(app) == ["Do you want to quit?\nPress q or ctrl+q to quit the app"]


async def test_an_empty_read_panel_names_the_release_without_raw_controls() -> None:
    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield ReadPanel("loading", id="deploys")

    app = One()
    async with app.run_test() as pilot:
        panel = app.query_one(ReadPanel)
        panel.show_lines(None, [], "no Helm revisions of in-midst\x1b[2J\u202emy-life")
        await pilot.pause()
        shown = str(panel.query_one(".read-body", Static).render())
    assert "\x1b" not in shown and "\u202e" not in shown
    assert shown.startswith("no Helm revisions of in-midst")
