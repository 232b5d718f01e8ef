"""`type: scope_list` — read out what support covers (in_scope) or does not (out_of_scope), from scope/."""

from __future__ import annotations

from ivr.format import Build, Choice, Localised, NodeType
from ivr.ir import Node
from ivr.nodes.announce import NEXT, AnnounceNode
from ivr.nodes.scope_fill import need_scope
from ivr.text import Text

LISTS = ("in_scope", "out_of_scope")


def build(b: Build) -> list[Node]:
    """An announcement: the intro, then every item of the list."""
    v = b.values
    intro = v.get("say") or b.blank()
    name = v.get("list", "")
    scope = need_scope(b)
    items: list[Text] = []
    if scope is not None and name:
        if name not in scope.lists:
            b.error("list", f"unknown scope list {name!r}; known: {', '.join(sorted(scope.lists))}")
        else:
            items = [item.text for item in scope.lists[name]]
    prompt = Text.join([intro, *items], b.languages)
    return [AnnounceNode(b.node_id, b.location, prompt, v.get("next", ""), where=b.where)]


TYPE = NodeType(
    "scope_list",
    "Read out a list from scope/ (what support covers, or not).",
    (
        Localised("say", "Said before the list.", required=True),
        Choice("list", "Which list of scope/coverage.yaml to read.", required=True, choices=LISTS, checked_by_node=True),
        NEXT,
    ),
    build,
)
