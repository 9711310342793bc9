"""`?` shows every key of the screen the user is on (hidden ones too), once each, and the README's keys table
agrees with it; the dialogs show their own keys."""

from __future__ import annotations

import re

from textual.widgets import Static

from screens.checklist import ChecklistScreen, DriverChecklistScreen
from screens.help import HelpScreen
from screens.modals import NoteScreen, PickScreen, TextScreen
from screens.runbook_browser import RunbookBrowserScreen
from tests.helpers import REPO, make_app, mounted, wait_for
from tui.widgets.alerts import AlertsTable


def help_rows(app) -> list[tuple[str, str]]:
    """(keys, description) of each row the open help shows, as the user reads them."""
    assert isinstance(app.screen, HelpScreen)
    shown = app.screen.query_one("#help-keys", Static).render()
    rows = []
    for line in str(getattr(shown, "plain", shown)).splitlines():
        parts = re.split(r"\s{2,}", line.strip(), maxsplit=1)
        if len(parts) == 2:
            rows.append((parts[0], parts[1]))
    return rows


def keys_of(rows: list[tuple[str, str]]) -> dict[str, str]:
    """Each single key the help names ("j/↓" is j and ↓) → what it does."""
    found: dict[str, str] = {}
    for keys, description in rows:
        for key in [keys] if keys == "/" else keys.split("/"):
            found[key] = description
    return found


async def _dashboard(app, pilot) -> None:
    table = app.screen.query_one(AlertsTable)
    await wait_for(lambda: table.row_count > 0, what="the demo's alerts")


async def _help(app, pilot) -> list[tuple[str, str]]:
    below = app.screen
    await pilot.press("question_mark")
    await wait_for(lambda: isinstance(app.screen, HelpScreen), what="the help")
    assert app.screen.below is below
    return help_rows(app)


async def test_help_on_the_dashboard_lists_paging_tab_filter_and_sort_keys(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _dashboard(app, pilot)
        await pilot.press("p")  # the Pods tab, the focus in its table
        await pilot.pause()
        rows = await _help(app, pilot)
        keys = keys_of(rows)
        wanted = ("pagedown", "pageup", "home", "end", "tab", "shift+tab", "/", "s", "j", "k", "?", "ctrl+p")
        for key in wanted:
            assert key in keys, f"{key} not in the help: {rows}"
        assert keys["tab"] == "Next pane" and keys["shift+tab"] == "Previous pane"
        assert keys["ctrl+p"].startswith("Command palette")
        text = str(app.screen.query_one("#help-keys", Static).render())
        assert "This list" in text and "This screen" in text and "Everywhere" in text


async def test_help_names_each_key_once_and_each_action_in_one_row(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _dashboard(app, pilot)
        rows = await _help(app, pilot)
        named = [key for keys, _ in rows for key in ([keys] if keys == "/" else keys.split("/"))]
        assert len(named) == len(set(named)), rows
        assert ("1-7", "Tabs") in rows and ("pageup", "Page up") in rows  # keys of one action joined
        assert ("j", "Next alert") in rows and ("↓", "Cursor down") in rows  # ↓ is the list's, not twice
        assert not any(description.startswith("Tab ") for _, description in rows)  # not 2, 3 … 7 again
        assert "Quit" in dict((d, k) for k, d in rows) and sum(d == "Quit" for _, d in rows) == 1


async def test_help_scrolls_with_j_and_pagedown_when_it_is_long(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await _dashboard(app, pilot)
        await _help(app, pilot)
        scroll = app.screen.query_one("#help")
        assert scroll.max_scroll_y > 0  # longer than 24 lines: it has to scroll
        await pilot.press("j")
        await wait_for(lambda: scroll.scroll_y >= 1, what="j scrolls the help")
        await pilot.press("pagedown")
        await wait_for(lambda: scroll.scroll_y > 2, what="pagedown scrolls the help")
        await pilot.press("question_mark")
        await wait_for(lambda: not isinstance(app.screen, HelpScreen), what="? closes the help")


async def _open_checklist(app, pilot, alertname: str = "HighDatabaseConnections") -> ChecklistScreen:
    await _dashboard(app, pilot)
    table = app.screen.query_one(AlertsTable)
    table.focus()
    table.move_cursor(row=next(i for i, alert in enumerate(table.alerts) if alert.name == alertname))
    await pilot.press("enter")
    await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
    screen = app.screen
    await wait_for(lambda: len(screen.evidence) > 0, what="the first evidence")
    return screen  # type: ignore[return-value]


async def test_question_mark_on_the_evidence_view_lists_its_copy_and_close_keys(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _open_checklist(app, pilot)
        await pilot.press("enter")
        await wait_for(lambda: mounted(app.screen, TextScreen), what="the evidence in full")
        keys = keys_of(await _help(app, pilot))
        assert keys["c"] == "Copy" and keys["esc"] == "Close"
        assert keys["j"] == "Scroll down" and "pagedown" in keys
        assert "space" not in keys and "q" not in keys  # the checklist's and the app's keys don't work here
        await pilot.press("escape")
        await wait_for(lambda: mounted(app.screen, TextScreen), what="back on the evidence view")


async def test_the_note_and_pick_dialogs_show_their_own_keys(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _open_checklist(app, pilot)
        await pilot.press("n")
        await wait_for(lambda: isinstance(app.screen, NoteScreen), what="the note")
        await pilot.press("question_mark")  # a character of the note, not a key
        await pilot.pause()
        assert isinstance(app.screen, NoteScreen) and app.screen.query_one("Input").value == "?"
        await pilot.press("f1")
        await wait_for(lambda: isinstance(app.screen, HelpScreen), what="the note's keys")
        keys = keys_of(help_rows(app))
        assert keys["esc"] == "Cancel" and keys["enter"] == "Submit"
        await pilot.press("escape")
        await wait_for(lambda: isinstance(app.screen, NoteScreen), what="back on the note")
        await pilot.press("escape")
        await wait_for(lambda: isinstance(app.screen, DriverChecklistScreen), what="back on the checklist")

        picked: list[int | None] = []
        app.push_screen(PickScreen("Copy which command?", ["one", "two", "three"]), picked.append)
        await wait_for(lambda: isinstance(app.screen, PickScreen), what="the pick list")
        keys = keys_of(await _help(app, pilot))
        assert keys["1-9"] == "Pick by number" and keys["esc"] == "Cancel" and "?" in keys
        await pilot.press("escape", "2")
        await wait_for(lambda: picked == [1], what="2 picks the second item")


# -- the README's keys table says what `?` shows ---------------------------------------------------------

README_KEY = {"enter": "⏎", "esc": "esc", "space": "space", "1`–`7": "1-7"}


def readme_keys() -> list[tuple[str, list[str], str]]:
    """(where, keys, what) of each row of the README's keys table."""
    text = (REPO / "README.md").read_text()
    table = text.split("## Keys", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("where", "---"):
            continue
        where, keys, what = cells
        joined = keys.replace("`–`", "-")  # `1`–`7`
        rows.append((where, re.findall(r"`([^`]+)`", joined), what))
    return rows


def _agrees(where: str, key: str, what: str, help_keys: dict[str, str]) -> str | None:
    """Why the README row disagrees with the help ("" → None when it agrees)."""
    shown = help_keys.get(key) or (help_keys.get("⏎") if key == "enter" else None)
    if shown is None:
        return f"{where} `{key}` is not in ?: {sorted(help_keys)}"
    words = [w for w in re.findall(r"[a-z]+", shown.lower()) if len(w) >= 3]
    if not any(w in what.lower() for w in words):
        return f"{where} `{key}`: ? says {shown!r}, the README {what!r}"
    return None


# Textual's own keys the README names as "arrows" or leaves to the terminal: copy, and ctrl-scrolling
TEXTUAL_OWN = {"ctrl+c", "super+c", "↑", "↓", "←", "→"}
TEXTUAL_OWN |= {"ctrl+pageup", "ctrl+pagedown", "ctrl+home", "ctrl+end"}
# where each help screen's keys may be documented in the README
README_PLACES = {
    "dashboard": {"dashboard", "everywhere"},
    "a list": {"dashboard", "lists", "PostgreSQL", "everywhere"},
    "checklist": {"checklist", "everywhere"},
    "browser": {"browser", "everywhere"},
}


async def test_the_readme_keys_table_matches_the_help_of_each_screen(tmp_path):
    rows = readme_keys()
    places = {where for where, _, _ in rows}
    assert {"dashboard", "checklist", "browser", "lists"} <= places
    app = make_app(tmp_path, demo_alertmanager=True)  # as `oncall --demo` runs: `m` is offered
    problems: list[str] = []
    async with app.run_test(size=(160, 48)) as pilot:
        await _dashboard(app, pilot)
        on_screen = {"dashboard": keys_of(await _help(app, pilot))}
        await pilot.press("escape", "2")  # the PostgreSQL tab, the focus in its sessions
        await wait_for(lambda: app.focused is not None and app.focused.id == "pg-sessions", what="sessions")
        on_screen["a list"] = keys_of(await _help(app, pilot))
        await pilot.press("escape", "a")
        await _open_checklist(app, pilot, "HighApiLatency")  # its causes link sections: `o` works
        on_screen["checklist"] = keys_of(await _help(app, pilot))
        await pilot.press("escape", "escape")
        await wait_for(lambda: not isinstance(app.screen, (ChecklistScreen, HelpScreen)), what="dashboard")
        await pilot.press("b")
        await wait_for(lambda: isinstance(app.screen, RunbookBrowserScreen), what="the runbook browser")
        on_screen["browser"] = keys_of(await _help(app, pilot))
    # every README row is in ? where it says it works
    for where, keys, what in rows:
        wheres = [p.strip() for p in where.split(",")]
        screens = [s for s in on_screen if set(wheres) & README_PLACES[s] and s != "a list"]
        screens = list(on_screen) if wheres == ["everywhere"] else screens
        for screen in screens:
            for key in keys:
                problem = _agrees(screen, key, what, on_screen[screen])
                if problem:
                    problems.append(problem)
    # and every key ? shows is in the README, in a row for that screen
    for screen, shown in on_screen.items():
        documented = {
            key
            for where, keys, _ in rows
            if {p.strip() for p in where.split(",")} & README_PLACES[screen]
            for key in keys
        }
        for key, what in shown.items():
            readme_key = "enter" if key == "⏎" else key
            if key not in TEXTUAL_OWN and readme_key not in documented:
                problems.append(f"? on the {screen} shows `{key}` ({what}), the README's keys table does not")
    assert not problems, "\n".join(problems)


async def test_the_logs_offer_next_container_only_with_two_and_esc_clears_the_filter_first(tmp_path):
    from screens.logs import LogsScreen
    from screens.pod_detail import PodDetailScreen
    from tui.widgets.footer import KeyFooter

    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _dashboard(app, pilot)
        await wait_for(lambda: bool(app.pods), what="the demo's pods")
        pod = next(p for p in app.pods if len([c for c in p.containers if not c.init]) == 1)
        app.push_screen(PodDetailScreen(pod))
        await wait_for(lambda: isinstance(app.screen, PodDetailScreen), what="the pod detail")
        await pilot.press("l")
        await wait_for(lambda: isinstance(app.screen, LogsScreen), what="the logs")
        screen = app.screen
        await pilot.pause()
        footer = str(screen.query_one(KeyFooter).render())
        assert "Follow" in footer and "Next container" not in footer, footer
        await pilot.press("slash", *"zzz-no-such-line")
        await wait_for(lambda: screen.needle == "zzz-no-such-line", what="the filter")
        await pilot.press("escape")
        await wait_for(lambda: screen.needle == "", what="esc clears the filter")
        assert app.screen is screen
        await pilot.press("escape")
        await wait_for(lambda: isinstance(app.screen, PodDetailScreen), what="esc then leaves the logs")
