"""`python -m tui` runs the oncall command line."""

from tui.cli import main

raise SystemExit(main())
