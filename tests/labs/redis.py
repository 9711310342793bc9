"""The Redis lab: a real redis-server on loopback with a least-privilege ACL user, and real conditions
(slow log, memory near maxmemory, big keys, TTLs, hit ratio) made through the admin's own connection."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.labs import LabError, free_port, stop_process

REDIS_SERVER_BIN = Path("/usr/bin/redis-server")  # the Debian package CI installs (7.0)
START_TIMEOUT = 10.0
ADMIN_PASSWORD = "lab-redis-admin-pw"  # the `default` user's, with every permission
PROBE_USER = "oncall"
PROBE_PASSWORD = "lab-redis-oncall-pw"
# The least privilege the product's Redis probe must work with; `~*` because MEMORY USAGE, TYPE and TTL
# are key commands and need read access to the keys they are asked about.
PROBE_ACL = (
    "-@all +ping +info +slowlog|get +slowlog|len +config|get +latency|latest +memory|stats +memory|usage"
    " +dbsize +scan +type +ttl"
)
SLOWLOG_THRESHOLD_US = 10_000
SLOWLOG_MAX_LEN = 128
LATENCY_THRESHOLD_MS = 5

# Server text that must never be taken as Rich markup or reach a terminal raw; the value is longer than
# the 128 bytes the slow log keeps of an argument, so the server itself truncates it.
EVIL_KEY = "[bold red]pwn[/] \x1b[31m\x07key"
EVIL_VALUE = "[link=https://evil.example]click[/link] \x1b]0;title\x07" + "v" * 240
FILL_RATIO = 0.85  # used_memory / maxmemory the conditions fill up to
BIG_BLOB_BYTES = 4 * 1024 * 1024
BIG_ELEMENT_BYTES = 1024
SMALL_KEY_PATTERNS = ("session", "cache", "user")
SMALL_KEYS_PER_PATTERN = 1000
SMALL_KEY_TTL = 3600
# Sent as an EVAL: busy-waits ARGV[1] microseconds on the server's clock. Short enough that the slow log
# keeps the whole script (it truncates arguments at 128 bytes).
BUSY_SCRIPT = (
    "local t=redis.call('TIME') local s=t[1]*1e6+t[2] "
    "repeat t=redis.call('TIME') until t[1]*1e6+t[2]-s>=tonumber(ARGV[1])"
)
SLOW_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("DEBUG", "SLEEP", "0.03"),
    ("EVAL", BUSY_SCRIPT, "0", "25000"),
    ("DEBUG", "SLEEP", "0.015"),
)
BASELINE_HITS = 900  # the conditions start at a 90% hit ratio
BASELINE_MISSES = 100

_CONF = """\
bind 127.0.0.1
port {port}
dir "{workdir}"
logfile "{logfile}"
daemonize no
protected-mode yes
save "{save}"
appendonly {appendonly}
maxmemory {maxmemory}
maxmemory-policy {maxmemory_policy}
slowlog-log-slower-than {slowlog_threshold}
slowlog-max-len {slowlog_max_len}
latency-monitor-threshold {latency_threshold}
# the admin (the test itself) sleeps and populates through DEBUG; never the probe user
enable-debug-command local
user default on >{admin_password} ~* &* +@all
user {probe_user} on >{probe_password} ~* &* {probe_acl}
"""


def redis_server_binary() -> Path | None:
    if REDIS_SERVER_BIN.is_file():
        return REDIS_SERVER_BIN
    found = shutil.which("redis-server")
    return Path(found) if found else None


def _client(port: int, **kwargs: Any) -> redis.Redis:
    # redis-py retries a failed command 3 times with backoff by default: the lab wants the failure at once
    options: dict[str, Any] = {"socket_connect_timeout": 2, "socket_timeout": 10, "retry": no_retry()}
    return redis.Redis(host="127.0.0.1", port=port, **(options | kwargs))


def no_retry() -> Retry:
    return Retry(NoBackoff(), 0)


@dataclass
class RedisLab:
    """One redis-server: `start()`, `stop()`, `kill()`, `restart()`, `url(...)`, `admin()`."""

    workdir: Path
    port: int = field(default_factory=free_port)
    maxmemory: str = "64mb"
    maxmemory_policy: str = "noeviction"
    # managed Redis (ElastiCache, Memorystore...) hides CONFIG: it answers "ERR unknown command 'CONFIG'"
    rename_config: bool = False
    save: str = ""
    appendonly: str = "no"
    # TLS only (rediss://), as managed Redis offers it: certificates from trustme, the CA in `ca_path`
    tls: bool = False
    binary: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def conf_path(self) -> Path:
        return self.workdir / "redis.conf"

    @property
    def log_path(self) -> Path:
        return self.workdir / "redis.log"

    @property
    def stderr_path(self) -> Path:
        return self.workdir / "redis.stderr"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def url(self, user: str | None = PROBE_USER, password: str | None = PROBE_PASSWORD, db: int = 0) -> str:
        """redis://user:password@127.0.0.1:port/db; `user=None` gives the default user's `redis://:pw@...`."""
        auth = ""
        if user is not None or password is not None:
            auth = quote(user or "", safe="")
            if password is not None:
                auth += ":" + quote(password, safe="")
            auth += "@"
        scheme = "rediss" if self.tls else "redis"
        return f"{scheme}://{auth}127.0.0.1:{self.port}/{db}"

    @property
    def ca_path(self) -> Path:
        return self.workdir / "ca.pem"

    def _tls_options(self) -> dict[str, Any]:
        return {"ssl": True, "ssl_ca_certs": str(self.ca_path)} if self.tls else {}

    def admin(self, db: int = 0) -> redis.Redis:
        """The test's own connection (the default user, every permission); the caller closes it."""
        return _client(self.port, password=ADMIN_PASSWORD, db=db, **self._tls_options())

    def start(self, timeout: float = START_TIMEOUT) -> RedisLab:
        if self.running:
            return self
        self.binary = self.binary or redis_server_binary()
        if self.binary is None:
            raise LabError("redis-server not found (apt-get install redis-server)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._write_conf()
        with self.stderr_path.open("ab") as out:
            # stdout too: a config error is printed before the logfile is opened
            self.process = subprocess.Popen(
                [str(self.binary), str(self.conf_path)], stdout=out, stderr=out, cwd=self.workdir
            )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.kill()
            raise
        return self

    def stop(self) -> None:
        """SIGTERM and wait: a clean shutdown (`restart()` brings it back on the same port)."""
        stop_process(self.process)
        self.process = None

    def kill(self) -> None:
        """SIGKILL: the server dies mid-flight, connections drop without a goodbye."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def restart(self, timeout: float = START_TIMEOUT) -> RedisLab:
        """Start again on the same port (after `kill()` or `stop()`; stops it first if still running).
        Without persistence the data is gone, as after a real crash."""
        self.stop()
        return self.start(timeout)

    def destroy(self) -> None:
        self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def server_log(self) -> str:
        parts = []
        for path in (self.stderr_path, self.log_path):
            with contextlib.suppress(OSError):
                parts.append(path.read_text(errors="replace")[-3000:])
        return "\n".join(parts) or "(no server log)"

    def _write_conf(self) -> None:
        conf = _CONF.format(
            port=self.port,
            workdir=self.workdir,
            logfile=self.log_path,
            save=self.save,
            appendonly=self.appendonly,
            maxmemory=self.maxmemory,
            maxmemory_policy=self.maxmemory_policy,
            slowlog_threshold=SLOWLOG_THRESHOLD_US,
            slowlog_max_len=SLOWLOG_MAX_LEN,
            latency_threshold=LATENCY_THRESHOLD_MS,
            admin_password=ADMIN_PASSWORD,
            probe_user=PROBE_USER,
            probe_password=PROBE_PASSWORD,
            probe_acl=PROBE_ACL,
        )
        if self.tls:
            import trustme  # a test dependency: only the TLS lab needs it

            ca = trustme.CA()
            cert = ca.issue_cert("127.0.0.1", "localhost")
            ca.cert_pem.write_to_path(str(self.ca_path))
            cert.private_key_pem.write_to_path(str(self.workdir / "key.pem"))
            cert.cert_chain_pems[0].write_to_path(str(self.workdir / "cert.pem"))
            conf = conf.replace(f"port {self.port}\n", f"port 0\ntls-port {self.port}\n")
            conf += (
                f'tls-cert-file "{self.workdir / "cert.pem"}"\ntls-key-file "{self.workdir / "key.pem"}"\n'
                f'tls-ca-cert-file "{self.ca_path}"\ntls-auth-clients no\n'
            )
        if self.rename_config:
            # everything the lab needs is set above, so nobody has to reach CONFIG on this server
            conf += 'rename-command CONFIG ""\n'
        self.conf_path.write_text(conf)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise LabError(f"redis-server exited with {self.process.returncode}:\n{self.server_log()}")
            try:
                with _client(
                    self.port, password=ADMIN_PASSWORD, socket_timeout=1, **self._tls_options()
                ) as client:
                    if client.ping():
                        return
            except redis.RedisError as exc:
                last = exc  # not listening yet, or still loading
            time.sleep(0.05)
        raise LabError(
            f"redis-server on port {self.port} did not answer PING within {timeout:g}s ({last}):\n"
            f"{self.server_log()}"
        )


def _parse_keyspace(info: dict[str, object], db: int = 0) -> tuple[int, int]:
    entry = info.get(f"db{db}")
    if not isinstance(entry, dict):
        return 0, 0
    return int(entry.get("keys", 0)), int(entry.get("expires", 0))


@dataclass
class RedisConditions:
    """Real conditions on a lab server's db 0, made through the admin connection (never the probe):
    big keys filling memory to ~85% of maxmemory, small keys partly with TTLs, a slow log holding slow
    commands and one with hostile arguments, a hit ratio the test moves with `hits()` / `misses()`."""

    lab: RedisLab
    client: redis.Redis | None = None
    # what went into the slow log, oldest first, as the arguments sent (SLOWLOG GET lists newest first)
    slow_commands: list[tuple[str, ...]] = field(default_factory=list)
    evil_key: str = EVIL_KEY
    evil_value: str = EVIL_VALUE
    # per pattern ("session", ...) -> how many `<pattern>:<n>` keys, n from 0
    small_keys: dict[str, int] = field(default_factory=dict)
    list_length: int = 0  # elements in big:list
    hash_fields: int = 0  # fields in big:hash
    # over the whole db 0 (the big keys and the evil key have no TTL): what INFO keyspace and a SCAN see
    keys_with_ttl: int = 0
    keys_without_ttl: int = 0
    used_memory: int = 0  # after filling
    maxmemory: int = 0

    @property
    def total_keys(self) -> int:
        return self.keys_with_ttl + self.keys_without_ttl

    @property
    def admin(self) -> redis.Redis:
        assert self.client is not None, "RedisConditions.start() first"
        return self.client

    def start(self) -> RedisConditions:
        if self.lab.rename_config:
            raise LabError("RedisConditions toggles the slow log through CONFIG: use a server with CONFIG")
        self.client = self.lab.admin()
        self.admin.flushall()
        self._small_keys()
        self._fill_memory()
        self._slow_log()
        # the hit ratio starts from the conditions' own reads, not from whatever came before
        self.admin.config_resetstat()
        self.hits(BASELINE_HITS)
        self.misses(BASELINE_MISSES)
        keys, expires = _parse_keyspace(self.admin.info("keyspace"))
        if (keys, expires) != (self.total_keys, self.keys_with_ttl):
            raise LabError(
                f"db0 holds {keys} keys, {expires} with a TTL; "
                f"expected {self.total_keys}, {self.keys_with_ttl}"
            )
        return self

    def hits(self, n: int) -> None:
        """n GETs of keys that exist: keyspace_hits grows by n."""
        count = self.small_keys.get("cache", 0)
        assert count, "RedisConditions.start() first"
        with self.admin.pipeline(transaction=False) as pipe:
            for i in range(n):
                pipe.get(f"cache:{i % count}")
            pipe.execute()

    def misses(self, n: int) -> None:
        """n GETs of keys that don't exist: keyspace_misses grows by n."""
        with self.admin.pipeline(transaction=False) as pipe:
            for i in range(n):
                pipe.get(f"missing:{i}")
            pipe.execute()

    def stop(self) -> None:
        """Leave the shared server empty for the next module: no keys, no slow log, no stats."""
        if self.client is None:
            return
        with contextlib.suppress(redis.RedisError):
            if self.lab.running:
                self.admin.flushall()
                self.admin.slowlog_reset()
                self.admin.latency_reset()
                self.admin.config_set("slowlog-log-slower-than", SLOWLOG_THRESHOLD_US)
                self.admin.config_set("slowlog-max-len", SLOWLOG_MAX_LEN)
                self.admin.config_resetstat()
        self.client.close()
        self.client = None

    def _small_keys(self) -> None:
        with_ttl = 0
        with self.admin.pipeline(transaction=False) as pipe:
            for pattern in SMALL_KEY_PATTERNS:
                for n in range(SMALL_KEYS_PER_PATTERN):
                    key = f"{pattern}:{n}"
                    pipe.set(key, f"{pattern}-value-{n:06d}-" + "s" * 40)
                    if n % 10 < 3:  # exactly 30% of each pattern
                        pipe.expire(key, SMALL_KEY_TTL)
                        with_ttl += 1
                self.small_keys[pattern] = SMALL_KEYS_PER_PATTERN
            pipe.execute()
        self.keys_with_ttl = with_ttl
        self.keys_without_ttl = SMALL_KEYS_PER_PATTERN * len(SMALL_KEY_PATTERNS) - with_ttl

    def _fill_memory(self, chunk: int = 256) -> None:
        info = self.admin.info("memory")
        self.maxmemory = int(info["maxmemory"])
        if not self.maxmemory:
            raise LabError("the lab server has no maxmemory: nothing to fill up to")
        target = int(self.maxmemory * FILL_RATIO)
        self.admin.set("big:blob", b"b" * BIG_BLOB_BYTES)
        element = b"e" * BIG_ELEMENT_BYTES
        used = _settled_memory(info)
        # grow the list and the hash in small steps (~0.5 MB a round) so the last one stays clear of
        # maxmemory: with noeviction a write past it fails instead of evicting
        while used < target:
            with self.admin.pipeline(transaction=False) as pipe:
                pipe.rpush("big:list", *([element] * chunk))
                pipe.hset(
                    "big:hash", mapping={f"field:{self.hash_fields + i}": element for i in range(chunk)}
                )
                pipe.execute()
            self.list_length += chunk
            self.hash_fields += chunk
            used = _settled_memory(self.admin.info("memory"))
        self.used_memory = used
        self.keys_without_ttl += 3

    def _slow_log(self) -> None:
        self.admin.slowlog_reset()
        self.admin.latency_reset()
        # the hostile entry first, with a threshold of 0 and a slow log one entry long: the CONFIG SET
        # lowering the threshold is logged too, and the SET pushes it out again
        self.admin.config_set("slowlog-log-slower-than", 0, "slowlog-max-len", 1)
        self.admin.set(self.evil_key, self.evil_value)
        self.admin.config_set(
            "slowlog-max-len", SLOWLOG_MAX_LEN, "slowlog-log-slower-than", SLOWLOG_THRESHOLD_US
        )
        self.slow_commands.append(("SET", self.evil_key, self.evil_value))
        self.keys_without_ttl += 1
        # genuinely slow (over the 10 ms threshold), so they also reach LATENCY LATEST (over 5 ms)
        for command in SLOW_COMMANDS:
            self.admin.execute_command(*command)
            self.slow_commands.append(command)


def _settled_memory(info: dict[str, Any]) -> int:
    """used_memory without the clients' buffers: the pipelined fill's query buffer counts while it is
    being sent and is given back a moment later, which left the server under 80% once it settled."""
    return int(info["used_memory"]) - int(info.get("mem_clients_normal", 0))


def monitor_commands(lab: RedisLab, seen: list[str], ready: threading.Event, stop: threading.Event) -> None:
    """MONITOR in a thread: every command the server runs (but the admin ones Redis 7 hides) into `seen`,
    until `stop` is set and a command holding "MONITOR-END" arrives (an ECHO from the test)."""
    admin = lab.admin()
    with admin.monitor() as monitor:
        ready.set()
        for command in monitor.listen():
            if stop.is_set() and "MONITOR-END" in command["command"]:
                break
            seen.append(command["command"])
    admin.close()


class SilentServer:
    """A TCP listener on 127.0.0.1 that accepts connections and never answers nor closes them: a Redis
    that hangs (a stuck failover, a black-holed route), where only the client's own timeouts help."""

    def __init__(self) -> None:
        self._listener: socket.socket | None = None
        self._accepted: list[socket.socket] = []
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.port = 0

    @property
    def url(self) -> str:
        return f"redis://{PROBE_USER}:{PROBE_PASSWORD}@127.0.0.1:{self.port}/0"

    def start(self) -> SilentServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.settimeout(0.1)  # so the thread notices stop() without a wake-up connection
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, name="silent-redis", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        for sock in [*self._accepted, self._listener]:
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()
        self._accepted.clear()
        self._listener = None

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._accepted.append(conn)  # held open, never read from or written to

    def __enter__(self) -> SilentServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
