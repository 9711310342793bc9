"""Prometheus: firing alerts, rules and the queries a runbook step asks for.

probe.py polls the alerts (alerts.py parses them and the rules into snapshot.py's types) on reads.py's triage
reads (a query, the scrape targets, PVC usage), on client.py's GET-only HTTP client; ordering.py is the order
alerts are listed in.
"""

from probes.http import redact_url
from probes.prometheus.alerts import fingerprint, parse_rfc3339
from probes.prometheus.client import (
    ALERTS_PATH,
    ALLOWED_REQUESTS,
    NOT_CONFIGURED,
    QUERY_PATH,
    READ_PATHS,
    RULES_PATH,
    SOURCE,
    TARGETS_PATH,
)
from probes.prometheus.ordering import STATE_ORDER, alert_order_key, alert_sort_key, severity_rank
from probes.prometheus.probe import PrometheusProbe
from probes.prometheus.reads import format_value, promql_string, regex_quote
from probes.prometheus.settings import PrometheusSettings
from probes.prometheus.snapshot import AlertsSnapshot, FiringAlert, Labels

__all__ = [
    "ALERTS_PATH",
    "ALLOWED_REQUESTS",
    "NOT_CONFIGURED",
    "QUERY_PATH",
    "READ_PATHS",
    "RULES_PATH",
    "SOURCE",
    "STATE_ORDER",
    "TARGETS_PATH",
    "AlertsSnapshot",
    "FiringAlert",
    "Labels",
    "PrometheusProbe",
    "PrometheusSettings",
    "alert_order_key",
    "alert_sort_key",
    "fingerprint",
    "format_value",
    "parse_rfc3339",
    "promql_string",
    "redact_url",
    "regex_quote",
    "severity_rank",
]
