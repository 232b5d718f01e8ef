"""Every fixed prompt of a menu, in every language, as the engine will say it: what `ivr audio build` renders."""

from __future__ import annotations

from pathlib import Path

from ivr.audio.build import PromptSpec
from ivr.audio.tts import Pyttsx3Renderer
from ivr.ir import Menu
from ivr.text import Text, placeholders, render, segment_languages, without_segments


def menu_prompts(menu: Menu) -> list[PromptSpec]:
    """Every prompt that can be rendered ahead: run-time values ({ticket|digits}…) are spoken live instead."""
    specs: list[PromptSpec] = []
    seen: set[tuple[str, str]] = set()
    pairs: list[tuple[str, Text]] = [pair for node in menu.nodes.values() for pair in node.texts()]
    pairs.append(("apology", menu.apology))
    if menu.fallback_prompt is not None:
        pairs.append(("fallback", menu.fallback_prompt))
    for prompt_id, text in pairs:
        for lang in menu.languages:
            written = text.get(lang)
            if placeholders(written):
                continue
            words = render(without_segments(written), {})  # as the engine says it: segments inline, escaped braces plain
            if (lang, words) in seen:
                continue
            seen.add((lang, words))
            recording = menu.recordings.get(f"{lang}\n{written}")
            spoken = written if segment_languages(written) else ""
            specs.append(PromptSpec(prompt_id, lang, words, Path(recording) if recording else None, spoken))
    return specs


def renderer_for(menu: Menu) -> Pyttsx3Renderer:
    """The renderer with the espeak-ng voices the menu names (`voices: {LANG: {render: …}}`)."""
    return Pyttsx3Renderer({lang: voice.render for lang, voice in menu.voices.items() if voice.render})
