"""The checklist: one alert's triage steps with their state, commands, notes, causes and resolution.

`ChecklistScreen` only reads; `DriverChecklistScreen` adds the bindings that change the session, so an
observer's key map has no way to change anything (as k9s's --readonly drops its dangerous actions).
"""

from __future__ import annotations

import asyncio
from typing import Protocol, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from probes.base import Reading
from probes.format import clean, clipboard_text
from probes.prometheus import FiringAlert
from screens.contract import ConsoleScreen
from screens.evidence import (
    ROWS_OTHER,
    ROWS_SELECTED,
    evidence_text,
    full_evidence,
    stored_evidence,
)
from screens.modals import NoteScreen, PickScreen, TextScreen
from tui.sessions.store import IncidentSession, StepRecord, StepState
from tui.triage.causes import CauseFinding, judge_all
from tui.triage.plans import CausePlan, StepPlan, plans
from tui.triage.runbook import Section, SectionMatch
from tui.triage.runner import EVIDENCE_EVERY, Evidence, EvidenceRunner
from tui.widgets import styles
from tui.widgets.cause_list import CauseList
from tui.widgets.footer import KeyFooter
from tui.widgets.header import StatusHeader
from tui.widgets.render import (
    SEVERITY_STYLE,
    clock_time,
    progress,
    since,
    step_history_text,
    step_line,
    unmapped_text,
)


class StepHistoryReader(Protocol):
    """The app's read of a step's every change (its `Console` part for the history view)."""

    async def step_history(self, session: IncidentSession, index: int) -> list[StepRecord] | None: ...


class StepCard(Static):
    """One triage step: state, text, commands, who ticked it and its notes."""


class ChecklistScreen(ConsoleScreen[None]):
    NO_SESSION = "No session yet."
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("j", "next_step", "Next", key_display="j/↓"),
        # priority: the focused step list would scroll on ↓/↑ instead of moving the step the footer names
        Binding("down", "next_step", "Next", show=False, priority=True),
        Binding("k", "previous_step", "Previous", key_display="k/↑"),
        Binding("up", "previous_step", "Previous", show=False, priority=True),
        Binding("c", "copy_command", "Copy"),
        Binding("enter", "expand_evidence", "Full"),
        Binding("slash", "search", "Search", key_display="/", show=False),  # the step's evidence in full
        Binding("o", "open_link", "Open link"),
        Binding("b", "browse", "Runbook"),
        Binding("e", "export", "Export"),
        Binding("r", "reread", "Re-read"),
        Binding("h", "history", "History"),  # every change of the step, by every driver
    ]

    def __init__(
        self,
        alert: FiringAlert | None = None,
        *,
        follow: bool = False,
        section: Section | None = None,
        session: IncidentSession | None = None,
    ) -> None:
        super().__init__()
        self.alert = alert
        self.follow = follow  # observer: show whatever session the driver works on
        self.practice = section is not None  # from the runbook browser: no alert, no session, live evidence
        self.chosen = session  # picked by name in the palette: that session, whether its alert fires or not
        self.session: IncidentSession | None = None
        self.match: SectionMatch = SectionMatch(section, "browser", ())
        self.selected = 0
        self.plans: list[StepPlan] = []
        self.evidence: dict[int, tuple[Reading, ...]] = {}  # step index -> its readings, as last read
        self.cause_plans: tuple[CausePlan, ...] = ()
        self.cause_evidence: dict[int, Reading] = {}  # cause index -> the reading that bears on it
        self.findings: tuple[CauseFinding, ...] = ()  # each cause judged from that reading, ranked
        self._runner: EvidenceRunner | None = None

    @property
    def section(self) -> Section | None:
        return self.match.section

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="status")
        yield Static(id="checklist-title")
        with VerticalScroll(id="checklist"):
            yield Static(id="steps-empty")
            yield Vertical(id="steps")
            yield Static(id="session-notes")
            yield CauseList(id="causes")
        yield KeyFooter()

    def on_unmount(self) -> None:
        # the app's signal would hold the closed checklist (its steps, evidence and runner) until the next
        # session change: a checklist opened and closed again and again grew the process every time
        self.console.sessions_changed.unsubscribe(self)

    async def on_mount(self) -> None:
        self.console.sessions_changed.subscribe(self, self._on_session_changed)
        if self.alert is not None:
            await self.console.wait_runbook()  # opened during start-up: the screen stays live meanwhile
            self.match = self.console.section_for(self.alert)
            self.session = await self._load_session(self.alert)
        elif not self.practice:
            self._adopt(self.chosen or self.console.followed)
        self.selected = self._first_pending()  # resuming: where the work stopped
        await self._rebuild()
        runner = EvidenceRunner(
            self,
            lambda section: self.console.evidence_sources(self.alert, section),
            self.console.servers,
            self.console.runbook,
            lambda wake: self.console.wait_refresh("evidence", EVIDENCE_EVERY, wake),
        )
        self._runner = runner
        self.run_worker(runner.run(), group="evidence", exclusive=True, name="evidence")

    def show_evidence(self, evidence: Evidence) -> None:
        """A round of the runner's reads, for the section shown now: drawn under the steps and causes."""
        self.evidence = evidence.steps
        self.cause_plans = evidence.cause_plans
        self.cause_evidence = evidence.causes
        self.findings = judge_all(evidence.cause_plans, evidence.causes)  # re-judged with every round
        self._redraw()

    def action_reread(self) -> None:
        if self._runner is not None:
            self._runner.reread()
        self.notify("Reading the evidence again…", timeout=1)

    def evidence_of(self, index: int) -> str:
        """What the step's evidence shows now, as plain text: stored with a tick, shown in the export.

        A read that gave nothing is stored as a `NOT_READ` line saying why, never as if it were evidence."""
        return stored_evidence(self.evidence.get(index, ()))

    async def _load_session(self, alert: FiringAlert) -> IncidentSession | None:
        """The alert's session if one was started: opening a checklist starts none."""
        return await self.console.find_session(alert)

    def _first_pending(self) -> int:
        """The first step still pending in the session shown (0 without a session or when all are done)."""
        if self.session is None or self.section is None:
            return 0
        steps = range(len(self.section.steps))
        return next((i for i in steps if self.session.step_state(i) == "pending"), 0)

    def _adopt(self, session: IncidentSession | None) -> None:
        """Show `session` (observer follow): its section comes from the runbook by slug."""
        self.session = session
        section = self.console.section(session.section_slug) if session else None
        self.match = SectionMatch(section, "session", ())

    # -- drawing ---------------------------------------------------------------------------------

    def _title(self) -> Text:
        now = self.console.now
        text = Text()
        alert = self.alert
        name = alert.name if alert else (self.session.alertname if self.session else "")
        if self.practice and self.section:
            text.append(f"#{self.section.slug}", style=styles.LINK)
            text.append("   practice: no alert, nothing is saved; the evidence is live", style=styles.MUTED)
            if self.section.alert:
                text.append("\n")
                text.append(clean(self.section.alert), style=styles.ITALIC)
            return text
        if not name:
            return Text(
                "No incident session to follow yet: waiting for a driver to open one.", style=styles.WARNING
            )
        text.append(clean(name), style="bold")
        if alert:
            firing = alert.state == "firing"
            text.append(
                "  FIRING" if firing else "  pending", style=styles.FIRING if firing else styles.WARNING
            )
            if alert.severity:
                text.append(f" {clean(alert.severity)}", style=SEVERITY_STYLE.get(alert.severity, ""))
            text.append(f"  since {since(alert.active_at, now)}")
        if self.section:
            text.append(f"   #{self.section.slug}", style=styles.LINK)
            text.append("   ")
            text.append_text(progress(self.section, self.session))
        if self.section and self.section.alert:
            text.append("\n")
            text.append(clean(self.section.alert), style=styles.ITALIC)
        text.append("\n")
        if self.session:
            text.append(
                f"Session #{self.session.id} opened {clock_time(self.session.opened_at)} by ",
                style=styles.MUTED,
            )
            text.append(clean(self.session.opened_by), style=styles.MUTED_BOLD)
            if self.session.resolved_at:
                text.append(f"  resolved {clock_time(self.session.resolved_at)}", style=styles.OK)
        else:
            text.append(self.NO_SESSION, style=styles.MUTED)
        return text

    def _step_text(self, index: int) -> Text:
        assert self.section is not None
        step = self.section.steps[index]
        session = self.session
        text = step_line(step, session.step_state(index) if session else "pending")
        for command in step.commands:
            if f"`{command}`" in step.text:
                continue  # shown once, in the step's own words
            text.append("\n    $ ", style=styles.MUTED)
            text.append(clean(command), style=styles.CODE)
        record = session.steps.get(index) if session else None
        if record and record.state != "pending":
            text.append(f"\n    {record.state} by ", style=styles.MUTED)
            text.append(clean(record.who), style=styles.MUTED_BOLD)
            text.append(f" at {clock_time(record.at)}", style=styles.MUTED)
        if index < len(self.plans):
            rows = ROWS_SELECTED if index == self.selected else ROWS_OTHER
            text.append_text(
                evidence_text(self.plans[index], self.evidence.get(index), self.console.now, rows=rows)
            )
        for note in session.notes if session else ():
            if note.step_index == index:
                text.append("\n    ✎ ", style="bold")
                text.append(clean(note.text, single_line=False))
                text.append(f"  — {clean(note.who)} {clock_time(note.at)}", style=styles.MUTED)
        return text

    @property
    def shown(self) -> bool:
        """Still on the stack with its widgets: a write or a read that lands after esc is not drawn."""
        return self.is_attached and bool(self.query("#checklist-title"))

    async def _rebuild(self) -> None:
        found, empties = self.query("#steps").results(Vertical), self.query("#steps-empty").results(Static)
        steps, empty = next(found, None), next(empties, None)
        if not self.shown or steps is None or empty is None:  # mounting or leaving: nothing to draw into
            return
        await steps.remove_children()
        section = self.section
        if section is None:
            name = self.alert.name if self.alert else (self.session.alertname if self.session else "")
            if self.alert is not None or self.session is not None:
                empty.update(unmapped_text(name, self.match))
            else:
                empty.update(Text("Nothing to show yet.", style=styles.MUTED))
            empty.display = True
        else:
            # said only where it is true: a section with steps has nothing here, shown or hidden
            empty.display = not section.steps
            empty.update(
                Text("This section has no triage steps.", style=styles.MUTED) if empty.display else ""
            )
            self.selected = min(self.selected, max(0, len(section.steps) - 1))
            self.plans = list(plans(section, self.console.servers))
            await steps.mount_all(
                StepCard(self._step_text(i), classes="step") for i in range(len(section.steps))
            )
        self._redraw()

    def _redraw(self) -> None:
        if not self.shown:
            return
        self.query_one("#checklist-title", Static).update(self._title())
        for index, card in enumerate(self.query(StepCard)):
            card.update(self._step_text(index))
            card.set_class(index == self.selected, "-selected")
        notes = self.session.notes if self.session else ()
        general = [n for n in notes if n.step_index is None]
        notes_text = Text()
        if general:
            notes_text.append("Notes\n", style=styles.HEADING)
            for note in general:
                notes_text.append("✎ ")
                notes_text.append(clean(note.text, single_line=False))
                notes_text.append(f"  — {clean(note.who)} {clock_time(note.at)}\n", style=styles.MUTED)
        notes_widget = self.query_one("#session-notes", Static)
        notes_widget.update(notes_text)
        notes_widget.display = bool(general)
        self.query_one(CauseList).show_section(self.section, self._judged(), self.console.now)
        cards = list(self.query(StepCard))
        if cards:
            cards[self.selected].scroll_visible(animate=False)
        self.refresh_bindings()  # the keys offered follow the step, the session and the section shown

    def _judged(self) -> list[tuple[CauseFinding, CausePlan, Reading | None]]:
        """Each cause's finding with its plan and reading, best-supported first (empty before a round)."""
        plans_by_cause = {id(plan.cause): (i, plan) for i, plan in enumerate(self.cause_plans)}
        judged = []
        for finding in self.findings:
            index, plan = plans_by_cause[id(finding.cause)]
            judged.append((finding, plan, self.cause_evidence.get(index)))
        return judged

    async def _on_session_changed(self, session: IncidentSession | None) -> None:
        if self.follow:
            before = self.session.id if self.session else None
            self._adopt(self.console.followed)
            if (self.session.id if self.session else None) != before:
                self.selected = 0
                await self._rebuild()
                return
        elif session is not None and self.session is not None and session.id == self.session.id:
            self.session = session
        elif self.session is None and self.alert is not None:
            alert = self.alert
            if session is not None and (session.fingerprint, session.active_at) == (
                alert.fingerprint,
                alert.active_at,
            ):
                self.session = session  # another driver started this alert's session
            else:
                self.session = await self._load_session(alert)
        self._redraw()

    # -- reading actions (observer and driver) ---------------------------------------------------------

    @property
    def has_steps(self) -> bool:
        return bool(self.section and self.section.steps)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Which keys are offered (footer, help, palette): False hides a key that can do nothing on this
        checklist; None greys one that can later (the selected step has none, no session started yet)."""
        if action in ("next_step", "previous_step", "search"):
            return self.has_steps
        if action in ("copy_command", "expand_evidence"):
            if not self.has_steps:
                return False
            steps = self.section.steps if self.section else ()
            index = min(self.selected, len(steps) - 1)
            if action == "copy_command":
                return bool(steps[index].commands) or None
            plan = self.plans[index] if index < len(self.plans) else None
            return bool(plan and plan.reads) or None
        if action == "reread":
            return self.section is not None
        if action == "open_link":
            return bool(self._links())
        if action == "browse":
            return self.console.runbook is not None
        if action == "export":
            return False if self.practice else (self.session is not None or None)
        if action == "history":
            return False if self.practice or not self.has_steps else (self.session is not None or None)
        return True

    def action_back(self) -> None:
        self.app.pop_screen()

    def _move(self, delta: int) -> None:
        count = len(self.section.steps) if self.section else 0
        if count:
            self.selected = max(0, min(count - 1, self.selected + delta))
            self._redraw()

    def action_next_step(self) -> None:
        self._move(1)

    def action_previous_step(self) -> None:
        self._move(-1)

    def _copy(self, command: str) -> None:
        self.app.copy_to_clipboard(command)
        # the toast shows exactly what the paste will give
        self.notify(clipboard_text(command), title="Copied to the clipboard", timeout=4)

    def action_copy_command(self) -> None:
        if not self.section or not self.section.steps:
            return
        commands = list(self.section.steps[self.selected].commands)
        if not commands:
            self.notify("This step has no command to copy: it is a manual step.", severity="warning")
        elif len(commands) == 1:
            self._copy(commands[0])
        else:
            self.app.push_screen(
                PickScreen("Copy which command?", commands),
                lambda index: self._copy(commands[index]) if index is not None else None,
            )

    def action_expand_evidence(self) -> None:
        """The selected step's readings in full, where `c` copies them."""
        if not self.section or not self.section.steps:
            return
        index = self.selected
        plan = self.plans[index] if index < len(self.plans) else None
        readings = self.evidence.get(index)
        if plan is None or not plan.reads:
            self.notify("This step has no live evidence: it is checked by hand.", severity="warning")
            return
        if readings is None:
            self.notify("Still reading this step's evidence…", timeout=2)
            return
        title = f"Step {self.section.steps[index].number}: its evidence in full"
        self.app.push_screen(TextScreen(title, full_evidence(plan, readings), lines=True))

    def action_search(self) -> None:
        """`/`: the next step (after the selected one, wrapping) whose words or commands hold the text."""
        if not self.section or not self.section.steps:
            return
        self.app.push_screen(NoteScreen("Search the steps"), self._find)

    def _find(self, query: str | None) -> None:
        if not query or self.section is None:
            return
        steps = self.section.steps
        wanted = query.strip().casefold()
        order = [(self.selected + 1 + i) % len(steps) for i in range(len(steps))]
        found = next(
            (i for i in order if wanted in " ".join((steps[i].text, *steps[i].commands)).casefold()), None
        )
        if found is None:
            self.notify(f"No step matches {clean(query)!r}.", severity="warning")
            return
        self.selected = found
        self._redraw()

    def _links(self) -> list[str]:
        if self.section is None:
            return list(self.match.nearest)
        links: list[str] = []
        for cause in self.section.causes:
            links.extend(link for link in cause.links if link not in links)
        links.extend(link for link in self.section.resolution_links if link not in links)
        return links

    def action_open_link(self) -> None:
        from screens.runbook_browser import RunbookBrowserScreen

        links = self._links()
        if not links:
            self.notify("No linked section here.", severity="warning")
            return

        def open_section(index: int | None) -> None:
            if index is not None:
                self.app.push_screen(RunbookBrowserScreen(links[index]))

        if len(links) == 1:
            open_section(0)
        else:
            self.app.push_screen(
                PickScreen("Open which section?", [f"#{link}" for link in links]), open_section
            )

    def action_browse(self) -> None:
        """`b`: the runbook browser at this section (or the nearest one, where none matched)."""
        from screens.runbook_browser import RunbookBrowserScreen

        nearest = self.match.nearest[0] if self.match.nearest else None
        self.app.push_screen(RunbookBrowserScreen(self.section.slug if self.section else nearest))

    @work(group="history", exclusive=True)
    async def action_history(self) -> None:
        """`h`: the selected step's every change, oldest first: who, from where, when, to what state."""
        if self.practice or not self.section or not self.section.steps:
            return
        if self.session is None:
            self.notify("No session yet: nothing has changed on this checklist.", severity="warning")
            return
        index = self.selected
        step = self.section.steps[index]
        records = await cast("StepHistoryReader", self.app).step_history(self.session, index)
        if records is None or not self.shown:  # the app said why; or the checklist was left meanwhile
            return
        title = f"Step {step.number}: every change"
        self.app.push_screen(TextScreen(title, step_history_text(records), lines=True))

    @work(group="export")
    async def action_export(self) -> None:
        if self.session is None:
            self.notify("No session to export yet.", severity="warning")
            return
        path = await self.console.export_session(self.session)
        if path:
            self.notify(str(path), title="Timeline exported", timeout=8)


class DriverChecklistScreen(ChecklistScreen):
    """The checklist for whoever drives the incident: ticks, skips and notes are written to the store."""

    BINDINGS = [
        Binding("space", "toggle_done", "Done"),
        Binding("s", "toggle_skipped", "Skip"),
        Binding("n", "note", "Note"),
    ]

    def __init__(
        self,
        alert: FiringAlert | None = None,
        *,
        follow: bool = False,
        session: IncidentSession | None = None,
    ) -> None:
        super().__init__(alert, follow=follow, session=session)
        self._writes = asyncio.Lock()  # keys pressed quickly are written in the order pressed

    NO_SESSION = "No session yet: the first tick, skip or note starts one."

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("toggle_done", "toggle_skipped"):
            return self.has_steps and (self.alert is not None or self.session is not None)
        if action == "note":
            return self.alert is not None or self.session is not None
        return super().check_action(action, parameters)

    async def _started(self) -> IncidentSession | None:
        """The session, started by the first change (a tick, a skip, a note) if there is none yet."""
        if self.session is None and self.alert is not None:
            self.session = await self.console.open_session(self.alert)
            self._redraw()
        return self.session

    async def _set(self, target: StepState) -> None:
        if not self.section or not self.section.steps:
            return
        # shielded: a tick pressed just before esc is still written after the screen (and its worker) is gone
        await asyncio.shield(self._write_step(self.selected, target))

    async def _write_step(self, index: int, target: StepState) -> None:
        async with self._writes:
            if await self._started() is None:
                self.notify("No session: nothing is being saved.", severity="error")
                return
            assert self.session is not None
            state: StepState = "pending" if self.session.step_state(index) == target else target
            evidence = self.evidence_of(index) if state != "pending" else ""
            updated = await self.console.set_step(self.session, index, state, evidence=evidence)
            if updated:
                self.session = updated  # shown only once committed
                self._redraw()

    @work(group="write")
    async def action_toggle_done(self) -> None:
        await self._set("done")

    @work(group="write")
    async def action_toggle_skipped(self) -> None:
        await self._set("skipped")

    def action_note(self) -> None:
        if self.session is None and self.alert is None:
            self.notify("No session: nothing is being saved.", severity="error")
            return
        step = self.selected if self.section and self.section.steps else None
        title = f"Note on step {step + 1}" if step is not None else "Note on this incident"

        def save(text: str | None) -> None:
            self._save_note(text, step)  # a worker: the note is written in the background

        self.app.push_screen(NoteScreen(title), save)

    @work(group="write")
    async def _save_note(self, text: str | None, step: int | None) -> None:
        if not text:
            return
        async with self._writes:
            if await self._started() is None:
                self.notify("No session: the note is not saved.", severity="error")
                return
            assert self.session is not None
            updated = await self.console.add_note(self.session, text, step)
            if updated:
                self.session = updated
                self._redraw()


def checklist_screen(
    observer: bool,
    *,
    alert: FiringAlert | None = None,
    follow: bool = False,
    session: IncidentSession | None = None,
) -> ChecklistScreen:
    """The read-only checklist for an observer, the writing one for the driver; `session`: that one."""
    cls = ChecklistScreen if observer else DriverChecklistScreen
    return cls(alert, follow=follow, session=session)
