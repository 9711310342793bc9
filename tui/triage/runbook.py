"""The runbook model: sections with triage steps, causes and resolution, parsed from Markdown."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from probes.format import read_text_file

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token


class RunbookError(Exception):
    """The runbook can't be read or holds no section; the message is plain words for the screen."""


@dataclass(frozen=True)
class TriageStep:
    number: int  # 1-based, as written in the runbook
    text: str  # the step's text as plain text, inline code kept between backticks
    commands: tuple[str, ...]  # each inline or fenced command, without backticks


@dataclass(frozen=True)
class CommonCause:
    text: str
    links: tuple[str, ...]  # slugs of the sections this cause links to (without '#')


@dataclass(frozen=True)
class Section:
    slug: str
    title: str
    alert: str  # the **Alert**: line, "" when missing
    steps: tuple[TriageStep, ...]
    causes: tuple[CommonCause, ...]
    resolution: str  # "" when missing
    resolution_links: tuple[str, ...] = ()  # slugs the resolution links to (without '#')

    @property
    def commands(self) -> tuple[str, ...]:
        return tuple(c for step in self.steps for c in step.commands)


@dataclass(frozen=True)
class RunbookLink:
    """A link as written in the runbook, and where: what the lint checks."""

    href: str  # the target as Markdown reads it; "" when what is written is no link Markdown can read
    written: str  # the link's text, or the whole of what is written when Markdown doesn't read it
    line: int  # 1-based line in the runbook
    part: str  # "triage step", "common cause", "resolution", "alert" or "prose"
    section: str | None  # the slug of the section it is in; None outside every section


@dataclass(frozen=True)
class Runbook:
    title: str
    sections: tuple[Section, ...]
    source: Path | None = None
    links: tuple[RunbookLink, ...] = ()  # every link in the runbook, in order
    anchors: frozenset[str] = frozenset()  # every #anchor GitHub gives it: headings, <a name|id>

    def section(self, slug: str) -> Section | None:
        for section in self.sections:
            if section.slug == slug:
                return section
        return None


@dataclass(frozen=True)
class SectionMatch:
    """How an alert found (or failed to find) its runbook section."""

    section: Section | None
    via: str  # "runbook_url", "runbook label", "runbook annotation", "alertname", or "" when unmapped
    nearest: tuple[str, ...]  # the closest section slugs when unmapped, best first (at most 3)


# --- reading -------------------------------------------------------------------------------------


def load_runbook(path: Path) -> Runbook:
    """Read and parse a runbook file; every failure is a RunbookError naming the path."""
    path = Path(path)
    text = read_text_file(path, "the runbook", "Markdown file", RunbookError)
    return parse_runbook(text, source=path)


# --- parsing -------------------------------------------------------------------------------------

_ALERT, _TRIAGE, _CAUSES, _RESOLUTION, _OTHER = "alert", "triage", "causes", "resolution", "other"
_LABELS = {
    "alert": _ALERT,
    "triage": _TRIAGE,
    "triage steps": _TRIAGE,
    "common causes": _CAUSES,
    "causes": _CAUSES,
    "likely causes": _CAUSES,
    "possible causes": _CAUSES,
    "resolution": _RESOLUTION,
    "remediation": _RESOLUTION,
}


@cache
def _parser() -> MarkdownIt:
    # made at the first parse: the app's first screen needs the model above, not markdown-it (~35 ms)
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")  # commonmark caps nesting, so hostile input can't recurse deeply


def parse_runbook(text: str, source: Path | None = None) -> Runbook:
    """Parse runbook Markdown into sections; raises RunbookError when no section is found."""
    tokens = _parser().parse(text)
    headings = _headings(tokens)
    level = _section_level(tokens, headings)
    sections: list[Section] = []
    ranges: list[tuple[int, int, str]] = []  # (first token, end, slug) of each section
    if level is not None:
        for position, (index, heading_level, heading_text) in enumerate(headings):
            if heading_level != level:
                continue
            end = next((i for i, lv, _ in headings[position + 1 :] if lv <= level), len(tokens))
            section = _parse_section(heading_text, tokens[index + 3 : end])
            if section is not None:
                sections.append(section)
                ranges.append((index, end, section.slug))
    if not sections:
        where = f"in {source}" if source is not None else "in the runbook text"
        raise RunbookError(
            f"no runbook sections found {where}: expected headings such as '## high-api-error-rate' "
            "followed by **Alert**: and **Triage**: parts"
        )
    return Runbook(
        title=_title(headings, level, source),
        sections=tuple(sections),
        source=source,
        links=tuple(_links(tokens, ranges)),
        anchors=_anchors(tokens, headings),
    )


def _headings(tokens: list[Token]) -> list[tuple[int, int, str]]:
    """(token index, level, plain text) of every heading."""
    found = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and index + 1 < len(tokens):
            found.append((index, int(token.tag[1:]), _plain(tokens[index + 1], ticks=False)))
    return found


def _section_level(tokens: list[Token], headings: list[tuple[int, int, str]]) -> int | None:
    """The heading level that directly holds the most part labels (ties go to the shallower level)."""
    label_headings = {index for index, _, text in headings if _label_name(text) in _LABELS}
    owners: Counter[int] = Counter()
    owner: int | None = None
    for index, token in enumerate(tokens):
        if index in label_headings:
            if owner is not None:
                owners[owner] += 1
        elif token.type == "heading_open":
            owner = int(token.tag[1:])
        elif token.type == "inline" and owner is not None:
            label = _label(tokens, index)
            if label is not None and label[0] != _OTHER:
                owners[owner] += 1
    if not owners:
        return None
    return min(owners, key=lambda lv: (-owners[lv], lv))


def _title(headings: list[tuple[int, int, str]], level: int | None, source: Path | None) -> str:
    for _, heading_level, text in headings:
        if level is not None and heading_level < level and text:
            return text
    return source.stem if source is not None else "Runbook"


@dataclass
class _StepDraft:
    number: int
    text: str
    commands: list[str] = field(default_factory=list)


def _parse_section(heading: str, tokens: list[Token]) -> Section | None:
    """One section from the tokens after its heading; None when it holds no part label."""
    part: str | None = None
    seen_label = False
    alert = ""
    resolution: list[str] = []
    resolution_links: list[str] = []
    steps: list[_StepDraft] = []
    causes: list[CommonCause] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "hr":
            part = None  # a rule closes the current part: what follows is not its content
        elif token.type == "heading_open":
            name = _label_name(_plain(tokens[index + 1], ticks=False))
            part = _LABELS.get(name)  # a sub-heading "### Triage" works as a label; any other ends the part
            seen_label = seen_label or part is not None
            index = _skip_block(tokens, index)
            continue
        elif token.type == "inline" and index > 0 and tokens[index - 1].type == "paragraph_open":
            label = _label(tokens, index)
            if label is not None:
                part, rest = label
                seen_label = seen_label or part != _OTHER
                if part == _ALERT and not alert:
                    alert = rest
                elif part == _RESOLUTION and rest:
                    resolution.append(rest)
                    _add_links([token], resolution_links)
            elif part == _ALERT and not alert:
                alert = _plain(token)
            elif part == _RESOLUTION:
                resolution.append(_plain(token))
                _add_links([token], resolution_links)
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            end = _skip_block(tokens, index)
            if part == _TRIAGE:
                _add_steps(tokens[index:end], steps)
            elif part == _CAUSES:
                causes.extend(_causes(tokens[index:end]))
            elif part == _RESOLUTION:
                resolution.extend(_plain(t) for t in tokens[index:end] if t.type == "inline")
                _add_links([t for t in tokens[index:end] if t.type == "inline"], resolution_links)
            index = end
            continue
        elif token.type in ("fence", "code_block") and part == _TRIAGE:
            command = _block_command(token)
            if command and steps:
                steps[-1].commands.append(command)  # a block right after a step is that step's command
            elif command:
                steps.append(_StepDraft(number=1, text=f"`{command}`", commands=[command]))
        index += 1
    if not seen_label:
        return None
    return Section(
        slug=slugify(heading) or "section",
        title=heading,
        alert=alert,
        steps=tuple(TriageStep(s.number, s.text, tuple(s.commands)) for s in steps),
        causes=tuple(causes),
        resolution=" ".join(r for r in resolution if r),
        resolution_links=tuple(resolution_links),
    )


def _skip_block(tokens: list[Token], index: int) -> int:
    """The index just past the block that opens at `index` (its matching close token)."""
    depth = 0
    for position in range(index, len(tokens)):
        depth += tokens[position].nesting
        if depth <= 0:
            return position + 1
    return len(tokens)


def _list_items(tokens: list[Token]) -> list[tuple[Token, list[Token]]]:
    """The top-level items of the list in `tokens` (which starts at the list's open token)."""
    items = []
    index = 1
    while index < len(tokens):
        if tokens[index].type == "list_item_open":
            end = _skip_block(tokens, index)
            items.append((tokens[index], tokens[index + 1 : end - 1]))
            index = end
        else:
            index += 1
    return items


def _add_steps(tokens: list[Token], steps: list[_StepDraft]) -> None:
    ordered = tokens[0].type == "ordered_list_open"
    for item, body in _list_items(tokens):
        written = item.info.strip()
        number = int(written) if ordered and written.isdigit() else (steps[-1].number + 1 if steps else 1)
        inlines = [t for t in body if t.type == "inline"]
        commands = [c.content.strip() for t in inlines for c in t.children or [] if c.type == "code_inline"]
        commands += [_block_command(t) for t in body if t.type in ("fence", "code_block")]
        text = " ".join(p for p in (_plain(t) for t in inlines) if p)
        steps.append(_StepDraft(number=number, text=text, commands=[c for c in commands if c]))


def _causes(tokens: list[Token]) -> list[CommonCause]:
    causes = []
    for _, body in _list_items(tokens):
        inlines = [t for t in body if t.type == "inline"]
        links: list[str] = []
        _add_links(inlines, links)
        text = " ".join(p for p in (_plain(t) for t in inlines) if p)
        causes.append(CommonCause(text=text, links=tuple(links)))
    return causes


def _add_links(inlines: list[Token], links: list[str]) -> None:
    """The `#slug` targets of the links in `inlines`, added to `links` once each, in order."""
    for child in (c for t in inlines for c in t.children or []):
        href = str(child.attrs.get("href", "")) if child.type == "link_open" else ""
        if href.startswith("#") and len(href) > 1 and unquote(href[1:]) not in links:
            links.append(unquote(href[1:]))


# where a link is, named as the section's reader knows it: in a part's list, on a label's line
_IN_LIST = {_TRIAGE: "triage step", _CAUSES: "common cause", _RESOLUTION: "resolution"}
_ON_LABEL = {_ALERT: "alert", _TRIAGE: "triage", _CAUSES: "common causes", _RESOLUTION: "resolution"}
# written like a link, left as text: Markdown didn't read it (a space in the target, an unsafe scheme, …)
_UNREAD_LINK = re.compile(r"!?\[[^\]\n]*\]\([^)\n]*\)")
_HTML_ANCHOR = re.compile(r"""(?i)<a\s[^>]*?\b(?:name|id)\s*=\s*["']?([^"'\s>]+)""")


def _links(tokens: list[Token], ranges: list[tuple[int, int, str]]) -> list[RunbookLink]:
    """Every link in the runbook with its line, the section it is in and the part of that section."""
    found: list[RunbookLink] = []
    part: str | None = None
    depth = 0  # inside a list, a bold label is the item's words, not a new part (as _parse_section reads)
    for index, token in enumerate(tokens):
        if token.type in ("bullet_list_open", "ordered_list_open", "bullet_list_close", "ordered_list_close"):
            depth += token.nesting
        elif token.type == "hr":
            part = None
        elif token.type == "heading_open":
            part = _LABELS.get(_label_name(_plain(tokens[index + 1], ticks=False)))
        elif token.type == "inline" and token.map is not None:
            label = None
            if depth == 0 and index > 0 and tokens[index - 1].type == "paragraph_open":
                label = _label(tokens, index)
                part = label[0] if label is not None else part
            if depth:
                name = _IN_LIST.get(part or "", "prose")
            elif label is not None:
                name = _ON_LABEL.get(label[0], "prose")
            else:
                name = "resolution" if part == _RESOLUTION else "prose"  # a resolution's next paragraphs
            slug = next((s for start, end, s in ranges if start <= index < end), None)
            found += _inline_links(token, token.map[0] + 1, name, slug)
    return found


def _inline_links(inline: Token, line: int, part: str, section: str | None) -> list[RunbookLink]:
    """The links of one inline token, each at its own line (a soft or hard break starts the next)."""
    found: list[RunbookLink] = []
    open_link: tuple[str, int] | None = None
    words: list[str] = []
    run: list[str] = []  # text outside links, since the last break: where a link Markdown didn't read hides

    def unread() -> None:
        for written in _UNREAD_LINK.findall("".join(run)):
            found.append(RunbookLink("", written, line, part, section))
        run.clear()

    for child in inline.children or []:
        if child.type in ("softbreak", "hardbreak"):
            unread()
            line += 1
        elif child.type == "link_open":
            unread()
            open_link, words = (str(child.attrs.get("href", "")), line), []
        elif child.type == "link_close" and open_link is not None:
            found.append(RunbookLink(open_link[0], "".join(words), open_link[1], part, section))
            open_link = None
        elif child.type in ("text", "code_inline"):
            (words if open_link is not None else run).append(child.content if child.type == "text" else "")
    unread()
    return found


def _anchors(tokens: list[Token], headings: list[tuple[int, int, str]]) -> frozenset[str]:
    """The anchors GitHub gives the runbook: each heading's slug (a repeated one gets -1, -2, …), and
    each HTML <a name=…> or <a id=…>."""
    anchors: set[str] = set()
    seen: Counter[str] = Counter()
    for _, _, text in headings:
        slug = slugify(text)
        anchors.add(f"{slug}-{seen[slug]}" if seen[slug] else slug)
        seen[slug] += 1
    for token in tokens:
        html = (
            [token]
            if token.type == "html_block"
            else [c for c in token.children or [] if c.type == "html_inline"]
        )
        for piece in html:
            anchors.update(_HTML_ANCHOR.findall(piece.content))
    return frozenset(anchors)


def _block_command(token: Token) -> str:
    return token.content.rstrip("\n").strip()


def _label(tokens: list[Token], index: int) -> tuple[str, str] | None:
    """(part, rest of the paragraph) when the inline token at `index` is a `**Label**:` paragraph."""
    children = [c for c in tokens[index].children or [] if not (c.type == "text" and not c.content.strip())]
    if len(children) < 3 or children[0].type != "strong_open":
        return None
    close = next((i for i, c in enumerate(children) if c.type == "strong_close"), None)
    if close is None:
        return None
    inside = " ".join(c.content for c in children[1:close] if c.type == "text").strip()
    after = children[close + 1 :]
    rest_text = _render(after)
    colon = inside.endswith(":") or rest_text.startswith(":")
    rest = rest_text[1:].strip() if rest_text.startswith(":") else rest_text
    part = _LABELS.get(_label_name(inside))
    if part is not None and (colon or not rest):
        return part, rest
    if colon:
        return _OTHER, rest  # another bold label ("**Escalation**:") ends the current part
    return None


def _label_name(text: str) -> str:
    return " ".join(text.strip().rstrip(":").strip().lower().split())


def _plain(inline: Token, ticks: bool = True) -> str:
    """An inline token as plain text; inline code keeps its backticks when `ticks`."""
    return _render(inline.children or [], ticks)


def _render(children: list[Token], ticks: bool = True) -> str:
    parts = []
    for child in children:
        if child.type in ("text", "image"):
            parts.append(child.content)
        elif child.type == "code_inline":
            parts.append(f"`{child.content}`" if ticks else child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return " ".join("".join(parts).split())


# --- names and matching --------------------------------------------------------------------------


def slugify(text: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


# Product names written with an inner capital run that are one word in a slug (PostgreSQL, not postgre-sql).
_COMPOUND_WORDS = frozenset(
    {
        "postgresql",
        "mysql",
        "nosql",
        "graphql",
        "mongodb",
        "mariadb",
        "dynamodb",
        "influxdb",
        "couchdb",
        "cockroachdb",
        "timescaledb",
        "rabbitmq",
        "activemq",
        "zeromq",
        "pgbouncer",
        "haproxy",
        "coredns",
        "github",
        "gitlab",
        "oauth",
    }
)
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+[0-9]*(?![a-z])|[0-9]+[a-z]*")


def kebab(name: str) -> str:
    """An alertname as a slug: HighApiErrorRate → high-api-error-rate, PostgreSQLDown → postgresql-down."""
    words = [w.lower() for w in _WORD.findall(name)]
    merged: list[str] = []
    index = 0
    while index < len(words):
        for size in (3, 2):
            if index + size <= len(words) and "".join(words[index : index + size]) in _COMPOUND_WORDS:
                merged.append("".join(words[index : index + size]))
                index += size
                break
        else:
            merged.append(words[index])
            index += 1
    return "-".join(merged)


def _anchor(value: str) -> str:
    """The section slug a runbook reference names: `slug`, `#slug` or a URL ending in `#slug`."""
    value = value.strip()
    if "#" in value:
        value = value.rsplit("#", 1)[1]
    return unquote(value).strip()


def _flat(slug: str) -> str:
    return slug.replace("-", "").replace("_", "")


def match_section(
    runbook: Runbook, alertname: str, labels: Mapping[str, str], annotations: Mapping[str, str]
) -> SectionMatch:
    """The runbook section of an alert: runbook_url anchor, runbook label/annotation, then alertname."""
    url = annotations.get("runbook_url") or ""
    if "#" in url and (section := runbook.section(_anchor(url))) is not None:
        return SectionMatch(section, "runbook_url", ())
    for via, value in (
        ("runbook label", labels.get("runbook")),
        ("runbook annotation", annotations.get("runbook")),
    ):
        if not value:
            continue
        anchor = _anchor(value)
        for candidate in (anchor, slugify(anchor)):
            if candidate and (section := runbook.section(candidate)) is not None:
                return SectionMatch(section, via, ())
    wanted = kebab(alertname)
    if wanted and (section := runbook.section(wanted)) is not None:
        return SectionMatch(section, "alertname", ())
    if _flat(wanted):
        for section in runbook.sections:
            if _flat(section.slug) == _flat(wanted):
                return SectionMatch(section, "alertname", ())
    return SectionMatch(None, "", nearest_sections(runbook, wanted))


def nearest_sections(runbook: Runbook, slug: str, limit: int = 3) -> tuple[str, ...]:
    """Up to `limit` section slugs close to `slug`, best first; at least one when there are sections."""
    best: dict[str, float] = {}
    for section in runbook.sections:
        best[section.slug] = max(best.get(section.slug, 0.0), _likeness(slug, section.slug))
    ranked = sorted(best.items(), key=lambda item: -item[1])
    if not ranked:
        return ()
    top = ranked[0][1]
    # only names nearly as close as the best one: a far second guess is noise on a 3 a.m. screen
    close = [name for name, score in ranked if score >= 0.6 and score >= top - 0.15]
    return tuple(close[:limit] or [ranked[0][0]])


def _likeness(a: str, b: str) -> float:
    """difflib's ratio, also over sorted words so RedisMemoryHigh is close to high-redis-memory."""
    spelled = difflib.SequenceMatcher(None, a, b).ratio()
    words = difflib.SequenceMatcher(
        None, "-".join(sorted(a.split("-"))), "-".join(sorted(b.split("-")))
    ).ratio()
    return max(spelled, words)
