"""Warnings about a menu that loads but will confuse callers: prompts and keys that disagree, and depth."""

from __future__ import annotations

import re

from ivr.errors import Problem
from ivr.hours import Window
from ivr.ir import Location, Menu, current_menus
from ivr.loading.reader import Reader
from ivr.nodes import MenuNode
from ivr.understanding import phrase_units

DEFAULT_MAX_DEPTH = 4  # menus inside menus a caller can be asked to climb through
_DIGIT = r"[0-9](?![0-9])"  # one key: "press 12" names no single-digit key
_ZH_RUN = rf"{_DIGIT}(?:\s*(?:到|至|或|和|、|，|,|-|~|～)\s*{_DIGIT})*"
_EN_RUN = rf"{_DIGIT}(?:(?:\s*,\s*|\s+)(?:(?:or|and|to|through)\s+)?{_DIGIT}|\s*[-–]\s*{_DIGIT})*"
# How prompts announce keys: "请按5", "按 5", "按1或2", "请按1到4"; "press 5", "press 5 or 6", "press 1 to 4",
# and the later keys of a list: "…, or 2 to hear …", "…, 2 for …".
ANNOUNCED = {
    "zh": re.compile(rf"按\s*({_ZH_RUN})"),
    # … and the terse later options of a list that began with "press": "Orders, 2." / "An agent, 0."
    "en": re.compile(
        rf"\bpress(?:es|ing)?\s+({_EN_RUN})|(?:,|\bor|\band)\s+({_DIGIT})(?=\s+(?:to|for)\b)|,\s+({_DIGIT})(?=\s*[.;])",
        re.IGNORECASE,
    ),
}
RANGE = re.compile(r"([0-9])\s*(?:到|至|-|–|~|～|\bto\b|\bthrough\b)\s*([0-9])", re.IGNORECASE)  # "1到4", "1 to 4": every key between


def _keys_in(run: str) -> set[str]:
    """The keys a run like "1、2或3" or "1 to 4" names."""
    keys = set(re.findall(r"[0-9]", run))
    for first, last in RANGE.findall(run):
        keys |= {str(k) for k in range(int(first), int(last) + 1)}
    return keys


def announced_keys(lang: str, text: str) -> set[str]:
    """The digit keys a prompt tells the caller to press (a range "1到4" names each key in it)."""
    pattern = ANNOUNCED.get(lang.split("-", maxsplit=1)[0])
    # A prompt may name the other language's key in that language ("For English, press 9").
    patterns = [pattern] if pattern else []
    patterns += [other for other in ANNOUNCED.values() if other is not pattern]
    found: set[str] = set()
    for each in patterns:
        for match in each.finditer(text):
            found |= set().union(*(_keys_in(run) for run in match.groups() if run))
    return found


def lint_menu(menu: Menu, max_depth: int = DEFAULT_MAX_DEPTH) -> list[Problem]:
    """Every warning for a menu that has no errors."""
    problems: list[Problem] = []

    def warn(loc: Location, node: str, message: str) -> None:
        problems.append(Problem(loc.file, loc.line, loc.column, message, node, severity="warning"))

    for node in menu.nodes.values():
        if isinstance(node, MenuNode):
            for loc, message in phrase_overlaps(node):
                warn(loc, node.id, message)
    for node in menu.nodes.values():
        if not isinstance(node, MenuNode):
            continue
        where = node.where.get("say", node.location)
        single = {k for k in node.options if len(k) == 1 and k.isdigit()}
        for lang in menu.languages:
            if lang.split("-", maxsplit=1)[0] not in ANNOUNCED:
                continue  # no pattern for how prompts in this language announce keys: nothing to compare
            reserved = {menu.language_key} if menu.language_key not in node.options else set()
            said = announced_keys(lang, node.prompt.get(lang)) - reserved
            for key in sorted(said - set(node.options)):
                warn(node.where.get(f"say {lang}", where), node.id, f"the {lang} prompt says to press {key}, but key {key} leads nowhere")
            for key in sorted(single - said):
                warn(node.where.get(f"keys {key}", where), node.id, f"key {key} is never announced in the {lang} prompt")
            if "short" in node.where:  # a short prompt of its own (else it is the prompt, checked above)
                short_at = node.where.get(f"short {lang}", node.where["short"])
                said = announced_keys(lang, node.reprompt.get(lang)) - reserved
                for key in sorted(said - set(node.options)):
                    warn(short_at, node.id, f"the {lang} short prompt says to press {key}, but key {key} leads nowhere")
                for key in sorted(single - said if said else set()):  # a short prompt naming no key is a nudge
                    warn(short_at, node.id, f"key {key} is left out of the {lang} short prompt, which announces the others")
        if menu.language_key and len(menu.languages) > 1 and menu.language_key in node.options:
            message = (
                f"key {menu.language_key} is the language key in every other menu; here it leads to {node.options[menu.language_key]!r}"
            )
            warn(node.where.get(f"keys {menu.language_key}", node.location), node.id, message)
        keys = sorted(node.options)
        for key in keys:
            for other in keys:
                if other != key and other.startswith(key):
                    warn(
                        node.where.get(f"keys {key}", node.location),
                        node.id,
                        f"key {key!r} is a prefix of {other!r}: a caller who presses {key} waits for the timeout",
                    )
    problems.extend(_depth(menu, max_depth))
    return problems


def _depth(menu: Menu, limit: int) -> list[Problem]:
    """Menus nested deeper than `limit` (counting the first menu as 1)."""
    parents = current_menus(menu.nodes)
    depth: dict[str, int] = {}

    def depth_of(node: str, seen: frozenset[str]) -> int:
        if node in depth:
            return depth[node]
        above = [p for p in parents.get(node, ()) if p != node and p not in seen]
        value = 1 + min((depth_of(p, seen | {node}) for p in above), default=0)
        depth[node] = value
        return value

    out: list[Problem] = []
    for node in menu.nodes.values():
        if node.is_menu:
            d = depth_of(node.id, frozenset())
            if d > limit:
                loc = node.location
                message = f"menu is {d} levels deep (limit {limit}): callers get lost below {limit} levels"
                out.append(Problem(loc.file, loc.line, loc.column, message, node.id, severity="warning"))
    return out


# ---- hours: checked where windows and texts are read, on the text as written (a scope fact is not typed) ----
# Clock times and hours typed into a text: 09:00, 9:00, 9点, 9点半, 9 a.m., 9pm, 7x12, 7×24, 24/7.
TYPED_HOURS = re.compile(
    r"(?<![0-9:：])(?:[01]?[0-9]|2[0-4])[:：][0-5][0-9](?![0-9])"
    r"|(?<![0-9第])[0-9]{1,2}\s*点(?!击)"
    r"|(?<![0-9A-Za-z:])[0-9]{1,2}(?::[0-5][0-9])?\s*(?:[ap]\.\s?m\.|[ap]m\b)"
    r"|(?<![0-9])7\s*[x×*]\s*(?:1[0-9]|2[0-4]|[0-9])(?![0-9])|(?<![0-9])24\s*/\s*7(?![0-9])",
    re.IGNORECASE,
)


def typed_hours_warning(text: str) -> str | None:
    """A warning when hours are typed into a text: they would not follow a change of menu.hours."""
    found = list(dict.fromkeys(m.group(0) for m in TYPED_HOURS.finditer(text)))
    if not found:
        return None
    return f"hours typed into the text ({', '.join(found)}): write {{hours}} so the announced hours follow menu.hours"


def window_warning(window: Window) -> str | None:
    """A warning for a window whose end is before its start: it runs overnight, which may be a swapped window."""
    if window.until_midnight or window.end_minutes <= 1440:
        return None  # ends the same day (or at midnight)
    start, end = window.start.strftime("%H:%M"), window.end.strftime("%H:%M")
    return f"window {start}-{end} runs past midnight to {end} the next day; if you meant {end}-{start}, swap them"


def warn(r: Reader, loc: Location, message: str) -> None:
    """Record a warning found while the menu is read."""
    r.problems.append(Problem(loc.file, loc.line, loc.column, message, r.node, severity="warning"))


def phrase_overlaps(node: MenuNode) -> list[tuple[Location, str]]:
    """Phrases lying inside a phrase of another option: the longer one wins where it is said, so the shorter one is
    understood only when said without the rest (worth knowing; an error only when they are the same, see the loader)."""
    if node.listening is None:
        if "phrases" in node.where or "hints" in node.where:
            at = node.where.get("phrases", node.where.get("hints", node.location))
            return [(at, "phrases or hints are given but speech is off here: nobody listens for them (speech: on)")]
        return []
    out: list[tuple[Location, str]] = []
    for key in node.options:
        if not any(node.listening.phrases.get(key, {}).values()):
            loc = node.where.get(f"keys {key}", node.where.get("phrases", node.location))
            out.append((loc, f"key {key} has no phrases: a caller who speaks at this menu cannot choose it"))
    for lang in sorted({lang for by_lang in node.listening.phrases.values() for lang in by_lang}):
        reduced = [(key, p, phrase_units(p, lang)) for key, by_lang in node.listening.phrases.items() for p in by_lang.get(lang, ())]
        for key, phrase, units in reduced:
            for other_key, other, other_units in reduced:
                n = len(units)
                if (
                    other_key != key
                    and n < len(other_units)
                    and any(other_units[i : i + n] == units for i in range(len(other_units) - n + 1))
                ):
                    loc = node.where.get(f"phrases {key} {lang}", node.where.get("phrases", node.location))
                    message = (
                        f"{lang} phrase {phrase!r} of key {key} lies inside {other!r} of key {other_key}: "
                        f"a caller saying {other!r} goes to {other_key}"
                    )
                    out.append((loc, message))
    return out
