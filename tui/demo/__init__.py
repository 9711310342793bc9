"""The demo: a scripted incident and its sources, answering through the same contracts as the probes."""
