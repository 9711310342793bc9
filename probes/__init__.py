"""Data sources: async, textual-free probes that return immutable snapshots and a health record."""
