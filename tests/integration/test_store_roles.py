"""The GRANTs docs/store-postgresql.md gives, applied to real roles: the driver role appends, the observer
role reads and LISTENs, and PostgreSQL itself refuses the observer any write (not just oncall's code)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from tests.helpers import REPO, oncall
from tests.labs.postgres import SUPERUSER, PgLab
from tui.sessions.backend import open_store
from tui.sessions.store import SessionStore, StoreError

FIRED = datetime(2026, 11, 27, 3, 12, 5, tzinfo=UTC)
DOC = REPO / "docs" / "store-postgresql.md"


def _sql_blocks() -> list[list[str]]:
    """The doc's ```sql blocks, each as its statements (comments dropped)."""
    blocks = re.findall(r"```sql\n(.*?)```", DOC.read_text(), flags=re.S)
    out = []
    for block in blocks:
        text = "\n".join(line for line in block.splitlines() if not line.strip().startswith("--"))
        out.append([s.strip() for s in text.split(";") if s.strip()])
    return out


def _url(lab: PgLab, role: str, password: str | None = None) -> str:
    secret = f":{password}" if password else ""
    return f"postgresql://{role}{secret}@127.0.0.1:{lab.port}/oncall"


def _password(role: str) -> str:
    return "change-me-" + role.removeprefix("oncall_")


def test_the_documented_grants_let_drivers_write_and_observers_only_read(
    pg_factory: Callable[[], PgLab], tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    roles, grants = _sql_blocks()
    lab = pg_factory()
    with psycopg.connect(lab.dsn(SUPERUSER, "postgres"), autocommit=True) as admin:
        for statement in roles:
            admin.execute(statement)

    # the owner creates the schema by copying the sessions it has, as the doc says
    laptop = tmp_path / "laptop.db"
    with SessionStore.open(laptop) as local:
        local.open_session(
            fingerprint="old",
            alertname="DiskFull",
            active_at=FIRED,
            section_slug=None,
            summary="",
            labels=(),
            who="carol",
        )
    copied = oncall(
        "store", "copy", str(laptop), _url(lab, "oncall_admin", _password("oncall_admin")), env=isolated_env
    )
    assert copied.returncode == 0, copied.stderr
    with psycopg.connect(lab.dsn(SUPERUSER, "oncall"), autocommit=True) as admin:
        owner = admin.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'event'").fetchone()
        assert owner == ("oncall_owner",)
        for statement in grants:
            admin.execute(statement)

    driver = open_store(tmp_path / "driver.db", _url(lab, "oncall_driver", _password("oncall_driver")))
    observer = open_store(
        tmp_path / "observer.db", _url(lab, "oncall_observer", _password("oncall_observer")), read_only=True
    )
    try:
        session = driver.open_session(
            fingerprint="fp1",
            alertname="HighApiErrorRate",
            active_at=FIRED,
            section_slug=None,
            summary="",
            labels=(),
            who="alice",
        )
        driver.add_note(session.id, "looking at the ingress", "alice")
        driver.set_meta("demo_anchor", "x")
        driver.set_meta("demo_anchor", "y")
        assert driver.unshared() == 0

        # the observer reads, and is woken by LISTEN when the driver commits
        version = observer.wait_change(0)
        ticker = threading.Timer(0.2, lambda: driver.set_step(session.id, 0, "done", "alice"))
        ticker.start()
        assert observer.wait_change(10) != version
        ticker.join()
        seen = observer.get(session.id)
        assert seen.step_state(0) == "done" and [n.text for n in seen.notes] == ["looking at the ingress"]
        assert {s.alertname for s in observer.sessions()} == {"HighApiErrorRate", "DiskFull"}
        with pytest.raises(StoreError, match="read-only"):
            observer.set_step(session.id, 1, "done", "eve")
    finally:
        driver.close()
        observer.close()

    observer_dsn = lab.dsn("oncall_observer", "oncall", password=_password("oncall_observer"))
    with psycopg.connect(observer_dsn, autocommit=True) as raw:
        # the role's sessions start read-only ...
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            raw.execute("INSERT INTO oncall.meta (key, value) VALUES ('k', 'v')")
        # ... and turning that off does not help: the role has no right to write
        raw.execute("SET default_transaction_read_only = off")
        for statement in (
            "INSERT INTO oncall.meta (key, value) VALUES ('k', 'v')",
            "UPDATE oncall.event SET who = 'eve'",
            "DELETE FROM oncall.event",
            "INSERT INTO oncall.incident_session (fingerprint, active_at, alertname, summary, labels)"
            " VALUES ('x', now(), 'x', '', '[]')",
            "DROP TABLE oncall.event",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                raw.execute(statement)
        raw.execute("LISTEN oncall_sessions")  # needs no grant

    # oncall run as a driver with the observer's role: PostgreSQL refuses, oncall says so, nothing is kept
    as_driver = open_store(tmp_path / "eve.db", _url(lab, "oncall_observer", _password("oncall_observer")))
    try:
        with pytest.raises(StoreError):
            as_driver.set_step(session.id, 1, "done", "eve")
    finally:
        as_driver.close()

    driver_dsn = lab.dsn("oncall_driver", "oncall", password=_password("oncall_driver"))
    with psycopg.connect(driver_dsn, autocommit=True) as raw:
        for statement in ("UPDATE oncall.event SET who = 'mallory'", "DELETE FROM oncall.event"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                raw.execute(statement)
        kinds = [k for (k,) in raw.execute("SELECT kind FROM oncall.event ORDER BY seq")]
    assert kinds == ["fired", "opened", "fired", "opened", "note", "step"]

    # an observer's oncall finds its password in a .pgpass file, as the doc says; the URL has none
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{lab.port}:oncall:oncall_observer:{_password('oncall_observer')}\n")
    pgpass.chmod(0o600)
    listed = oncall(
        "sessions", "--store", _url(lab, "oncall_observer"), env=isolated_env | {"PGPASSFILE": str(pgpass)}
    )
    assert listed.returncode == 0, listed.stderr
    assert "HighApiErrorRate" in listed.stdout and "DiskFull" in listed.stdout
