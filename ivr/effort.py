"""Caller effort: for each destination, the keys pressed and the seconds of prompts heard to get there."""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable
from dataclasses import dataclass

from ivr.ir import (
    BACK,
    AnnounceNode,
    HangupNode,
    HoursNode,
    InputNode,
    Menu,
    MenuNode,
    Node,
    RecordNode,
    TicketNode,
    TransferNode,
    targets_of,
)
from ivr.text import PLACEHOLDER

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
WORD = re.compile(r"[A-Za-z0-9]+")
# Speaking rates of telephone TTS: about 4.5 Chinese characters and 2.6 English words a second.
CJK_PER_SECOND = 4.5
WORDS_PER_SECOND = 2.6

Durations = Callable[[str, str], float | None]  # (lang, text) -> seconds of rendered audio, if rendered


def estimate_seconds(text: str) -> float:
    """How long a prompt takes to say, estimated from its text."""
    text = PLACEHOLDER.sub("", text)
    return len(CJK.findall(text)) / CJK_PER_SECOND + len(WORD.findall(CJK.sub(" ", text))) / WORDS_PER_SECOND


@dataclass(frozen=True)
class Route:
    """The cheapest way to a destination."""

    destination: str  # e.g. "transfer business"
    node: str
    kind: str
    keys: tuple[str, ...]
    seconds: float  # of prompts heard before the destination is reached
    path: tuple[str, ...]
    estimated: bool  # some prompt on the way had no rendered audio


def _prompt_of(node: Node) -> str | None:
    if isinstance(node, (MenuNode, InputNode, AnnounceNode, RecordNode)):
        return "prompt"
    if isinstance(node, (TransferNode, TicketNode, HangupNode)) and node.prompt is not None:
        return "prompt"
    return None


def routes(menu: Menu, lang: str | None = None, durations: Durations | None = None) -> list[Route]:
    """The cheapest route (in seconds heard) to every transfer, ticket and announcement, worst first."""
    lang = lang or menu.default_language
    estimated_any: dict[str, bool] = {}

    def cost(node: Node) -> tuple[float, bool]:
        if _prompt_of(node) is None:
            return 0.0, False
        text = node.prompt.get(lang)  # type: ignore[attr-defined]
        rendered = durations(lang, text) if durations else None
        return (rendered, False) if rendered is not None else (estimate_seconds(text), True)

    first_cost, first_est = cost(menu.nodes[menu.start])
    best: dict[str, float] = {menu.start: first_cost}
    came: dict[str, tuple[str, str]] = {}
    estimated_any[menu.start] = first_est
    queue = [(first_cost, menu.start)]
    while queue:
        seconds, nid = heapq.heappop(queue)
        if seconds > best.get(nid, float("inf")):
            continue
        node = menu.nodes[nid]
        for label, target in _moves(node):
            if target not in menu.nodes or target == BACK:
                continue
            step, est = cost(menu.nodes[target])
            total = seconds + step
            if total < best.get(target, float("inf")):
                best[target] = total
                came[target] = (nid, label)
                estimated_any[target] = estimated_any[nid] or est
                heapq.heappush(queue, (total, target))
    out = []
    for nid, node in menu.nodes.items():
        kind = _kind(node)
        if kind is None or nid not in best:
            continue
        keys, path = [], [nid]
        cursor = nid
        while cursor in came:
            cursor, label = came[cursor]
            path.append(cursor)
            if label:
                keys.append(label)
        destination = {
            "transfer": f"transfer {getattr(node, 'queue', '')}",
            "ticket": f"ticket {getattr(node, 'category', '')}",
            "announcement": f"hear {nid}",
        }[kind]
        heard_before = best[nid] - cost(node)[0]  # up to the destination, not its own words
        out.append(Route(destination, nid, kind, tuple(reversed(keys)), heard_before, tuple(reversed(path)), estimated_any[nid]))
    return sorted(out, key=lambda r: (-r.seconds, r.node))


def _kind(node: Node) -> str | None:
    if isinstance(node, TransferNode):
        return "transfer"
    if isinstance(node, TicketNode):
        return "ticket"
    if isinstance(node, AnnounceNode):
        return "announcement"
    return None


def _moves(node: Node) -> list[tuple[str, str]]:
    """(keys the caller presses, target) for every way on; '' where no key is needed."""
    if isinstance(node, MenuNode):
        return [(key, target) for key, target in node.options.items()]
    if isinstance(node, InputNode):
        return [(f"<{node.store_as}>{node.finish_on_key}", target) for target in node.outcomes.values()]
    if isinstance(node, HoursNode):
        return [("(open)", node.open), ("(closed)", node.closed)]
    if isinstance(node, RecordNode):
        return [("(message)", node.next)]
    if isinstance(node, TransferNode):
        return [("(no answer)", node.on_failure)]
    return [("", target) for target in targets_of(node).values()]
