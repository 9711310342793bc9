"""Prometheus: firing alerts, rules and the queries a runbook step asks for."""
