"""The probe's version-aware SQL against every PostgreSQL major version this machine can run.

Debian's package gives one version (15 on bookworm); the `pgserver` wheel (a dev dependency) carries
PostgreSQL 16 binaries without contrib, so 16's own column (reserved_connections) is read for real too.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from probes.postgres import PostgresProbe
from tests.labs import LabError
from tests.labs.postgres import PgLab, postgres_bindir
from tui.config.settings import PostgresSettings

pytestmark = pytest.mark.integration


def _pgserver_bindir() -> Path | None:
    spec = importlib.util.find_spec("pgserver")  # located, not imported: only its binaries are used
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "pginstall" / "bin"
    return folder if (folder / "initdb").is_file() else None


def _builds() -> list[tuple[str, Path | None, bool]]:
    """(label, bindir, has pg_stat_statements) of each server build present."""
    builds: list[tuple[str, Path | None, bool]] = [("debian", postgres_bindir(), True)]
    builds.append(("pgserver-wheel", _pgserver_bindir(), False))
    return builds


@pytest.fixture(params=_builds(), ids=lambda b: b[0])
def versioned_lab(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PgLab]:
    label, bindir, stats = request.param
    if bindir is None:
        pytest.skip(f"no {label} PostgreSQL build on this machine")
    out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=True)
    major = int(re.search(r"(\d+)\.", out.stdout).group(1))  # type: ignore[union-attr]
    # both reserved settings away from their defaults, so the probe must read each to get the sum right
    conf = "superuser_reserved_connections = 4\n" + ("reserved_connections = 2\n" if major >= 16 else "")
    lab = PgLab(tmp_path / label, bindir=bindir, stats_extension=stats, extra_conf=conf)
    try:
        lab.start()
    except LabError as exc:
        lab.destroy()
        pytest.fail(str(exc))
    yield lab
    lab.destroy()


async def test_each_major_version_reads_sessions_pressure_and_says_what_it_lacks(
    versioned_lab: PgLab,
) -> None:
    lab = versioned_lab
    with psycopg.connect(lab.dsn("inmidst"), autocommit=True, application_name="version-check") as held:
        server = held.info.server_version
        probe = PostgresProbe(PostgresSettings(dsn=lab.dsn("oncall_monitor")))
        try:
            snapshot = await probe.poll()
        finally:
            await probe.aclose()
    assert snapshot.server_version.split(".")[0] == str(server // 10000)
    assert snapshot.health.state in ("ok", "degraded"), snapshot.health.last_error
    assert snapshot.pressure is not None
    assert "version-check" in dict(snapshot.pressure.by_application)
    assert any(s.application == "version-check" for s in snapshot.sessions)
    expected_reserved = 4 + (2 if server >= 160000 else 0)
    assert snapshot.pressure.reserved == expected_reserved
    if lab.stats_extension:
        assert snapshot.statements is not None
    else:
        assert snapshot.statements is None
        assert "pg_stat_statements is not installed" in (snapshot.statements_problem or "")
