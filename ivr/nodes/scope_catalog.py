"""`type: scope_catalog` — generate category → software → example menus from scope/third_party.yaml."""

from __future__ import annotations

from ivr.format import Build, Count, Keys, Localised, NodeType, Phrases, Target
from ivr.format.fields import LOWER_NAME
from ivr.ir import BACK, Listening, Node
from ivr.nodes.announce import AnnounceNode
from ivr.nodes.menu import WHICH, MenuNode
from ivr.nodes.prompted import LISTEN_FIELDS, RETRY_COUNTS
from ivr.nodes.scope_fill import fill, need_scope
from ivr.text import Text

EXAMPLE_JOIN = {"zh": "；", "en": " "}  # between example questions: each is its own phrase, with a pause
SpokenPhrases = dict[str, dict[str, tuple[str, ...]]]
MORE, TERMS = "more", "terms"  # phrase keys for the next page and the terms, beside keys, categories and software


class _Listen:
    """The phrases of the catalogue's generated menus: names from the scope, more words from the node's `phrases`."""

    def __init__(self, b: Build, given: SpokenPhrases) -> None:
        self.b = b
        self.given = given

    def of(self, key: str, name: Text | None = None) -> dict[str, tuple[str, ...]]:
        """What a caller may say for `key`: the scope's name for it (if any), then the node's own phrases."""
        out = {}
        for lang in self.b.languages:
            said = ([name.get(lang)] if name is not None and name.get(lang) else []) + list(self.given.get(key, {}).get(lang, ()))
            out[lang] = tuple(dict.fromkeys(said))
        return out

    def menu(self, phrases: SpokenPhrases, options: dict[str, str], spoken_only: dict[str, str]) -> Listening | None:
        """One generated menu's Listening (phrases checked), or None when speech is off."""
        return self.b.listening(phrases, [*options, *spoken_only])


def build(b: Build) -> list[Node]:
    """A menu of categories (and the terms), a menu of software per category (page by page), an announcement per software."""
    v = b.values
    intro, option, heading, detail, footer = (v.get(name) or b.blank() for name in ("say", "option", "category", "software", "footer"))
    more, per_page, terms = v.get("more"), v.get("per_page"), v.get("terms")
    retry = b.retry()
    scope = need_scope(b)
    if scope is None:  # its own errors are reported; keep the node's targets so nothing reads as unreachable too
        kept = dict(v.get("keys") or {})
        if terms:
            kept[next(k for k in "0123456789" if k not in kept)] = terms
        return [MenuNode(b.node_id, b.location, intro, intro, retry, kept, where=b.where)]
    # Keys 1-9 for the entries of each generated menu, leaving out the key that switches language everywhere.
    keys = [k for k in "123456789" if not (len(b.languages) > 1 and k == b.language_key)]
    also_keys: dict[str, str] = v.get("keys") or {}
    if not 1 <= len(scope.categories) + len(also_keys) <= len(keys):
        choices = f"{len(scope.categories)} categories and {len(also_keys)} keys"
        b.error(None, f"scope_catalog node {b.node_id!r}: {choices}; a menu offers 1 to {len(keys)}")
    for key in also_keys:
        if key in keys[: len(scope.categories)]:
            b.error(f"keys {key}", f"key {key} is taken by a category of the catalogue (categories have keys 1 to {len(scope.categories)})")
    if terms and "terms_option" not in v:
        b.error("terms", f"scope_catalog node {b.node_id!r} has terms but no terms_option saying how to reach them")
    page_size = per_page if per_page and more is not None else len(keys)
    if per_page and more is None:
        b.error("per_page", f"scope_catalog node {b.node_id!r}: per_page needs a 'more' text saying how to hear the next page")
    if page_size >= len(keys):
        page_size = len(keys) - 1 if more is not None else len(keys)

    def choose(key: str, name: Text, template: Text = option, field: str = "option") -> Text:
        return fill(b, template, {"name": name, "key": Text(dict.fromkeys(b.languages, key))}, field)

    nodes: list[Node] = []
    top_options: dict[str, str] = {}
    top_parts = [intro]
    given: SpokenPhrases = v.get("phrases") or {}
    listen = _Listen(b, given)
    top_phrases: SpokenPhrases = {}
    every_software: dict[str, str] = {}  # software id -> its node: a caller may name one from the top menu
    software_phrases: SpokenPhrases = {}
    for category in scope.categories:
        for software in category.software:
            every_software[software.id] = f"{b.node_id}.{category.id}.{software.id}"
            software_phrases[software.id] = listen.of(software.id, software.name)
    for i, category in zip(keys, scope.categories, strict=False):
        cat_id = f"{b.node_id}.{category.id}"
        top_options[i] = cat_id
        top_phrases[i] = listen.of(category.id, category.name)
        top_parts.append(choose(i, category.name))
        entries = []
        for software in category.software:
            sw_id = f"{cat_id}.{software.id}"
            entries.append((software.id, sw_id, software.name))
            values = {"name": software.name, "category": category.name}
            values |= {"supported": _examples(software.supported, b.languages), "unsupported": _examples(software.unsupported, b.languages)}
            nodes.append(AnnounceNode(sw_id, b.location, fill(b, detail, values, "software"), BACK))
        room = page_size - (1 if terms and more is None else 0)  # the last page keeps a key for the terms
        if more is None and len(entries) > room:
            what = f"{len(entries)} entries" + (" and the terms" if terms else "")
            b.error(
                None,
                f"scope_catalog node {b.node_id!r}: category {category.id!r} has {what}; a menu offers {len(keys)} "
                "(give per_page and more to say it a page at a time)",
            )
            entries = entries[:room]
        pages = [entries[n : n + page_size] for n in range(0, len(entries), page_size)] or [[]]
        page_ids = [cat_id, *(f"{cat_id}.page{n}" for n in range(2, len(pages) + 1))]
        for n, page in enumerate(pages):
            options = {key: sw_id for key, (_, sw_id, _) in zip(keys, page, strict=False)}
            phrases = {key: software_phrases[sid] for key, (sid, _, _) in zip(keys, page, strict=False)}
            parts = [fill(b, heading, {"name": category.name}, "category")] if n == 0 else []
            parts += [choose(key, name) for key, (_, _, name) in zip(keys, page, strict=False)]
            if n < len(pages) - 1 and more is not None:
                next_key = keys[len(page)]
                options[next_key] = page_ids[n + 1]
                phrases[next_key] = listen.of(MORE)
                parts.append(fill(b, more, {"key": Text(dict.fromkeys(b.languages, next_key))}, "more"))
            elif terms:  # the terms of advice close every category, where a caller deciding on advice is
                terms_key = keys[len(page)]
                options[terms_key] = terms
                phrases[terms_key] = listen.of(TERMS)
                parts.append(choose(terms_key, b.blank(), v.get("terms_option") or b.blank(), "terms_option"))
            on_page = set(options.values())
            # The rest of the category can be named from any of its pages.
            elsewhere = {sid: sw for sid, sw, _ in entries if sw not in on_page}
            phrases |= {sid: software_phrases[sid] for sid in elsewhere}
            prompt = Text.join([*parts, footer], b.languages)
            heard = listen.menu(phrases, options, elsewhere)
            nodes.append(
                MenuNode(
                    page_ids[n],
                    b.location,
                    prompt,
                    prompt,
                    retry,
                    options,
                    _language_key(b, options),
                    listening=heard,
                    spoken_only=elsewhere if heard else {},
                )
            )
    top_options.update(also_keys)
    top_phrases |= {key: listen.of(key) for key in also_keys}
    top_phrases |= software_phrases
    top_listening = listen.menu(top_phrases, top_options, every_software)
    if top_listening is not None:
        known = {*also_keys, *(c.id for c in scope.categories), *every_software, MORE, TERMS}
        for key in given:
            if key not in known:
                b.error(
                    f"phrases {key}",
                    f"phrases for {key!r}, which is neither a key of this node nor a category or software of the catalogue",
                )
    if "also" in v:
        top_parts.append(v["also"])
    top_prompt = Text.join([*top_parts, footer], b.languages)
    nodes.insert(
        0,
        MenuNode(
            b.node_id,
            b.location,
            top_prompt,
            top_prompt,
            retry,
            top_options,
            _language_key(b, top_options),
            where=b.where,
            listening=top_listening,
            spoken_only=every_software if top_listening is not None else {},
        ),
    )
    return nodes


def _examples(examples: tuple[Text, ...], languages: tuple[str, ...]) -> Text:
    """Example questions said one after another, with a pause between them."""
    return Text({lang: EXAMPLE_JOIN.get(lang.split("-", 1)[0], " ").join(e.get(lang) for e in examples) for lang in languages})


def _language_key(b: Build, options: dict[str, str]) -> str:
    return b.language_key if len(b.languages) > 1 and b.language_key not in options else ""


TYPE = NodeType(
    "scope_catalog",
    "Generate category → software → example menus from scope/third_party.yaml.",
    (
        Localised("say", "Said before the categories (optional: options first is quicker for callers)."),
        Localised("option", "Template for each choice: {name}, {key}.", required=True),
        Localised("category", "Heading of a category menu: {name} (optional)."),
        Localised("software", "What is said for one software: {name}, {category}, {supported}, {unsupported}.", required=True),
        Localised("footer", "Said at the end of every generated menu.", required=True),
        Count("per_page", "Software offered on one page of a category; more go on a next page (needs 'more').", low=1, high=8),
        Localised("more", "Said after a page that goes on: {key} is the key for the next page."),
        Keys("keys", "More choices in the top menu after the categories: key → target node (say them in `also`)."),
        Localised("also", "Said after the categories in the top menu: the choices of `keys`."),
        Target("terms", "Node that tells the terms of third-party advice, offered at the end of every category."),
        Localised("terms_option", "How the terms are offered: {key}."),
        *RETRY_COUNTS,
        *LISTEN_FIELDS,
        Phrases(
            "phrases",
            "What a caller may say, besides the scope's names: for a key of `keys`, a category or software id, `more` or `terms`.",
            extra_keys=LOWER_NAME,
        ),
        WHICH,
    ),
    build,
)
