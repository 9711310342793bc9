"""`python -m tui` runs the oncall command line."""

from tui.main import main

raise SystemExit(main())
