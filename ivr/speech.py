"""Speaking prompts aloud with pyttsx3, each language in espeak-ng's voice for it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ivr.audio.index import AudioIndex
from ivr.audio.plan import Played, Spoken, assemble, voice_sources
from ivr.audio.tts import ESPEAK_NAMES
from ivr.engine.actions import Say
from ivr.ir import Menu


def audio_output_problem() -> str | None:
    """Why sound cannot be played here, or None when an output device seems available."""
    if sys.platform.startswith("linux"):
        if shutil.which("aplay") is None:
            return "no 'aplay' player (install alsa-utils)"
        has_device = Path("/dev/snd").is_dir() and any(Path("/dev/snd").glob("pcm*p"))
        if not has_device and not os.environ.get("PULSE_SERVER"):
            return "no audio output device"
    return None


class Speaker:
    """Speaks prompts: languages played from audio as their rendered pieces, the others with text-to-speech.

    Build it with `Speaker.open()`; like the webhooks, it never mixes the two for one language.
    """

    def __init__(
        self,
        engine: Any,
        audio: AudioIndex | None = None,
        play: Callable[[Path], None] | None = None,
        played_languages: set[str] | None = None,
    ) -> None:
        self._engine = engine
        self._voices: dict[str, str] = {}
        self.audio = audio
        self.play = play or _aplay
        self.played_languages = played_languages or set()  # languages whose menu voice says `source: audio`, fully built

    @classmethod
    def open(cls, audio_dir: str | Path | None = None, menu: Menu | None = None) -> tuple[Speaker | None, str]:
        """A speaker, or None and the reason there is none; `menu` says which languages are played from audio."""
        problem = audio_output_problem()
        if problem:
            return None, problem
        try:
            import pyttsx3

            index = AudioIndex(audio_dir) if audio_dir else None
            played = {s.lang for s in voice_sources(menu, index).values() if s.source == "audio"} if index and menu else set()
            return cls(pyttsx3.init(), index, played_languages=played), ""
        except Exception as exc:  # pyttsx3 raises bare RuntimeError/OSError/ImportError by driver
            return None, f"text-to-speech unavailable ({exc})"

    def voice_for(self, lang: str) -> str | None:
        """The id of an installed voice for `lang`, if any."""
        if lang not in self._voices:
            primary = lang.split("-", 1)[0].lower()
            wanted = tuple(dict.fromkeys([ESPEAK_NAMES.get(primary, lang.lower()), lang.lower(), primary]))
            for voice in self._engine.getProperty("voices"):
                tags = [str(x).lower().lstrip("\x05") for x in (getattr(voice, "languages", None) or [])]
                ident = str(voice.id).lower()
                if any(t.startswith(w) for t in tags for w in wanted) or any(ident.endswith(w) for w in wanted):
                    self._voices[lang] = voice.id
                    break
        return self._voices.get(lang)

    def say_action(self, action: Say) -> None:
        """Say one prompt as a caller on the phone would hear it; wait until done."""
        items = assemble(action, self.audio, self.played_languages) if self.audio and self.played_languages else None
        if items is None:
            for lang, text in action.parts:
                self.say(lang, text)
            return
        for item in items:
            if isinstance(item, Played) and self.audio is not None:
                self.play(self.audio.full_file(item.entry))
            elif isinstance(item, Spoken):
                self.say(item.lang, item.text)

    def say(self, lang: str, text: str) -> None:
        """Speak `text` with the text-to-speech voice of `lang`; wait until done."""
        voice = self.voice_for(lang)
        if voice:
            self._engine.setProperty("voice", voice)
        self._engine.say(text)
        self._engine.runAndWait()


def _aplay(path: Path) -> None:
    subprocess.run(["aplay", "-q", str(path)], check=False)
