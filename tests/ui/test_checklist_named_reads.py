"""A runbook command that names one object reads that object: `kubectl get pods NAME` lists that pod, `get
events --field-selector involvedObject.name=NAME` its events, `helm history --max N` the newest N
revisions; a named read the probe can't single out (`kubectl logs POD`) is copy-only, never another pod's."""

from __future__ import annotations

import re

from screens.checklist import ChecklistScreen
from screens.runbook_browser import RunbookBrowserScreen
from tests.helpers import make_app, screen_text, wait_for

RUNBOOK = """\
## named-reads

**Alert**: the database pod.

**Triage**:
1. The pod: `kubectl -n production get pods inmidst-postgres-0`
2. A pod that isn't there: `kubectl -n production get pods inmidst-postgres-7`
3. Its events: `kubectl -n production get events --field-selector involvedObject.name=inmidst-postgres-0`
4. The last release: `helm history in-midst-my-life -n production --max 1`
5. Its logs: `kubectl -n production logs inmidst-postgres-0`
"""


def _step(text: str, number: int) -> str:
    after = text.split(f"☐ {number}.", 1)[1]
    return after.split(f"☐ {number + 1}.", 1)[0]


async def test_a_command_naming_one_object_shows_that_object_only(tmp_path):
    runbook = tmp_path / "RUNBOOK.md"
    runbook.write_text(RUNBOOK, encoding="utf-8")
    app = make_app(tmp_path, runbook=runbook)
    async with app.run_test(size=(160, 60)) as pilot:
        app.push_screen(RunbookBrowserScreen("named-reads"))
        await wait_for(lambda: isinstance(app.screen, RunbookBrowserScreen), what="the runbook browser")
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="the checklist")
        screen = app.screen
        await wait_for(lambda: len(screen.evidence) >= 4, what="the evidence of the live steps")
        text = screen_text(app)

    pod = _step(text, 1)
    assert re.search(r"^\s+inmidst-postgres-0\s+1/1\s+Running", pod, re.M), pod
    assert "inmidst-api" not in pod and "inmidst-redis" not in pod
    assert 'pod "inmidst-postgres-7" not found in namespace production' in _step(text, 2)
    events = _step(text, 3)
    assert "inmidst-postgres-0" in events and "inmidst-api" not in events, events
    helm = _step(text, 4)
    assert re.search(r"^\s+in-midst-my-life\s+production\s+3\s", helm, re.M), helm
    assert not re.search(r"^\s+in-midst-my-life\s+production\s+[12]\s", helm, re.M), helm
    logs = _step(text, 5)
    assert "oncall reads logs by -l selector; `kubectl logs POD` is copy-only" in logs, logs
    assert "[pod/" not in logs
