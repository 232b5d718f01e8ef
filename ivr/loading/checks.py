"""Whole-menu checks that need every node: targets, reachability and ways out.

Everything walks nodes in file order, so the same menu always gives the same report.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from ivr.errors import Problem
from ivr.ir import BACK, Location, Node, current_menus, reachable

Ref = tuple[str, str, str, Location]


def check_references(refs: Iterable[Ref], known: Mapping[str, Iterable[str]]) -> list[Problem]:
    """Every referenced target node, queue and action exists."""
    problems = []
    names = {kind: set(values) for kind, values in known.items()}
    for kind, name, node, loc in refs:
        if kind == "target" and name == BACK:
            continue
        if name not in names[kind]:
            close = difflib.get_close_matches(name, sorted(names[kind]), n=1)
            listing = ", ".join(sorted(names[kind])) if len(names[kind]) <= 12 else f"{len(names[kind])} {kind}s"
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(Problem(loc.file, loc.line, loc.column, f"unknown {kind} {name!r}{hint} (known: {listing})", node or None))
    return problems


def _exits(node: Node, nodes: Mapping[str, Node], parents: Mapping[str, set[str]]) -> list[str]:
    """Where a caller can go from `node`, including the built-in back key of menus and entries."""
    out = [t for t in node.edges().values() if t in nodes or t == BACK]
    if node.takes_entries:
        out += sorted(p for p in parents.get(node.id, ()) if p != node.id)
    return out


def check_graph(nodes: Mapping[str, Node], roots: Iterable[str]) -> list[Problem]:
    """No unreachable node, no loop that never waits, and from every node some way to end the call."""
    problems: list[Problem] = []

    def report(node: Node, message: str) -> None:
        loc = node.location
        problems.append(Problem(loc.file, loc.line, loc.column, message, node.id))

    reached = reachable(nodes, roots)
    for node_id, node in nodes.items():
        if node_id not in reached:
            report(node, "unreachable: no key, target or setting leads here")

    # Nodes that never wait for the caller must not form a loop, or a call would spin forever; a failed
    # transfer moves on without the caller too, so transfers take part through their failure edge.
    auto = {nid for nid, n in nodes.items() if n.unattended()}
    finished: set[str] = set()
    looping: set[str] = set()

    def visit(nid: str, path: list[str]) -> None:
        for target in nodes[nid].unattended():
            if target not in auto or target in finished:
                continue
            if target in path:
                cycle = [*path[path.index(target) :], target]
                looping.update(cycle)
                report(nodes[target], f"no way out: {' -> '.join(cycle)} loops without waiting for the caller")
            else:
                visit(target, [*path, target])
        finished.add(nid)

    for nid in nodes:  # file order, so a loop is reported at the node of it met first
        if nid in auto and nid not in finished:
            visit(nid, [nid])

    # From every node the call must be able to end in a hangup or a transfer.
    parents = current_menus(nodes)
    can_end = {nid for nid, n in nodes.items() if n.ends_call}
    changed = True
    while changed:
        changed = False
        for nid, n in nodes.items():
            if nid not in can_end and any(t in can_end or t == BACK for t in _exits(n, nodes, parents)):
                can_end.add(nid)
                changed = True
    for nid, n in nodes.items():
        if nid not in can_end and nid in reached and nid not in looping:  # loops were reported above
            report(n, "no way out: no path from here ends in a transfer or a hangup")
    return problems


def check_back_targets(refs: Iterable[Ref], nodes: Mapping[str, Node]) -> list[Problem]:
    """`back` means "the menu the caller is in": only a non-menu node reached from a menu can use it."""
    problems = []
    where = current_menus(nodes)
    for kind, name, node, loc in refs:
        if kind != "target" or name != BACK:
            continue
        if not node:
            reason = "'back' cannot be used in the menu settings: there is no menu to go back to there"
        elif node in nodes and nodes[node].is_menu:
            reason = "a menu cannot send a key or its failures 'back': the back key (#) already does that"
        elif node in nodes and not where.get(node):
            reason = "'back' needs a menu before this node, but no menu leads here"
        else:
            continue
        problems.append(Problem(loc.file, loc.line, loc.column, reason, node or None))
    return problems


def check_ends_without_waiting(nodes: Mapping[str, Node], start: str, loc: Location, what: str) -> list[Problem]:
    """From `start`, every way on without the caller must end in a hangup: used for the runaway exit.

    Branches (hours) and transfers (a person in hours, and when nobody answers, on) are followed on every edge;
    a node that waits for the caller fails the check."""

    def stuck(node: Node) -> bool:  # waits for the caller, or has no way on of its own
        return not node.final and (node.takes_entries or not node.unattended() or (node.waits and not node.ends_call))

    ways = reachable(nodes, [start], through=lambda node: not node.final, ways=lambda node: node.unattended())
    blocked = [start] if start not in nodes else sorted(nid for nid in ways if stuck(nodes[nid]))
    if not blocked:
        return []
    current = blocked[0]
    message = f"{what} must lead straight to a hangup without waiting for the caller (it reaches {current!r})"
    return [Problem(loc.file, loc.line, loc.column, message)]
