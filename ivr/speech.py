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
from ivr.audio.tts import ESPEAK_NAMES


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
    """Speaks text in a language, playing the rendered prompt when there is one; build it with `Speaker.open()`."""

    def __init__(self, engine: Any, audio: AudioIndex | None = None, play: Callable[[Path], None] | None = None) -> None:
        self._engine = engine
        self._voices: dict[str, str] = {}
        self.audio = audio
        self.play = play or _aplay

    @classmethod
    def open(cls, audio_dir: str | Path | None = None) -> tuple[Speaker | None, str]:
        """A speaker, or None and the reason there is none."""
        problem = audio_output_problem()
        if problem:
            return None, problem
        try:
            import pyttsx3

            return cls(pyttsx3.init(), AudioIndex(audio_dir) if audio_dir else None), ""
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

    def say(self, lang: str, text: str) -> None:
        """Play the rendered prompt (`ivr audio build`) if there is one, else speak it; wait until done."""
        entry = self.audio.lookup(lang, text) if self.audio else None
        if entry is not None and self.audio is not None:
            self.play(self.audio.full_file(entry))
            return
        voice = self.voice_for(lang)
        if voice:
            self._engine.setProperty("voice", voice)
        self._engine.say(text)
        self._engine.runAndWait()


def _aplay(path: Path) -> None:
    subprocess.run(["aplay", "-q", str(path)], check=False)
