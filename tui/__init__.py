"""oncall: the incident console (Textual app, CLI and the textual-free core in ``tui.core``)."""

import sys

__version__ = "0.1.0"

# httpx's own command line (click, pygments, rich's progress: ~80 ms at each start) is never run here: with
# its module marked absent, `import httpx` defines its stub `main` instead of loading it
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
