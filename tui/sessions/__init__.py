"""Incident sessions: the store and the export."""
