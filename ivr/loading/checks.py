"""Whole-menu checks that need every node: targets, reachability and ways out."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

from ivr.errors import Problem
from ivr.ir import BACK, WAITING_NODES, HangupNode, Location, Node, TransferNode, targets_of

ENDS = (HangupNode, TransferNode)


def check_references(
    refs: Iterable[tuple[str, str, str, Location]],
    known: Mapping[str, Iterable[str]],
) -> list[Problem]:
    """Every referenced target node, queue and action exists."""
    problems = []
    for kind, name, node, loc in refs:
        names = set(known[kind])
        if kind == "target" and name == BACK:
            continue
        if name not in names:
            listing = ", ".join(sorted(names)) if len(names) <= 12 else f"{len(names)} {kind}s"
            problems.append(Problem(loc.file, loc.line, loc.column, f"unknown {kind} {name!r} (known: {listing})", node or None))
    return problems


def _edges(node: Node, nodes: Mapping[str, Node]) -> list[str]:
    return [t for t in targets_of(node).values() if t in nodes]


def check_graph(nodes: Mapping[str, Node], roots: Iterable[str]) -> list[Problem]:
    """No unreachable node, no silent loop, and from every node some way to end the call."""
    problems: list[Problem] = []

    def report(node: Node, message: str) -> None:
        loc = node.location
        problems.append(Problem(loc.file, loc.line, loc.column, message, node.id))

    reached: set[str] = set()
    todo = deque(r for r in roots if r in nodes)
    while todo:
        current = todo.popleft()
        if current in reached:
            continue
        reached.add(current)
        todo.extend(_edges(nodes[current], nodes))
    for node_id, node in nodes.items():
        if node_id not in reached:
            report(node, "unreachable: no key, target or setting leads here")

    # Nodes that never wait for the caller must not form a loop, or a call would spin forever.
    auto = {nid for nid, n in nodes.items() if not isinstance(n, (*WAITING_NODES, HangupNode))}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(nid: str, path: list[str]) -> None:
        state[nid] = 1
        for t in targets_of(nodes[nid]).values():
            if t not in auto:
                continue
            if state.get(t) == 1:
                cycle = [*path[path.index(t) :], t]
                report(nodes[t], f"no way out: {' -> '.join(cycle)} loops without waiting for the caller")
            elif t not in state:
                visit(t, [*path, t])
        state[nid] = 2

    for nid in auto:
        if nid not in state:
            visit(nid, [nid])

    # From every node the call must be able to end: a hangup or a transfer (back counts: it leads to a menu).
    can_end = {nid for nid, n in nodes.items() if isinstance(n, ENDS)}
    changed = True
    while changed:
        changed = False
        for nid, n in nodes.items():
            if nid in can_end:
                continue
            targets = targets_of(n).values()
            if any(t in can_end or t == BACK for t in targets):
                can_end.add(nid)
                changed = True
    for nid, n in nodes.items():
        if nid not in can_end and nid in reached:
            report(n, "no way out: no path from here ends in a transfer or a hangup")
    return problems
