"""Pod names and Redis keys with bidi controls, wide and zero-width characters, from servers to screen."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace

import pytest

from probes.format import cell_width
from probes.redis import RedisProbe
from tests.helpers import make_app, wait_for
from tui.config.settings import load_settings
from tui.widgets.pods import PodsPanel
from tui.widgets.slowlog_panel import SlowlogPanel

pytestmark = pytest.mark.integration

TEMPLATE = "inmidst-api-7d9f8b6c5-4xkzp"
HOSTILE = [
    "cjk-日本語のポッド-0",
    "rlo-\u202egnp.exe-1",
    "isolate-\u2066x\u2069-2",
    "zero\u200bwidth\u200cjoin\u200d-3",
    "emoji-😀-\u2764\ufe0f-4",
    "family-👨\u200d👩\u200d👧-5",
    "bom\ufeff-lrm\u200e-6",
    "長い名前のポッド" * 6,
]
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200b-\u200f\u2028\u2029\ufeff]")


def screen_lines(app) -> list[str]:
    """Every row of the screen as the terminal is sent it."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def _pod(template: dict, name: str, n: int) -> dict:
    pod = {**template, "metadata": {**template["metadata"], "name": name, "uid": f"hostile-{n}"}}
    pod["metadata"].pop("resourceVersion", None)
    return pod


async def test_hostile_pod_names_show_no_bidi_control_and_the_columns_line_up(tmp_path, kube_sim):
    template = await asyncio.to_thread(kube_sim.get, "pods", "production", TEMPLATE)
    for n, name in enumerate(HOSTILE):
        await asyncio.to_thread(kube_sim.apply, _pod(template, name, n))
    app = make_app(tmp_path, demo=True, kubeconfig=kube_sim.kubeconfig(namespace="production"))
    async with app.run_test(size=(170, 60)) as pilot:
        await wait_for(lambda: len(app.pods) == 7 + len(HOSTILE), timeout=15, what="the pods")
        await pilot.press("p", "z")  # the Pods tab, zoomed: every row on screen
        panel = app.screen.query_one(PodsPanel)
        await wait_for(lambda: len(panel.table.view) == 7 + len(HOSTILE), what="the table")
        await pilot.pause()
        lines = screen_lines(app)
        assert not [line for line in lines if BIDI.search(line)]
        header = next(line for line in lines if "NAMESPACE" in line and "READY" in line)
        rows = [line for line in lines if "production" in line and re.search(r"\d+/\d+", line)]
        assert len(rows) == 7 + len(HOSTILE)
        # measured per code point, as a terminal does: where READY and STATUS start on every row
        ready_at = cell_width(header[: header.index("READY")])
        status_at = cell_width(header[: header.index("STATUS")])
        for row in rows:
            ready = re.search(r"\d+/\d+", row)
            assert ready is not None
            assert cell_width(row[: ready.start()]) == ready_at, row
            status = re.search(r"Running|Pending|CrashLoopBackOff|Completed|Error", row)
            assert status is not None and cell_width(row[: status.start()]) == status_at, row
        assert any("\ufffdgnp.exe" in row for row in rows)  # the override shown, not obeyed
        assert any("日本語のポッド" in row for row in rows)


HOSTILE_KEYS = [
    "cjk:日本語のキー",
    "rlo:\u202egnp.exe",
    "zw:\u200bhidden\u200d",
    "emoji:😀\u2764\ufe0f",
    "bom:\ufeffx",
]


async def test_hostile_redis_keys_in_the_slow_log_show_no_bidi_control_and_line_up(tmp_path, redis_factory):
    lab = redis_factory()
    admin = lab.admin()
    admin.config_set("slowlog-log-slower-than", 0)  # every command is logged
    for key in HOSTILE_KEYS:
        admin.set(key, "v")
    admin.config_set("slowlog-log-slower-than", 1_000_000)
    settings = load_settings(env={"REDIS_URL": lab.url()}, cwd=tmp_path, user_config_dir=tmp_path).redis
    app = make_app(tmp_path, demo=False, redis=RedisProbe(replace(settings, refresh=0.3)))
    async with app.run_test(size=(170, 48)) as pilot:
        await pilot.press("4", "z")  # the Slow log tab, zoomed
        panel = app.screen.query_one(SlowlogPanel)
        await wait_for(
            lambda: sum(1 for e in panel.table.view if e.args[:1] == ("SET",)) == len(HOSTILE_KEYS),
            timeout=10,
            what="the SETs in the slow log",
        )
        await pilot.pause()
        lines = screen_lines(app)
        assert not [line for line in lines if BIDI.search(line)]
        header = next(line for line in lines if "DURATION" in line and "COMMAND" in line)
        command_at = cell_width(header[: header.index("COMMAND")])
        rows = [line for line in lines if re.search(r"\s SET \w+:", line)]
        assert len(rows) == len(HOSTILE_KEYS)
        for row in rows:
            assert cell_width(row[: row.index("SET ")]) == command_at, row
        assert any("SET rlo:\ufffdgnp.exe v" in row for row in rows)
        assert any("SET cjk:日本語のキー v" in row for row in rows)
