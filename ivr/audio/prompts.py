"""Every fixed prompt of a menu, in every language, as the engine will say it: what `ivr audio build` renders."""

from __future__ import annotations

from pathlib import Path

from ivr.actions import REGISTRY
from ivr.audio.build import PromptSpec
from ivr.audio.tts import Pyttsx3Renderer
from ivr.hours import CLOSED_REASON
from ivr.ir import Menu
from ivr.text import Text, pieces, placeholders, render, segment_languages

DIGITS = "0123456789"


def menu_prompts(menu: Menu) -> list[PromptSpec]:
    """Every prompt to render ahead, as the engine will say it, and the pieces prompts are assembled from.

    A prompt with no call value and no part in another language is one file. The others are assembled, where a
    language is played from audio, from pieces: their fixed words segment by segment, each digit, and the values
    named actions give (order statuses); each of those is rendered too (`ivr.text.pieces`, `ivr.audio.plan`).
    """
    specs: list[PromptSpec] = []
    seen: set[tuple[str, str]] = set()

    def add(prompt_id: str, lang: str, words: str, written: str = "") -> None:
        if (lang, words) in seen or not words.strip():
            return
        seen.add((lang, words))
        recording = menu.recordings.get(f"{lang}\n{written or words}")
        specs.append(PromptSpec(prompt_id, lang, words, Path(recording) if recording else None))

    pairs: list[tuple[str, Text]] = [pair for node in menu.nodes.values() for pair in node.texts()]
    pairs.append(("apology", menu.apology))
    said_sms = menu.ticket_sms.said if menu.ticket_sms is not None else None  # heard after a ticket when it is also texted
    for prompt_id, text in (("fallback", menu.fallback_prompt), ("fallback_ticket", menu.fallback_ticket), ("sms_said", said_sms)):
        if text is not None:
            pairs.append((prompt_id, text))
    for prompt_id, text in pairs:
        for lang in menu.languages:
            written = text.get(lang)
            if not placeholders(written) and not segment_languages(written):
                add(prompt_id, lang, render(written, {}), written)  # as the engine says it: escaped braces plain
                continue
            for i, (piece_lang, kind, content) in enumerate(pieces(lang, written)):
                if kind == "text":
                    add(f"{prompt_id}:piece{i}", piece_lang, content)
    data = {name: menu.sources.get(path, "") for name, path in menu.data.items()}
    for action in sorted({a for node in menu.nodes.values() for a in node.actions() if a in REGISTRY}):
        for lang, values in REGISTRY[action].spoken(data).items():
            for value in values if lang in menu.languages else ():
                add(f"{action}:value", lang, value)
    if any(CLOSED_REASON in node.provides() for node in menu.nodes.values()):  # {closed_reason}: why the line is closed
        for reason in menu.schedule.reason_texts():
            for lang in menu.languages:
                add(f"{CLOSED_REASON}:value", lang, reason.by_lang.get(lang, ""))
    for lang in menu.languages:
        for digit in DIGITS:
            add(f"digit:{digit}", lang, digit)
    return specs


def renderer_for(menu: Menu) -> Pyttsx3Renderer:
    """The renderer with the espeak-ng voices the menu names (`voices: {LANG: {render: …}}`)."""
    return Pyttsx3Renderer({lang: voice.render for lang, voice in menu.voices.items() if voice.render})
