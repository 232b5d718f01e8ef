"""Text to WAV files: the `Renderer` protocol and `Pyttsx3Renderer` (pyttsx3 with espeak-ng voices).

pyttsx3 2.99's espeak driver, as observed (and worked around here):

* Synthesis is asynchronous: the driver starts espeak-ng in "retrieval" mode, which synthesises on
  espeak's own thread and hands the audio to a callback there; the callback writes the WAV file. The
  first `runAndWait()` of a process returns about 10 ms after queuing the text, before the file exists
  (long texts, a loaded machine), and later ones return when the callback ends its loop. So
  `runAndWait()` returning says nothing: we wait for the callback to report the end of the utterance.
* If writing the WAV fails (missing folder, full disk) the error dies inside the ctypes callback; from
  the second `runAndWait()` of a process on, the loop then waits forever. We route the callback through
  a wrapper that catches the error and always signals the end, queue our commands while the driver is
  marked busy (so `runAndWait()` always returns at once, as on the first call), and time out if espeak
  never finishes.
* Only the last `save_to_file` queued before `runAndWait` is synthesised; earlier ones are dropped.
  So: exactly one `save_to_file` + `runAndWait` per prompt.
* The driver never forgets the last text and file: a later `runAndWait()` with nothing queued renders
  them again, and a later `say()` writes into that file instead of playing (the engine is shared with
  `ivr.speech.Speaker` through `pyttsx3.init()`'s cache). We clear both once the utterance is over - and
  only then: cleared earlier, the callback plays the audio with `aplay` instead of writing the file.
* An unknown voice is not an exception: the error goes to the engine's "error" topic and the previous
  voice stays in use. We pick voices from the installed list and listen on that topic.
* It prints "Audio saved to ..." on stdout for every file (silenced here), labels every file 22050 Hz
  (espeak-ng's rate for its own voices; MBROLA voices would be mislabelled) and writes blanks for text
  with nothing to say (we refuse blank text).
* espeak-ng keeps state between utterances: the same text rendered twice in one process differs by a
  few samples (the first render matches the `espeak-ng` command line exactly). Inaudible, but renders are
  not bit-reproducible, so the audio catalogue keys on the text and settings, never on the audio.
* espeak has one synthesis callback per process, owned by the most recently created driver: two engines
  (`pyttsx3.init()` and `pyttsx3.init("espeak")`) in one process steal each other's audio. Hence one
  engine per process, the same one `pyttsx3.init()` returns to everybody else, and we re-attach our
  callback wrapper if another driver took the callback over.

With those work-arounds, hundreds of prompts render reliably in one process (see tests/test_audio.py).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import io
import os
import re
import sys
import tempfile
import threading
from array import array
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ivr.audio.wav import AudioError, WavError, downmix, info, read_wav, resample, write_wav
from ivr.text import render, segments

# espeak-ng's voice for a language whose own code names no voice (matched against a voice's languages, then its id);
# other languages are found by their tag (en-us) or its first part (ja). Keyed by the tag's first part. For Mandarin
# it is `cmn-latn-pinyin`, the voice that pronounces Chinese characters: espeak-ng's `cmn` reads each character's
# pinyin with an English voice ("nin-two hao-three"), which `ivr audio check` catches.
ESPEAK_NAMES: Mapping[str, str] = {"zh": "cmn-latn-pinyin"}
# Languages whose voice reads Latin letters as its own syllables (SSH as pinyin): in their text, runs of Latin script
# (product names, an English offer) are spoken by the English voice instead, with no marking by ops; so are the
# symbols such a voice can only name in English (@, /, %, &, +).
LATIN_VOICE: Mapping[str, str] = {"zh": "en-US"}
LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z0-9'’&+./_-]*(?:[ ,!?;:]+[A-Za-z0-9][A-Za-z0-9'’&+./_-]*)*[.!?]?|[@/%&+]+")
GAP_SECONDS = 0.08  # between the parts of one prompt spoken by different voices


class TtsError(AudioError):
    """A prompt could not be rendered to speech."""


class TtsUnavailableError(TtsError):
    """No text-to-speech engine here (pyttsx3 or the espeak-ng library missing or broken)."""


class VoiceNotFoundError(TtsError):
    """No installed voice speaks the language asked for."""


@runtime_checkable
class Renderer(Protocol):
    """Turns text into a WAV file."""

    @property
    def version(self) -> str:
        """Identifies the renderer and its output; change it to have every prompt rendered again."""
        ...

    def voice_settings(self, lang: str) -> Mapping[str, str | int | float]:
        """The settings that shape the audio for `lang` (voice, rate...); part of each prompt's content hash."""
        ...

    def render(self, text: str, lang: str, path: Path) -> None:
        """Write `text` spoken in `lang` to the WAV file `path` (its folder exists); raise `TtsError` on failure."""
        ...


class _Utterance:
    """What the synthesis callback (on espeak's thread) reports about the utterance in progress."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.failure: str | None = None
        self.errors: list[str] = []  # reported on the engine's "error" topic

    def reset(self) -> None:
        self.done.clear()
        self.failure = None
        self.errors.clear()


_engine: Any = None
_engine_lock = threading.Lock()  # guards _engine and serialises utterances
_utterance = _Utterance()
_callback: Any = None  # the ctypes callback we installed (espeak keeps only a raw pointer: keep it alive)
_stuck: str | None = None  # set when espeak-ng stopped answering: later renders fail at once


def _driver_name() -> str | None:
    """The key under which pyttsx3 caches the espeak engine: None where espeak is the default driver."""
    return "espeak" if sys.platform in ("darwin", "win32") else None


def _on_error(name: object = None, exception: BaseException | None = None, **_: object) -> None:
    """Keep what the driver reports on the engine's "error" topic instead of raising."""
    _utterance.errors.append(str(exception) if exception is not None else "unknown pyttsx3 error")


def shared_engine() -> Any:
    """The process's pyttsx3 espeak engine (created on first use, then kept alive)."""
    global _engine  # noqa: PLW0603
    with _engine_lock:
        if _engine is None:
            try:
                import pyttsx3

                engine = pyttsx3.init(_driver_name())
            except Exception as exc:  # pyttsx3 raises ImportError/OSError/RuntimeError depending on what is missing
                raise TtsUnavailableError(
                    f"text-to-speech unavailable: pyttsx3 could not start espeak-ng ({type(exc).__name__}: {exc}); "
                    "install espeak-ng (Debian/Ubuntu: apt-get install espeak-ng)"
                ) from exc
            engine.connect("error", _on_error)
            _engine = engine
            atexit.register(_release_engine)
        return _engine


def _release_engine() -> None:
    """Let the engine go while the interpreter is still whole (pyttsx3's finaliser fails during shutdown)."""
    global _engine  # noqa: PLW0603
    with _engine_lock:
        _engine = None
    gc.collect()


def _attach_callback(driver: Any) -> None:
    """Route espeak's synthesis callback through `driver` and then our end-of-utterance bookkeeping."""
    global _callback  # noqa: PLW0603
    from pyttsx3.drivers import _espeak

    if _callback is not None and _espeak.SynthCallback is _callback:
        return

    def on_synth(wav: Any, numsamples: int, events: Any) -> int:
        finished = False
        i = 0
        while events[i].type != _espeak.EVENT_LIST_TERMINATED:
            finished = finished or events[i].type == _espeak.EVENT_MSG_TERMINATED
            i += 1
        try:
            driver._onSynth(wav, numsamples, events)
        except Exception as exc:  # the driver failed to write the file: report it instead of losing it in ctypes
            _utterance.failure = str(exc)
            finished = True
        if finished:
            _utterance.done.set()
        return 0

    _espeak.SetSynthCallback(on_synth)
    _callback = _espeak.SynthCallback


class Pyttsx3Renderer:
    """Renders with pyttsx3's espeak driver, each language with espeak-ng's voice for it (Mandarin 'cmn' for zh).

    The engine is shared by the whole process; renders are serialised with a lock.
    """

    VERSION = "pyttsx3-espeak-1"

    def __init__(self, voices: Mapping[str, str] | None = None, rate: int = 200, volume: float = 1.0) -> None:
        self.voices = dict(voices or {})  # language -> espeak-ng voice, where the menu names one
        self.rate = rate
        self.volume = volume
        self._voice_ids: dict[str, str] = {}

    @property
    def version(self) -> str:
        """Identifies this renderer's output."""
        return self.VERSION

    def voice_settings(self, lang: str) -> Mapping[str, str | int | float]:
        """The voices asked for (not the installed ones, so no engine is needed), rate and volume."""
        settings: dict[str, str | int | float] = {
            "engine": "espeak-ng",
            "voice": self._wanted(lang),
            "rate": self.rate,
            "volume": self.volume,
        }
        latin = self.latin_language(lang)
        if latin:
            settings["latin_voice"] = self._wanted(latin)
        return settings

    def latin_language(self, lang: str) -> str | None:
        """The language whose voice speaks the Latin-script runs of `lang`'s text, if its own voice cannot."""
        return LATIN_VOICE.get(lang.split("-", 1)[0].lower())

    def parts(self, text: str, lang: str) -> list[tuple[str, str]]:
        """(language, text) parts of a prompt, in order: its {LANG: …} segments, and within each part the Latin runs
        of a language whose voice cannot read them, which go to the English voice."""
        return [piece for part_lang, part in segments(lang, text) for piece in self._latin_parts(render(part, {}), part_lang)]

    def _latin_parts(self, text: str, lang: str) -> list[tuple[str, str]]:
        latin = self.latin_language(lang)
        if latin is None:
            return [(lang, text)]
        out: list[tuple[str, str]] = []
        at = 0
        for run in LATIN_RUN.finditer(text):
            before = text[at : run.start()]
            if before.strip():
                out.append((lang, before))
            out.append((latin, run.group(0)))
            at = run.end()
        if text[at:].strip():
            out.append((lang, text[at:]))
        return out or [(lang, text)]

    def espeak_voice(self, lang: str) -> str:
        """The espeak-ng voice name `lang` is rendered with (as `espeak-ng -v` takes it)."""
        return self._wanted(lang)

    def _wanted(self, lang: str) -> str:
        """The espeak-ng language code wanted for `lang`: the menu's choice, else espeak's name for the language."""
        return self._candidates(lang)[0]

    def _candidates(self, lang: str) -> list[str]:
        if lang in self.voices:
            return [self.voices[lang]]
        primary = lang.split("-", 1)[0].lower()
        return [ESPEAK_NAMES[primary]] if primary in ESPEAK_NAMES else list(dict.fromkeys([lang.lower(), primary]))

    def voice_id(self, lang: str) -> str:
        """The id of the installed espeak-ng voice for `lang` (e.g. 'sit/cmn', 'gmw/en-us')."""
        if lang not in self._voice_ids:
            voices = list(shared_engine().getProperty("voices"))
            found = []
            for wanted in (c.lower() for c in self._candidates(lang)):
                by_language = [v for v in voices if wanted in [str(x).lower() for x in (getattr(v, "languages", None) or [])]]
                found = by_language or [v for v in voices if str(v.id).lower().rsplit("/", 1)[-1] == wanted]
                if found:
                    break
            wanted = self._wanted(lang)
            if not found:
                raise VoiceNotFoundError(f"no espeak-ng voice for {lang} (wanted language {wanted!r}; {len(voices)} voices installed)")
            self._voice_ids[lang] = str(found[0].id)
        return self._voice_ids[lang]

    def render(self, text: str, lang: str, path: Path) -> None:
        """Write `text` spoken in `lang` to the WAV file `path` (replaced only once the render succeeded)."""
        if not text.strip():
            raise TtsError(f"nothing to say for {lang}: the text is blank")
        path = Path(path)
        parts = self.parts(text, lang)
        if len(parts) == 1:
            self._render_one(parts[0][1], parts[0][0], path)
            return
        # Each part in its own voice, joined with a short gap: one file, as callers hear one prompt.
        pieces: list[Path] = []
        try:
            for i, (part_lang, part_text) in enumerate(parts):
                piece = path.with_name(f".{path.stem}.part{i}.wav")
                pieces.append(piece)
                self._render_one(part_text, part_lang, piece)
            pcms = [read_wav(piece) for piece in pieces]
            rate = pcms[0].rate
            joined = array("h")
            for i, pcm in enumerate(pcms):
                samples = downmix(pcm)
                joined.extend(samples if pcm.rate == rate else resample(samples, pcm.rate, rate, cutoff=rate / 2 * 0.9))
                if i < len(pcms) - 1:
                    joined.extend([0] * int(rate * GAP_SECONDS))
            fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tts.wav", dir=path.parent)
            os.close(fd)
            write_wav(tmp_name, joined, rate)
            os.replace(tmp_name, path)
        finally:
            for piece in pieces:
                piece.unlink(missing_ok=True)

    def _render_one(self, text: str, lang: str, path: Path) -> None:
        """One voice, one file (replaced only once the render succeeded)."""
        voice = self.voice_id(lang)
        engine = shared_engine()
        # A file of our own, so the folder is known to exist and be writable, and emptiness means failure.
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tts.wav", dir=path.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            with _engine_lock:
                self._synthesise(engine, text, voice, tmp)
            try:
                written = info(tmp)
            except WavError as exc:
                raise TtsError(f"espeak-ng wrote no usable audio for {lang} text {text[:40]!r} ({exc})") from exc
            if written.frames == 0:
                raise TtsError(f"espeak-ng wrote an empty file for {lang} text {text[:40]!r}")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def _synthesise(self, engine: Any, text: str, voice: str, path: Path) -> None:
        """One utterance through the driver, with the work-arounds listed in the module docstring."""
        global _stuck  # noqa: PLW0603
        if _stuck:
            raise TtsUnavailableError(f"espeak-ng stopped responding earlier in this process ({_stuck}); restart it")
        proxy = engine.proxy
        driver = proxy._driver
        _attach_callback(driver)
        _utterance.reset()
        unraisable: list[str] = []
        previous_hook = sys.unraisablehook
        # Keep only messages: a kept traceback would hold wave's half-built writer until after the hook is restored.
        sys.unraisablehook = lambda event: unraisable.append(str(event.exc_value))
        try:
            # Queue while marked busy: the commands then run inside runAndWait, end-of-loop first, so it
            # returns right after handing the text to espeak instead of depending on the callback.
            proxy.setBusy(True)
            engine.setProperty("voice", voice)
            engine.setProperty("rate", self.rate)
            engine.setProperty("volume", self.volume)
            engine.save_to_file(text, str(path))
            with contextlib.redirect_stdout(io.StringIO()):
                engine.runAndWait()
                finished = _utterance.done.wait(timeout=30 + 0.2 * len(text))
            if not finished:
                from pyttsx3.drivers import _espeak

                _espeak.Cancel()
                _stuck = f"no end of speech for {text[:40]!r}"
                raise TtsUnavailableError(f"espeak-ng did not finish {text[:40]!r} in time")
        finally:
            sys.unraisablehook = previous_hook
            # Forget the text and file (only now that the callback is done with them), or the next
            # say() / runAndWait() reuses them.
            driver._save_file = None
            driver._text_to_say = None
        if _utterance.failure or unraisable:
            raise TtsError(f"espeak-ng could not write {path}: {_utterance.failure or unraisable[0]}")
        if _utterance.errors:
            raise TtsError(f"espeak-ng could not render with voice {voice!r}: {_utterance.errors[0]}")
        if engine.getProperty("voice") != voice:
            raise TtsError(f"espeak-ng did not switch to voice {voice!r} (still {engine.getProperty('voice')!r})")
