"""The PostgreSQL lab: a real server on loopback (initdb in a temp dir) and real sessions as conditions."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from tests.labs import LabError, free_port
from tui.lab.postgres import SERVER_CONF, postgres_bindir
from tui.lab.postgres import run_as as _run_as

START_TIMEOUT = 30.0  # seconds for initdb + start
SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "lab-super-pw"
# role -> password; oncall_monitor has pg_monitor, oncall_plain doesn't, inmidst owns the app's tables
ROLE_PASSWORDS = {
    SUPERUSER: SUPERUSER_PASSWORD,
    "oncall_monitor": "lab-monitor-pw",
    "oncall_plain": "lab-plain-pw",
    "inmidst": "lab-app-pw",
    "postgres_exporter": "lab-exporter-pw",  # pg_monitor, as the README tells users to run the exporter
}
LAB_DB = "inmidst"  # has pg_stat_statements
NOSTATS_DB = "nostats"  # the "extension missing" case
APP_NAME = "inmidst-api"
IDLE_CONNECTIONS = 5
SEQ_SCAN_TABLE = "orders"  # scanned on an unindexed column, and locked
DEAD_TUPLE_TABLE = "events"  # autovacuum off, 2000 of 3000 rows deleted
DEAD_TUPLES = 2000
SLOW_QUERY = "SELECT pg_sleep(30) /* lab slow query */"
STATEMENT_QUERY = "SELECT pg_sleep(0.3) /* lab top statement */"

_SERVER_CONF = (
    SERVER_CONF
    + """# every statement with its application_name: the tests read what oncall sent from the server's side
log_statement = 'all'
log_line_prefix = '%m [%p] app=%a '
"""
)

_HBA = """
local all all trust
host all all 127.0.0.1/32 scram-sha-256
"""

_SETUP_ROLES = [
    "CREATE ROLE oncall_monitor LOGIN PASSWORD 'lab-monitor-pw'",
    "GRANT pg_monitor TO oncall_monitor",
    "CREATE ROLE oncall_plain LOGIN PASSWORD 'lab-plain-pw'",
    "CREATE ROLE inmidst LOGIN PASSWORD 'lab-app-pw'",
    "CREATE ROLE postgres_exporter LOGIN PASSWORD 'lab-exporter-pw'",
    "GRANT pg_monitor TO postgres_exporter",
    f"CREATE DATABASE {LAB_DB} OWNER inmidst",
    f"CREATE DATABASE {NOSTATS_DB} OWNER inmidst",
]
_SETUP_LAB_DB = [
    "CREATE EXTENSION pg_stat_statements",
    "SET ROLE inmidst",
    f"CREATE TABLE {SEQ_SCAN_TABLE} (id int PRIMARY KEY, customer int, status text)",
    f"INSERT INTO {SEQ_SCAN_TABLE} SELECT g, g % 100, 'new' FROM generate_series(1, 2000) g",
    f"CREATE TABLE {DEAD_TUPLE_TABLE} (id int, payload text) WITH (autovacuum_enabled = false)",
    f"INSERT INTO {DEAD_TUPLE_TABLE} SELECT g, 'x' FROM generate_series(1, 3000) g",
    f"DELETE FROM {DEAD_TUPLE_TABLE} WHERE id <= {DEAD_TUPLES}",
    f"GRANT SELECT ON {SEQ_SCAN_TABLE}, {DEAD_TUPLE_TABLE} TO oncall_monitor, oncall_plain",
    "RESET ROLE",
]


@dataclass
class PgLab:
    """One PostgreSQL server: `start()`, `stop()`, `dsn(role, database)`, `admin_dsn`."""

    workdir: Path
    port: int = field(default_factory=free_port)
    bindir: Path | None = None
    max_connections: int = 100  # the benchmark raises it for its 2,000 sessions
    # pg_stat_statements preloaded and created in the lab database; off for server builds without contrib
    stats_extension: bool = True
    extra_conf: str = ""  # appended to postgresql.conf, e.g. "reserved_connections = 2" on 16+
    root: Path | None = None  # data, sockets and log, owned by the server's user
    running: bool = False

    @property
    def data(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def sockets(self) -> Path:
        assert self.root is not None
        return self.root / "sockets"

    @property
    def log_path(self) -> Path:
        assert self.root is not None
        return self.root / "server.log"

    @property
    def admin_dsn(self) -> str:
        return self.dsn(SUPERUSER, LAB_DB)

    def dsn(
        self, role: str = "oncall_monitor", database: str = LAB_DB, *, password: str | None = None
    ) -> str:
        """A libpq conninfo for a lab role over TCP on 127.0.0.1 (password auth)."""
        pw = ROLE_PASSWORDS.get(role, "") if password is None else password
        return make_conninfo(
            host="127.0.0.1", port=self.port, dbname=database, user=role, password=pw, connect_timeout=5
        )

    def start(self, timeout: float = START_TIMEOUT) -> PgLab:
        self.bindir = self.bindir or postgres_bindir()
        if self.bindir is None:
            raise LabError("PostgreSQL server binaries not found (apt-get install postgresql)")
        fresh = self.root is None
        if fresh:
            self._initdb()
        self._pg_ctl("start", "-w", "-t", str(int(timeout)), "-l", str(self.log_path), timeout=timeout + 5)
        self.running = True
        if fresh:
            self._setup()
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (data kept: `start()` brings it back on the same port)."""
        if self.running:
            self.running = False
            with contextlib.suppress(LabError):
                self._pg_ctl("stop", "-w", "-m", mode, "-t", "20", timeout=25)

    def destroy(self) -> None:
        self.stop("immediate")
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)

    def server_log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return "(no server log)"

    def log_mark(self) -> int:
        """Where the server's log ends now: `statements_logged(since=...)` reads only what comes after."""
        return self.log_path.stat().st_size

    def statements_logged(self, application: str, since: int = 0) -> list[str]:
        """Every statement the server logged for sessions of this application_name, first line each; from
        `since` (a `log_mark()`), so a test sees its own statements, not those of the tests before it."""
        marker = f" app={application} LOG:  "
        found: list[str] = []
        with self.log_path.open("rb") as log:
            log.seek(since)
            text = log.read().decode(errors="replace")
        for line in text.splitlines():
            if marker not in line:
                continue
            text = line.split(marker, 1)[1]
            # simple protocol logs "statement: ...", extended protocol "execute <unnamed>: ..."
            for prefix in ("statement: ", "execute <unnamed>: "):
                if text.startswith(prefix):
                    found.append(text.removeprefix(prefix))
                    break
        return found

    def _initdb(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        # pytest's tmp dirs are 0700 root: the server's user could not reach them, so use /tmp
        self.root = Path(tempfile.mkdtemp(prefix="oncall-pg-"))
        self.sockets.mkdir()
        pwfile = self.root / "pwfile"
        pwfile.write_text(SUPERUSER_PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            for path in (self.sockets, pwfile):
                shutil.chown(path, "postgres", "postgres")
        assert self.bindir is not None
        cmd = [
            *_run_as(),
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--pwfile",
            str(pwfile),
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise LabError(f"initdb failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        pwfile.unlink()
        with (self.data / "postgresql.conf").open("a") as conf:
            settings = {"port": self.port, "sockets": self.sockets, "max_connections": self.max_connections}
            text = _SERVER_CONF.format(**settings)
            if not self.stats_extension:
                text = "\n".join(line for line in text.splitlines() if "pg_stat_statements" not in line)
            conf.write(text + "\n" + self.extra_conf + "\n")
        (self.data / "pg_hba.conf").write_text(_HBA)

    def _pg_ctl(self, *args: str, timeout: float) -> None:
        assert self.bindir is not None
        cmd = [*_run_as(), str(self.bindir / "pg_ctl"), "-D", str(self.data), *args]
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise LabError(f"pg_ctl {args[0]} timed out; server log:\n{self.server_log()}") from None
        if result.returncode != 0:
            raise LabError(
                f"pg_ctl {args[0]} failed ({result.returncode}): {result.stderr.strip()}\n"
                f"server log:\n{self.server_log()}"
            )

    def _setup(self) -> None:
        with psycopg.connect(self.dsn(SUPERUSER, "postgres"), autocommit=True) as conn:
            for statement in _SETUP_ROLES:
                conn.execute(statement)
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            for statement in _SETUP_LAB_DB:
                if self.stats_extension or "pg_stat_statements" not in statement:
                    conn.execute(statement)
        # sequential scans on an unindexed column, and one slow statement for pg_stat_statements;
        # closing the connection flushes its statistics at once
        with psycopg.connect(self.dsn("inmidst"), autocommit=True) as conn:
            for customer in range(5):
                conn.execute(f"SELECT count(*) FROM {SEQ_SCAN_TABLE} WHERE customer = %s", (customer,))
            conn.execute(STATEMENT_QUERY)


@dataclass
class PgConditions:
    """Real sessions held open: idle, idle in transaction, a lock and its waiter, a slow query."""

    lab: PgLab
    connections: list[psycopg.Connection] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    idle_in_transaction_pid: int = 0
    lock_holder_pid: int = 0
    waiter_pid: int = 0
    slow_pid: int = 0

    def _connect(self, application: str, *, autocommit: bool = True) -> psycopg.Connection:
        conn = psycopg.connect(self.lab.dsn("inmidst"), autocommit=autocommit, application_name=application)
        self.connections.append(conn)
        return conn

    def start(self, idle_in_transaction_age: float = 1.2) -> PgConditions:
        for _ in range(IDLE_CONNECTIONS):
            self._connect(APP_NAME).execute("SELECT 1")
        iit = self._connect("inmidst-worker", autocommit=False)
        iit.execute("SELECT 1")  # opens the transaction and leaves it idle
        self.idle_in_transaction_pid = iit.info.backend_pid
        holder = self._connect("inmidst-migration", autocommit=False)
        holder.execute(f"LOCK TABLE {SEQ_SCAN_TABLE} IN ACCESS EXCLUSIVE MODE")
        self.lock_holder_pid = holder.info.backend_pid
        waiter = self._connect("inmidst-report")
        self.waiter_pid = waiter.info.backend_pid
        self._in_thread(waiter, f"SELECT * FROM {SEQ_SCAN_TABLE}")
        slow = self._connect("inmidst-batch")
        self.slow_pid = slow.info.backend_pid
        self._in_thread(slow, SLOW_QUERY)
        self._wait_until_visible()
        time.sleep(idle_in_transaction_age)  # the open transaction gets older than the probe's threshold
        return self

    def _in_thread(self, conn: psycopg.Connection, query: str) -> None:
        def run() -> None:
            try:
                conn.execute(query)
            except psycopg.errors.QueryCanceled:
                pass  # the slow query is cancelled at teardown
            except BaseException as exc:  # reported by stop()
                self.errors.append(exc)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _wait_until_visible(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.lab.admin_dsn, autocommit=True) as conn:
            while time.monotonic() < deadline:
                row = conn.execute(
                    "SELECT count(*) FILTER (WHERE pid = %s AND wait_event_type = 'Lock'),"
                    " count(*) FILTER (WHERE pid = %s AND state = 'active')"
                    " FROM pg_stat_activity",
                    (self.waiter_pid, self.slow_pid),
                ).fetchone()
                if row == (1, 1):
                    return
                time.sleep(0.05)
        raise LabError(
            f"the lab's lock waiter and slow query did not show up; server log:\n{self.lab.server_log()}"
        )

    def stop(self) -> None:
        for conn in self.connections:
            if conn.info.backend_pid == self.slow_pid:
                conn.cancel()
        for conn in self.connections:
            if not conn.autocommit and not conn.closed:
                conn.rollback()  # releases the lock, so the waiter finishes
        for thread in self.threads:
            thread.join(timeout=10)
        for conn in self.connections:
            conn.close()
        self.connections.clear()
