"""Textual screens of oncall."""
