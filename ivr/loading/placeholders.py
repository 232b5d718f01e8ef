"""Prompt placeholders, checked when the menu loads: `{scope:PATH}` is filled from scope/, and every
`{name}` / `{name|filter}` left for the call must use a filter that exists and a value that some node
before this one sets (the caller's entry, a named action's output, the ticket number).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields, is_dataclass, replace

from ivr.errors import Problem
from ivr.ir import BACK, RETRY, Location, Node, current_menus
from ivr.loading.lint import typed_hours_warning, warn
from ivr.loading.reader import Reader
from ivr.spoken_time import speaks
from ivr.text import FILTERS, SEGMENT, Text, escape, placeholders, segment_languages, without_placeholders, without_segments

__all__ = ["HOURS", "check_placeholders", "fill_hours", "resolve_scope", "with_hours"]

SCOPE_REF = re.compile(r"\{scope:([a-z0-9_.]+)\}")
HOURS = "hours"  # {hours}: menu.hours as said in the prompt's language, filled in when the menu loads
HOURS_REF = re.compile(r"\{\{|\}\}|\{hours\}")  # escaped braces are matched too, so that {{hours}} stays words
HoursSpeaker = Callable[[str], str]  # language -> the menu's hours as said
FIELD_OF_PART = {
    "": "say",
    "short": "short",
    "invalid": "invalid",
    "no_input": "no_input",
    "too_short": "too_short",
    "too_long": "too_long",
    "read_back": "read_back",
}
AFTER_ENTRY = frozenset({"read_back"})  # said once the node has kept the caller's entry: its own values may be used


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def resolve_scope(
    r: Reader,
    text: Text,
    values: Mapping[str, Text],
    where: Mapping[str, Location],
    languages: tuple[str, ...],
    hours: HoursSpeaker | None = None,
) -> Text:
    """Replace `{scope:PATH}` with scope data, and `{hours}` with `hours` when given; an unknown PATH, a malformed
    placeholder or `{hours}` in a language hours cannot be spoken in is an error at that language's text. Hours typed
    into the text as written are a warning there."""

    def one(lang: str, s: str) -> str:
        loc = where[lang]
        if _has_hours(s):
            said_in = [lang] if _has_hours(SEGMENT.sub("", s)) else []
            said_in += [m.group(1) for m in SEGMENT.finditer(s) if _has_hours(m.group(2))]
            for other in dict.fromkeys(said_in):
                if not speaks(other):
                    r.error(loc, f"{{hours}} in a {other} text: hours can be spoken only in Chinese (zh-…) and English (en-…)")
        message = typed_hours_warning(s)
        if message:
            warn(r, loc, message)
        if hours is not None:
            s = _fill_hours(lang, s, hours)

        def sub(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in values:
                r.error(loc, f"unknown scope item {key!r}{_did_you_mean(key, sorted(values))}")
                return ""
            return escape(values[key].get(lang))

        for bad in re.findall(r"\{[^}]*\}|[{}]", without_placeholders(without_segments(SCOPE_REF.sub("", s)))):
            forms = "{name}, {name|digits}, {scope:path} or {LANG: words} ({{ and }} for braces)"
            r.error(loc, f"malformed placeholder {bad!r}: use {forms}")
        for match in SEGMENT.finditer(s):
            if not match.group(2).strip():
                r.error(loc, f"an empty {{{match.group(1)}: }} segment: a caller would hear nothing there")
        for other in segment_languages(s):
            if other not in languages:
                r.error(loc, f"a segment in {other!r}, which is not one of the menu's languages ({', '.join(languages)})")
        return SCOPE_REF.sub(sub, s)

    return text.map(one)


def _has_hours(s: str) -> bool:
    return any(m.group(0) == "{hours}" for m in HOURS_REF.finditer(s))


def _sub_hours(s: str, said: str) -> str:
    return HOURS_REF.sub(lambda m: said if m.group(0) == "{hours}" else m.group(0), s)


def _fill_hours(lang: str, s: str, hours: HoursSpeaker) -> str:
    """`{hours}` said in the language of the part it is in: a `{en-US: …}` segment of a Chinese prompt says it in English."""
    if not _has_hours(s):
        return s

    def said(in_lang: str) -> str:
        return escape(hours(in_lang)) if speaks(in_lang) else ""  # not speakable: reported where the text was read

    def segment(m: re.Match[str]) -> str:
        whole, at = m.group(0), m.start(0)
        return whole[: m.start(2) - at] + _sub_hours(m.group(2), said(m.group(1))) + whole[m.end(2) - at :]

    return _sub_hours(SEGMENT.sub(segment, s), said(lang))


def fill_hours(text: Text, hours: HoursSpeaker) -> Text:
    """The text with `{hours}` filled in every language (the same object when it has none)."""
    if not any(_has_hours(s) for s in text.by_lang.values()):
        return text
    return text.map(lambda lang, s: _fill_hours(lang, s, hours))


def with_hours(node: Node, hours: HoursSpeaker) -> Node:
    """The node with `{hours}` filled in every text it holds. Done once its type has built it: a template the type
    fills itself (a scope channel's `{hours}` are that channel's) has no placeholder left by then."""
    filled = _texts_filled(node, hours)
    assert isinstance(filled, Node)
    return filled


def _texts_filled(value: object, hours: HoursSpeaker) -> object:
    if isinstance(value, Text):
        return fill_hours(value, hours)
    if not is_dataclass(value) or isinstance(value, type):
        return value
    changes = {}
    for f in fields(value):
        old = getattr(value, f.name)
        new = _texts_filled(old, hours) if f.init else old
        if new is not old:
            changes[f.name] = new
    return replace(value, **changes) if changes else value


def available_values(nodes: Mapping[str, Node], roots: Iterable[str], outputs: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """For each node, the call values set on every path from the start (or from a root any node can jump to) to it."""
    everything = frozenset().union(*(n.provides() | outputs.get(nid, frozenset()) for nid, n in nodes.items()))
    menus = current_menus(nodes)
    incoming: dict[str, list[tuple[str, str]]] = {nid: [] for nid in nodes}  # node -> (node before it, edge label)
    for nid, node in nodes.items():
        for label, target in node.edges().items():
            if target == RETRY:
                continue  # back to a transfer the call was at before: every value it had there is still set
            for t in sorted(menus.get(nid, ())) if target == BACK else [target]:
                if t in incoming:
                    incoming[t].append((nid, label))
    entry = {r for r in roots if r in nodes}  # the start, and where errors and runaway calls are sent from anywhere
    avail = {nid: frozenset() if nid in entry else everything for nid in nodes}
    changed = True
    while changed:  # shrinks to the fixed point: a value counts only if every way in has set it
        changed = False
        for nid in nodes:
            ways_in = [avail[p] | nodes[p].provides_on(label) | outputs.get(p, frozenset()) for p, label in incoming[nid]]
            if nid in entry:
                ways_in.append(frozenset())
            value = frozenset.intersection(*ways_in) if ways_in else frozenset()
            if value != avail[nid]:
                avail[nid], changed = value, True
    return avail


def check_placeholders(nodes: Mapping[str, Node], roots: Iterable[str], outputs: Mapping[str, frozenset[str]]) -> list[Problem]:
    """Every run-time placeholder written at a node names a filter that exists and a value set on every way there."""
    problems: list[Problem] = []
    avail = available_values(nodes, roots, outputs)
    for nid, node in nodes.items():
        if HOURS in node.provides() | outputs.get(nid, frozenset()):  # {hours} is filled at load: the value would never be heard
            by = "store_as" if HOURS in node.provides() else "action"
            loc = node.where.get(by, node.location)
            what = "an entry kept under" if by == "store_as" else f"action {'/'.join(node.actions())!r} gives a value called"
            message = f"{what} {HOURS!r}: the name is reserved ({{hours}} in a prompt is menu.hours as said); choose another"
            problems.append(Problem(loc.file, loc.line, loc.column, message, nid))
        for prompt_id, text in node.texts():
            part = prompt_id.partition(":")[2]
            field = FIELD_OF_PART.get(part)
            if field is None or field not in node.where:
                continue  # inherited from the defaults or generated: checked where it is written
            known = avail[nid] | node.provides() if part in AFTER_ENTRY else avail[nid]
            for lang, words in text.by_lang.items():
                loc = node.where.get(f"{field} {lang}", node.where[field])
                for message in placeholder_problems(words, known):
                    problems.append(Problem(loc.file, loc.line, loc.column, message, nid))
    return problems


def placeholder_problems(words: str, values: frozenset[str]) -> list[str]:
    """What is wrong with the run-time placeholders of one text, given the values it may use."""
    out = []
    for match in placeholders(words):
        name, filt = match.group(1), match.group(2)
        if filt is not None and filt not in FILTERS:
            out.append(
                f"unknown filter {filt!r} in {match.group(0)}{_did_you_mean(filt, sorted(FILTERS))} (filters: {', '.join(sorted(FILTERS))})"
            )
        if name not in values:
            listing = ", ".join(sorted(values)) or "none"
            out.append(
                f"unknown value {name!r} in {match.group(0)}: it is not set on every way to this prompt "
                f"(values here: {listing}){_did_you_mean(name, sorted(values))}"
            )
    return out
