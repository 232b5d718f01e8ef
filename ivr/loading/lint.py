"""Warnings about a menu that loads but will confuse callers: prompts and keys that disagree, and depth."""

from __future__ import annotations

import re

from ivr.errors import Problem
from ivr.ir import Location, Menu, current_menus
from ivr.nodes import MenuNode

DEFAULT_MAX_DEPTH = 4  # menus inside menus a caller can be asked to climb through
# How prompts announce keys: "请按5", "按 5", "press 5", "press 5 or 6" …
ANNOUNCED = {
    "zh": re.compile(r"按\s*([0-9])"),
    "en": re.compile(r"\bpress(?:es|ing)?\s+([0-9])\b", re.IGNORECASE),
}


def announced_keys(lang: str, text: str) -> set[str]:
    """The digit keys a prompt tells the caller to press."""
    pattern = ANNOUNCED.get(lang.split("-", maxsplit=1)[0])
    found = set(pattern.findall(text)) if pattern else set()
    # A prompt may name the other language's key in that language ("For English, press 9").
    for other in ANNOUNCED.values():
        found |= set(other.findall(text))
    return found


def lint_menu(menu: Menu, max_depth: int = DEFAULT_MAX_DEPTH) -> list[Problem]:
    """Every warning for a menu that has no errors."""
    problems: list[Problem] = []

    def warn(loc: Location, node: str, message: str) -> None:
        problems.append(Problem(loc.file, loc.line, loc.column, message, node, severity="warning"))

    for node in menu.nodes.values():
        if not isinstance(node, MenuNode):
            continue
        where = node.where.get("say", node.location)
        single = {k for k in node.options if len(k) == 1 and k.isdigit()}
        for lang in menu.languages:
            if lang.split("-", maxsplit=1)[0] not in ANNOUNCED:
                continue  # no pattern for how prompts in this language announce keys: nothing to compare
            reserved = {menu.language_key} if menu.language_key not in node.options else set()
            said = announced_keys(lang, node.prompt.get(lang)) - reserved
            for key in sorted(said - set(node.options)):
                warn(node.where.get(f"say {lang}", where), node.id, f"the {lang} prompt says to press {key}, but key {key} leads nowhere")
            for key in sorted(single - said):
                warn(node.where.get(f"keys {key}", where), node.id, f"key {key} is never announced in the {lang} prompt")
        if menu.language_key and len(menu.languages) > 1 and menu.language_key in node.options:
            message = (
                f"key {menu.language_key} is the language key in every other menu; here it leads to {node.options[menu.language_key]!r}"
            )
            warn(node.where.get(f"keys {menu.language_key}", node.location), node.id, message)
        keys = sorted(node.options)
        for key in keys:
            for other in keys:
                if other != key and other.startswith(key):
                    warn(
                        node.where.get(f"keys {key}", node.location),
                        node.id,
                        f"key {key!r} is a prefix of {other!r}: a caller who presses {key} waits for the timeout",
                    )
    problems.extend(_depth(menu, max_depth))
    return problems


def _depth(menu: Menu, limit: int) -> list[Problem]:
    """Menus nested deeper than `limit` (counting the first menu as 1)."""
    parents = current_menus(menu.nodes)
    depth: dict[str, int] = {}

    def depth_of(node: str, seen: frozenset[str]) -> int:
        if node in depth:
            return depth[node]
        above = [p for p in parents.get(node, ()) if p != node and p not in seen]
        value = 1 + min((depth_of(p, seen | {node}) for p in above), default=0)
        depth[node] = value
        return value

    out: list[Problem] = []
    for node in menu.nodes.values():
        if node.is_menu:
            d = depth_of(node.id, frozenset())
            if d > limit:
                loc = node.location
                message = f"menu is {d} levels deep (limit {limit}): callers get lost below {limit} levels"
                out.append(Problem(loc.file, loc.line, loc.column, message, node.id, severity="warning"))
    return out
