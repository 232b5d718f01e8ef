"""Reading fields by their kind (ivr/format): each wrong value becomes a located Problem, never an exception."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ivr.format import Choice, Count, Field, Keys, Localised, Outcomes, Phrases, Target, Word, Words
from ivr.ir import Location
from ivr.loading.reader import Reader
from ivr.loading.yamltree import YMap, YScalar, YSeq
from ivr.text import Text

__all__ = ["RESERVED_KEYS", "FieldReader", "Ref", "TextReader"]

DTMF_KEY = re.compile(r"[0-9*#]{1,8}")  # '#' is let through here only to be reported precisely below
RESERVED_KEYS = {"*": "repeat", "#": "back"}

Ref = tuple[str, str, str, Location]  # (kind: target/queue/action, name, node, where it was written)
TextReader = Callable[[Reader, YMap, str, str, bool], "Text | None"]


class FieldReader:
    """Reads the fields of one mapping by their declared kinds, noting references and where each value was written."""

    def __init__(self, text: TextReader, refs: list[Ref], inherited: Mapping[str, Any] | None = None) -> None:
        self.text = text  # reads a localised field, scope placeholders resolved
        self.refs = refs  # checked once every node is read
        self.inherited = inherited or {}  # the menu's defaults, for fields that fall back to them

    def read(self, r: Reader, m: YMap, fields: Sequence[Field], what: str) -> tuple[dict[str, Any], dict[str, Location]]:
        """(values, where) for `fields` of `m`; a field with no value (and no default) is left out."""
        values: dict[str, Any] = {}
        where: dict[str, Location] = {}
        for f in fields:
            if f.name in m.keys:  # a scalar's problems are shown at the value, a mapping's at its key
                written = m.values[f.name]
                where[f.name] = written.loc if isinstance(written, YScalar) else m.keys[f.name]
            value = self._one(r, m, f, what, where)
            if value is not None:
                values[f.name] = value
        return values, where

    def _one(self, r: Reader, m: YMap, f: Field, what: str, where: dict[str, Location]) -> Any:
        inherited = self.inherited.get(f.inherit) if f.inherit else None
        if isinstance(f, Localised):
            item = m.get(f.name)
            if isinstance(item, YMap):
                where.update({f"{f.name} {lang}": v.loc for lang, v in item.values.items()})
            return self.text(r, m, f.name, what, f.required) or inherited
        if isinstance(f, Target):
            value = r.string(m, f.name, what, required=f.required and not f.inherit, default=inherited)
            if f.name in m.values and value:
                self.refs.append(("target", value, r.node or "", m.values[f.name].loc))
            return value
        if isinstance(f, Count):
            default = f.default if f.default is not None else inherited
            if default is None and f.name not in m.values:
                return None
            return r.integer(m, f.name, what, default if default is not None else f.low, f.low, f.high)
        if isinstance(f, Choice):
            value = r.string(m, f.name, what, required=f.required, default=f.default if f.default is not None else inherited)
            if value is not None and not f.checked_by_node and value not in f.choices and f.name in m.values:
                r.error(m.values[f.name].loc, f"{f.name} must be one of {', '.join(f.choices)}, not {value!r}")
                return f.default
            return value
        if isinstance(f, Word):
            value = r.string(m, f.name, what, required=f.required, default=f.default if f.default is not None else inherited)
            if value is not None and f.name in m.values:
                empty_allowed = f.default == "" or bool(f.pattern and re.search(f.pattern, ""))
                if not value.strip() and not empty_allowed:
                    r.error(m.values[f.name].loc, f"{f.name} must not be empty")
                elif f.pattern and not re.search(f.pattern, value):
                    r.error(m.values[f.name].loc, f"{f.name} must be {f.pattern_doc}, not {value!r}")
                if f.ref and value:
                    self.refs.append((f.ref, value, r.node or "", m.values[f.name].loc))
            return value
        if isinstance(f, Words):
            items = r.string_list(m, f.name, what) if f.required or f.name in m.values else []
            where.update({f"{f.name} {value}": loc for value, loc in items})
            for value, loc in items if f.pattern else ():
                if not re.search(f.pattern, value):
                    r.error(loc, f"each of {f.name} must be {f.pattern_doc or 'like ' + f.pattern}, not {value!r}")
            return [value for value, _ in items] if f.name in m.values else None
        if isinstance(f, Keys):
            return self._keys(r, m, f, what, where)
        if isinstance(f, Outcomes):
            return self._outcomes(r, m, f, what, where)
        if isinstance(f, Phrases):
            return self._phrases(r, m, f, what, where)
        return None  # sections and free mappings have readers of their own

    @staticmethod
    def _mapping(r: Reader, m: YMap, f: Field, what: str) -> YMap | None:
        """The mapping a Keys or Outcomes field holds (missing: an error when required)."""
        if not f.required and f.name not in m.values:
            return None
        return r.mapping(m.get(f.name), f"'{f.name}' of {what}", m.loc)

    def _keys(self, r: Reader, m: YMap, f: Keys, what: str, where: dict[str, Location]) -> dict[str, str] | None:
        keys = self._mapping(r, m, f, what)
        if keys is None:
            return None
        if not keys.values:
            r.error(keys.loc, f"{what} has no keys: a caller would have no way out")
        options: dict[str, str] = {}
        for key, value in keys.values.items():
            key_loc = keys.keys[key]
            where[f"{f.name} {key}"] = key_loc
            if key in RESERVED_KEYS:
                r.error(key_loc, f"key {key!r} is reserved for '{RESERVED_KEYS[key]}' in every menu")
            elif not DTMF_KEY.fullmatch(key):
                r.error(key_loc, f"{key!r} is not a DTMF key: use digits 0-9 and '*' (at most 8)")
            elif "#" in key:
                r.error(key_loc, f"key {key!r} contains '#', which ends the entry on a phone, so it can never be pressed")
            if not isinstance(value, YScalar) or value.is_null:
                r.error(value.loc, f"key {key!r} must name a target node")
                continue
            options[key] = value.value
            self.refs.append(("target", value.value, r.node or "", value.loc))
        return options

    def _outcomes(self, r: Reader, m: YMap, f: Outcomes, what: str, where: dict[str, Location]) -> dict[str, str] | None:
        on = self._mapping(r, m, f, what)
        if on is None:
            return None
        outcomes: dict[str, str] = {}
        for outcome, value in on.values.items():
            where[f"{f.name} {outcome}"] = on.keys[outcome]
            if isinstance(value, YScalar) and not value.is_null:
                outcomes[outcome] = value.value
                self.refs.append(("target", value.value, r.node or "", value.loc))
            else:
                r.error(value.loc, f"outcome {outcome!r} must name a target node")
        return outcomes

    def _phrases(
        self, r: Reader, m: YMap, f: Phrases, what: str, where: dict[str, Location]
    ) -> dict[str, dict[str, tuple[str, ...]]] | None:
        """KEY → LANG → phrases; each phrase non-empty, without commas (the recogniser's hints are comma-separated)."""
        given = self._mapping(r, m, f, what)
        if given is None:
            return None
        out: dict[str, dict[str, tuple[str, ...]]] = {}
        for key, value in given.values.items():
            where[f"{f.name} {key}"] = given.keys[key]
            if not (DTMF_KEY.fullmatch(key) or (f.extra_keys and re.search(f.extra_keys, key))):
                extra = " or a name of the catalogue (category, software, more, terms)" if f.extra_keys else ""
                r.error(given.keys[key], f"{key!r} in '{f.name}' is not a key of this menu's kind (digits 0-9 and '*'{extra})")
                continue
            langs = r.mapping(value, f"phrases for key {key!r}", given.keys[key])
            if langs is None:
                continue
            per_lang: dict[str, tuple[str, ...]] = {}
            for lang, item in langs.values.items():
                where[f"{f.name} {key} {lang}"] = langs.keys[lang]
                items = [item] if isinstance(item, YScalar) else item.items if isinstance(item, YSeq) else []
                if not items:
                    r.error(item.loc, f"phrases for key {key!r} in {lang} must be a phrase or a list of phrases")
                phrases: list[str] = []
                for one in items:
                    text = one.value.strip() if isinstance(one, YScalar) and not one.is_null else ""
                    if not text:
                        r.error(one.loc, f"a phrase for key {key!r} in {lang} must be non-empty text")
                    elif "," in text or "，" in text:
                        r.error(one.loc, f"phrase {text!r} contains a comma: the recogniser's hints are comma-separated; write two phrases")
                    elif len(text) > 100:
                        r.error(one.loc, f"phrase {text[:20]!r}… is {len(text)} characters; a recogniser hint holds at most 100")
                    else:
                        phrases.append(text)
                per_lang[lang] = tuple(phrases)
            out[key] = per_lang
        return out
