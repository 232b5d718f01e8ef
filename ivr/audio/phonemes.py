"""Checking rendered prompts as they will be heard: espeak-ng prints the phonemes it will say (`-x`), and a
language switch in them — `(en)` inside a Mandarin prompt — means the voice is reading the text as another
language (espeak-ng's `cmn` voice reads every Chinese character's pinyin in English). Digits are checked on
their own as well, so a number read in another language is caught even inside a sound prompt.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

from ivr.audio.build import PromptSpec
from ivr.audio.tts import ESPEAK_NAMES, Pyttsx3Renderer, TtsUnavailableError

__all__ = ["PhonemeProblem", "check_prompts", "phonemes"]

SWITCH = re.compile(r"\(([a-z]{2,3}(?:-[a-z0-9]+)*)\)")  # espeak-ng marks a change of language as "(en)"
DIGITS = re.compile(r"[0-9]+")
ESPEAK_TIMEOUT = 20.0


@dataclass(frozen=True)
class PhonemeProblem:
    """A rendered prompt that would not sound like its language."""

    prompt: str
    lang: str
    text: str
    voice: str
    problem: str

    def __str__(self) -> str:
        snippet = self.text if len(self.text) <= 40 else self.text[:39] + "…"
        return f"{self.prompt} [{self.lang}, voice {self.voice}]: {self.problem}: {snippet!r}"


def _family(voice: str) -> str:
    return voice.rsplit("/", maxsplit=1)[-1].split("-", 1)[0].lower()


def speaks(voice: str, lang: str) -> bool:
    """Whether an espeak-ng voice is one of `lang`'s: named after the language, or after espeak-ng's own name for it
    (ESPEAK_NAMES: Mandarin's voices are cmn…, so `yue`, Cantonese, is not one of zh's)."""
    primary = lang.split("-", 1)[0].lower()
    return _family(voice) in {primary, _family(ESPEAK_NAMES.get(primary, primary))}


def phonemes(voice: str, text: str) -> str:
    """What espeak-ng will say for `text` with `voice`, as its phoneme mnemonics."""
    if shutil.which("espeak-ng") is None:
        raise TtsUnavailableError("espeak-ng is not installed (apt-get install espeak-ng)")
    done = subprocess.run(["espeak-ng", "-q", "-x", "-v", voice, text], capture_output=True, text=True, timeout=ESPEAK_TIMEOUT, check=False)
    if done.returncode != 0:
        raise TtsUnavailableError(f"espeak-ng -v {voice} failed: {done.stderr.strip()[:200]}")
    return done.stdout


def check_prompts(prompts: Iterable[PromptSpec], renderer: Pyttsx3Renderer) -> list[PhonemeProblem]:
    """Every rendered prompt part whose phonemes switch language, or whose digits are read in another language."""
    problems: list[PhonemeProblem] = []
    for spec in prompts:
        if spec.recording is not None:
            continue  # a person recorded it: nothing to ask espeak-ng
        for lang, part in renderer.parts(spec.spoken or spec.text, spec.lang):
            voice = renderer.espeak_voice(lang)
            if not speaks(voice, lang):
                problems.append(PhonemeProblem(spec.id, spec.lang, part, voice, f"voice {voice!r} does not speak {lang}"))
                continue
            switch = SWITCH.search(phonemes(voice, part))
            if switch:
                problems.append(PhonemeProblem(spec.id, spec.lang, part, voice, f"read as {switch.group(1)!r}, not as {lang}"))
                continue
            for number in sorted(set(DIGITS.findall(part))):
                switch = SWITCH.search(phonemes(voice, number))
                if switch:
                    problems.append(PhonemeProblem(spec.id, spec.lang, part, voice, f"digits {number} read as {switch.group(1)!r}"))
    return problems
