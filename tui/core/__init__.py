"""The textual-free core: runbook model, configuration, session store, export and demo data."""
