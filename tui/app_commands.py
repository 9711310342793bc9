"""What the `:` command line does in the app: show a dashboard tab, aim Kubernetes at another namespace or
context, open a runbook section, quit. Every name is checked first; a wrong one is said, never raised."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from typing import TYPE_CHECKING

from tui.widgets.command_line import (
    ALL_NAMESPACES,
    QUIT_COMMANDS,
    Command,
    CommandError,
    parse_command,
)

if TYPE_CHECKING:
    from tui.app import OncallApp

NAMESPACE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")  # a DNS-1123 label, as Kubernetes wants


def completions(app: OncallApp) -> dict[str, list[str]]:
    """What each command's argument completes from: namespaces seen, the kubeconfig's contexts, sections."""
    kube_on = app.kube.health.state != "not-configured"
    if kube_on:
        app.namespaces_seen |= {pod.namespace for pod in app.pods}
        app.namespaces_seen.add(app.kube.namespace)
    return {
        # namespaces are not listed (not a read oncall makes): the ones its pods and settings showed
        "ns": ["all", *sorted(app.namespaces_seen)] if kube_on else [],
        "ctx": list(app.kube.contexts()) if kube_on else [],
        "runbook": [section.slug for section in app.runbook.sections] if app.runbook else [],
    }


async def run_command(app: OncallApp, line: str | None) -> None:
    """Run one command line; anything wrong with it is a toast saying what, never an exception."""
    try:
        command = parse_command(line or "")
    except CommandError as error:
        app.notify(str(error), title="Not a command", severity="error")
        return
    if command is None:
        return
    if command.tab is not None:
        await _show_tab(app, command.tab)
    elif command.name in QUIT_COMMANDS:
        app.exit()
    elif command.name == "runbook":
        _open_section(app, command.arg)
    elif command.name in ("ns", "ctx"):
        await _retarget(app, command)


async def _show_tab(app: OncallApp, number: int) -> None:
    from screens.dashboard import DashboardScreen

    while not isinstance(app.screen, DashboardScreen) and len(app.screen_stack) > 2:
        await app.pop_screen()
    if isinstance(app.screen, DashboardScreen):
        await app.screen.action_tab(number)


def _open_section(app: OncallApp, slug: str) -> None:
    from screens.runbook_browser import RunbookBrowserScreen

    if app.runbook is None:
        app.notify(app.runbook_error or "no runbook loaded", title="No runbook", severity="error")
        return
    wanted = slug.removeprefix("#")
    if app.runbook.section(wanted) is None:
        app.notify(f"no section #{wanted} in the runbook", title="Not found", severity="error")
        return
    app.push_screen(RunbookBrowserScreen(wanted))


async def _retarget(app: OncallApp, command: Command) -> None:
    kube = app.kube
    if kube.health.state == "not-configured":
        app.notify(
            "Kubernetes is not configured: set KUBECONFIG or [kubernetes] kubeconfig",
            title=f":{command.name}",
            severity="error",
        )
        return
    settings = kube.settings
    if command.name == "ns":
        if command.arg in ALL_NAMESPACES:
            settings = replace(settings, all_namespaces=True)
        elif NAMESPACE_NAME.fullmatch(command.arg):
            settings = replace(settings, namespace=command.arg, all_namespaces=False)
        else:
            app.notify(
                f"not a namespace name: {command.arg} (lowercase letters, digits and -, at most 63)",
                title=":ns",
                severity="error",
            )
            return
    else:
        contexts = await asyncio.to_thread(kube.contexts)
        if command.arg not in contexts:
            known = ", ".join(contexts) or "none"
            app.notify(
                f"no context {command.arg} in the kubeconfig (contexts: {known})",
                title=":ctx",
                severity="error",
            )
            return
        # the new context's own namespace, unless oncall's settings name one
        settings = replace(settings, context=command.arg, namespace=app.home_namespace, all_namespaces=False)
    await app.retarget_kube(settings)
    place = app.kube_place
    if place is not None:
        where = "all namespaces" if place.namespace is None else f"namespace {place.namespace}"
        context = f" of context {place.context}" if place.context else ""
        app.notify(f"pods and events now read from {where}{context}", title="Kubernetes")
