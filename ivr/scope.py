"""The support scope as data: channels, what support covers and not, and the third-party catalogue."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ivr.text import Text


@dataclass(frozen=True)
class ScopeItem:
    """One line of the in-scope or out-of-scope list."""

    id: str
    text: Text


@dataclass(frozen=True)
class Channel:
    """A way to reach support, with its hours and what it is best for."""

    id: str
    name: Text
    hours: Text | None
    how_to_reach: Text
    first_response_minutes: int | None
    best_for: tuple[Text, ...]


@dataclass(frozen=True)
class Software:
    """A third-party package with an example of a supported and an unsupported question."""

    id: str
    name: Text
    supported: Text
    unsupported: Text


@dataclass(frozen=True)
class Category:
    """A group of third-party software."""

    id: str
    name: Text
    software: tuple[Software, ...]


@dataclass(frozen=True)
class Scope:
    """Everything the hotline can say about what support covers."""

    channels: Mapping[str, Channel]
    lists: Mapping[str, tuple[ScopeItem, ...]]  # "in_scope", "out_of_scope"
    categories: tuple[Category, ...]
    third_party_note: Text
    project_customers: Text

    def values(self) -> dict[str, Text]:
        """Every scalar fact by dotted path, for `{scope:PATH}` placeholders in prompts."""
        out: dict[str, Text] = {"project_customers": self.project_customers, "third_party.note": self.third_party_note}
        for cid, ch in self.channels.items():
            out[f"channels.{cid}.name"] = ch.name
            out[f"channels.{cid}.how_to_reach"] = ch.how_to_reach
            if ch.hours is not None:
                out[f"channels.{cid}.hours"] = ch.hours
            if ch.first_response_minutes is not None:
                minutes = str(ch.first_response_minutes)
                out[f"channels.{cid}.first_response_minutes"] = Text(dict.fromkeys(ch.name.by_lang, minutes))
        return out
