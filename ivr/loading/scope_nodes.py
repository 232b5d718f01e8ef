"""Builders for menu nodes generated from scope/ data, so no scope text is ever typed twice."""

from __future__ import annotations

import re

from ivr.ir import AnnounceNode, Location, MenuNode, Node
from ivr.loading.nodes import Context, read_prompt, read_retry, read_target
from ivr.loading.reader import Reader
from ivr.loading.yamltree import YMap
from ivr.scope import Scope
from ivr.text import Text

FIELD = re.compile(r"\{([a-z_]+)\}")


def _fill(r: Reader, template: Text, values: dict[str, Text], loc: Location, what: str) -> Text:
    """Fill `{field}` in a generator template with scope values, language by language."""

    def one(lang: str, text: str) -> str:
        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in values:
                r.error(loc, f"{what} uses {{{name}}}, which is not one of: {', '.join(sorted(values))}")
                return ""
            return values[name].get(lang)

        return FIELD.sub(sub, text)

    return template.map(one)


def _scope(r: Reader, ctx: Context, m: YMap, what: str) -> Scope | None:
    if ctx.scope is None:
        r.error(m.loc, f"{what} needs scope data: set 'scope' in the menu settings")
    return ctx.scope


def _template(r: Reader, m: YMap, ctx: Context, key: str, what: str) -> Text:
    return ctx.text(r, m, key, what, True) or Text({lang: "" for lang in ctx.languages})


def build_scope_list(r: Reader, node_id: str, m: YMap, ctx: Context) -> list[Node]:
    """`type: scope_list` — read out what support covers (in_scope) or not (out_of_scope)."""
    what = f"scope_list node {node_id!r}"
    r.fields(m, ("type", "say", "list", "next"), what)
    intro = read_prompt(r, m, ctx, what)
    name = r.string(m, "list", what) or ""
    scope = _scope(r, ctx, m, what)
    items: list[Text] = []
    if scope is not None and name:
        if name not in scope.lists:
            r.error(m.values["list"].loc, f"unknown scope list {name!r}; known: {', '.join(sorted(scope.lists))}")
        else:
            items = [item.text for item in scope.lists[name]]
    prompt = Text.join([intro, *items], ctx.languages)
    return [AnnounceNode(node_id, m.loc, prompt, read_target(r, m, "next", what, ctx))]


def build_scope_channels(r: Reader, node_id: str, m: YMap, ctx: Context) -> list[Node]:
    """`type: scope_channels` — read out other ways to reach support and their hours."""
    what = f"scope_channels node {node_id!r}"
    r.fields(m, ("type", "say", "channels", "item", "item_without_hours", "next"), what)
    intro = read_prompt(r, m, ctx, what)
    item = _template(r, m, ctx, "item", what)
    # Some channels (notifications) have no hours; they get their own wording, not a dangling comma.
    item_without_hours = ctx.text(r, m, "item_without_hours", what, False) or item
    parts = [intro]
    scope = _scope(r, ctx, m, what)
    for channel_id, loc in r.string_list(m, "channels", what):
        if scope is None:
            break
        channel = scope.channels.get(channel_id)
        if channel is None:
            r.error(loc, f"unknown scope channel {channel_id!r}; known: {', '.join(sorted(scope.channels))}")
            continue
        values = {"name": channel.name, "how_to_reach": channel.how_to_reach}
        if channel.hours is not None:
            values["hours"] = channel.hours
        template = item if channel.hours is not None else item_without_hours
        parts.append(_fill(r, template, values, m.keys.get("item", m.loc), what))
    prompt = Text.join(parts, ctx.languages)
    return [AnnounceNode(node_id, m.loc, prompt, read_target(r, m, "next", what, ctx))]


def build_scope_catalog(r: Reader, node_id: str, m: YMap, ctx: Context) -> list[Node]:
    """`type: scope_catalog` — category menu → software menu → supported/unsupported example."""
    what = f"scope_catalog node {node_id!r}"
    r.fields(m, ("type", "say", "option", "category", "software", "footer", "max_invalid", "max_no_input", "timeout"), what)
    intro = read_prompt(r, m, ctx, what)
    option = _template(r, m, ctx, "option", what)
    heading = _template(r, m, ctx, "category", what)
    detail = _template(r, m, ctx, "software", what)
    footer = _template(r, m, ctx, "footer", what)
    retry = read_retry(r, node_id, m, ctx)
    scope = _scope(r, ctx, m, what)
    if scope is None:
        return [MenuNode(node_id, m.loc, intro, intro, {}, retry)]
    if not 1 <= len(scope.categories) <= 9:
        r.error(m.loc, f"{what}: the catalogue has {len(scope.categories)} categories; a menu offers 1 to 9")

    def choose(key: int, name: Text) -> Text:
        return _fill(r, option, {"name": name, "key": Text({lang: str(key) for lang in ctx.languages})}, m.loc, what)

    nodes: list[Node] = []
    top_options: dict[str, str] = {}
    top_parts = [intro]
    for i, category in enumerate(scope.categories[:9], start=1):
        cat_id = f"{node_id}.{category.id}"
        top_options[str(i)] = cat_id
        top_parts.append(choose(i, category.name))
        cat_options: dict[str, str] = {}
        cat_parts = [_fill(r, heading, {"name": category.name}, m.loc, what)]
        for j, software in enumerate(category.software[:9], start=1):
            sw_id = f"{cat_id}.{software.id}"
            cat_options[str(j)] = sw_id
            cat_parts.append(choose(j, software.name))
            values = {"name": software.name, "supported": software.supported, "unsupported": software.unsupported}
            nodes.append(AnnounceNode(sw_id, m.loc, _fill(r, detail, values, m.loc, what), "back"))
        cat_prompt = Text.join([*cat_parts, footer], ctx.languages)
        nodes.append(MenuNode(cat_id, m.loc, cat_prompt, cat_prompt, cat_options, retry))
    top_prompt = Text.join([*top_parts, footer], ctx.languages)
    nodes.insert(0, MenuNode(node_id, m.loc, top_prompt, top_prompt, top_options, retry))
    return nodes


SCOPE_BUILDERS = {
    "scope_list": build_scope_list,
    "scope_channels": build_scope_channels,
    "scope_catalog": build_scope_catalog,
}
