"""Telephone copies fit for the phone: levelled across prompts, edge silence trimmed, never clipped; progress lines; `levels()`."""

from __future__ import annotations

import io
import math
import random
import shutil
import statistics
import wave
from array import array
from collections.abc import Mapping
from pathlib import Path

import pytest

from ivr.audio import AudioManifest, PromptSpec, Pyttsx3Renderer, build_audio, read_wav, write_wav
from ivr.audio.levels import CEILING, EDGE_LIMIT_MS, MAX_DEVIATION_DB, MULAW_CLIP, TARGET_DBFS, levels, master, measure
from ivr.audio.wav import clamp16

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed (apt-get install espeak-ng); CI installs it, so these tests run there",
)
RATE = 22050


def babble(seconds: float, amplitude: float, rate: int = RATE, lead: float = 0.0, trail: float = 0.0, noise: int = 0) -> array[int]:
    """Speech-like sound: voiced 'syllables' (a few harmonics under a smooth envelope) with short gaps, clamped to 16 bits,
    between `lead` and `trail` seconds of quiet (digital silence, or +-`noise` of deterministic hiss)."""
    rng = random.Random(7)
    values: list[float] = [0.0] * round(lead * rate)
    syllable, gap = round(0.16 * rate), round(0.05 * rate)
    k = 0
    while len(values) < (lead + seconds) * rate:
        f0 = (130, 170, 150, 210, 190)[k % 5]
        for i in range(syllable):
            env = math.sin(math.pi * i / syllable)
            t = i / rate
            values.append(amplitude * env * sum(math.sin(2 * math.pi * h * f0 * t) / h for h in (1, 2, 3, 5)) / 1.8)
        values.extend([0.0] * gap)
        k += 1
    values.extend([0.0] * round(trail * rate))
    if noise:
        values = [v + rng.randint(-noise, noise) for v in values]
    return clamp16(values)


class BabbleRenderer:
    """A stand-in for text-to-speech: babble whose loudness is set per text (default 8000 peak)."""

    version = "babble-1"

    def __init__(self, amplitudes: Mapping[str, float] | None = None) -> None:
        self.amplitudes = dict(amplitudes or {})

    def voice_settings(self, lang: str) -> dict[str, str | int | float]:
        """Fixed settings."""
        return {"voice": "babble"}

    def render(self, text: str, lang: str, path: Path) -> None:
        """Write 0.6 s + 15 ms per character of babble."""
        write_wav(path, babble(0.6 + 0.015 * len(text), self.amplitudes.get(text, 8000.0)), RATE)


class ScaledRenderer(Pyttsx3Renderer):
    """Real espeak-ng speech, made deliberately quiet or loud (clipped) for some texts."""

    def __init__(self, gains: Mapping[str, float]) -> None:
        super().__init__()
        self.gains = dict(gains)

    def render(self, text: str, lang: str, path: Path) -> None:
        """Render with espeak-ng, then scale by the text's gain."""
        super().render(text, lang, path)
        if text in self.gains:
            pcm = read_wav(path)
            write_wav(path, clamp16(v * self.gains[text] for v in pcm.samples), pcm.rate, pcm.channels)


def speech_dbfs(path: Path) -> float:
    """The measured speech level of a WAV file (mono)."""
    pcm = read_wav(path)
    level = measure(pcm.samples, pcm.rate).speech_dbfs
    assert level is not None
    return level


def test_quiet_and_loud_prompts_come_out_within_3_db_of_the_median(tmp_path: Path) -> None:
    """A prompt rendered 30 dB too quiet and one rendered 12 dB too loud (clipped) are levelled with the rest to within 3 dB."""
    texts = ["Welcome.", "For orders, press one.", "For support, press two.", "A very quiet prompt.", "A very loud prompt."]
    renderer = BabbleRenderer({"A very quiet prompt.": 250.0, "A very loud prompt.": 32000.0})
    build_audio([PromptSpec(f"p{i}", "en-US", t) for i, t in enumerate(texts)], tmp_path, renderer)
    manifest = AudioManifest.load(tmp_path)
    quiet, loud = (manifest.lookup("en-US", t) for t in texts[3:])
    assert quiet is not None and loud is not None
    assert speech_dbfs(manifest.file_path(loud)) - speech_dbfs(manifest.file_path(quiet)) > 35  # as rendered: far apart
    report = levels(tmp_path)
    assert len(report.prompts) == 5
    assert report.max_deviation_db is not None and report.max_deviation_db <= MAX_DEVIATION_DB
    for p in report.prompts:
        assert p.speech_dbfs is not None and abs(p.speech_dbfs - TARGET_DBFS) < 0.5


def test_a_second_of_leading_silence_is_cut_to_at_most_150_ms(tmp_path: Path) -> None:
    """A recording with 1 s of faint hiss before and 0.8 s after the speech has at most 150 ms at either edge of its
    telephone copy, and its full-quality file loses the same edges, samples untouched, so the catalogued duration fits both."""
    original = babble(1.2, 9000, rate=16000, lead=1.0, trail=0.8, noise=20)
    recording = tmp_path / "welcome.wav"
    write_wav(recording, original, 16000)
    build_audio([PromptSpec("welcome", "en-US", "Welcome.", recording=recording)], tmp_path / "audio", BabbleRenderer())
    manifest = AudioManifest.load(tmp_path / "audio")
    (entry,) = list(manifest)
    phone = read_wav(manifest.telephone_path(entry))
    m = measure(phone.samples, phone.rate)
    assert 100 <= m.lead_ms <= EDGE_LIMIT_MS and 100 <= m.trail_ms <= EDGE_LIMIT_MS
    assert (phone.rate, phone.channels) == (8000, 1)
    with wave.open(str(manifest.file_path(entry)), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        full_seconds = w.getnframes() / 16000
        full = w.readframes(w.getnframes())
    assert original.tobytes().find(full) > 0  # a slice of the recording, not a re-encoding
    assert abs(full_seconds - entry.duration) <= 0.001 and abs(phone.duration - entry.duration) <= 0.002
    assert 1.3 < entry.duration < 1.9  # about 1.75 s of a 3 s recording is cut off


def test_gain_never_clips(tmp_path: Path) -> None:
    """Levelling a clipped, full-scale prompt and a quiet one with loud clicks leaves every sample under -1 dBFS, none at full scale."""
    clipped = [float(v) for v in babble(1.0, 90000, rate=8000)]
    assert sum(1 for v in clipped if abs(v) >= 32767) > 100
    clicky = [float(v) for v in babble(1.0, 400, rate=8000)]
    for at in range(500, len(clicky), 1500):  # a click 40 dB over the speech every 190 ms
        clicky[at] = 30000.0
    for signal in (clipped, clicky):
        out, done = master(signal)
        assert max(abs(v) for v in out) <= CEILING <= MULAW_CLIP
        assert sum(1 for v in out if abs(v) >= 32767) == 0
        assert done.measure.speech_dbfs is not None and abs(done.measure.speech_dbfs - TARGET_DBFS) <= MAX_DEVIATION_DB
    renderer = BabbleRenderer({"Loud.": 90000.0, "Quiet.": 150.0})  # +15 dB, -34 dB
    build_audio([PromptSpec("loud", "en-US", "Loud."), PromptSpec("quiet", "en-US", "Quiet.")], tmp_path, renderer)
    report = levels(tmp_path)
    assert report.peak <= CEILING and all(p.measure.full_scale == 0 for p in report.prompts)
    assert report.ok, report.problems


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        """Always."""
        return True


def test_progress_off_a_terminal_is_one_plain_line_per_prompt(tmp_path: Path) -> None:
    """Off a terminal every prompt gets one plain line (rendered or reused), on a terminal a bar redrawn in place."""
    specs = [PromptSpec(f"p{i}", "en-US", f"Prompt number {i}.") for i in range(5)]
    specs.append(PromptSpec("again", "en-US", "Prompt number 0."))  # shares p0's audio
    out = io.StringIO()
    build_audio(specs, tmp_path, BabbleRenderer(), progress=out)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and len(lines) == len(specs)
    assert lines[0].startswith("rendered en-US p0 (1/5, ") and lines[1] == "reused en-US again (same audio as p0)"
    assert lines[-1].startswith("rendered en-US p4 (5/5, ")

    again = io.StringIO()
    build_audio(specs, tmp_path, BabbleRenderer(), progress=again)
    assert again.getvalue().splitlines() == [f"reused en-US {s.id}" for s in specs]

    terminal = Terminal()
    build_audio([PromptSpec(f"q{i}", "en-US", f"Other prompt {i}.") for i in range(5)], tmp_path, BabbleRenderer(), progress=terminal)
    assert terminal.getvalue().count("\r") == 6 and terminal.getvalue().count("\n") == 1


@needs_espeak
def test_levels_of_a_small_real_build(tmp_path: Path) -> None:
    """On real espeak-ng speech in both languages, one prompt 26 dB too quiet and one 10 dB too loud, `levels()` finds every
    copy within 3 dB of the median with at most 150 ms of edge silence, and flags a copy that was not levelled."""
    specs = [
        PromptSpec("welcome", "zh-CN", "您好，欢迎致电售后服务热线。"),
        PromptSpec("menu", "zh-CN", "查询订单请按一，技术支持请按二。"),
        PromptSpec("welcome", "en-US", "Welcome to the after-sales support hotline."),
        PromptSpec("menu", "en-US", "For orders, press one. For technical support, press two."),
        PromptSpec("quiet", "en-US", "Please hold the line."),
        PromptSpec("loud", "zh-CN", "请稍候。"),
    ]
    build_audio(specs, tmp_path, ScaledRenderer({"Please hold the line.": 0.05, "请稍候。": 3.0}))
    report = levels(tmp_path, per_prompt=True)
    assert len(report.prompts) == 6 and not report.unreadable
    assert report.median_dbfs is not None and abs(report.median_dbfs - TARGET_DBFS) < 0.5
    assert report.max_deviation_db is not None and report.max_deviation_db <= MAX_DEVIATION_DB
    assert report.longest_edge_ms <= EDGE_LIMIT_MS
    assert report.ok, report.problems
    lo, hi = report.min_dbfs, report.max_dbfs
    assert lo is not None and hi is not None and lo <= statistics.median(p.speech_dbfs or 0 for p in report.prompts) <= hi
    text = str(report)
    assert text.splitlines()[-1] == report.summary() and "fit for the phone" in text
    assert sum(" welcome (" in line for line in text.splitlines()) == 2  # one line per prompt with the flag
    assert len(str(levels(tmp_path)).splitlines()) == 4  # without it: header, zh-CN, en-US, summary

    manifest = AudioManifest.load(tmp_path)
    entry = manifest.lookup("en-US", "Please hold the line.")
    assert entry is not None
    # A copy as it was made before levelling: quiet, with a second of silence before the speech.
    write_wav(manifest.telephone_path(entry), array("h", bytes(16000)) + babble(1.0, 300, rate=8000), 8000)
    problems = levels(tmp_path).problems
    assert len(problems) == 2 and all(p.startswith("en-US quiet (") for p in problems)
    assert "dB from the median" in problems[0] and "ms of silence before" in problems[1]
