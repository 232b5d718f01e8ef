"""Prompt placeholders, checked when the menu loads: `{scope:PATH}` is filled from scope/, and every
`{name}` / `{name|filter}` left for the call must use a filter that exists and a value that some node
before this one sets (the caller's entry, a named action's output, the ticket number).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping

from ivr.errors import Problem
from ivr.ir import BACK, Location, Node, current_menus
from ivr.loading.reader import Reader
from ivr.text import FILTERS, PLACEHOLDER, Text

__all__ = ["check_placeholders", "resolve_scope"]

SCOPE_REF = re.compile(r"\{scope:([a-z0-9_.]+)\}")
FIELD_OF_PART = {"": "say", "short": "short", "invalid": "invalid", "no_input": "no_input"}


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def resolve_scope(r: Reader, text: Text, values: Mapping[str, Text], where: Mapping[str, Location]) -> Text:
    """Replace `{scope:PATH}` with scope data; an unknown PATH or a malformed placeholder is an error at that language's text."""

    def one(lang: str, s: str) -> str:
        loc = where[lang]

        def sub(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in values:
                r.error(loc, f"unknown scope item {key!r}{_did_you_mean(key, sorted(values))}")
                return ""
            return values[key].get(lang)

        resolved = SCOPE_REF.sub(sub, s)
        for bad in re.findall(r"\{[^}]*\}", PLACEHOLDER.sub("", resolved)):
            r.error(loc, f"malformed placeholder {bad!r}: use {{name}}, {{name|digits}} or {{scope:path}}")
        return resolved

    return text.map(one)


def available_values(nodes: Mapping[str, Node], start: str, outputs: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """For each node, the call values some path from the start may have set before the call gets there."""
    everything = frozenset().union(*(n.provides() | outputs.get(nid, frozenset()) for nid, n in nodes.items()))
    menus = current_menus(nodes)
    avail: dict[str, frozenset[str]] = dict.fromkeys(nodes, everything)  # nodes reached by failures or errors: anything
    reached = {start}
    avail[start] = frozenset()
    todo = [start]
    while todo:
        nid = todo.pop()
        node = nodes[nid]
        given = avail[nid] | node.provides() | outputs.get(nid, frozenset())
        for target in node.edges().values():
            for t in sorted(menus.get(nid, ())) if target == BACK else [target]:
                if t not in nodes:
                    continue
                if t not in reached:
                    reached.add(t)
                    avail[t] = given
                    todo.append(t)
                elif not given <= avail[t]:
                    avail[t] = avail[t] | given
                    todo.append(t)
    return avail


def check_placeholders(nodes: Mapping[str, Node], start: str, outputs: Mapping[str, frozenset[str]]) -> list[Problem]:
    """Every run-time placeholder written at a node names a filter that exists and a value available there."""
    problems: list[Problem] = []
    avail = available_values(nodes, start, outputs)
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
    for match in PLACEHOLDER.finditer(words):
        name, filt = match.group(1), match.group(2)
        if filt is not None and filt not in FILTERS:
            out.append(
                f"unknown filter {filt!r} in {match.group(0)}{_did_you_mean(filt, sorted(FILTERS))} (filters: {', '.join(sorted(FILTERS))})"
            )
        if name not in values:
            listing = ", ".join(sorted(values)) or "none"
            out.append(
                f"unknown value {name!r} in {match.group(0)}: no node before this one sets it "
                f"(values here: {listing}){_did_you_mean(name, sorted(values))}"
            )
    return out
