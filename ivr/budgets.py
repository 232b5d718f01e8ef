"""The menu's time budgets (menu.budgets): each breach a warning at the node it concerns, per language.

Greeting, prompts and destinations are measured in seconds heard, rendered where the audio exists and otherwise
estimated (ivr/effort.py); options and the way to a person are counted.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import NamedTuple

from ivr.effort import HOURS, KEY, Durations, Route, known_values, prompt_seconds, routes, step_seconds
from ivr.errors import Problem
from ivr.ir import BACK, Location, Menu, Node

__all__ = ["check_budgets"]

Warn = Callable[[Node, Location, str], None]
LINE = {"open": "while open", "closed": "while closed", "": "whether open or closed"}


def check_budgets(menu: Menu, durations: Durations | None = None) -> list[Problem]:
    """A warning for every budget the menu breaks, in every language."""
    problems: list[Problem] = []
    if menu.start not in menu.nodes:  # nothing is heard from a start that is no node (a loader gap the schema refuses)
        return problems

    def warn(node: Node, loc: Location, message: str) -> None:
        problems.append(Problem(loc.file, loc.line, loc.column, message, node.id, severity="warning"))

    budgets = menu.budgets
    for lang in menu.languages:
        for seconds, estimated, hours, trail, waiting in _greetings(menu, lang, durations):
            if round(seconds, 1) > budgets.greeting_seconds:
                start = menu.nodes[menu.start]
                message = (
                    f"{lang}: the greeting takes {seconds:.1f} s {LINE[hours]} before the caller can act at {waiting!r} "
                    f"({_how(estimated)}; budget {budgets.greeting_seconds} s): {trail}"
                )
                warn(start, start.location, message)
        _prompts(menu, lang, durations, budgets.prompt_seconds, warn)
        for route, hours in _worst_routes(routes(menu, lang, durations)):
            if route.seconds > budgets.destination_seconds and route.kind != "page":
                node = menu.nodes[route.node]
                message = (
                    f"{lang}: destination {route.destination!r} is heard after {route.seconds:.1f} s of prompts {LINE[hours]} "
                    f"({_how(route.estimated)}; budget {budgets.destination_seconds} s): {route.trail() or '-'}"
                )
                warn(node, node.location, message)
    for node in menu.nodes.values():
        keys = [label for label, _ in node.moves() if KEY.fullmatch(label)] if node.is_menu else []
        if len(keys) > budgets.max_options:
            message = f"the menu offers {len(keys)} options (budget {budgets.max_options}): keys {', '.join(keys)}"
            warn(node, node.where.get("keys", node.location), message)
    _person(menu, budgets.person_within_menus, warn)
    return problems


def _how(estimated: bool) -> str:
    return "estimated" if estimated else "rendered"


class _Greeting(NamedTuple):
    seconds: float
    estimated: bool
    hours: str  # "open", "closed", or "" for both
    trail: str
    waits_at: str  # the first node that waits for the caller


def _greetings(menu: Menu, lang: str, durations: Durations | None) -> list[_Greeting]:
    """The longest way from the start to the first node that waits, for each state of the line (once when the same)."""
    found: list[_Greeting] = []
    known = known_values(menu, lang)
    todo: deque[tuple[str, str, float, bool, tuple[str, ...]]] = deque([(menu.start, "", 0.0, False, ())])
    seen: set[tuple[str, str]] = set()
    while todo:
        nid, line, seconds, estimated, trail = todo.popleft()
        if (nid, line) in seen:
            continue
        seen.add((nid, line))
        node = menu.nodes.get(nid)
        if node is None:  # a start that is no node (reported or refused elsewhere): nothing is heard
            continue
        if node.waits or node.final:
            found.append(_Greeting(seconds, estimated, line, " → ".join(trail) or "-", nid))
            continue
        for label, target in node.moves():
            if target not in menu.nodes or target == BACK or (label in HOURS and line and HOURS[label] != line):
                continue
            step, est = step_seconds(node, label, lang, durations, known)
            todo.append((target, HOURS.get(label, line), seconds + step, estimated or est, (*trail, nid) if step else trail))
    worst: dict[str, _Greeting] = {}
    for greeting in found:
        if greeting.hours not in worst or greeting.seconds > worst[greeting.hours].seconds:
            worst[greeting.hours] = greeting
    opened, closed = worst.get("open"), worst.get("closed")
    if opened and closed and (opened.seconds, opened.trail) == (closed.seconds, closed.trail):
        return [opened._replace(hours="")]  # the same greeting in hours and after: reported once
    return list(worst.values())


def _prompts(menu: Menu, lang: str, durations: Durations | None, budget: int, warn: Warn) -> None:
    """Every text of every node within the prompt budget; a text a node inherits (from defaults) is reported once."""
    reported: set[str] = set()
    known = known_values(menu, lang)  # a {closed_reason} is measured as its longest reason
    for node in menu.nodes.values():
        for prompt_id, text in node.texts():
            words = text.get(lang)
            if not words.strip():
                continue
            field = prompt_id.rsplit(":", 1)[1] if ":" in prompt_id else "say"
            loc = node.where.get(f"{field} {lang}") or node.where.get(field)
            if loc is None and words in reported:
                continue
            seconds, estimated = prompt_seconds(lang, words, durations, known)
            if round(seconds, 1) > budget:
                reported.add(words)
                message = f"{lang}: prompt {prompt_id!r} takes {seconds:.1f} s ({_how(estimated)}; budget {budget} s)"
                warn(node, loc or node.location, message)


def _worst_routes(found: list[Route]) -> list[tuple[Route, str]]:
    """Each route with the state of the line it is for: one that passes no hours node once, for both."""
    out: list[tuple[Route, str]] = []
    by_node: dict[str, list[Route]] = {}
    for route in found:
        by_node.setdefault(route.node, []).append(route)
    for same in by_node.values():
        if len(same) == 2 and same[0].path == same[1].path and same[0].seconds == same[1].seconds:
            out.append((same[0], ""))
        else:
            out += [(route, route.hours) for route in same]
    return out


def _person(menu: Menu, budget: int, warn: Warn) -> None:
    """A transfer reachable from the start while the line is open, through at most `budget` menus."""
    start = menu.nodes[menu.start]
    # Fewest menus first (0-1 breadth-first search): leaving a menu costs one, leaving any other node nothing.
    best: dict[str, int] = {menu.start: 0}
    came: dict[str, str] = {}
    todo: deque[str] = deque([menu.start])
    while todo:
        nid = todo.popleft()
        node = menu.nodes[nid]
        if _is_person(node):
            continue
        for label, target in node.moves():
            if target not in menu.nodes or target == BACK or HOURS.get(label, "open") != "open":
                continue
            menus = best[nid] + (1 if node.is_menu else 0)
            if target not in best or menus < best[target]:
                best[target], came[target] = menus, nid
                (todo.append if node.is_menu else todo.appendleft)(target)
    people = sorted((menus, nid) for nid, menus in best.items() if _is_person(menu.nodes[nid]))
    if not people:
        warn(start, start.location, "no transfer to a person is reachable while the line is open")
        return
    menus, nearest = people[0]
    if menus > budget:
        way, cursor = [], nearest
        while cursor in came:
            cursor = came[cursor]
            way.append(cursor)
        through = " → ".join(n for n in reversed(way) if menu.nodes[n].is_menu)
        message = f"a person is {menus} menus from the start while open (budget {budget}): {nearest!r}, through {through}"
        warn(start, start.location, message)


def _is_person(node: Node) -> bool:
    destination = node.destination()
    return destination is not None and destination[0] == "transfer"
