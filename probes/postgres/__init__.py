"""PostgreSQL: the probe, its SQL, runbook statements and the read-only guard."""
