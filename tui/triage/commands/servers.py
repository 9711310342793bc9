"""Which database server a psql or redis-cli command reads, and whether it is the one oncall reads."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from probes.postgres import NOTHING_ALLOWED, Allowlist
from tui.triage.commands.model import ConfiguredServers, LiveRead, Server, Unknown
from tui.triage.commands.options import Unsupported, number, unknown

if TYPE_CHECKING:
    from probes.postgres import PostgresSettings
    from probes.redis import RedisSettings


_DEFAULT_PORTS: dict[str, int] = {"postgresql": 5432, "redis": 6379}
_DATABASES: dict[str, str] = {"postgresql": "PostgreSQL", "redis": "Redis"}
_LOOPBACK = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "::1", "0.0.0.0"})
_CLUSTER_DOMAIN = re.compile(r"\.svc(?:\.cluster\.local)?$")


def server_named(hosts: list[str], ports: list[str], what: str) -> Server | None:
    if not hosts and not ports:
        return None
    numbers = {number(p.strip(), what) for p in ports}
    if len(numbers) > 1:
        raise Unsupported(f"several ports at once ({', '.join(sorted(map(str, numbers)))})")
    return Server(tuple(dict.fromkeys(hosts)), numbers.pop() if numbers else None)


def _host_key(host: str) -> str:
    """One spelling per host: lower case, no trailing dot or brackets, `local` for loopback and sockets."""
    host = host.strip().lower().rstrip(".").removeprefix("[").removesuffix("]")
    if not host or host.startswith("/") or host in _LOOPBACK or re.fullmatch(r"127(?:\.\d{1,3}){3}", host):
        return "local"
    return _CLUSTER_DOMAIN.sub("", host)  # inmidst-postgres.production.svc.cluster.local → …production


def _same_host(named: str, known: str) -> bool:
    """The same host, a Kubernetes service by its short name included: `x` is `x.production.svc…`."""
    a, b = _host_key(named), _host_key(known)
    if a == b:
        return True
    in_cluster = any(_CLUSTER_DOMAIN.search(h.strip().lower().rstrip(".")) for h in (named, known))
    short, longer = sorted((a, b), key=lambda h: h.count("."))
    return in_cluster and "." not in short and longer.split(".")[0] == short


def the_pods_own(server: Server, target: str, source: str) -> bool:
    """`kubectl exec deploy/x -- psql -h localhost`: the pod's own server, the same as naming none."""
    workload = target.rsplit("/", 1)[-1]
    if server.port not in (None, _DEFAULT_PORTS[source]):
        return False  # another port inside the pod is another server, and not the one oncall reads
    return all(_host_key(h) == "local" or _same_host(h, workload) for h in server.hosts)


def aimed_elsewhere(read: LiveRead, servers: ConfiguredServers) -> Unknown | None:
    """Unknown when the server the command names is not the one oncall reads (or oncall can't tell)."""
    assert read.server is not None
    default = _DEFAULT_PORTS[read.source]
    database = _DATABASES[read.source]
    named = read.server.words(default)
    configured = servers.postgresql if read.source == "postgresql" else servers.redis
    if configured is None:
        return unknown(
            f"it reads the {database} server {_at(named)}, and oncall has no {database} server configured "
            "to tell whether that is the one it reads; copy it and run it there"
        )
    known_hosts = configured.hosts or ("localhost",)
    hosts = read.server.hosts or known_hosts  # only -p: the host oncall reads, on another port
    same_host = all(any(_same_host(h, k) for k in known_hosts) for h in hosts)
    if same_host and (read.server.port or default) == (configured.port or default):
        return None
    return unknown(
        f"it reads the {database} server {_at(named)}, not the one oncall reads "
        f"({configured.words(default)}); copy it and run it there"
    )


def _at(server: str) -> str:
    if server.startswith("port "):
        return f"on {server}"
    return f"named by {server}" if server.startswith("service=") else f"at {server}"


def configured_servers(postgres: PostgresSettings | None, redis: RedisSettings | None) -> ConfiguredServers:
    """The servers oncall's probes read, from their settings, as libpq and redis-py will resolve them."""
    allow = NOTHING_ALLOWED
    if postgres is not None:
        allow = Allowlist(
            functions=frozenset(postgres.allow_functions), relations=frozenset(postgres.allow_relations)
        )
    return ConfiguredServers(
        postgresql=_configured_postgres(postgres), redis=_configured_redis(redis), sql_allow=allow
    )


def _configured_postgres(pg: PostgresSettings | None) -> Server | None:
    if pg is None or not pg.configured:
        return None
    # libpq's own reading of the DSN; psycopg loads here, not with the classifier (oncall's first screen)
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict
    from psycopg.pq import Conninfo

    try:
        params = conninfo_to_dict(pg.dsn or "")
    except ProgrammingError:
        return None
    # what the DSN leaves out libpq takes from PGHOST, PGPORT, PGSERVICE: its own defaults say which
    defaults = {o.keyword.decode(): (o.val or b"").decode() for o in Conninfo.get_defaults()}
    if params.get("service") or (not params.get("host") and defaults.get("service")):
        return None  # pg_service.conf names the server: oncall can't tell which
    host = str(params.get("host") or params.get("hostaddr") or defaults.get("host") or "")
    port = str(params.get("port") or defaults.get("port") or "")
    ports = {int(p) for p in port.split(",") if p.strip().isdigit()}
    return Server(tuple(h for h in host.split(",") if h), ports.pop() if len(ports) == 1 else None)


def _configured_redis(redis: RedisSettings | None) -> Server | None:
    if redis is None or redis.url is None:
        return None
    parts = urlsplit(redis.url)
    try:
        port = parts.port
    except ValueError:
        return None
    return Server((parts.hostname or "127.0.0.1",), port)
