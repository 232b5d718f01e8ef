"""`type: scope_list` — read out what support covers (in_scope) or does not (out_of_scope), from scope/."""

from __future__ import annotations

from ivr.format import Build, Choice, Localised, NodeType
from ivr.ir import Node
from ivr.nodes.announce import NEXT
from ivr.nodes.pages import MORE, PER_PAGE, list_pages
from ivr.nodes.scope_fill import need_scope
from ivr.text import Text

LISTS = ("in_scope", "out_of_scope", "third_party_terms")


def build(b: Build) -> list[Node]:
    """An announcement: the intro, then every item of the list (page by page, with `per_page` and `more`)."""
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
    return list_pages(b, intro, items, v.get("per_page"), v.get("more"), v.get("next", ""))


TYPE = NodeType(
    "scope_list",
    "Read out a list from scope/ (what support covers, or not; the terms of third-party advice), page by page if long.",
    (
        Localised("say", "Said before the list.", required=True),
        Choice("list", "Which list of scope/ to read.", required=True, choices=LISTS, checked_by_node=True),
        PER_PAGE,
        MORE,
        NEXT,
    ),
    build,
)
