"""Prompt audio: WAV conversion to telephone quality, the incremental catalogued build, and real espeak-ng speech."""

from __future__ import annotations

import io
import json
import math
import shutil
import subprocess
import sys
import wave
from array import array
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import pytest

from ivr.audio import (
    AudioError,
    AudioManifest,
    PromptSpec,
    Pyttsx3Renderer,
    TtsError,
    VoiceNotFoundError,
    build_audio,
    read_wav,
    to_telephone,
    write_wav,
)
from ivr.errors import IvrError

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed (apt-get install espeak-ng); CI installs it, so these tests run there",
)


def sine(freq: float, seconds: float, rate: int = 22050, amplitude: int = 12000) -> array[int]:
    """A 16-bit sine tone."""
    return array("h", (round(amplitude * math.sin(2 * math.pi * freq * i / rate)) for i in range(round(seconds * rate))))


def rms(samples: array[int]) -> float:
    """Root mean square level."""
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def zero_crossings(samples: array[int]) -> int:
    """Sign changes between consecutive non-zero samples."""
    signs = [s > 0 for s in samples if s != 0]
    return sum(a != b for a, b in pairwise(signs))


class ToneRenderer:
    """A fast stand-in for text-to-speech: a tone whose length grows with the text, and a log of calls."""

    version = "tone-1"

    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail_on = fail_on

    def voice_settings(self, lang: str) -> dict[str, str | int | float]:
        """Fixed settings per language."""
        return {"voice": f"tone-{lang}"}

    def render(self, text: str, lang: str, path: Path) -> None:
        """Write 0.2 s + 10 ms per character of a language-specific tone."""
        if text == self.fail_on:
            raise TtsError(f"cannot say {text!r}")
        self.calls.append((lang, text))
        write_wav(path, sine(300 if lang == "zh-CN" else 500, 0.2 + 0.01 * len(text)), 22050)


def write_recording(path: Path, seconds: float, freq: float = 250) -> bytes:
    """A 16 kHz stereo 16-bit WAV written with the `wave` module; returns its bytes."""
    tone = sine(freq, seconds, rate=16000)
    stereo = array("h", (s for v in tone for s in (v, v // 2)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(stereo.tobytes())
    return path.read_bytes()


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    """A prerecorded after-hours message."""
    path = tmp_path / "recorded" / "after_hours.wav"
    path.parent.mkdir()
    write_recording(path, 1.5)
    return path


@pytest.fixture
def prompts(recording: Path) -> list[PromptSpec]:
    """Mandarin and English prompts, one duplicate text and one prerecorded prompt."""
    return [
        PromptSpec("welcome", "zh-CN", "您好，欢迎致电售后服务热线。"),
        PromptSpec("menu", "zh-CN", "查询订单请按一，技术支持请按二。"),
        PromptSpec("welcome", "en-US", "Welcome to the after-sales support hotline."),
        PromptSpec("menu", "en-US", "For orders press 1, for technical support press 2."),
        PromptSpec("goodbye", "zh-CN", "您好，欢迎致电售后服务热线。"),  # same text as "welcome": one file
        PromptSpec("after_hours", "zh-CN", "现在是非工作时间。", recording=recording),
    ]


def check_catalogue(audio_dir: Path) -> AudioManifest:
    """Assert every catalogued file exists and is a WAV of the catalogued length, the copy 8 kHz mono 16-bit."""
    manifest = AudioManifest.load(audio_dir)
    assert len(manifest) > 0
    for entry in manifest:
        full, phone = manifest.file_path(entry), manifest.telephone_path(entry)
        assert entry.file == f"{entry.lang}/{entry.key[:16]}.wav"
        assert entry.telephone == f"{entry.lang}/{entry.key[:16]}.8k.wav"
        with wave.open(str(full), "rb") as w:
            assert w.getnframes() > 0
            assert abs(w.getnframes() / w.getframerate() - entry.duration) <= 0.001
        with wave.open(str(phone), "rb") as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
            assert abs(w.getnframes() / 8000 - entry.duration) <= 0.020
        assert manifest.lookup(entry.lang, entry.text) is not None
    return manifest


def test_first_build_renders_all_and_second_build_reuses_all(tmp_path: Path, prompts: list[PromptSpec]) -> None:
    """A first build renders each distinct text once; a second renders nothing and leaves manifest.json byte for byte."""
    audio = tmp_path / "audio"
    renderer = ToneRenderer()
    first = build_audio(prompts, audio, renderer)
    assert first.rendered == ["welcome", "menu", "welcome", "menu"]
    assert first.recordings == ["after_hours"]
    assert first.reused == ["goodbye"]  # shares the file rendered for "welcome"
    assert len(renderer.calls) == 4
    assert first.entries == 5
    before = (audio / "manifest.json").read_bytes()

    second = build_audio(prompts, audio, renderer)
    assert second.rendered == second.recordings == second.removed == []
    assert second.reused == [p.id for p in prompts]
    assert len(renderer.calls) == 4
    assert (audio / "manifest.json").read_bytes() == before


def test_manifest_is_sorted_utf8_json(tmp_path: Path, prompts: list[PromptSpec]) -> None:
    """The manifest keeps Chinese as is, sorts its keys and lists every field of each entry."""
    build_audio(prompts, tmp_path, ToneRenderer())
    raw = (tmp_path / "manifest.json").read_text(encoding="utf-8")
    assert "您好" in raw
    data = json.loads(raw)
    assert raw == json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2) + "\n"
    for value in data["entries"].values():
        assert set(value) == {"prompt", "lang", "text", "file", "telephone", "duration", "source"}
        assert value["duration"] == round(value["duration"], 3)
    sources = sorted(v["source"] for v in data["entries"].values())
    assert sources == ["recording", "tts", "tts", "tts", "tts"]


def test_changed_text_rerenders_only_that_prompt(tmp_path: Path, prompts: list[PromptSpec]) -> None:
    """Editing one text renders just that prompt again and deletes the old entry and both of its files."""
    renderer = ToneRenderer()
    build_audio(prompts, tmp_path, renderer)
    old = AudioManifest.load(tmp_path).lookup("en-US", prompts[3].text)
    assert old is not None
    changed = [*prompts[:3], replace(prompts[3], text="For orders press 1, for support press 2, for billing press 3."), *prompts[4:]]

    report = build_audio(changed, tmp_path, renderer)
    assert report.rendered == ["menu"]
    assert renderer.calls[-1] == ("en-US", changed[3].text)
    assert len(renderer.calls) == 5
    assert report.removed == ["menu"]
    assert report.reused == ["welcome", "menu", "welcome", "goodbye", "after_hours"]
    manifest = check_catalogue(tmp_path)
    assert manifest.lookup("en-US", prompts[3].text) is None
    assert old.key not in manifest
    assert not (tmp_path / old.file).exists()
    assert not (tmp_path / old.telephone).exists()
    assert len(list((tmp_path / "en-US").iterdir())) == 4  # two prompts, two files each


def test_every_catalogued_file_is_a_wav_of_the_catalogued_length(tmp_path: Path, prompts: list[PromptSpec]) -> None:
    """Full files match the manifest duration within 1 ms; telephone copies are 8 kHz mono 16-bit within 20 ms."""
    build_audio(prompts, tmp_path, ToneRenderer())
    manifest = check_catalogue(tmp_path)
    assert len(manifest) == 5


def test_recording_is_used_as_is_and_reimported_when_replaced(tmp_path: Path, prompts: list[PromptSpec], recording: Path) -> None:
    """A recording is copied byte for byte; new bytes in the same file are imported again and the old copy removed."""
    audio = tmp_path / "audio"
    renderer = ToneRenderer()
    build_audio(prompts, audio, renderer)
    entry = AudioManifest.load(audio).lookup("zh-CN", "现在是非工作时间。")
    assert entry is not None
    assert entry.source == "recording"
    assert (audio / entry.file).read_bytes() == recording.read_bytes()
    assert entry.duration == 1.5

    new_bytes = write_recording(recording, 2.25, freq=400)
    report = build_audio(prompts, audio, renderer)
    assert report.recordings == ["after_hours"]
    assert report.removed == ["after_hours"]
    assert report.rendered == []
    replaced = AudioManifest.load(audio).lookup("zh-CN", "现在是非工作时间。")
    assert replaced is not None
    assert replaced.key != entry.key
    assert (audio / replaced.file).read_bytes() == new_bytes
    assert replaced.duration == 2.25
    assert not (audio / entry.file).exists()
    check_catalogue(audio)


def test_unreadable_recording_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    """A missing recording stops the build with the prompt named, before any rendering."""
    renderer = ToneRenderer()
    specs = [PromptSpec("hello", "en-US", "Hello."), PromptSpec("rec", "en-US", "Hi.", recording=tmp_path / "missing.wav")]
    with pytest.raises(AudioError, match="'rec'"):
        build_audio(specs, tmp_path / "audio", renderer)
    assert renderer.calls == []


def test_failure_midway_leaves_a_manifest_of_existing_files(tmp_path: Path, prompts: list[PromptSpec]) -> None:
    """When rendering fails on one prompt, the manifest lists only the files made, and the next build finishes the rest."""
    failing = ToneRenderer(fail_on=prompts[2].text)
    with pytest.raises(TtsError):
        build_audio(prompts, tmp_path, failing)
    assert len(failing.calls) == 2
    manifest = check_catalogue(tmp_path)
    assert len(manifest) == 2
    assert not [p for p in tmp_path.rglob("*.wav") if p.name.startswith(".")]  # no temporary files left

    renderer = ToneRenderer()
    report = build_audio(prompts, tmp_path, renderer)
    assert report.rendered == ["welcome", "menu"]
    assert [lang for lang, _ in renderer.calls] == ["en-US", "en-US"]
    assert len(check_catalogue(tmp_path)) == 5


def test_renamed_prompt_reuses_its_audio(tmp_path: Path) -> None:
    """A new prompt id with the same text reuses the file and the manifest records the new id."""
    renderer = ToneRenderer()
    build_audio([PromptSpec("old_name", "en-US", "Hello.")], tmp_path, renderer)
    report = build_audio([PromptSpec("new_name", "en-US", "Hello.")], tmp_path, renderer)
    assert report.reused == ["new_name"]
    assert len(renderer.calls) == 1
    entry = AudioManifest.load(tmp_path).lookup("en-US", "Hello.")
    assert entry is not None
    assert entry.prompt == "new_name"


def test_progress_bar_is_one_redrawn_line(tmp_path: Path) -> None:
    """With several prompts to render, progress is a single line redrawn with carriage returns, ending at n/n."""
    specs = [PromptSpec(f"p{i}", "en-US", f"Prompt number {i}.") for i in range(6)]
    out = io.StringIO()
    build_audio(specs, tmp_path, ToneRenderer(), progress=out, bar=True)
    text = out.getvalue()
    assert text.count("\n") == 1
    assert text.endswith("\n")
    frames = text.strip("\n").split("\r")[1:]
    assert frames[0].startswith("[" + "." * 30 + "] 0/6 rendering en-US p0")
    assert frames[-1].startswith("[" + "#" * 30 + "] 6/6")

    quiet = io.StringIO()
    build_audio([*specs, PromptSpec("one_more", "en-US", "One more.")], tmp_path, ToneRenderer(), progress=quiet, bar=True)
    assert quiet.getvalue() == ""  # one prompt to render: no bar


def test_lang_that_is_not_a_folder_name_is_refused(tmp_path: Path) -> None:
    """A language tag is used as a folder name, so one with a path separator is an error."""
    with pytest.raises(IvrError, match="language"):
        build_audio([PromptSpec("x", "../en", "Hello.")], tmp_path, ToneRenderer())


def test_to_telephone_keeps_the_frequency_and_removes_what_would_alias(tmp_path: Path) -> None:
    """A 440 Hz tone keeps its zero crossings at 8 kHz, and a 6 kHz tone (above the 4 kHz limit) is filtered out."""
    for freq in (440, 6000):
        src, dst = tmp_path / f"{freq}.wav", tmp_path / f"{freq}.8k.wav"
        tone = sine(freq, 1.0)
        write_wav(src, tone, 22050)
        to_telephone(src, dst)
        out = read_wav(dst)
        assert (out.rate, out.channels) == (8000, 1)
        assert abs(out.duration - 1.0) < 0.001
        body = out.samples[200:-200]  # away from the edges
        if freq == 440:
            assert abs(zero_crossings(body) - 2 * 440 * len(body) / 8000) <= 2
            assert 0.9 < rms(body) / rms(tone) < 1.1
        else:
            assert rms(body) < 0.01 * rms(tone)  # more than 40 dB down (unfiltered, it would fold to 2 kHz at full level)


def test_to_telephone_downmixes_and_accepts_8_bit_input(tmp_path: Path) -> None:
    """Stereo 16 kHz and 8-bit mono 11 kHz files both come out 8 kHz mono 16-bit of the same length."""
    stereo = tmp_path / "stereo.wav"
    write_recording(stereo, 0.5)
    eight_bit = tmp_path / "u8.wav"
    with wave.open(str(eight_bit), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(11025)
        w.writeframes(bytes(128 + round(100 * math.sin(2 * math.pi * 300 * i / 11025)) for i in range(11025)))
    for src, seconds in ((stereo, 0.5), (eight_bit, 1.0)):
        dst = src.with_suffix(".8k.wav")
        to_telephone(src, dst)
        out = read_wav(dst)
        assert (out.rate, out.channels) == (8000, 1)
        assert abs(out.duration - seconds) < 0.001
        assert abs(zero_crossings(out.samples) / out.duration - (2 * 250 if src is stereo else 2 * 300)) <= 4


@needs_espeak
def test_real_speech_in_mandarin_and_english(tmp_path: Path) -> None:
    """Pyttsx3Renderer speaks both languages with espeak-ng voices; the build catalogues real speech longer than 0.3 s."""
    renderer = Pyttsx3Renderer()
    assert "cmn" in renderer.voice_id("zh-CN")
    assert renderer.voice_id("en-US").endswith("en-us")
    specs = [
        PromptSpec("welcome", "zh-CN", "您好，欢迎致电售后服务热线。"),
        PromptSpec("welcome", "en-US", "Welcome to the after-sales support hotline."),
        PromptSpec("menu", "zh-CN", "查询订单请按一。"),
        PromptSpec("menu", "en-US", "For orders, press one."),
    ]
    report = build_audio(specs, tmp_path, renderer)
    assert report.rendered == ["welcome", "welcome", "menu", "menu"]
    manifest = check_catalogue(tmp_path)
    for entry in manifest:
        assert entry.duration > 0.3
        speech = read_wav(manifest.file_path(entry))
        assert speech.rate == 22050
        assert rms(speech.samples) > 300  # not silence
    assert build_audio(specs, tmp_path, renderer).rendered == []


@needs_espeak
def test_real_renderer_is_reliable_over_many_prompts_in_one_process(tmp_path: Path) -> None:
    """Forty renders alternating languages in one process each produce their own speech, and the driver forgets each file."""
    renderer = Pyttsx3Renderer()
    lengths = {}
    for i in range(40):
        lang, text = ("zh-CN", f"您的工单号是{i}号。") if i % 2 else ("en-US", f"Your ticket number is {i}.")
        path = tmp_path / f"{i}.wav"
        renderer.render(text, lang, path)
        lengths[i] = read_wav(path).duration
    assert all(0.3 < s < 5 for s in lengths.values())
    # Mandarin sentences here are longer than the English ones: each file got its own language's text.
    assert min(lengths[i] for i in range(1, 40, 2)) > 0.5
    from ivr.audio.tts import shared_engine

    driver = shared_engine().proxy._driver
    assert driver._save_file is None
    assert driver._text_to_say is None
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{i}.wav" for i in range(40))  # no temporary files left


@needs_espeak
def test_real_renderer_refuses_blank_text_and_unknown_languages(tmp_path: Path) -> None:
    """Blank text and a language without an espeak-ng voice raise clear TtsErrors and write nothing."""
    renderer = Pyttsx3Renderer()
    with pytest.raises(TtsError, match="blank"):
        renderer.render("   ", "en-US", tmp_path / "blank.wav")
    with pytest.raises(VoiceNotFoundError, match="xx-YY"):
        renderer.render("Hello.", "xx-YY", tmp_path / "unknown.wav")
    assert list(tmp_path.iterdir()) == []


@needs_espeak
def test_first_render_of_a_process_waits_for_espeak(tmp_path: Path) -> None:
    """In a fresh process, a long first text is complete on return, and nothing leaks to stdout or stderr."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from ivr.audio import Pyttsx3Renderer, duration\n"
        "path = Path(sys.argv[1])\n"
        "Pyttsx3Renderer().render('Thank you for calling the after-sales support hotline. ' * 8, 'en-US', path)\n"
        "print(duration(path))\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", script, str(tmp_path / "long.wav")], capture_output=True, text=True, timeout=120, check=False
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert float(done.stdout) > 15  # the whole text, not whatever espeak had produced after 10 ms
