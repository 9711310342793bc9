"""`oncall check`: one real read of every configured source, one line (or JSON object) per source."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import httpx

from probes.base import SourceHealth
from probes.format import clean
from probes.kubernetes import KubernetesProbe
from probes.postgres import NOT_CONFIGURED as POSTGRES_NOT_CONFIGURED
from probes.postgres import PostgresProbe
from probes.prometheus import PrometheusProbe
from probes.redis import NOT_CONFIGURED as REDIS_NOT_CONFIGURED
from probes.redis import RedisProbe
from tui.cli.output import iso
from tui.config.settings import KubernetesSettings, PostgresSettings, RedisSettings, Settings

if TYPE_CHECKING:
    from tui.cli.demo import DemoSources


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    if args.demo:
        from tui.cli.demo import demo_sources  # the demo's modules load only for --demo

        healths = asyncio.run(check_demo(demo_sources(settings)))
    else:
        healths = asyncio.run(check_sources(settings))
    print(format_check(healths, as_json=args.json))
    return check_exit_code(healths)


async def check_sources(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> list[SourceHealth]:
    """One real poll of each configured source, all at once: a slow one doesn't delay the others."""
    async with PrometheusProbe(settings.prometheus, transport=transport) as probe:
        prometheus, kubernetes, postgres, redis = await asyncio.gather(
            probe.poll(),
            check_kubernetes(settings.kubernetes),
            check_postgres(settings.postgres),
            check_redis(settings.redis),
        )
    return [prometheus.health, kubernetes, postgres, redis]


async def check_demo(demo: DemoSources) -> list[SourceHealth]:
    """The demo's sources, checked as real ones are: each says it is the demo in its detail."""
    async with PrometheusProbe(demo.prometheus, transport=demo.transport) as probe:
        prometheus, postgres, redis = await asyncio.gather(
            probe.poll(), demo.postgres.poll(), demo.redis.check()
        )
    return [prometheus.health, demo.kube.health, postgres.health, redis]


async def check_redis(settings: RedisSettings) -> SourceHealth:
    """One real refresh: version, role, and which readings the provider or the ACL blocks."""
    if not settings.configured:
        return SourceHealth.not_configured("redis", REDIS_NOT_CONFIGURED)
    async with RedisProbe(settings) as probe:
        return await probe.check()


async def check_postgres(settings: PostgresSettings) -> SourceHealth:
    """One real refresh: version, role, pg_monitor yes/no, pg_stat_statements yes/no, read-only guard on."""
    if not settings.configured:
        return SourceHealth.not_configured("postgresql", POSTGRES_NOT_CONFIGURED)
    async with PostgresProbe(settings) as probe:
        return await probe.check()


async def check_kubernetes(settings: KubernetesSettings) -> SourceHealth:
    """The API server's version and one pod of the namespace: reachable, authenticated, allowed to list."""
    probe = KubernetesProbe(settings)
    try:
        if probe.health.state != "ok":
            return probe.health  # no kubeconfig, or a context that isn't in it: nothing to send
        return await probe.check()
    finally:
        probe.close()


def check_exit_code(healths: Iterable[SourceHealth]) -> int:
    """0 when every configured source is ok; not-configured sources don't count."""
    configured = [h for h in healths if h.state != "not-configured"]
    return 0 if all(h.state == "ok" for h in configured) else 1


def describe_health(health: SourceHealth) -> str:
    """One line of plain words about a source, safe for any terminal, never holding a secret."""
    if health.answering:
        parts = [health.detail or "read"]
        if health.latency is not None:
            parts.append(f"in {round(health.latency * 1000)} ms")
        if health.endpoint:
            parts.append(f"from {health.endpoint}")
        text = " ".join(parts)
        if health.state == "degraded" and health.last_error:
            text += f"; {health.last_error}"
        return clean(text)
    return clean(health.last_error or health.state.replace("-", " "))


def format_check(healths: Iterable[SourceHealth], *, as_json: bool) -> str:
    """One aligned line per source: `<source>  <state>  <detail>`, or a JSON list."""
    healths = list(healths)
    if as_json:
        return json.dumps([_health_json(h) for h in healths], indent=2)
    rows = [(clean(h.source), h.state, describe_health(h)) for h in healths]
    source_width = max((len(r[0]) for r in rows), default=0)
    state_width = max((len(r[1]) for r in rows), default=0)
    return "\n".join(
        f"{source:<{source_width}}  {state:<{state_width}}  {detail}".rstrip()
        for source, state, detail in rows
    )


def _health_json(health: SourceHealth) -> dict[str, Any]:
    return {
        "source": health.source,
        "state": health.state,
        "detail": describe_health(health),
        "endpoint": health.endpoint,
        "latency_ms": round(health.latency * 1000, 1) if health.latency is not None else None,
        "checked_at": iso(health.checked_at),
        "last_success": iso(health.last_success),
        "error": health.last_error,
    }
