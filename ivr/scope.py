"""The support scope as data: channels, what support covers and not, and the third-party catalogue."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ivr.text import Text

__all__ = ["Category", "Channel", "Scope", "ScopeItem", "Software", "spoken_list"]

# How a spoken list is joined, by primary language: (between items, before the last with "and", … with "or").
LIST_WORDS = {"zh": ("、", "和", "或者"), "en": (", ", " and ", " or ")}

HoursSpeaker = Callable[[str, str, str], str]  # (daily 'HH:MM-HH:MM', time zone, lang) -> the hours as a caller hears them


def spoken_list(lang: str, items: list[str], conjunction: str = "and") -> str:
    """Items joined as they are said: '商务合作、订单查询和账号登陆', 'billing, accounts and invoices'."""
    between, and_word, or_word = LIST_WORDS.get(lang.split("-", 1)[0], (", ", ", ", ", "))
    last = or_word if conjunction == "or" else and_word
    if len(items) < 2:
        return "".join(items)
    return between.join(items[:-1]) + last + items[-1]


@dataclass(frozen=True)
class ScopeItem:
    """One line of the in-scope or out-of-scope list."""

    id: str
    text: Text


@dataclass(frozen=True)
class Channel:
    """A way to reach support: its texts, lists, daily hours and response time, as scope/channels.yaml gives them."""

    id: str
    name: Text
    how_to_reach: Text
    daily_hours: str | None = None  # 'HH:MM-HH:MM' every day, in `timezone`
    timezone: str | None = None
    first_response_minutes: int | None = None
    texts: Mapping[str, Text] = field(default_factory=dict)  # every other text: response, description…
    lists: Mapping[str, tuple[Text, ...]] = field(default_factory=dict)  # best_for, platforms, contacts, topics…

    @property
    def best_for(self) -> tuple[Text, ...]:
        """What this channel is the best way to ask about."""
        return self.lists.get("best_for", ())

    def spoken(self, languages: tuple[str, ...], hours: HoursSpeaker | None = None) -> dict[str, Text]:
        """Every fact of the channel as words a caller hears, by field name ({hours} only with a speaker for them)."""
        # `description` is the source paragraph verbatim, kept for the record: written for reading, never said.
        out: dict[str, Text] = {"name": self.name, "how_to_reach": self.how_to_reach}
        out |= {name: text for name, text in self.texts.items() if name != "description"}
        for name, items in self.lists.items():
            out[name] = Text({lang: spoken_list(lang, [t.get(lang) for t in items]) for lang in languages})
            out[f"{name}_or"] = Text({lang: spoken_list(lang, [t.get(lang) for t in items], "or") for lang in languages})
        if self.first_response_minutes is not None:
            out["first_response_minutes"] = Text(dict.fromkeys(languages, str(self.first_response_minutes)))
        if hours is not None and self.daily_hours and self.timezone:
            daily, zone = self.daily_hours, self.timezone
            out["hours"] = Text({lang: hours(daily, zone, lang) for lang in languages})
        return out


@dataclass(frozen=True)
class Software:
    """A third-party package with examples of supported and unsupported questions."""

    id: str
    name: Text
    supported: tuple[Text, ...]
    unsupported: tuple[Text, ...]


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
    lists: Mapping[str, tuple[ScopeItem, ...]]  # "in_scope", "out_of_scope", "third_party_terms"
    categories: tuple[Category, ...]
    third_party_note: Text
    project_customers: Text
    languages: tuple[str, ...] = ()

    def values(self, hours: HoursSpeaker | None = None) -> dict[str, Text]:
        """Every scalar fact by dotted path, for `{scope:PATH}` placeholders in prompts."""
        out: dict[str, Text] = {"project_customers": self.project_customers, "third_party.note": self.third_party_note}
        for cid, channel in self.channels.items():
            for name, text in channel.spoken(self.languages or tuple(channel.name.by_lang), hours).items():
                out[f"channels.{cid}.{name}"] = text
        return out
