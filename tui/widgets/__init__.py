"""Textual widgets of oncall."""
