"""Prompt placeholders, checked when the menu loads: `{scope:PATH}` is filled from scope/, and every
`{name}` / `{name|filter}` left for the call must use a filter that exists and a value that some node
before this one sets (the caller's entry, a named action's output, the ticket number).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping

from ivr.errors import Problem
from ivr.ir import BACK, Location, Node, current_menus
from ivr.loading.reader import Reader
from ivr.text import FILTERS, SEGMENT, Text, escape, placeholders, segment_languages, without_placeholders, without_segments

__all__ = ["check_placeholders", "resolve_scope"]

SCOPE_REF = re.compile(r"\{scope:([a-z0-9_.]+)\}")
FIELD_OF_PART = {"": "say", "short": "short", "invalid": "invalid", "no_input": "no_input"}


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def resolve_scope(r: Reader, text: Text, values: Mapping[str, Text], where: Mapping[str, Location], languages: tuple[str, ...]) -> Text:
    """Replace `{scope:PATH}` with scope data; an unknown PATH or a malformed placeholder is an error at that language's text."""

    def one(lang: str, s: str) -> str:
        loc = where[lang]

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


def available_values(nodes: Mapping[str, Node], roots: Iterable[str], outputs: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """For each node, the call values set on every path from the start (or from a root any node can jump to) to it."""
    everything = frozenset().union(*(n.provides() | outputs.get(nid, frozenset()) for nid, n in nodes.items()))
    menus = current_menus(nodes)
    incoming: dict[str, list[str]] = {nid: [] for nid in nodes}
    for nid, node in nodes.items():
        for target in node.edges().values():
            for t in sorted(menus.get(nid, ())) if target == BACK else [target]:
                if t in incoming:
                    incoming[t].append(nid)
    entry = {r for r in roots if r in nodes}  # the start, and where errors and runaway calls are sent from anywhere
    avail = {nid: frozenset() if nid in entry else everything for nid in nodes}
    changed = True
    while changed:  # shrinks to the fixed point: a value counts only if every way in has set it
        changed = False
        for nid in nodes:
            ways_in = [avail[p] | nodes[p].provides() | outputs.get(p, frozenset()) for p in incoming[nid]]
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
        for prompt_id, text in node.texts():
            field = FIELD_OF_PART.get(prompt_id.partition(":")[2])
            if field is None or field not in node.where:
                continue  # inherited from the defaults or generated: checked where it is written
            for lang, words in text.by_lang.items():
                loc = node.where.get(f"{field} {lang}", node.where[field])
                for message in placeholder_problems(words, avail[nid]):
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
