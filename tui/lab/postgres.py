"""The lab's PostgreSQL: Debian's binaries, initdb as an unprivileged user, pg_ctl, the schema and data."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from tui.lab.state import LAB_DB, LabState

MAX_CONNECTIONS = 50
API_ROLE = "inmidst"  # the stand-in API, owner of its tables
CONSOLE_ROLE = "oncall"  # the console: pg_monitor, read-only
EXPORTER_ROLE = "postgres_exporter"  # pg_monitor
ITEMS = 10_000
ORDERS = 300_000

SERVER_CONF = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{sockets}'
max_connections = {max_connections}
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = 'top'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 32MB
logging_collector = off
log_min_messages = warning
"""

# loopback only, no passwords: the lab is one machine's toy, and every role is the lab's own
_HBA = """
local all all trust
host all all 127.0.0.1/32 trust
"""

_SETUP = [
    f"CREATE ROLE {API_ROLE} LOGIN",
    f"CREATE ROLE {CONSOLE_ROLE} LOGIN",
    f"GRANT pg_monitor TO {CONSOLE_ROLE}",
    f"ALTER ROLE {CONSOLE_ROLE} SET default_transaction_read_only = on",
    f"CREATE ROLE {EXPORTER_ROLE} LOGIN",
    f"GRANT pg_monitor TO {EXPORTER_ROLE}",
    f"CREATE DATABASE {LAB_DB} OWNER {API_ROLE}",
]
_SETUP_DB = [
    "CREATE EXTENSION pg_stat_statements",
    f"SET ROLE {API_ROLE}",
    "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, payload text NOT NULL)",
    f"INSERT INTO items SELECT g, 'item ' || g, repeat(md5(g::text), 4) FROM generate_series(1, {ITEMS}) g",
    # note is not indexed: a search on it is a sequential scan of every order
    "CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, note text NOT NULL)",
    "INSERT INTO orders SELECT g, g % 5000 + 1, 'order ' || g || ' for customer ' || (g % 5000 + 1)"
    f" || ' ' || md5(g::text) FROM generate_series(1, {ORDERS}) g",
    "CREATE INDEX orders_customer_id ON orders (customer_id)",
    "ANALYZE items",
    "ANALYZE orders",
    "RESET ROLE",
    f"GRANT SELECT ON items, orders TO {CONSOLE_ROLE}",
]


class PostgresError(RuntimeError):
    """The lab's PostgreSQL did not initialise, start or stop; the message carries its output."""


def postgres_bindir() -> Path | None:
    """Debian's server binaries (initdb, pg_ctl): `pg_config --bindir` if it has them, else the newest."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
            candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name or 0))
    candidates += [Path(p) for p in reversed(found)]
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def run_as() -> list[str]:
    """initdb refuses root: as root, run the server tools as the unprivileged `postgres` user."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--"]
    raise PostgresError("running as root without runuser: cannot start PostgreSQL as an unprivileged user")


def server_folder(lab_folder: Path) -> Path:
    """Where the server's data, sockets and log go: in the lab folder, or as root a fresh folder in /tmp
    owned by `postgres` (the lab folder's parents may be closed to that user)."""
    if os.geteuid() != 0:
        folder = lab_folder / "postgres"
        shutil.rmtree(folder, ignore_errors=True)  # left by a lab that died: initdb wants it empty
        folder.mkdir(parents=True)
        return folder
    folder = Path(tempfile.mkdtemp(prefix="oncall-lab-pg-"))
    shutil.chown(folder, "postgres", "postgres")
    return folder


def initdb(state: LabState, folder: Path, port: int) -> None:
    """A fresh cluster in folder/data with the lab's settings; fills state's postgres fields."""
    bindir = postgres_bindir()
    if bindir is None:
        raise PostgresError("PostgreSQL server binaries not found (apt-get install postgresql)")
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(sockets, "postgres", "postgres")
    command = [*run_as(), str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
    command += ["--no-sync", "-E", "UTF8", "--locale=C"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise PostgresError(f"initdb failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    settings = {"port": port, "sockets": sockets, "max_connections": MAX_CONNECTIONS}
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(SERVER_CONF.format(**settings))
    (data / "pg_hba.conf").write_text(_HBA)
    state.postgres_bindir = str(bindir)
    state.postgres_data = str(data)
    state.postgres_sockets = str(sockets)
    state.postgres_port = port


def log_path(state: LabState) -> Path:
    return Path(state.postgres_data).parent / "server.log"


def pg_ctl(state: LabState, *args: str, timeout: float = 20.0) -> None:
    command = [*run_as(), str(Path(state.postgres_bindir) / "pg_ctl"), "-D", state.postgres_data, *args]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise PostgresError(f"pg_ctl {args[0]} timed out after {timeout:g}s") from None
    if result.returncode != 0:
        raise PostgresError(f"pg_ctl {args[0]} failed ({result.returncode}): {result.stderr.strip()}")


def start(state: LabState, timeout: float = 20.0) -> int:
    """pg_ctl start, waiting until it accepts connections; the postmaster's pid."""
    pg_ctl(state, "start", "-w", "-t", str(int(timeout)), "-l", str(log_path(state)), timeout=timeout + 5)
    return postmaster_pid(state)


def stop(state: LabState, *, immediate: bool = False, timeout: float = 15.0) -> None:
    """pg_ctl stop -m fast (or immediate), waiting until the server is gone."""
    mode = "immediate" if immediate else "fast"
    pg_ctl(state, "stop", "-w", "-m", mode, "-t", str(int(timeout)), timeout=timeout + 5)


def postmaster_pid(state: LabState) -> int:
    try:
        return int((Path(state.postgres_data) / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def setup(state: LabState) -> None:
    """The roles, the `inmidst` database with pg_stat_statements, and its tables with data."""
    with psycopg.connect(
        state.postgres_dsn("postgres", "postgres"), autocommit=True, connect_timeout=5
    ) as conn:
        for statement in _SETUP:
            conn.execute(statement)
    with psycopg.connect(state.postgres_dsn("postgres"), autocommit=True, connect_timeout=5) as conn:
        for statement in _SETUP_DB:
            conn.execute(statement)


def remove(state: LabState) -> None:
    """The server's folder, once it is stopped (a fresh `up` runs initdb again)."""
    if state.postgres_data:
        shutil.rmtree(Path(state.postgres_data).parent, ignore_errors=True)
