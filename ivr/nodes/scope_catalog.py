"""`type: scope_catalog` — generate category → software → example menus from scope/third_party.yaml."""

from __future__ import annotations

from ivr.format import Build, Localised, NodeType
from ivr.ir import BACK, Node
from ivr.nodes.announce import AnnounceNode
from ivr.nodes.menu import MenuNode
from ivr.nodes.prompted import RETRY_COUNTS
from ivr.nodes.scope_fill import fill, need_scope
from ivr.text import Text


def build(b: Build) -> list[Node]:
    """A menu of categories, a menu of software per category, an announcement per software."""
    v = b.values
    intro, option, heading, detail, footer = (v.get(name) or b.blank() for name in ("say", "option", "category", "software", "footer"))
    retry = b.retry()
    scope = need_scope(b)
    if scope is None:
        return [MenuNode(b.node_id, b.location, intro, intro, retry, {}, where=b.where)]
    # Keys 1-9 for the entries of each generated menu, leaving out the key that switches language everywhere.
    keys = [k for k in "123456789" if not (len(b.languages) > 1 and k == b.language_key)]
    if not 1 <= len(scope.categories) <= len(keys):
        b.error(
            None, f"scope_catalog node {b.node_id!r}: the catalogue has {len(scope.categories)} categories; a menu offers 1 to {len(keys)}"
        )
    for category in scope.categories:
        if len(category.software) > len(keys):
            b.error(
                None,
                f"scope_catalog node {b.node_id!r}: category {category.id!r} has {len(category.software)} entries; "
                f"a menu offers {len(keys)}",
            )

    def choose(key: str, name: Text) -> Text:
        return fill(b, option, {"name": name, "key": Text(dict.fromkeys(b.languages, key))}, "option")

    nodes: list[Node] = []
    top_options: dict[str, str] = {}
    top_parts = [intro]
    for i, category in zip(keys, scope.categories, strict=False):
        cat_id = f"{b.node_id}.{category.id}"
        top_options[i] = cat_id
        top_parts.append(choose(i, category.name))
        cat_options: dict[str, str] = {}
        cat_parts = [fill(b, heading, {"name": category.name}, "category")]
        for j, software in zip(keys, category.software, strict=False):
            sw_id = f"{cat_id}.{software.id}"
            cat_options[j] = sw_id
            cat_parts.append(choose(j, software.name))
            values = {"name": software.name, "supported": software.supported, "unsupported": software.unsupported}
            nodes.append(AnnounceNode(sw_id, b.location, fill(b, detail, values, "software"), BACK))
        cat_prompt = Text.join([*cat_parts, footer], b.languages)
        nodes.append(MenuNode(cat_id, b.location, cat_prompt, cat_prompt, retry, cat_options, _language_key(b, cat_options)))
    top_prompt = Text.join([*top_parts, footer], b.languages)
    nodes.insert(
        0, MenuNode(b.node_id, b.location, top_prompt, top_prompt, retry, top_options, _language_key(b, top_options), where=b.where)
    )
    return nodes


def _language_key(b: Build, options: dict[str, str]) -> str:
    return b.language_key if len(b.languages) > 1 and b.language_key not in options else ""


TYPE = NodeType(
    "scope_catalog",
    "Generate category → software → example menus from scope/third_party.yaml.",
    (
        Localised("say", "Said before the categories.", required=True),
        Localised("option", "Template for each choice: {name}, {key}.", required=True),
        Localised("category", "Heading of a category menu: {name}.", required=True),
        Localised("software", "What is said for one software: {name}, {supported}, {unsupported}.", required=True),
        Localised("footer", "Said at the end of every generated menu.", required=True),
        *RETRY_COUNTS,
    ),
    build,
)
