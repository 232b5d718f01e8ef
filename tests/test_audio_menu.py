"""Prompt audio for a menu: `ivr audio build`, prerecorded prompts, <Play> in TwiML and --speak playback."""

from __future__ import annotations

import json
import shutil
import wave
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from ivr.audio import AudioManifest, Entry
from ivr.audio.index import AudioIndex
from ivr.audio.prompts import menu_prompts
from ivr.engine.actions import Say
from ivr.loading.menu_loader import load_menu
from ivr.speech import Speaker
from tests.webhooks import PUBLIC_URL, TOKEN, Clock, make_app
from tests.workspace import run_ivr

BASELINE = Path(__file__).parent / "menus" / "broken" / "_valid.yaml"
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (make test installs it)")


def small_menu(folder: Path, recording: Path | None = None, source: str = "") -> Path:
    """A copy of the small baseline menu, optionally with a prerecorded English welcome, and Chinese played from `source`."""
    text = BASELINE.read_text(encoding="utf-8")
    if source:
        voice = f"  voices: {{zh-CN: {{voice: Polly.Zhiyu, language: cmn-CN, source: {source}}}}}\n"
        text = text.replace("  fallback_queue: general\n", "  fallback_queue: general\n" + voice)
    if recording is not None:
        text = text.replace(
            "      en-US: Hello, and welcome to after-sales technical support.\n",
            f"      en-US: {{text: 'Hello, and welcome to after-sales technical support.', audio: {recording.name}}}\n",
        )
    path = folder / "menu.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def build(menu: Path, out: Path) -> dict[str, Any]:
    """Run `ivr audio build` and return its manifest."""
    result = run_ivr("audio", "build", "--menu", str(menu), "--out", str(out), timeout=300)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return {"stdout": result.stdout, "manifest": data}


@needs_espeak
def test_build_is_incremental_and_files_are_valid(tmp_path: Path) -> None:
    """A second build renders nothing; editing one prompt re-renders only it; every file is a WAV of its stated length."""
    menu = small_menu(tmp_path)
    out = tmp_path / "audio"
    first = build(menu, out)
    count = len(menu_prompts(load_menu(menu)))
    assert first["stdout"].startswith(f"{count} rendered")
    second = build(menu, out)
    assert second["stdout"].startswith("0 rendered") and f"{count} reused" in second["stdout"]
    assert second["manifest"] == first["manifest"]
    menu.write_text(menu.read_text(encoding="utf-8").replace("Goodbye.", "Goodbye, and thank you."), encoding="utf-8")
    third = build(menu, out)
    assert third["stdout"].startswith("1 rendered") and "1 removed" in third["stdout"]
    manifest = AudioManifest.load(out)
    for entry in manifest:
        with wave.open(str(out / entry.file)) as w:
            assert abs(w.getnframes() / w.getframerate() - entry.duration) < 0.002
        with wave.open(str(out / entry.telephone)) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
            assert abs(w.getnframes() / 8000 - entry.duration) < 0.02


@needs_espeak
def test_prerecorded_prompt_is_used_instead_of_speech(tmp_path: Path) -> None:
    """A prompt that names a WAV file is imported as a recording, not rendered."""
    recording = tmp_path / "welcome-en.wav"
    with wave.open(str(recording), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x00\x10" * 16000)
    menu = small_menu(tmp_path, recording)
    out = tmp_path / "audio"
    build(menu, out)
    entry = AudioManifest.load(out).lookup("en-US", "Hello, and welcome to after-sales technical support.")
    assert entry is not None and entry.source == "recording" and abs(entry.duration - 1.0) < 0.002


@needs_espeak
def test_webhook_plays_every_prompt_of_a_language_played_from_audio(tmp_path: Path) -> None:
    """With `source: audio` and audio built, every Chinese prompt is <Play> (no Chinese <Say>); the audio URL serves the WAV."""
    menu = small_menu(tmp_path, source="audio")
    out = tmp_path / "audio"
    build(menu, out)
    app = make_app(f"sqlite:///{tmp_path / 'db.sqlite3'}", Clock(), IVR_MENU=str(menu), IVR_AUDIO_DIR=str(out))
    from ivr.testing.phone import FlaskTransport, PhoneCall

    call = PhoneCall(FlaskTransport(app), PUBLIC_URL, TOKEN)
    call.run([])
    first = ET.fromstring(call.responses[0])
    plays = [p.text or "" for p in first.iter("Play")]
    assert plays and all(p.startswith(f"{PUBLIC_URL}/voice/audio/zh-CN/") and p.endswith(".8k.wav") for p in plays)
    assert [s.text for body in call.responses for s in ET.fromstring(body).iter("Say") if s.get("language") == "cmn-CN"] == []
    response = app.test_client().get(plays[0].removeprefix(PUBLIC_URL))
    body = response.get_data()
    response.close()
    assert response.status_code == 200 and body[:4] == b"RIFF"
    assert app.test_client().get("/voice/audio/../manifest.json").status_code == 404


def test_speak_plays_a_language_from_audio_or_speaks_it_whole(tmp_path: Path) -> None:
    """--speak plays the rendered pieces of a language played from audio, and speaks a language that is not, never both."""
    out = tmp_path / "audio"
    out.mkdir()
    (out / "zh-CN").mkdir()
    (out / "zh-CN" / "a.wav").write_bytes(b"RIFF")
    manifest = AudioManifest(out)
    manifest.add(Entry("k1", "welcome", "zh-CN", "您好", "zh-CN/a.wav", "zh-CN/a.8k.wav", 1.0, "tts"))
    manifest.save()

    class FakeTts:
        def __init__(self) -> None:
            self.said: list[str] = []

        def getProperty(self, name: str) -> list[object]:
            return []

        def setProperty(self, name: str, value: object) -> None:
            pass

        def say(self, text: str) -> None:
            self.said.append(text)

        def runAndWait(self) -> None:
            pass

    played: list[Path] = []
    tts = FakeTts()
    speaker = Speaker(tts, AudioIndex(out), play=played.append, played_languages={"zh-CN"})
    speaker.say_action(Say.of("welcome", "zh-CN", "您好", {}))
    speaker.say_action(Say.of("welcome", "en-US", "Hello", {}))
    assert played == [out / "zh-CN" / "a.wav"] and tts.said == ["Hello"]
