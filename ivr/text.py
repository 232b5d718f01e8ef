"""Localised text and the small template language prompts use."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache

# {name} or {name|digits}: a value the engine knows at run time (ticket, order id...). `{{` and `}}` are
# literal braces: text taken from data (scope/) is escaped so that it can never act as a placeholder.
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)(?:\|([a-z]+))?\}")
_TOKEN = re.compile(r"\{\{|\}\}|\{([a-z_][a-z0-9_]*)(?:\|([a-z]+))?\}")
FILTERS = frozenset({"digits"})
# {en-US: For English, press 9.} inside a Chinese prompt: a part in another language, spoken by that language's
# voice. It may hold placeholders and escaped braces, but no other segment.
SEGMENT = re.compile(r"\{([a-z]{2,3}-[A-Z][a-zA-Z]{1,3}):[ ]?((?:[^{}]|\{\{|\}\}|\{[a-z_][a-z0-9_]*(?:\|[a-z]+)?\})*)\}")


@dataclass(frozen=True)
class Text:
    """One piece of text in every language of a menu."""

    by_lang: Mapping[str, str]

    def get(self, lang: str) -> str:
        """The text in `lang`."""
        return self.by_lang[lang]

    def map(self, fn: Callable[[str, str], str]) -> Text:
        """A new Text with `fn(lang, text)` applied to every language."""
        return Text({lang: fn(lang, s) for lang, s in self.by_lang.items()})

    @staticmethod
    def join(parts: list[Text], languages: tuple[str, ...]) -> Text:
        """Concatenate texts language by language (sentences in Chinese or Japanese take no space)."""
        return Text({lang: _separator(lang).join(p.get(lang) for p in parts if p.get(lang)) for lang in languages})


def _separator(lang: str) -> str:
    return "" if lang.split("-", maxsplit=1)[0] in ("zh", "ja", "cmn", "yue") else " "


def spell_digits(value: str) -> str:
    """Read a number digit by digit: '20261' -> '2 0 2 6 1'."""
    return " ".join(value)


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill run-time placeholders and unescape literal braces; an unknown value renders as empty rather than failing a call."""

    def fill(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return match.group(0)[0]  # '{{' -> '{', '}}' -> '}'
        value = values.get(match.group(1), "")
        return spell_digits(value) if match.group(2) == "digits" else value

    return _TOKEN.sub(fill, template)


def placeholders(template: str) -> list[re.Match[str]]:
    """The run-time placeholders of a text (literal `{{…}}` braces are not)."""
    return [m for m in _TOKEN.finditer(template) if m.group(1) is not None]


def without_placeholders(template: str) -> str:
    """The text with placeholders and escaped braces taken out (what is left must hold no brace)."""
    return _TOKEN.sub("", template)


def escape(text: str) -> str:
    """Text from data, made safe to put into a prompt: its braces stay braces."""
    return text.replace("{", "{{").replace("}", "}}")


def segments(lang: str, template: str) -> list[tuple[str, str]]:
    """(language, text) parts of a text written in `lang`, in order: its `{LANG: …}` segments and what lies between."""
    out: list[tuple[str, str]] = []
    at = 0
    for match in SEGMENT.finditer(template):
        if match.start() > at:
            out.append((lang, template[at : match.start()]))
        out.append((match.group(1), match.group(2)))
        at = match.end()
    if at < len(template):
        out.append((lang, template[at:]))
    return [(part_lang, part) for part_lang, part in out if part.strip()] or [(lang, template)]


def without_segments(template: str) -> str:
    """The text with its segment markup taken out and each segment's words kept where they were."""
    return SEGMENT.sub(lambda m: m.group(2), template)


def segment_languages(template: str) -> list[str]:
    """The languages a text's segments name."""
    return [m.group(1) for m in SEGMENT.finditer(template)]


# A chunk of a prompt worth a file of its own: it has something to say (a letter, a digit or a character).
_SPEAKABLE = re.compile(r"[0-9A-Za-z\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def separator(lang: str) -> str:
    """What joins two sentences in `lang` (Chinese and Japanese take no space)."""
    return _separator(lang)


def pieces(lang: str, template: str, values: Mapping[str, str] | None = None) -> list[tuple[str, str, str]]:
    """A prompt as (language, kind, content) pieces: fixed words ("text"), numbers read digit by digit ("digits")
    and other values ("value"), segment by segment. Without `values` the content of a placeholder is its name."""
    out: list[tuple[str, str, str]] = []
    for part_lang, part in segments(lang, template):
        at = 0
        for match in _TOKEN.finditer(part):
            if match.group(1) is None:
                continue  # an escaped brace belongs to the words around it
            fixed = render(part[at : match.start()], {})
            if _SPEAKABLE.search(fixed):
                out.append((part_lang, "text", fixed.strip()))
            content = match.group(1) if values is None else values.get(match.group(1), "")
            out.append((part_lang, "digits" if match.group(2) == "digits" else "value", content))
            at = match.end()
        rest = render(part[at:], {})
        if _SPEAKABLE.search(rest):
            out.append((part_lang, "text", rest.strip()))
    return out


@dataclass(frozen=True)
class CompiledPrompt:
    """A prompt text parsed once: its segments, its whole text without markup, and its pieces (placeholders by name)."""

    segments: tuple[tuple[str, str], ...]
    plain: str
    pieces: tuple[tuple[str, str, str, str], ...]  # (language, kind, text or placeholder name, filter)
    fixed: bool  # no placeholder: nothing to fill in at run time
    said: tuple[str, tuple[tuple[str, str], ...], tuple[tuple[str, str, str], ...]] | None = None  # a fixed prompt, as said


@lru_cache(maxsize=8192)
def compile_prompt(lang: str, template: str) -> CompiledPrompt:
    """Parse a prompt once per text (a step fills in values; it need not parse the text again)."""
    named = tuple((part_lang, kind, content, "digits" if kind == "digits" else "") for part_lang, kind, content in pieces(lang, template))
    compiled = CompiledPrompt(tuple(segments(lang, template)), without_segments(template), named, not placeholders(template))
    return replace(compiled, said=_fill(compiled, {})) if compiled.fixed else compiled


def fill(prompt: CompiledPrompt, values: Mapping[str, str]) -> tuple[str, tuple[tuple[str, str], ...], tuple[tuple[str, str, str], ...]]:
    """(whole text, segments, pieces) of a compiled prompt with `values` filled in."""
    return prompt.said if prompt.said is not None else _fill(prompt, values)


def _fill(prompt: CompiledPrompt, values: Mapping[str, str]) -> tuple[str, tuple[tuple[str, str], ...], tuple[tuple[str, str, str], ...]]:
    whole = render(prompt.plain, values)
    parts = tuple((part_lang, render(part, values)) for part_lang, part in prompt.segments)
    filled = tuple(
        (part_lang, kind, content if kind == "text" else values.get(content, "")) for part_lang, kind, content, _ in prompt.pieces
    )
    return whole, parts, filled
