"""Redis: the probe, its command guard, INFO and slow log parsing, the key sampler and triage reads."""
