"""Triage: the runbook model, its lint, the command classifier, step plans and the evidence they read."""
