"""Typed, located access to a YAML tree: each wrong field becomes a Problem, never an exception."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from ivr.errors import Problem
from ivr.ir import Location
from ivr.loading.yamltree import YMap, YNode, YScalar, YSeq, describe
from ivr.text import Text


class Reader:
    """Collects problems while fields are read; `node` names the menu node being read, if any."""

    def __init__(self, problems: list[Problem], node: str | None = None) -> None:
        self.problems = problems
        self.node = node

    def for_node(self, node: str) -> Reader:
        """A reader sharing the same problem list that tags findings with `node`."""
        return Reader(self.problems, node)

    def error(self, loc: Location, message: str) -> None:
        """Record an error at `loc`."""
        self.problems.append(Problem(loc.file, loc.line, loc.column, message, self.node))

    def mapping(self, value: YNode | None, what: str, loc: Location) -> YMap | None:
        """`value` as a mapping, or None (with an error) when it is something else or missing."""
        if isinstance(value, YMap):
            return value
        if value is None:
            self.error(loc, f"{what} is missing")
        else:
            self.error(value.loc, f"{what} must be a mapping, not {describe(value)}")
        return None

    def fields(self, m: YMap, allowed: Iterable[str], what: str) -> None:
        """Report every key of `m` that is not in `allowed`, suggesting the closest one."""
        allowed = list(allowed)
        for key, loc in m.keys.items():
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; expected one of: {', '.join(sorted(allowed))}"
                self.error(loc, f"unknown field {key!r} in {what}{hint}")

    def required(self, m: YMap, key: str, what: str) -> YNode | None:
        """The value under `key`, reporting it missing."""
        value = m.get(key)
        if value is None:
            self.error(m.loc, f"{what} needs the field {key!r}")
        return value

    def string(self, m: YMap, key: str, what: str, *, required: bool = True, default: str | None = None) -> str | None:
        """A scalar field as a string (never reinterpreted)."""
        value = m.get(key)
        if value is None:
            if required:
                self.error(m.loc, f"{what} needs the field {key!r}")
            return default
        if not isinstance(value, YScalar) or value.is_null:
            self.error(value.loc, f"{key!r} in {what} must be text, not {describe(value)}")
            return default
        return value.value

    def integer(self, m: YMap, key: str, what: str, default: int, low: int, high: int) -> int:
        """A whole-number field within [low, high]."""
        value = m.get(key)
        if value is None:
            return default
        if not isinstance(value, YScalar) or not re.fullmatch(r"[0-9]+", value.value):
            self.error(value.loc, f"{key!r} in {what} must be a whole number")
            return default
        number = int(value.value)
        if not low <= number <= high:
            self.error(value.loc, f"{key!r} in {what} must be between {low} and {high}, not {number}")
            return default
        return number

    def string_list(self, m: YMap, key: str, what: str) -> list[tuple[str, Location]]:
        """A list of scalars, each with its location."""
        value = m.get(key)
        if value is None:
            self.error(m.loc, f"{what} needs the field {key!r}")
            return []
        if not isinstance(value, YSeq):
            self.error(value.loc, f"{key!r} in {what} must be a list")
            return []
        out = []
        for item in value.items:
            if isinstance(item, YScalar) and not item.is_null:
                out.append((item.value, item.loc))
            else:
                self.error(item.loc, f"items of {key!r} must be text")
        return out

    def text(self, value: YNode | None, what: str, languages: tuple[str, ...], loc: Location) -> Text | None:
        """A localised text: a mapping with exactly the menu's languages, each non-empty."""
        m = self.mapping(value, what, loc)
        if m is None:
            return None
        by_lang: dict[str, str] = {}
        for lang in languages:
            item = m.get(lang)
            if item is None:
                self.error(loc, f"{what} is missing language {lang!r}")
            elif not isinstance(item, YScalar) or item.is_null or not item.value.strip():
                self.error(item.loc, f"{what} in {lang!r} must be non-empty text")
            else:
                by_lang[lang] = item.value.strip()
        for key, key_loc in m.keys.items() if languages else ():  # no usable `languages`: one error said so already
            if key not in languages:
                self.error(key_loc, f"{what} has language {key!r}, which is not one of the menu's languages ({', '.join(languages)})")
        return Text(by_lang) if len(by_lang) == len(languages) else None

    def optional_text(self, m: YMap, key: str, what: str, languages: tuple[str, ...]) -> Text | None:
        """A localised text that may be absent."""
        if key not in m.values:
            return None
        return self.text(m.values[key], what, languages, m.keys[key])
