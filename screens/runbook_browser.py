"""The runbook browser: every section, usable with no alert firing (practice, game days); `/` filters them."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from probes.format import clean
from screens.contract import ConsoleScreen
from tui.triage.runbook import Section
from tui.widgets import styles
from tui.widgets.bindings import focus_now, typing
from tui.widgets.footer import KeyFooter
from tui.widgets.header import StatusHeader
from tui.widgets.render import section_text


class SectionList(OptionList):
    """The sections; enter opens the highlighted one's live checklist: its own key, so the footer shows it."""

    BINDINGS = [Binding("enter", "select", "Live checklist")]


class SectionColumn(Vertical):
    DEFAULT_CSS = """
    SectionColumn { width: 34; height: 1fr; }
    SectionColumn > SectionList { height: 1fr; }
    SectionColumn > Input { display: none; }
    SectionColumn.-filtering > Input { display: block; }
    """


def matches(section: Section, wanted: str) -> bool:
    """Whether a section's title or slug holds the filter's text (any case)."""
    return wanted in section.title.casefold() or wanted in section.slug.casefold()


class RunbookBrowserScreen(ConsoleScreen[None]):
    # the sections have the focus from the first frame: Textual's default (the first focusable widget) could
    # pick the filter box before its style hid it, and j typed right after b became a filter
    AUTO_FOCUS = "#sections"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("j", "down", "Next section", key_display="j/↓"),
        Binding("k", "up", "Previous section", key_display="k/↑"),
        # priority: the letters typed right after it are routed once it has moved the focus to the box
        Binding("slash", "filter", "Filter", key_display="/", priority=True),
        Binding("o", "open_link", "Open linked section"),
        Binding("enter", "practice", "Live checklist"),
    ]

    def __init__(self, slug: str | None = None) -> None:
        super().__init__()
        self.initial = slug

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="status")
        with Horizontal(id="browser"):
            with SectionColumn(id="section-column"):
                yield Input(placeholder="filter: title or slug", id="section-filter")
                yield SectionList(id="sections")
            with VerticalScroll(id="section-view"):
                yield Static(id="section-body")
        yield KeyFooter()

    @property
    def _sections(self) -> tuple[Section, ...]:
        runbook = self.console.runbook
        return runbook.sections if runbook else ()

    def on_mount(self) -> None:
        self._list(self.initial)
        self.query_one(SectionList).focus()

    def _list(self, slug: str | None) -> None:
        """The sections the filter keeps, highlighting `slug` if it is one of them (else the first)."""
        wanted = self.query_one("#section-filter", Input).value.strip().casefold()
        shown = [s for s in self._sections if matches(s, wanted)]
        options = self.query_one(SectionList)
        options.clear_options()
        total = len(self._sections)
        options.border_title = (
            f"Runbook · {len(shown)} of {total} sections" if wanted else f"Runbook · {total} sections"
        )
        options.add_options(Option(Text(clean(s.slug)), id=s.slug) for s in shown)
        index = next((i for i, s in enumerate(shown) if s.slug == slug), 0)
        if shown:
            options.highlighted = index
            self._show(shown[index].slug)
        else:
            why = "No section matches the filter." if self._sections else self._no_runbook()
            self.query_one("#section-body", Static).update(Text(why, style=styles.MUTED))

    def _no_runbook(self) -> str:
        error = self.console.runbook_error
        return f"No runbook: {clean(error)}" if error else "No runbook is loaded."

    def _highlighted(self) -> Section | None:
        options = self.query_one(SectionList)
        if options.highlighted is None or options.option_count == 0:
            return None
        slug = options.get_option_at_index(options.highlighted).id
        return next((s for s in self._sections if s.slug == slug), None)

    @on(OptionList.OptionHighlighted)
    def _on_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None:
            self._show(event.option.id)

    def _show(self, slug: str) -> None:
        section = next((s for s in self._sections if s.slug == slug), None)
        if section is None:
            return
        text = Text()
        text.append(f"#{section.slug}\n", style=styles.LINK)
        text.append_text(section_text(section))
        self.query_one("#section-body", Static).update(text)
        self.query_one("#section-view", VerticalScroll).scroll_home(animate=False)

    # -- the filter ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "filter" and typing(self))  # a `/` typed in the filter is part of it

    def action_filter(self) -> None:
        self.query_one(SectionColumn).add_class("-filtering")
        focus_now(self.query_one("#section-filter", Input))  # the letters typed right after `/` land in it

    @on(Input.Changed, "#section-filter")
    def _filter_changed(self) -> None:
        section = self._highlighted()
        self._list(section.slug if section else None)

    @on(Input.Submitted, "#section-filter")
    def _filter_applied(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value.strip():
            self._clear_filter()
        focus_now(self.query_one(SectionList))

    def _clear_filter(self) -> None:
        section = self._highlighted()
        self.query_one("#section-filter", Input).value = ""
        self.query_one(SectionColumn).remove_class("-filtering")
        self._list(section.slug if section else None)
        self.query_one(SectionList).focus()

    # -- actions ---------------------------------------------------------------------------------

    def action_practice(self) -> None:
        """The highlighted section's checklist with its live evidence, read-only: a game day, a dry run."""
        from screens.checklist import ChecklistScreen

        section = self._highlighted()
        if section is not None:
            self.app.push_screen(ChecklistScreen(section=section))

    @on(OptionList.OptionSelected)
    def _selected(self) -> None:
        self.action_practice()

    def action_back(self) -> None:
        """esc: out of the filter (cleared) first, then out of the browser."""
        if self.query_one(SectionColumn).has_class("-filtering"):
            self._clear_filter()
            return
        self.app.pop_screen()

    def action_down(self) -> None:
        self.query_one(SectionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one(SectionList).action_cursor_up()

    def action_open_link(self) -> None:
        section = self._highlighted()
        if section is None:
            return
        links = [link for cause in section.causes for link in cause.links]
        target = next((s for s in self._sections if links and s.slug == links[0]), None)
        if target is None:
            self.notify(
                "No linked section here." if not links else f"#{links[0]} is not in this runbook.",
                severity="warning",
            )
            return
        if not matches(target, self.query_one("#section-filter", Input).value.strip().casefold()):
            self.query_one("#section-filter", Input).value = ""
            self.query_one(SectionColumn).remove_class("-filtering")
        self._list(target.slug)
