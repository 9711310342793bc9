"""`python -m tui` runs the oncall command line."""

from tui.cli.main import main

raise SystemExit(main())
