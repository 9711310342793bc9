"""oncall: the incident console (Textual app, CLI and the textual-free core in ``tui.core``)."""

__version__ = "0.1.0"
