"""What a runbook section is about: the label selectors of its kubectl commands, its Helm releases."""

from __future__ import annotations

from collections.abc import Iterable

from tui.triage.runbook import Section

Selector = tuple[tuple[str, str], ...]  # equality terms, all of which must match


def parse_selector(text: str | None) -> Selector | None:
    """A label selector's equality terms (`app=x,tier=y`); () for none (all objects); None when it has
    other terms (`!=`, `in`, exists), which say no single component."""
    if not text or not text.strip():
        return ()
    terms = []
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key, value = key.strip().rstrip("="), value.strip().lstrip("=")
        if not sep or not key or not value or key.endswith("!"):
            return None  # only plain equality selectors say which component a section is about
        terms.append((key, value))
    return tuple(terms)


def command_selectors(command: str) -> list[Selector]:
    """The `-l` / `--selector` values of one kubectl command, as equality terms."""
    # the command classifier is loaded here, not with the module: the Pods panel, on the first screen,
    # needs only the selectors themselves (~20 ms less before the first alerts)
    from tui.triage.commands.kubectl import label_selectors

    return [terms for value in label_selectors(command) if value and (terms := parse_selector(value))]


def section_selectors(section: Section) -> list[Selector]:
    """Every distinct selector in a section's triage commands, in the order they appear."""
    seen: list[Selector] = []
    for command in section.commands:
        for selector in command_selectors(command):
            if selector not in seen:
                seen.append(selector)
    return seen


def matches(labels: Iterable[tuple[str, str]], selector: Selector) -> bool:
    have = dict(labels)
    return all(have.get(key) == value for key, value in selector)


def helm_releases(sections: Iterable[Section]) -> list[tuple[str, str | None]]:
    """(release, namespace) of each `helm history|rollback|status RELEASE [-n NS]` in the runbook."""
    from tui.triage.commands.helm import named_release  # as label_selectors above

    found: list[tuple[str, str | None]] = []
    for section in sections:
        commands = [*section.commands, *(c for cause in section.causes for c in _inline_code(cause.text))]
        for command in commands:
            named = named_release(command)
            if named is not None and named not in found:
                found.append(named)
    return found


def _inline_code(text: str) -> list[str]:
    return text.split("`")[1::2]
