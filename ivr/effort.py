"""Caller effort: for each destination, the keys pressed and the seconds of prompts heard to get there."""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable
from dataclasses import dataclass

from ivr.ir import BACK, Menu, Node
from ivr.text import without_placeholders, without_segments

__all__ = ["Durations", "Route", "estimate_seconds", "routes"]

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
WORD = re.compile(r"[A-Za-z0-9]+")
# Speaking rates of telephone TTS: about 4.5 Chinese characters and 2.6 English words a second.
CJK_PER_SECOND = 4.5
WORDS_PER_SECOND = 2.6

Durations = Callable[[str, str], float | None]  # (lang, text) -> seconds of rendered audio, if rendered


def estimate_seconds(text: str) -> float:
    """How long a prompt takes to say, estimated from its text."""
    text = without_placeholders(without_segments(text))
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


def routes(menu: Menu, lang: str | None = None, durations: Durations | None = None) -> list[Route]:
    """The cheapest route (in seconds heard) to every transfer, ticket and announcement, worst first."""
    lang = lang or menu.default_language
    estimated_any: dict[str, bool] = {}

    def cost(node: Node) -> tuple[float, bool]:
        heard = node.heard()
        if heard is None:
            return 0.0, False
        text = heard.get(lang)
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
        for label, target in menu.nodes[nid].moves():
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
        destination = node.destination()
        if destination is None or nid not in best:
            continue
        keys, path = [], [nid]
        cursor = nid
        while cursor in came:
            cursor, label = came[cursor]
            path.append(cursor)
            if label:
                keys.append(label)
        kind, name = destination
        heard_before = best[nid] - cost(node)[0]  # up to the destination, not its own words
        out.append(Route(name, nid, kind, tuple(reversed(keys)), heard_before, tuple(reversed(path)), estimated_any[nid]))
    return sorted(out, key=lambda r: (-r.seconds, r.node))
