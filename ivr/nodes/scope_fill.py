"""Filling the `{field}` templates of scope node types with facts from scope/, language by language."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping

from ivr.format import Build
from ivr.scope import Channel, Scope
from ivr.spoken_time import spoken_daily
from ivr.text import Text, escape

FIELD = re.compile(r"\{([a-z_]+)\}")


def fill(b: Build, template: Text, values: Mapping[str, Text], field: str, keep: frozenset[str] = frozenset()) -> Text:
    """`template` with each `{name}` replaced by `values[name]`; an unknown name is an error at `field`; names in
    `keep` are left for the loader to fill (`{hours}` of the menu)."""

    def one(lang: str, text: str) -> str:
        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in keep:
                return match.group(0)
            if name not in values:
                close = difflib.get_close_matches(name, sorted(values), n=1)
                hint = f"; did you mean {{{close[0]}}}?" if close else ""
                where = f"{field} {lang}" if f"{field} {lang}" in b.where else field
                b.error(where, f"{b.kind} node {b.node_id!r} uses {{{name}}}, which is not one of: {', '.join(sorted(values))}{hint}")
                return ""
            return escape(values[name].get(lang))

        return FIELD.sub(sub, text)

    return template.map(one)


def need_scope(b: Build) -> Scope | None:
    """The menu's scope data, or an error saying the node needs it."""
    if b.scope is None and not b.scope_broken:
        b.error(None, f"{b.kind} node {b.node_id!r} needs scope data: set 'scope' in the menu settings")
    return b.scope


def channel_values(b: Build, channel: Channel) -> dict[str, Text]:
    """Every fact of a channel as spoken words, for `{field}` templates."""
    return channel.spoken(b.languages, spoken_daily)
