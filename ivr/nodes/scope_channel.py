"""`type: scope_channel` — tell one way to reach support, every fact of it from scope/channels.yaml."""

from __future__ import annotations

from ivr.format import Build, Choice, Localised, NodeType, Word
from ivr.ir import Node
from ivr.nodes.announce import NEXT
from ivr.nodes.pages import MORE, list_pages
from ivr.nodes.scope_fill import channel_values, fill, need_scope


def build(b: Build) -> list[Node]:
    """An announcement: the template filled with the channel's facts; with `then` and `more`, a second page on key 1."""
    v = b.values
    fields = ["say", *(name for name in ("then", "last") if name in v)]
    pages = [v.get(name) or b.blank() for name in fields]
    scope = need_scope(b)
    channel_id = v.get("channel", "")
    channel = scope.channels.get(channel_id) if scope is not None else None
    if channel is not None:
        values = channel_values(b, channel)
        keep: frozenset[str] = frozenset()
        if v.get("hours_from") == "menu":  # this phone line: its hours are menu.hours, filled in as {hours} is anywhere
            values.pop("hours", None)
            keep = frozenset({"hours"})
        pages = [fill(b, page, values, field, keep) for page, field in zip(pages, fields, strict=True)]
    else:  # reported (unknown channel) or explained by the scope's own errors: the templates are not said as they are
        if scope is not None and channel_id:
            b.error("channel", f"unknown scope channel {channel_id!r}; known: {', '.join(sorted(scope.channels))}")
        pages = [b.blank() for _ in pages]
    if len(pages) > 1 and "more" not in b.where:  # (a `more` written wrong is reported as such already)
        b.error(fields[1], f"scope_channel node {b.node_id!r} has more than one page but no 'more' saying how to hear the next")
    if "more" in v and not {"then", "last"} & set(b.where):  # (a `then` written wrong is reported as such already)
        b.error("more", f"scope_channel node {b.node_id!r} says how to hear a next page ('more') but has none ('then')")
    if "last" in v and "then" not in v:
        b.error("last", f"scope_channel node {b.node_id!r} has a 'last' page but no 'then' page before it")
    return list_pages(b, b.blank(), pages, 1, v.get("more"), v.get("next", ""))


TYPE = NodeType(
    "scope_channel",
    "Tell one way to reach support: a template filled with the channel's facts from scope/channels.yaml.",
    (
        Word("channel", "Channel id in scope/channels.yaml.", required=True),
        Choice(
            "hours_from",
            "channel: {hours} are the channel's daily_hours; menu: the channel is this phone line, its {hours} are menu.hours.",
            choices=("channel", "menu"),
            default="channel",
        ),
        Localised(
            "say",
            "What is said, with the channel's fields: {name}, {how_to_reach}, {hours} (spoken from daily_hours), "
            "{first_response_minutes}, every other text ({response}, …) and every list ({best_for}, {topics}, …; "
            "{best_for_or} joins with 'or').",
            required=True,
        ),
        Localised("then", "A second page, with the same fields, said when the caller presses 1 after `more`."),
        Localised("last", "A third page (after `then`), the same way."),
        MORE,
        NEXT,
    ),
    build,
)
