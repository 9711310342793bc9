"""The semantic styles every widget and screen draws with: one name per meaning, the colour said once.

Rich style strings, not theme variables: the look (and the SVG snapshots) stays exactly as it was.
"""

from __future__ import annotations

from collections.abc import Mapping

FIRING = "bold red"  # firing, down, failing, past a threshold: act now
ERROR = "red"  # an error in running text (the runbook did not load)
WARNING = "yellow"  # pending, stale, degraded: worth a look
WARNING_STRONG = "bold yellow"  # a warning's headline: ⊘ refused, ⚠ never run, a Warning event
OK = "green"
OK_STRONG = "bold green"  # done, following, a reading that answered
MUTED = "dim"  # secondary: hints, ages, placeholders, what is not configured
MUTED_BOLD = "dim bold"
MUTED_ITALIC = "dim italic"
STRONG = "bold"  # names and counts
HEADING = "bold underline"
ITALIC = "italic"  # free text from a runbook or a server: descriptions
LINK = "bold magenta"  # a runbook section (#slug)
HIGHLIGHT = "bold cyan"  # commands inline, keys, what is new since the last look
CODE = "cyan"  # a command line, a Kubernetes object
INFO = "cyan"  # the info severity
TERMINATING = "magenta"  # a pod on its way out
KEY_HINT = "bold reverse"  # a key named in running text
DEMO_BADGE = "bold black on yellow"
OBSERVER_BADGE = "bold white on dark_blue"
PLAIN = ""  # no emphasis: the cell is fine

SEVERITY: Mapping[str, str] = {"critical": FIRING, "warning": WARNING, "info": INFO}

# pod statuses that mean the pod does not work (kubectl's STATUS column)
FAILED_POD_STATUSES = frozenset(
    {
        "CrashLoopBackOff",
        "Error",
        "OOMKilled",
        "ImagePullBackOff",
        "ErrImagePull",
        "Evicted",
        "Unknown",
        "CreateContainerConfigError",
        "InvalidImageName",
        "RunContainerError",
    }
)


def status_style(status: str) -> str:
    """A pod's or container's status as kubectl words it: green running, red failing, yellow the rest."""
    if status == "Running":
        return OK
    if status == "Completed":
        return MUTED
    if status in FAILED_POD_STATUSES or status.startswith(
        ("Init:Error", "Init:CrashLoopBackOff", "Signal:", "ExitCode:")
    ):
        return FIRING
    if status == "Terminating":
        return TERMINATING
    return WARNING
