"""The live triage as a user sees it: each of the seed runbook's 12 sections opened from the runbook browser
against the simulator and the real PostgreSQL, Redis and Prometheus, its steps showing live evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from probes.postgres import PostgresProbe
from probes.redis import RedisProbe
from screens.checklist import ChecklistScreen
from tests.conftest import LabServers
from tests.helpers import make_app, screen_text, wait_for
from tui.config.settings import PostgresSettings, load_settings
from tui.sessions.store import SessionStore
from tui.triage.runner import SAMPLING

pytestmark = pytest.mark.integration


async def test_every_section_opened_from_the_browser_shows_live_evidence_under_its_steps(
    tmp_path: Path, lab_servers: LabServers
) -> None:
    kube_sim, pg_server = lab_servers.sim, lab_servers.pg
    redis_server, prometheus_server = lab_servers.redis, lab_servers.prometheus
    redis_settings = load_settings(
        env={"REDIS_URL": redis_server.url()}, cwd=tmp_path, user_config_dir=tmp_path
    )
    app = make_app(
        tmp_path,
        demo=False,
        prometheus_url=prometheus_server.url,
        kubeconfig=kube_sim.kubeconfig(namespace="production"),
        postgres=PostgresProbe(PostgresSettings(dsn=pg_server.dsn("oncall_monitor"))),
        redis=RedisProbe(redis_settings.redis),
        timeout=5.0,
        helm_history=True,  # as the lab's console runs: its Helm evidence is live too
    )
    async with app.run_test(size=(160, 200)) as pilot:
        await pilot.press("b")
        sections = app.runbook.sections
        assert len(sections) == 12
        await wait_for(lambda: app.probe.rule_expressions(), timeout=10, what="the alerting rules")
        with_evidence = 0
        for index, section in enumerate(sections):
            await pilot.press("enter")
            await wait_for(
                lambda: isinstance(app.screen, ChecklistScreen), what=f"the checklist of #{section.slug}"
            )
            screen = app.screen
            assert isinstance(screen, ChecklistScreen) and screen.section is section
            # the key sampler's first run shows "sampling…" until it ends; the next round comes right after
            await wait_for(
                lambda s=screen, n=len(section.steps): (  # noqa: B008
                    len(s.evidence) == n
                    and not any(r.problem == SAMPLING for rs in s.evidence.values() for r in rs)
                ),
                timeout=20,
                what=f"#{section.slug}",
            )
            text = screen_text(app)
            assert f"#{section.slug}   practice: no alert, nothing is saved" in text
            for step_index, plan in enumerate(screen.plans):
                readings = screen.evidence[step_index]
                assert len(readings) == len(plan.reads)
                failed = [r.problem for r in readings if r.read_at is None]
                assert not failed, (section.slug, plan.step.number, failed)
                with_evidence += bool(readings)
            assert text.count("· read ") >= sum(1 for p in screen.plans if p.reads), text
            await pilot.press("escape")
            await wait_for(lambda: not isinstance(app.screen, ChecklistScreen), what="back to the browser")
            if index + 1 < len(sections):
                await pilot.press("j")
        assert with_evidence == 36
    # practice writes nothing: no session was opened
    store = SessionStore.open(tmp_path / "sessions.db", read_only=True)
    try:
        assert store.sessions() == []
    finally:
        store.close()
