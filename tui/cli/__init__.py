"""The command line: argument parsing and the subcommands (check, snapshot, sessions, export, runbook)."""
