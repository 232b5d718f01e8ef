"""Which languages are played from audio, and how a prompt is assembled from rendered pieces.

A language whose menu voice says `source: audio` is played from `audio/` — but only when every piece its
prompts can need is built (fixed prompts, the fixed words of prompts with call values, each digit, the values
named actions give). Otherwise the whole language stays with the carrier's voice: a caller never hears two
voices for one language in a call.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr.audio.index import AudioIndex
from ivr.audio.manifest import Entry
from ivr.audio.prompts import menu_prompts
from ivr.engine.actions import Say
from ivr.ir import Menu
from ivr.text import separator, spell_digits

__all__ = ["Played", "Spoken", "VoiceSource", "assemble", "voice_sources"]


@dataclass(frozen=True)
class VoiceSource:
    """Where one language's prompts come from, and why."""

    lang: str
    source: str  # "audio" or "say"
    reason: str

    def __str__(self) -> str:
        return f"{self.lang}: {'rendered audio' if self.source == 'audio' else 'carrier voice'} ({self.reason})"


@dataclass(frozen=True)
class Played:
    """A rendered piece to play."""

    entry: Entry


@dataclass(frozen=True)
class Spoken:
    """Words for the voice of `lang`."""

    lang: str
    text: str


def voice_sources(menu: Menu, index: AudioIndex) -> dict[str, VoiceSource]:
    """Each language's source: audio where the menu asks for it and every piece is built, else the carrier's voice."""
    needed: dict[str, list[str]] = {}
    for spec in menu_prompts(menu):
        needed.setdefault(spec.lang, []).append(spec.text)
    out = {}
    for lang in menu.languages:
        voice = menu.voices.get(lang)
        if voice is None or voice.source != "audio":
            out[lang] = VoiceSource(lang, "say", f"the menu asks for the carrier's voice{' ' + voice.voice if voice else ''}")
            continue
        missing = [text for text in needed.get(lang, []) if not _playable(index, lang, text)]
        if missing:
            reason = f"{len(missing)} of {len(needed[lang])} pieces not built in {index.audio_dir}: run `ivr audio build`"
            out[lang] = VoiceSource(lang, "say", reason)
        else:
            out[lang] = VoiceSource(lang, "audio", f"{len(needed.get(lang, []))} pieces in {index.audio_dir}")
    return out


def _playable(index: AudioIndex, lang: str, text: str) -> bool:
    """Whether the piece is catalogued and its telephone file is there to be fetched."""
    entry = index.lookup(lang, text)
    return entry is not None and index.telephone_file(entry).is_file()


def assemble(say: Say, index: AudioIndex, played: set[str]) -> list[Played | Spoken] | None:
    """The prompt as pieces to play (languages in `played`) and words to speak (the others); None when a piece is missing."""
    out: list[Played | Spoken] = []

    def speak(lang: str, words: str) -> None:
        if out and isinstance(out[-1], Spoken) and out[-1].lang == lang:
            out[-1] = Spoken(lang, out[-1].text + separator(lang) + words)
        else:
            out.append(Spoken(lang, words))

    for lang, kind, content in say.pieces or ((say.lang, "text", say.text),):
        if not content:
            continue
        if lang not in played:
            speak(lang, spell_digits(content) if kind == "digits" else content)
            continue
        wanted = [d for d in content if d.isdigit()] if kind == "digits" else [content]
        for text in wanted:
            entry = index.lookup(lang, text)
            if entry is None:
                return None
            out.append(Played(entry))
    return out
