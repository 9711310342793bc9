"""The command palette (ctrl+p): the screen's actions once each, and jumps by name to a runbook section, a
pod or an incident session. Names come from servers and the store: shown as plain text, never markup."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Protocol, cast, runtime_checkable

from textual.app import App, SystemCommand
from textual.command import CommandList, CommandPalette, Hit, Hits, Matcher, Provider
from textual.content import Content
from textual.markup import escape
from textual.screen import Screen

from probes.format import clean
from tui.widgets.bindings import shown_bindings

if TYPE_CHECKING:
    from screens.contract import Console
    from tui.sessions.backend import Store
    from tui.sessions.store import IncidentSession

# Textual's system commands that repeat one of ours under another name: its "Keys" is our Help
SAME_AS_OURS = {"Keys": "help"}
SESSIONS_LISTED = 50


def palette_commands(
    app: App[object], screen: Screen, textual_commands: Iterable[SystemCommand]
) -> Iterator[SystemCommand]:
    """The screen's actions (the footer's bindings), then Textual's own commands that none of them repeats."""
    titles: set[str] = set()
    actions: set[str] = set()
    for active in shown_bindings(screen):
        binding = active.binding
        if binding.description in titles or not active.enabled:  # greyed: nothing to run yet
            continue
        titles.add(binding.description)
        actions.add(binding.action.removeprefix("app."))
        yield SystemCommand(
            binding.description,
            f"{binding.tooltip or binding.description} (key: {binding.key_display or binding.key})",
            lambda action=binding.action, node=active.node: app.run_action(action, node),
        )
    for command in textual_commands:
        if command.title in titles or SAME_AS_OURS.get(command.title) in actions:
            continue
        titles.add(command.title)
        yield command


def _plain(matcher: Matcher, candidate: str) -> Content:
    """`candidate` with the typed letters highlighted, as text: Textual's own highlight reads markup."""
    content = Content(candidate)
    score, offsets = matcher.fuzzy_search.match(matcher.query, candidate)
    if score and matcher.match_style is not None:
        for offset in offsets:
            if not candidate[offset].isspace():
                content = content.stylize(matcher.match_style, offset, offset + 1)
    return content


class _JumpProvider(Provider):
    """Names to jump to: `targets()` gives (title, help, open) for each."""

    @property
    def console(self) -> Console:
        return cast("Console", self.app)

    async def targets(self) -> list[tuple[str, str, Callable[[], object]]]:
        raise NotImplementedError

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, command in await self.targets():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, _plain(matcher, title), command, text=title, help=escape(help_text))

    async def discover(self) -> Hits:
        return
        yield  # no names until something is typed: the list opens with the screen's actions


class SectionJumps(_JumpProvider):
    """A runbook section by title or slug: the runbook browser opens at it."""

    async def targets(self) -> list[tuple[str, str, Callable[[], object]]]:
        from screens.runbook_browser import RunbookBrowserScreen

        runbook = self.console.runbook
        found: list[tuple[str, str, Callable[[], object]]] = []
        for section in runbook.sections if runbook else ():
            title = f"Runbook: {clean(section.title)}"
            if section.title != section.slug:
                title += f" #{clean(section.slug)}"

            def open_section(slug: str = section.slug) -> None:
                self.app.push_screen(RunbookBrowserScreen(slug))

            found.append((title, "open this section in the runbook browser", open_section))
        return found


class PodJumps(_JumpProvider):
    """A pod by name: its detail screen opens."""

    async def targets(self) -> list[tuple[str, str, Callable[[], object]]]:
        from probes.kubernetes import PodRow
        from screens.pod_detail import PodDetailScreen

        found: list[tuple[str, str, Callable[[], object]]] = []
        for pod in self.console.pods:

            def open_pod(pod: PodRow = pod) -> None:
                self.app.push_screen(PodDetailScreen(pod))

            status = f"{clean(pod.namespace)} · {clean(pod.status)} · ready {clean(pod.ready)}"
            found.append((f"Pod: {clean(pod.name)}", status, open_pod))
        return found


@runtime_checkable
class SessionKeeper(Protocol):
    """An app with a session store (read-only for an observer)."""

    store: Store | None
    observer: bool


class SessionJumps(_JumpProvider):
    """A session by its number, alert or summary: its checklist opens (read-only for an observer)."""

    async def startup(self) -> None:
        self._sessions: list[IncidentSession] = []
        app = self.app
        if isinstance(app, SessionKeeper) and app.store is not None:
            with contextlib.suppress(Exception):  # a store that can't be read lists no session
                self._sessions = await asyncio.to_thread(app.store.sessions, SESSIONS_LISTED)

    async def targets(self) -> list[tuple[str, str, Callable[[], object]]]:
        from screens.checklist import checklist_screen

        app = self.app
        observer = not isinstance(app, SessionKeeper) or app.observer
        found: list[tuple[str, str, Callable[[], object]]] = []
        for session in self._sessions:

            def open_session(session: IncidentSession = session) -> None:
                self.app.push_screen(checklist_screen(observer, session=session))

            state = "resolved" if session.resolved_at else "open"
            title = f"Session #{session.id}: {clean(session.alertname)}"
            summary = clean(session.summary) or "no summary"
            found.append((title, f"{state} · {summary} · opened by {clean(session.opened_by)}", open_session))
        return found


JUMPS: tuple[type[Provider], ...] = (SectionJumps, PodJumps, SessionJumps)


class Palette(CommandPalette):
    """ctrl+p: the app's commands (the same bindings as the footer and the help) and the jumps by name."""

    @property
    def _provider_classes(self) -> set[type[Provider]]:
        providers = super()._provider_classes
        if self._supplied_providers is None and providers:  # the full palette, not a theme or list search
            providers |= set(JUMPS)
        return providers

    # A search still running when the palette closes (ctrl+p, then esc at once) ends by setting these flags;
    # their watchers look for the list, gone by then: NoMatches, and the app fell over on a key.
    def _watch__list_visible(self) -> None:
        if self.query(CommandList):
            super()._watch__list_visible()

    async def _watch__show_busy(self) -> None:
        if self.query(CommandList):
            await super()._watch__show_busy()

    def _action_command_list(self, action: str) -> None:
        # Textual 8.2's OptionList pages by lines it computes when laid out: before that, KeyError
        with contextlib.suppress(KeyError):
            super()._action_command_list(action)
