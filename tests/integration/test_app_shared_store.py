"""Two drivers and an observer on one shared PostgreSQL session store, as a team runs `oncall`: a change by
one driver shows on the other's checklist with "also driven by", both changes stay in the step's history,
an observer follows by NOTIFY, and a PostgreSQL outage shows "not yet shared" until the server is back."""

from __future__ import annotations

import asyncio
import socket
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from probes.base import Secret
from screens.checklist import ChecklistScreen
from screens.modals import TextScreen
from tests.helpers import mounted, screen_text, wait_for
from tests.integration.test_store_backends import fresh_database
from tests.labs.postgres import PgLab
from tests.ui.test_two_drivers import _header, _open_first_checklist
from tui.app import OncallApp
from tui.config.settings import KubernetesSettings, PrometheusSettings, Settings, StoreSettings
from tui.sessions.backend import open_store
from tui.widgets.dialogs import TextView

# The budgets: 500 ms (driver) and 200 ms (observer). Here two apps share one process and event
# loop on a busy 2-core box: a render elsewhere can stall the loop for a second (traced: the NOTIFY arrives
# in ~40 ms, the reload waits on the loop), so the budgets are asserted on the median of many changes and
# loosely on the worst; the numbers are printed. The separate-process benchmark gives p50/p95.
DRIVER_BUDGET = 0.5
OBSERVER_MEDIAN = 0.2  # a follower polling every 0.5 s would miss it
STALL = 3.0  # no change may take this long: a missed push would wait for the next one, forever
SIZE = (160, 48)


def _app(tmp_path: Path, name: str, url: str, user: str, *, observe: str | None = None) -> OncallApp:
    """The demo's alerts, with the team's shared store; `name`.db is this laptop's own queue file."""
    settings = Settings(
        profile="test",
        prometheus=PrometheusSettings(refresh=0.2),
        kubernetes=KubernetesSettings(kubeconfig=tmp_path / "no-kubeconfig", refresh=0.5),
        store=StoreSettings(path=tmp_path / f"{name}.db", url=Secret(url)),
        user=user,
    )
    # real clocks: the store orders changes by when they were made, as on laptops kept in time by NTP
    return OncallApp(settings, demo=True, observe=observe, tick=False)


async def _push_latency(
    pilot, key: str, committed: Callable[[], bool], seen: Callable[[], bool], what: str
) -> float:
    """Press `key` in one app; seconds from its change showing there (it shows once committed) to
    `seen()` in the other, both looked at every 2 ms."""
    loop = asyncio.get_running_loop()
    press = asyncio.create_task(pilot.press(key))
    committed_at: float | None = None
    seen_at: float | None = None
    deadline = loop.time() + 10
    while committed_at is None or seen_at is None:
        now = loop.time()
        committed_at = now if committed_at is None and committed() else committed_at
        seen_at = now if seen_at is None and seen() else seen_at
        assert now < deadline, f"timed out waiting for {what} (shown where it was made: {committed()})"
        await asyncio.sleep(0.002)
    await press
    return max(0.0, seen_at - committed_at)


def _history(app: OncallApp) -> list[str]:
    assert isinstance(app.screen, TextScreen)
    return [line for line in app.screen.query_one(TextView).text.splitlines() if " by " in line]


async def test_two_drivers_see_each_others_changes_with_a_warning_and_both_stay_in_the_history(
    pg_server: PgLab, tmp_path: Path
) -> None:
    url = fresh_database(pg_server)
    alice = _app(tmp_path, "alice", url, "alice@bastion")
    bob = _app(tmp_path, "bob", url, "bob@laptop")
    async with alice.run_test(size=SIZE) as apilot, bob.run_test(size=SIZE) as bpilot:
        assert alice.store is not None and alice.store.location.startswith("postgresql://")
        alices = await _open_first_checklist(alice, apilot)
        bobs = await _open_first_checklist(bob, bpilot)
        assert bobs.session is None and "also driven by" not in _header(bob)
        seen = await _push_latency(  # alice ticks step 1: the session starts, in PostgreSQL
            apilot,
            "space",
            lambda: alices.session is not None and alices.session.step_state(0) == "done",
            lambda: (
                bobs.session is not None
                and bobs.session.step_state(0) == "done"
                and "also driven by alice@bastion" in _header(bob)
            ),
            "bob's checklist to show alice's tick and warn",
        )
        assert "done by alice@bastion" in screen_text(bob)
        assert seen < STALL
        assert "also driven by" not in _header(alice)

        seen = await _push_latency(  # bob skips the step alice ticked: the later change is the one shown
            bpilot,
            "s",
            lambda: bobs.session is not None and bobs.session.step_state(0) == "skipped",
            lambda: (
                alices.session is not None
                and alices.session.step_state(0) == "skipped"
                and "also driven by bob@laptop" in _header(alice)
            ),
            "alice's checklist to show bob's skip and warn",
        )
        assert "skipped by bob@laptop" in screen_text(alice)
        assert seen < STALL

        latencies = [seen]
        steps = len(alices.section.steps) if alices.section else 0
        assert steps >= 3
        for index in range(1, steps):  # each driver in turn ticks a step, or takes its tick back
            for pilot, mine, theirs, other, name in (
                (apilot, alices, bobs, bob, "alice@bastion"),
                (bpilot, bobs, alices, alice, "bob@laptop"),
            ):
                assert mine.session is not None
                state = "pending" if mine.session.step_state(index) == "done" else "done"
                mine.selected = index
                latencies.append(
                    await _push_latency(
                        pilot,
                        "space",
                        lambda m=mine, i=index, s=state: m.session.step_state(i) == s,
                        lambda t=theirs, o=other, i=index, s=state, n=name: (
                            t.session.step_state(i) == s and f"also driven by {n}" in _header(o)
                        ),
                        f"{name}'s step {index + 1} {state} on the other checklist",
                    )
                )
        median, worst = statistics.median(latencies), max(latencies)
        print(
            f"\ndrivers: {len(latencies)} changes, median {median * 1000:.0f} ms, max {worst * 1000:.0f} ms"
        )
        assert median < DRIVER_BUDGET and worst < STALL
        alices.selected = bobs.selected = 0  # back on step 1, where both changed it

        await apilot.press("h")
        await wait_for(lambda: mounted(alice.screen, TextScreen), what="the step's history")
        lines = _history(alice)
        assert len(lines) == 2, lines
        assert "✓ done" in lines[0] and "by alice@bastion" in lines[0]
        assert f"(on {socket.gethostname()})" in lines[0]  # the machine each change came from
        assert "– skipped" in lines[1] and "by bob@laptop" in lines[1] and lines[1].endswith("← shown")
        await bpilot.press("h")
        await wait_for(lambda: mounted(bob.screen, TextScreen), what="bob's view of the history")
        assert _history(bob) == lines


async def test_an_observer_follows_a_drivers_ticks_by_notify(pg_server: PgLab, tmp_path: Path) -> None:
    url = fresh_database(pg_server)
    alice = _app(tmp_path, "alice", url, "alice@bastion")
    async with alice.run_test(size=SIZE) as apilot:
        alices = await _open_first_checklist(alice, apilot)
        await apilot.press("space")
        await wait_for(lambda: alices.session is not None, what="alice's session")
        observer = _app(tmp_path, "carol", url, "carol@desk", observe="latest")
        async with observer.run_test(size=SIZE):
            assert observer.store is not None and observer.store.read_only
            await wait_for(
                lambda: isinstance(observer.screen, ChecklistScreen), what="the followed checklist"
            )
            followed = observer.screen
            assert isinstance(followed, ChecklistScreen)
            await wait_for(lambda: followed.session is not None, what="alice's session followed")
            assert "driven by alice@bastion" in _header(observer)
            steps = len(alices.section.steps) if alices.section else 0
            assert steps >= 3
            latencies = []
            for index in range(1, steps):  # each remaining step ticked, then back to pending
                for state in ("done", "pending"):
                    alices.selected = index
                    latencies.append(
                        await _push_latency(
                            apilot,
                            "space",
                            lambda i=index, s=state: (
                                alices.session is not None and alices.session.step_state(i) == s
                            ),
                            lambda i=index, s=state: (
                                followed.session is not None and followed.session.step_state(i) == s
                            ),
                            f"the observer to show step {index + 1} {state}",
                        )
                    )
            median, worst = statistics.median(latencies), max(latencies)
            ms = f"median {median * 1000:.0f} ms, max {worst * 1000:.0f} ms"
            print(f"\nobserver: {len(latencies)} changes, {ms}")
            assert median < OBSERVER_MEDIAN and worst < STALL
            assert "✓" not in screen_text(observer).split("2.", 1)[1].split("Common causes", 1)[0]
            leaving = asyncio.get_running_loop().time()
        # its watch thread waits on LISTEN a bounded time: quitting is not held up by it
        left = asyncio.get_running_loop().time() - leaving
        print(f"observer quit in {left * 1000:.0f} ms")
        assert left < 2.0


async def test_an_outage_shows_not_yet_shared_and_the_other_driver_sees_the_change_after_it(
    pg_factory: Callable[[], PgLab], tmp_path: Path
) -> None:
    lab = pg_factory()
    url = fresh_database(lab)
    alice = _app(tmp_path, "alice", url, "alice@bastion")
    bob = _app(tmp_path, "bob", url, "bob@laptop")
    said: list[str] = []  # every toast alice got ("title: message"), expired or not
    toast = alice.notify

    def notify(message: str, **kwargs: Any) -> None:
        said.append(f"{kwargs.get('title', '')}: {message}")
        toast(message, **kwargs)

    alice.notify = notify  # type: ignore[method-assign, assignment]
    async with alice.run_test(size=SIZE, notifications=True) as apilot, bob.run_test(size=SIZE) as bpilot:
        alices = await _open_first_checklist(alice, apilot)
        bobs = await _open_first_checklist(bob, bpilot)
        await apilot.press("space")
        await wait_for(
            lambda: bobs.session is not None and bobs.session.step_state(0) == "done", what="shared tick"
        )
        assert "not yet shared" not in _header(alice)

        await asyncio.to_thread(lab.stop)
        alices.selected = 1
        await apilot.press("space")  # step 2, ticked while PostgreSQL is down
        await wait_for(
            lambda: alices.session is not None and alices.session.step_state(1) == "done",
            what="alice's own tick shown at once",
        )
        await wait_for(lambda: "⏳ 1 not yet shared" in _header(alice), what="the not-yet-shared mark")
        assert "⚠ shared store unreachable" in _header(alice)  # the store's notice, in the header...
        toasts = said
        assert any("Session store: " in t and "can't be reached" in t for t in toasts), toasts  # ...said once
        assert "lab-super-pw" not in _header(alice) + "\n".join(toasts)
        assert bobs.session is not None and bobs.session.step_state(1) == "pending"  # not shared yet

        await apilot.press("escape")  # alice goes back to her alerts: the mark stays, the replay still comes
        await wait_for(lambda: not isinstance(alice.screen, ChecklistScreen), what="alice's dashboard")
        await wait_for(lambda: "⏳ 1 not yet shared" in _header(alice), what="the mark on the dashboard")

        await asyncio.to_thread(lab.start)
        await wait_for(
            lambda: "not yet shared" not in _header(alice), timeout=20, what="the mark gone once shared"
        )
        assert "unreachable" not in _header(alice)
        await wait_for(
            lambda: bobs.session is not None and bobs.session.step_state(1) == "done",
            timeout=20,
            what="bob's checklist to show the tick made during the outage",
        )
        assert "done by alice@bastion" in screen_text(bob).split("2.", 1)[1]
        assert any(t.startswith("Changes shared: ") for t in said), said


async def test_a_store_made_by_a_newer_oncall_is_said_read_only_and_a_tick_is_refused(
    pg_server: PgLab, tmp_path: Path
) -> None:
    url = fresh_database(pg_server)
    with open_store(tmp_path / "setup.db", url):  # the schema, as this oncall makes it
        pass
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE oncall.schema_version SET version = version + 1")  # a newer oncall migrated it
    alice = _app(tmp_path, "alice", url, "alice@bastion")
    said: list[str] = []
    toast = alice.notify

    def notify(message: str, **kwargs: Any) -> None:
        said.append(f"{kwargs.get('title', '')}: {message}")
        toast(message, **kwargs)

    alice.notify = notify  # type: ignore[method-assign, assignment]
    async with alice.run_test(size=SIZE) as pilot:
        checklist = await _open_first_checklist(alice, pilot)
        await wait_for(lambda: "⚠ session store read-only" in _header(alice), what="the read-only mark")
        assert any(t.startswith("Session store: ") and "made by a newer oncall" in t for t in said), said
        await pilot.press("space")
        await wait_for(lambda: any("nothing was changed" in t for t in said), what="the refusal")
        assert checklist.session is None or checklist.session.step_state(0) == "pending"
