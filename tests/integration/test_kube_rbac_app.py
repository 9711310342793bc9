"""Helm history off (the default) in the app against the simulator: the Deploys tab and the runbook's Helm
step say it is off and how to turn it on, and no request for a Secret leaves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from screens.checklist import ChecklistScreen
from screens.runbook_browser import RunbookBrowserScreen
from tests.helpers import make_app, screen_text, wait_for
from tui.lab.kube_sim import KubeSimulator

pytestmark = pytest.mark.integration

LEAST_PRIVILEGE = Path(__file__).resolve().parents[2] / "examples" / "rbac" / "oncall-role.yaml"
RUNBOOK = """\
## deploys

**Alert**: a bad deploy.

**Triage**:
1. Recent releases: `helm history in-midst-my-life -n production`
2. The pods: `kubectl -n production get pods -l app=inmidst-api`
"""


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


async def test_helm_history_off_says_how_to_turn_it_on_and_reads_no_secret(
    tmp_path: Path, kube_sim: KubeSimulator
) -> None:
    kube_sim.set_rbac(yaml.safe_load_all(LEAST_PRIVILEGE.read_text()))  # a role that can't read Secrets
    runbook = tmp_path / "RUNBOOK.md"
    runbook.write_text(RUNBOOK, encoding="utf-8")
    app = make_app(tmp_path, runbook=runbook, kubeconfig=kube_sim.kubeconfig(namespace="production"))
    async with app.run_test(size=(160, 60)) as pilot:
        await wait_for(lambda: "helm history" in app.kube_reads, timeout=10, what="the Helm history read")
        app.screen.query_one("TabbedContent").active = "tab-deploys"
        await wait_for(lambda: "Helm history is off" in screen_text(app), what="the Deploys tab")
        text = flat(screen_text(app))
        assert (
            "Helm history is off: oncall reads no Secrets. To read it, set [kubernetes] helm_history = true; "
            "the role then needs list on secrets (examples/rbac/oncall-role-helm.yaml)"
        ) in text
        assert "helm history forbidden" not in text and "reading Helm history" not in text
        # a read that is off is no failure: events keep coming at the refresh pace, nothing backs off
        events = lambda: [r for r in kube_sim.requests() if r["path"].endswith("/events")]  # noqa: E731
        seen = len(events())
        await wait_for(lambda: len(events()) >= seen + 3, timeout=4, what="three more rounds at 0.5 s")
        assert app.kube_reads_backoff.failures == 0

        app.push_screen(RunbookBrowserScreen("deploys"))
        await wait_for(lambda: isinstance(app.screen, RunbookBrowserScreen), what="the runbook browser")
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
        screen = app.screen
        await wait_for(lambda: len(screen.evidence) >= 2, what="the evidence of both steps")
        await wait_for(lambda: "inmidst-api-" in screen_text(app), what="the pods step")
        text = flat(screen_text(app))
        helm = text.split("1.", 1)[1].split("2.", 1)[0]
        assert "Helm history is off: oncall reads no Secrets" in helm, helm
        assert "set [kubernetes] helm_history = true" in helm, helm
    secrets = [r for r in kube_sim.requests() if "/secrets" in r["path"]]
    assert secrets == []
    assert {r["method"] for r in kube_sim.requests()} == {"GET"}  # the app never asks the self-reviews
