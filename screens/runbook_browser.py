"""The runbook browser: every section, usable with no alert firing (practice, game days)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from probes.format import clean
from screens.contract import ConsoleScreen
from tui.widgets import styles
from tui.widgets.header import StatusHeader
from tui.widgets.render import section_text


class RunbookBrowserScreen(ConsoleScreen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("j", "down", "Next section", key_display="j/↓"),
        Binding("k", "up", "Previous section", key_display="k/↑"),
        Binding("o", "open_link", "Open linked section"),
        Binding("enter", "practice", "Live checklist"),
    ]

    def __init__(self, slug: str | None = None) -> None:
        super().__init__()
        self.initial = slug

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="status")
        with Horizontal(id="browser"):
            yield OptionList(id="sections")
            with VerticalScroll(id="section-view"):
                yield Static(id="section-body")
        yield Footer()

    def on_mount(self) -> None:
        runbook = self.console.runbook
        sections = runbook.sections if runbook else ()
        options = self.query_one("#sections", OptionList)
        options.border_title = f"Runbook · {len(sections)} sections"
        options.add_options(Option(Text(clean(s.slug)), id=s.slug) for s in sections)
        index = next((i for i, s in enumerate(sections) if s.slug == self.initial), 0)
        if sections:
            options.highlighted = index
            self._show(index)
        options.focus()

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show(event.option_index)

    def _show(self, index: int) -> None:
        runbook = self.console.runbook
        if runbook is None or not (0 <= index < len(runbook.sections)):
            return
        section = runbook.sections[index]
        text = Text()
        text.append(f"#{section.slug}\n", style=styles.LINK)
        text.append_text(section_text(section))
        self.query_one("#section-body", Static).update(text)
        self.query_one("#section-view", VerticalScroll).scroll_home(animate=False)

    def action_practice(self) -> None:
        """The highlighted section's checklist with its live evidence, read-only: a game day, a dry run."""
        from screens.checklist import ChecklistScreen

        runbook = self.console.runbook
        highlighted = self.query_one(OptionList).highlighted
        if runbook is None or highlighted is None:
            return
        self.app.push_screen(ChecklistScreen(section=runbook.sections[highlighted]))

    @on(OptionList.OptionSelected)
    def _selected(self) -> None:
        self.action_practice()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def action_open_link(self) -> None:
        runbook = self.console.runbook
        options = self.query_one(OptionList)
        if runbook is None or options.highlighted is None:
            return
        links = [link for cause in runbook.sections[options.highlighted].causes for link in cause.links]
        target = next((i for i, s in enumerate(runbook.sections) if links and s.slug == links[0]), None)
        if target is None:
            self.notify(
                "No linked section here." if not links else f"#{links[0]} is not in this runbook.",
                severity="warning",
            )
            return
        options.highlighted = target
