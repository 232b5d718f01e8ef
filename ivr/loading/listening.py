"""A node's speech settings read and checked: phrases for every option in every language, none shared, hints within limits."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ivr.ir import Listening
from ivr.loading.placeholders import placeholder_problems
from ivr.text import Text
from ivr.understanding import HINT_LENGTH, HINTS_MAX, phrase_units


def build_listening(b: Any, phrases: Mapping[str, Mapping[str, tuple[str, ...]]], options: Collection[str], field: str) -> Listening | None:
    """The node's Listening when `speech` is on for it (problems reported through `b.error`), else None.

    `b` is the loader's ivr.format.Build (with `values` and the menu's `defaults`); `options` are the keys a caller
    can choose, each of which needs a phrase in every language; `field` names where the phrases were written.
    """
    v, d = b.values, b.defaults
    if (v.get("speech") or d.get("speech") or "off") != "on":
        return None
    for key, by_lang in phrases.items():
        if key not in options:
            b.error(f"{field} {key}", f"phrases for key {key!r}, which is not an option of node {b.node_id!r}")
        for lang in by_lang:
            if lang not in b.languages:
                b.error(
                    f"{field} {key} {lang}", f"phrases in {lang!r}, which is not one of the menu's languages ({', '.join(b.languages)})"
                )
    for key in options:
        if not any(phrases.get(key, {}).values()):
            continue  # a key that can only be pressed: `ivr menu check` warns of it (ivr/loading/lint.py)
        for lang in b.languages:
            if not phrases.get(key, {}).get(lang):
                b.error(
                    f"{field} {key}" if key in phrases else field if field in b.where else None,
                    f"speech is on at node {b.node_id!r} but key {key!r} has no phrase in {lang}: a caller speaking it could not choose it",
                )
    matched: dict[str, dict[str, tuple[str, ...]]] = {key: {} for key in phrases}  # each option's phrases, one per sound
    for lang in b.languages:
        said: dict[tuple[str, ...], tuple[str, str]] = {}
        for key, by_lang in phrases.items():
            for phrase in by_lang.get(lang, ()):
                units = phrase_units(phrase, lang)
                if units in said and said[units][0] == key:
                    continue  # sounds like an earlier phrase of the same key once fillers are dropped: a hint, not a match of its own
                if units:
                    matched[key][lang] = (*matched[key].get(lang, ()), phrase)
                if not units:
                    b.error(f"{field} {key} {lang}", f"phrase {phrase!r} is only filler words or punctuation: nothing is left to match")
                    continue
                other = said.setdefault(units, (key, phrase))
                if other[0] != key:
                    b.error(
                        f"{field} {key} {lang}",
                        f"phrase {phrase!r} of key {key!r} is also a phrase of key {other[0]!r} ({other[1]!r}): "
                        "a caller saying it could mean either",
                    )
    not_understood: Text | None = v.get("not_understood") or d.get("not_understood")
    which: Text | None = v.get("which") or d.get("which")
    if not_understood is None:
        b.error("speech" if "speech" in v else None, "speech is on but no not_understood text is given (here or in defaults)")
    if which is None and len(options) > 1:
        b.error("speech" if "speech" in v else None, "speech is on but no `which` text asks between options (here or in defaults)")
    for name, text, allowed in (("not_understood", not_understood, frozenset()), ("which", which, frozenset({"choices"}))):
        for lang, written in text.by_lang.items() if text is not None else ():
            at = f"{name} {lang}" if f"{name} {lang}" in b.where else name if name in b.where else None
            for message in placeholder_problems(written, allowed):
                b.error(at, f"{name} ({lang}): {message}")
    extra: Text | None = v.get("hints")
    hints: dict[str, tuple[str, ...]] = {}
    for lang in b.languages:
        words = [p for by_lang in phrases.values() for p in by_lang.get(lang, ())]
        words += [w.strip() for w in (extra.get(lang) if extra else "").replace("，", ",").split(",") if w.strip()]
        unique = tuple(dict.fromkeys(words))
        long = [w for w in unique if len(w) > HINT_LENGTH]
        if long:
            b.error("hints", f"hint {long[0][:20]!r}… is longer than the recogniser's {HINT_LENGTH} characters")
        if len(unique) > HINTS_MAX:
            b.error(
                "hints" if extra else field, f"{len(unique)} hints in {lang} (phrases and hints): the recogniser takes at most {HINTS_MAX}"
            )
        hints[lang] = unique
    blank = Text(dict.fromkeys(b.languages, ""))
    return Listening(
        matched,
        hints,
        int(v.get("min_confidence", d.get("min_confidence", 40))),
        not_understood or blank,
        which or blank,
    )
