"""One pod in full, as the pod detail screen shows it (containers, last termination, resources, conditions,
its events), and the title line above its logs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.text import Text

from probes.format import clean
from probes.kubernetes import KubeEvent, PodRow
from tui.widgets import styles
from tui.widgets.kube_panels import event_line
from tui.widgets.render import since
from tui.widgets.styles import status_style


def pod_text(pod: PodRow, now: datetime) -> Text:
    text = Text()
    text.append(f"{clean(pod.namespace)}/", style=styles.MUTED)
    text.append(clean(pod.name), style=styles.STRONG)
    text.append("  ")
    text.append(clean(pod.status), style=status_style(pod.status))
    text.append(f"  ready {pod.ready}  restarts {pod.restarts}  age {since(pod.created_at, now)}")
    text.append(
        f"\nnode {clean(pod.node) or '<none>'}  ip {clean(pod.ip) or '-'}  owner {clean(pod.owner) or '-'}",
        style=styles.MUTED,
    )
    if pod.message:
        text.append("\n")
        text.append(clean(pod.message), style=styles.WARNING)
    text.append("\n\nContainers\n", style=styles.HEADING)
    for c in pod.containers:
        text.append("  init " if c.init else "  ", style=styles.MUTED)
        text.append(clean(c.name), style=styles.STRONG)
        text.append(f"  {clean(c.image)}\n", style=styles.MUTED)
        state = c.state + (f" ({clean(c.reason)})" if c.reason else "")
        text.append(f"    state {state}", style=status_style(c.reason) if c.reason else styles.OK)
        text.append(f"  ready {'yes' if c.ready else 'no'}  restarts {c.restarts}")
        if c.started_at:
            text.append(f"  since {since(c.started_at, now)}")
        text.append("\n")
        if c.last_termination_reason:
            text.append("    last state terminated: ", style=styles.MUTED)
            text.append(
                clean(c.last_termination_reason),
                style=styles.FIRING if c.last_termination_reason in ("OOMKilled", "Error") else styles.PLAIN,
            )
            if c.last_exit_code is not None:
                text.append(f" (exit code {c.last_exit_code})")
            if c.last_finished_at:
                text.append(f" {since(c.last_finished_at, now)} ago")
            text.append("\n")
        text.append(
            f"    requests cpu {clean(c.requests_cpu) or '-'} memory {clean(c.requests_memory) or '-'}"
            f"   limits cpu {clean(c.limits_cpu) or '-'} memory {clean(c.limits_memory) or '-'}\n",
            style=styles.MUTED,
        )
    if pod.conditions:
        text.append("\nConditions\n", style=styles.HEADING)
        for cond in pod.conditions:
            text.append(
                f"  {clean(cond.type):<16} {clean(cond.status):<6}",
                style=styles.PLAIN if cond.status == "True" else styles.WARNING,
            )
            if cond.reason or cond.message:
                text.append(f" {clean(cond.reason)} {clean(cond.message)}", style=styles.MUTED)
            text.append("\n")
    return text


def pod_events_text(events: Sequence[KubeEvent] | None, problem: str | None, now: datetime) -> Text:
    """The pod's events under its detail, or why they could not be read."""
    text = Text("\nEvents\n", style=styles.HEADING)
    if problem:
        text.append(clean(problem), style=styles.WARNING)
    elif not events:
        text.append("no events for this pod", style=styles.MUTED)
    for event in events or ():
        text.append_text(event_line(event, now))
        text.append("\n")
    return text


def logs_title(
    pod: PodRow,
    container: str | None,
    containers: int,
    *,
    tail: int,
    previous: bool,
    following: bool,
    needle: str,
    problem: str | None = None,
) -> Text:
    """Whose logs these are, which container (of how many), current or previous, and the filter."""
    text = Text()
    text.append(f"{clean(pod.namespace)}/", style=styles.MUTED)
    text.append(clean(pod.name), style=styles.STRONG)
    if container:
        text.append(f"  container {clean(container)}")
        if containers > 1:
            text.append(f" (c: next of {containers})", style=styles.MUTED)
    text.append("  previous" if previous else "  current", style=styles.WARNING if previous else styles.MUTED)
    text.append(f"  last {tail} lines")
    if following:
        text.append("  following", style=styles.OK_STRONG)
    if needle:
        text.append(f"  filter: {clean(needle)}", style=styles.HIGHLIGHT)
    if problem:
        text.append("\n")
        text.append(clean(problem), style=styles.WARNING)
    return text
