"""Passwords in query text and Redis slow-log arguments, planted in the lab's real servers, never reach the
screen, a ticked step's evidence, the export or `oncall snapshot`: each shows the name and ••••."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg
import pytest

from probes.postgres import PostgresProbe
from probes.redact import MASK
from probes.redis import RedisProbe
from screens.checklist import ChecklistScreen
from tests.helpers import applied_pod, make_app, oncall, prometheus_json, screen_text, wait_for
from tests.labs import free_port
from tests.labs.postgres import PgLab
from tests.labs.redis import ADMIN_PASSWORD, RedisLab
from tui.config.settings import PostgresSettings, load_settings
from tui.sessions.store import SessionStore
from tui.widgets.alerts import AlertsTable
from tui.widgets.postgres_panel import PostgresPanel
from tui.widgets.slowlog_panel import SlowlogPanel
from tui.widgets.virtual_table import VirtualTable

pytestmark = pytest.mark.integration

CREATE_SECRET = "pg-create-secret-7f3a"
ALTER_SECRET = "pg-alter-secret-91c2"
MIGRATE_SECRET = "migrate-secret-5d1e"
CONN_SECRET = "conn-secret-8e2b"
URL_SECRET = "url-secret-3b9c"
SECRETS = (CREATE_SECRET, ALTER_SECRET, MIGRATE_SECRET, CONN_SECRET, URL_SECRET, ADMIN_PASSWORD)

RUNBOOK = """\
# Runbook

## leaked-password

**Alert**: a role's password was changed.

**Triage**:
1. Check who changed it: `psql -c "SELECT usename, query FROM pg_stat_activity WHERE query LIKE 'ALTER%'"`
2. Check the slow log: `redis-cli SLOWLOG GET 20`
"""
ALERT = {
    "labels": {"alertname": "LeakedPassword", "severity": "critical"},
    "annotations": {"summary": "a role's password changed"},
    "state": "firing",
    "activeAt": "2026-11-27T02:46:00Z",
    "value": "1",
}


@dataclass
class Planted:
    pg: PgLab
    redis: RedisLab
    admin: psycopg.Connection  # stays open and idle: pg_stat_activity keeps showing its ALTER ROLE


@pytest.fixture
def planted(pg_factory: Callable[[], PgLab], redis_factory: Callable[..., RedisLab]):
    """A private PostgreSQL and Redis, each holding the secrets the issue names where oncall reads."""
    pg = pg_factory()
    admin = psycopg.connect(pg.admin_dsn, autocommit=True)
    admin.execute("SELECT pg_stat_statements_reset()")
    admin.execute(f"CREATE ROLE redact_probe LOGIN PASSWORD '{CREATE_SECRET}'")
    admin.execute(f"ALTER ROLE redact_probe WITH ENCRYPTED PASSWORD '{ALTER_SECRET}'")
    redis_lab = redis_factory()
    client = redis_lab.admin()
    try:
        client.config_set("slowlog-log-slower-than", 0)
        client.slowlog_reset()
        client.execute_command("CONFIG", "SET", "requirepass", ADMIN_PASSWORD)
        client.execute_command("AUTH", ADMIN_PASSWORD)
        client.execute_command("HELLO", "2", "AUTH", "default", ADMIN_PASSWORD)
        client.execute_command(
            "MIGRATE", "127.0.0.1", str(free_port()), "no-such-key", "0", "100", "AUTH", MIGRATE_SECRET
        )
        # what Redis itself never redacts: a connection string and a URL stored as values
        client.set("billing:dsn", f"host=db.internal password={CONN_SECRET} dbname=billing")
        client.set("cache:url", f"redis://app:{URL_SECRET}@cache.internal:6379/0")
        client.config_set("slowlog-log-slower-than", -1)  # the entries above stay the newest
    finally:
        client.close()
    try:
        yield Planted(pg, redis_lab, admin)
    finally:
        admin.close()


def _probes(planted: Planted, tmp_path: Path) -> tuple[PostgresProbe, RedisProbe]:
    postgres = PostgresProbe(PostgresSettings(dsn=planted.pg.dsn("oncall_monitor"), refresh=0.5))
    settings = load_settings(env={"REDIS_URL": planted.redis.url()}, cwd=tmp_path, user_config_dir=tmp_path)
    return postgres, RedisProbe(replace(settings.redis, refresh=0.5))


def _no_secret(text: str) -> None:
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, f"{leaked} shown in:\n{text}"


def _tables_text(app) -> str:
    return "\n".join(
        table.render_line(y).text
        for table in app.screen.query(VirtualTable)
        for y in range(table.size.height)
    )


async def _full_texts(app, pilot, table: VirtualTable, wanted: str) -> list[str]:
    """`enter` on each row whose text holds `wanted`: the full text the user sees in the detail view.

    The panels refresh every 0.5 s and may reorder rows between two presses, so each row is found again by
    its key just before the cursor goes to it, and the detail view is waited for, not assumed."""

    def text(item) -> str:
        return " ".join(getattr(item, "args", ())) + getattr(item, "query", "")

    keys = [table._key(item) for item in table.view if wanted in text(item)]
    dashboard = app.screen
    shown = []
    for key in keys:
        index = next((i for i, item in enumerate(table.view) if table._key(item) == key), None)
        if index is None:
            continue  # gone from the server's view since (pg_stat_activity moves on)
        table.focus()
        table.cursor = index
        assert table.selected is not None and wanted in text(table.selected)
        await pilot.press("enter")
        await wait_for(lambda: app.screen is not dashboard, what="the detail view")
        await pilot.pause()
        shown.append(screen_text(app))
        await pilot.press("escape")
        await wait_for(lambda: app.screen is dashboard, what="back to the dashboard")
    return shown


async def test_no_password_reaches_the_tabs_the_evidence_or_the_export(
    tmp_path, monkeypatch, planted
) -> None:
    monkeypatch.chdir(tmp_path)
    runbook = tmp_path / "RUNBOOK.md"
    runbook.write_text(RUNBOOK)
    postgres, redis = _probes(planted, tmp_path)
    app = make_app(
        tmp_path,
        demo=False,
        prometheus_url="http://prometheus.test",
        transport=prometheus_json([ALERT]),
        runbook=runbook,
        postgres=postgres,
        redis=redis,
    )
    async with app.run_test(size=(200, 60)) as pilot:
        await wait_for(
            lambda: app.pg_snapshot is not None and app.pg_snapshot.statements, timeout=15, what="pg"
        )
        await wait_for(
            lambda: app.redis_snapshot is not None and app.redis_snapshot.slowlog, timeout=15, what="rd"
        )

        app.screen.query_one("#sources").active = "tab-postgresql"
        await pilot.pause()
        panel = app.screen.query_one(PostgresPanel)
        details = await _full_texts(app, pilot, panel.statements, "redact_probe")
        details += await _full_texts(app, pilot, panel.sessions, "redact_probe")
        assert len(details) >= 3  # CREATE and ALTER in pg_stat_statements, ALTER as the idle session's query
        assert all(f"PASSWORD '{MASK}'" in detail for detail in details)
        for text in (screen_text(app), _tables_text(app), *details):
            _no_secret(text)

        app.screen.query_one("#sources").active = "tab-slowlog"
        await pilot.pause()
        slowlog = app.screen.query_one(SlowlogPanel)
        details = await _full_texts(app, pilot, slowlog.table, "password=")
        details += await _full_texts(app, pilot, slowlog.table, "requirepass")
        # the detail view shows each argument on its own line
        assert any(f"password={MASK}" in d for d in details) and any(
            f"requirepass\n{MASK}" in d for d in details
        )
        for text in (screen_text(app), _tables_text(app), *details):
            _no_secret(text)

        app.screen.query_one("#sources").active = "tab-pods"
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count > 0, timeout=10, what="the alert")
        table.focus()
        await pilot.press("enter")
        await wait_for(
            lambda: isinstance(app.screen, ChecklistScreen),
            what="checklist",
        )
        screen = app.screen
        await wait_for(
            lambda: len(screen.evidence) == 2 and all(r.ok for rs in screen.evidence.values() for r in rs),
            timeout=15,
            what="evidence",
        )
        _no_secret(screen_text(app))
        await pilot.press("space")
        await wait_for(
            lambda: screen.session is not None and screen.session.step_state(0) == "done", what="step 1 done"
        )
        await pilot.press("j", "space")
        await wait_for(lambda: screen.session.step_state(1) == "done", what="step 2 done")
        await pilot.press("e")
        await wait_for(lambda: list(tmp_path.glob("oncall-session-*.md")), what="the export")
    with SessionStore.open(tmp_path / "sessions.db", read_only=True) as store:
        (session,) = store.sessions()
    evidence = [session.steps[0].evidence, session.steps[1].evidence]
    assert f"PASSWORD '{MASK}'" in evidence[0]
    assert f"password={MASK}" in evidence[1] and f"redis://app:{MASK}@cache.internal" in evidence[1]
    (exported,) = tmp_path.glob("oncall-session-*.md")
    for text in (*evidence, exported.read_text()):
        _no_secret(text)


def test_oncall_snapshot_shows_no_password_from_the_slow_log(tmp_path, isolated_env, planted) -> None:
    env = {
        **isolated_env,
        "REDIS_URL": planted.redis.url(),
        "ONCALL_POSTGRES": planted.pg.dsn("oncall_monitor"),
    }
    for fmt in ((), ("--json",), ("--markdown",)):
        result = oncall("snapshot", *fmt, env=env)
        assert "billing:dsn" in result.stdout, result.stdout + result.stderr  # the slow log is in it
        _no_secret(result.stdout + result.stderr)
    report = json.loads(oncall("snapshot", "--json", env=env).stdout)
    shown = json.dumps(report, ensure_ascii=False)
    assert f"password={MASK}" in shown and f"redis://app:{MASK}@cache.internal" in shown


# --- a careless runbook that asks for credentials, walked with a superuser DSN and a pod full of secrets ---

ROLE_SECRET = "role-secret-c41d"
DB_PASSWORD = "kube-db-secret-2a7e"
URL_PASSWORD = "kube-url-secret-6f0b"
API_TOKEN = "kube-api-token-9d3c"
ALERT_URL_PASSWORD = "alert-url-secret-1e5a"
ENV_READ = (
    "kubectl -n production get pods -l app=inmidst-api -o jsonpath='{.items[*].spec.containers[*].env}'"
)
CARELESS_RUNBOOK = f"""\
# Runbook

## leaked-credentials

**Alert**: the API cannot log in to its database.

**Triage**:
1. List the roles: `psql -c "SELECT rolname, rolpassword FROM pg_authid;"`
2. Check the shadow file: `psql -c "SELECT usename, passwd FROM pg_shadow;"`
3. Check the API's environment: `{ENV_READ}`
4. Describe the API's pods: `kubectl -n production describe pods -l app=inmidst-api`
"""
CARELESS_ALERT = {
    "labels": {"alertname": "LeakedCredentials", "severity": "critical"},
    "annotations": {
        "summary": "the API cannot log in",
        "description": f"login to postgresql://app:{ALERT_URL_PASSWORD}@db/app failed",
    },
    "state": "firing",
    "activeAt": "2026-11-27T02:46:00Z",
    "value": "1",
}


async def test_a_runbook_asking_for_credentials_shows_none_even_as_superuser(
    tmp_path, monkeypatch, pg_factory, kube_sim
) -> None:
    monkeypatch.chdir(tmp_path)
    pg = pg_factory()
    with psycopg.connect(pg.admin_dsn, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE leaky_app LOGIN PASSWORD '{ROLE_SECRET}'")
        hashes = [
            h for (h,) in admin.execute("SELECT rolpassword FROM pg_authid WHERE rolpassword IS NOT NULL")
        ]
    assert hashes  # what a checklist re-reading pg_authid would show
    env = [
        {"name": "DB_PASSWORD", "value": DB_PASSWORD},
        {"name": "DATABASE_URL", "value": f"postgresql://app:{URL_PASSWORD}@db/app"},
        {"name": "API_TOKEN", "value": API_TOKEN},
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "SMTP_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "smtp", "key": "password"}}},
    ]
    # an API pod as a hurried team writes its env: `kubectl apply` copies it into an annotation too
    labels = {"app": "inmidst-api", "pod-template-hash": "7d9f8b6c5"}
    kube_sim.apply(applied_pod("inmidst-api-7d9f8b6c5-secrt", "production", labels, env))
    secrets = (ROLE_SECRET, DB_PASSWORD, URL_PASSWORD, API_TOKEN, ALERT_URL_PASSWORD, *hashes)

    def no_secret(text: str) -> None:
        leaked = [s for s in secrets if s in text] + (["SCRAM-SHA-256$"] if "SCRAM-SHA-256$" in text else [])
        assert not leaked, f"{leaked} shown in:\n{text}"

    runbook = tmp_path / "RUNBOOK.md"
    runbook.write_text(CARELESS_RUNBOOK)
    postgres = PostgresProbe(PostgresSettings(dsn=pg.admin_dsn, refresh=0.5))  # the worst case: a superuser
    app = make_app(
        tmp_path,
        demo=False,
        prometheus_url="http://prometheus.test",
        transport=prometheus_json([CARELESS_ALERT]),
        runbook=runbook,
        kubeconfig=kube_sim.kubeconfig(namespace="production"),
        postgres=postgres,
    )
    seen: list[str] = []
    async with app.run_test(size=(200, 60)) as pilot:
        table = app.screen.query_one(AlertsTable)
        await wait_for(lambda: table.row_count > 0, timeout=10, what="the alert")
        seen.append(screen_text(app))
        table.focus()
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ChecklistScreen), what="checklist")
        screen = app.screen
        await wait_for(
            lambda: all(screen.evidence.get(i) and all(r.ok for r in screen.evidence[i]) for i in (2, 3)),
            timeout=20,
            what="the kubectl steps' evidence",
        )
        for step in range(4):
            await pilot.press("space")
            await wait_for(
                lambda step=step: screen.session is not None and screen.session.step_state(step) == "done",
                what=f"step {step + 1} done",
            )
            seen.append(screen_text(app))
            await pilot.press("enter")  # the step's evidence in full
            await pilot.pause()
            seen.append(screen_text(app))
            if app.screen is not screen:
                await pilot.press("escape")
                await pilot.pause()
            await pilot.press("j")
        shown = "\n".join(seen)
        # the credential catalogs are refused with the reason, not read
        for catalog in ("pg_authid", "pg_shadow"):
            assert f"not run: {catalog} holds role passwords; oncall never reads credentials" in shown
        # the env's names stay, their values are masked
        assert "DB_PASSWORD" in shown and "API_TOKEN" in shown and MASK in shown
        assert "LOG_LEVEL" in shown and "info" in shown  # what isn't secret still shows
        await pilot.press("e")
        await wait_for(lambda: list(tmp_path.glob("oncall-session-*.md")), what="the export")
    for text in seen:
        no_secret(text)
    with SessionStore.open(tmp_path / "sessions.db", read_only=True) as store:
        (session,) = store.sessions()
    evidence = "\n".join(step.evidence or "" for step in session.steps.values())
    assert "DB_PASSWORD" in evidence and f"postgresql://app:{MASK}@db/app" in evidence
    no_secret(evidence)
    (exported,) = tmp_path.glob("oncall-session-*.md")
    no_secret(exported.read_text())
    for stored in tmp_path.glob("sessions.db*"):  # the database and its WAL, byte for byte
        no_secret(stored.read_bytes().decode("utf-8", errors="replace"))


def test_a_teams_own_redact_pattern_applies_to_what_the_command_line_prints(
    tmp_path, isolated_env, planted
) -> None:
    config = tmp_path / "oncall.toml"
    config.write_text('[redact]\npatterns = ["cache\\\\.internal:\\\\d+"]\n')
    env = {**isolated_env, "REDIS_URL": planted.redis.url()}
    plain = oncall("snapshot", "--json", env=env).stdout
    assert "cache.internal:6379" in plain  # the built-in rules leave the host alone
    report = json.loads(oncall("--config", str(config), "snapshot", "--json", env=env).stdout)
    masked = json.dumps(report, ensure_ascii=False)
    assert "cache.internal:6379" not in masked and f"redis://app:{MASK}@{MASK}/0" in masked, masked
