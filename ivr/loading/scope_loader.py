"""scope/*.yaml → `Scope`, with located problems like the menu loader."""

from __future__ import annotations

from pathlib import Path

from ivr.errors import DefinitionError, Problem
from ivr.hours import parse_window
from ivr.ir import Location
from ivr.loading.reader import Reader
from ivr.loading.yamltree import Sources, YMap, YNode, YSeq, parse_file
from ivr.scope import Category, Channel, Scope, ScopeItem, Software
from ivr.text import Text

FILES = ("channels.yaml", "coverage.yaml", "third_party.yaml")


class _ScopeReader(Reader):
    """A reader that knows which languages every scope text must give (the menu's)."""

    def __init__(self, problems: list[Problem], languages: tuple[str, ...]) -> None:
        super().__init__(problems)
        self.languages = languages


def load_scope(
    folder: Path,
    problems: list[Problem],
    read: dict[str, str] | None = None,
    languages: tuple[str, ...] | None = None,
    files: Sources | None = None,
) -> tuple[Scope | None, list[Path]]:
    """Read the scope folder; problems are appended, and None is returned when it is unusable.

    Every text must give each of `languages` (default: the languages of the first text in the folder).
    """
    r = _ScopeReader(problems, languages or ())
    before = len(problems)
    docs: dict[str, YMap] = {}
    paths = [folder / name for name in FILES]
    for path in paths:
        root = parse_file(path, problems, read, files)
        m = r.mapping(root, str(path), root.loc) if root else None
        if m is not None:
            docs[path.name] = m
    if len(docs) != len(FILES):
        return None, paths
    if not r.languages:
        r.languages = _first_languages(docs["channels.yaml"])
    channels = _channels(r, docs["channels.yaml"])
    lists = {key: _items(r, docs["coverage.yaml"], key) for key in ("in_scope", "out_of_scope")}
    third = docs["third_party.yaml"]
    if "terms" in third.values:  # the note on third-party advice, point by point, as callers hear it
        lists["third_party_terms"] = _items(r, third, "terms")
    categories = _categories(r, third)
    note = _text(r, third, "note")
    project = _text(r, docs["channels.yaml"], "project_customers")
    if len(problems) > before or note is None or project is None:
        return None, paths
    return Scope(channels, lists, categories, note, project, r.languages), paths


def read_scope(folder: str | Path, languages: tuple[str, ...] | None = None) -> Scope:
    """Load a scope folder or raise DefinitionError."""
    problems: list[Problem] = []
    scope, _ = load_scope(Path(folder), problems, languages=languages)
    if scope is None:
        raise DefinitionError(problems or [Problem(str(folder), 1, 1, "scope could not be loaded")])
    return scope


def _text(r: Reader, m: YMap, key: str) -> Text | None:
    """The localised text under `key` of `m`."""
    return _localised(r, m.get(key), repr(key), m.loc)


def _localised(r: Reader, node: YNode | None, what: str, loc: Location) -> Text | None:
    """A localised text that must have every scope language (others are allowed)."""
    value = r.mapping(node, what, loc)
    if value is None:
        return None
    assert isinstance(r, _ScopeReader)
    by_lang = {}
    for lang in r.languages:
        if lang not in value.values:
            r.error(
                value.loc, f"{what} has no {lang!r} text: every scope text needs each of the menu's languages ({', '.join(r.languages)})"
            )
            continue
        text = r.string(value, lang, what)
        if text is not None and not text.strip():
            r.error(value.values[lang].loc, f"{what} in {lang!r} is empty: a caller would hear nothing there")
        elif text:
            by_lang[lang] = text
    return Text(by_lang) if len(by_lang) == len(r.languages) else None


def _first_languages(doc: YMap) -> tuple[str, ...]:
    """The languages the scope's first text gives (when no menu says which it needs)."""
    first = doc.get("project_customers")
    return tuple(first.values) if isinstance(first, YMap) else ()


def _entries(r: Reader, m: YMap, key: str, *, may_be_empty: bool = False) -> list[YMap]:
    value = m.get(key)
    if not isinstance(value, YSeq):
        r.error(value.loc if value else m.loc, f"{key!r} must be a list")
        return []
    if not value.items and not may_be_empty:
        r.error(value.loc, f"{key!r} is empty: the prompt that reads it would end in silence")
    out = []
    for item in value.items:
        entry = r.mapping(item, f"an entry of {key!r}", item.loc)
        if entry is not None:
            out.append(entry)
    return out


CHANNEL_WORDS = ("availability", "timezone", "daily_hours")  # plain strings; every other scalar-free value is a text or a list


def _channels(r: Reader, doc: YMap) -> dict[str, Channel]:
    m = r.mapping(doc.get("channels"), "'channels'", doc.loc)
    channels = {}
    for cid, value in m.values.items() if m else []:
        c = r.mapping(value, f"channel {cid!r}", value.loc)
        if c is None:
            continue
        name = _text(r, c, "name")
        reach = _text(r, c, "how_to_reach")
        words = {key: r.string(c, key, f"channel {cid!r}") for key in CHANNEL_WORDS if key in c.values}
        minutes = r.integer(c, "first_response_minutes", f"channel {cid!r}", 0, 0, 100000) or None
        texts: dict[str, Text] = {}
        lists: dict[str, tuple[Text, ...]] = {}
        for key, item in c.values.items():
            if key in ("name", "how_to_reach", *CHANNEL_WORDS):
                continue
            if isinstance(item, YMap):
                text = _localised(r, item, f"{key!r} of channel {cid!r}", item.loc)
                if text:
                    texts[key] = text
            elif isinstance(item, YSeq):
                entries = _entries(r, c, key, may_be_empty=True)
                lists[key] = tuple(t for t in (_localised(r, e, f"an item of {key!r}", e.loc) for e in entries) if t)
        if words.get("daily_hours"):
            _check_daily_hours(r, c, str(words["daily_hours"]))
        if name and reach:
            channels[cid] = Channel(
                cid, name, reach, words.get("daily_hours") or None, words.get("timezone") or None, minutes, texts, lists
            )
    return channels


def _check_daily_hours(r: Reader, c: YMap, spec: str) -> None:
    """Daily hours must be 'HH:MM-HH:MM' (24:00 may end them), as the menu's own hours are written."""
    try:
        parse_window(spec)
    except ValueError as exc:
        r.error(c.values["daily_hours"].loc, f"daily_hours: {exc}")


def _items(r: Reader, doc: YMap, key: str) -> tuple[ScopeItem, ...]:
    items = []
    for entry in _entries(r, doc, key):
        item_id = r.string(entry, "id", f"an entry of {key!r}") or ""
        text = _localised(r, entry, f"an entry of {key!r}", entry.loc)
        if text:
            items.append(ScopeItem(item_id, text))
    return tuple(items)


def _examples(r: Reader, sw: YMap, key: str) -> tuple[Text, ...]:
    """One example question (a text) or several (a list of texts), each said as its own phrase."""
    value = sw.get(key)
    if isinstance(value, YSeq):
        return tuple(t for t in (_localised(r, e, f"an example of {key!r}", e.loc) for e in _entries(r, sw, key)) if t)
    text = _text(r, sw, key)
    return (text,) if text else ()


def _categories(r: Reader, doc: YMap) -> tuple[Category, ...]:
    categories = []
    for entry in _entries(r, doc, "categories"):
        software = []
        for sw in _entries(r, entry, "software"):
            name = _text(r, sw, "name")
            ok, not_ok = _examples(r, sw, "supported"), _examples(r, sw, "unsupported")
            if name and ok and not_ok:
                software.append(Software(r.string(sw, "id", "software") or "", name, ok, not_ok))
        name = _text(r, entry, "name")
        if name:
            categories.append(Category(r.string(entry, "id", "category") or "", name, tuple(software)))
    return tuple(categories)
