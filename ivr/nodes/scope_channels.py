"""`type: scope_channels` — read out the other ways to reach support and their hours, from scope/."""

from __future__ import annotations

from ivr.format import Build, Localised, NodeType, Words
from ivr.ir import Node
from ivr.nodes.announce import NEXT, AnnounceNode
from ivr.nodes.scope_fill import channel_values, fill, need_scope
from ivr.text import Text


def build(b: Build) -> list[Node]:
    """An announcement: the intro, then one sentence per channel."""
    v = b.values
    intro = v.get("say") or b.blank()
    item = v.get("item") or b.blank()
    # Some channels (notifications) have no hours; they get their own wording, not a dangling comma.
    item_without_hours = v.get("item_without_hours") or item
    parts = [intro]
    scope = need_scope(b)
    for channel_id in v.get("channels", []) if scope is not None else []:
        assert scope is not None
        channel = scope.channels.get(channel_id)
        if channel is None:
            b.error(f"channels {channel_id}", f"unknown scope channel {channel_id!r}; known: {', '.join(sorted(scope.channels))}")
            continue
        values = channel_values(b, channel)
        parts.append(fill(b, item if "hours" in values else item_without_hours, values, "item"))
    return [AnnounceNode(b.node_id, b.location, Text.join(parts, b.languages), v.get("next", ""), where=b.where)]


TYPE = NodeType(
    "scope_channels",
    "Read out other ways to reach support, with their hours.",
    (
        Localised("say", "Said before the channels.", required=True),
        Words("channels", "Channel ids from scope/channels.yaml, in the order to read them.", required=True),
        Localised(
            "item", "Template for each channel: {name}, {hours}, {how_to_reach} and every other field (as scope_channel).", required=True
        ),
        Localised("item_without_hours", "Template for a channel without hours: {name}, {how_to_reach} (default: item)."),
        NEXT,
    ),
    build,
)
