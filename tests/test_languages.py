"""Languages come from the menu: a menu in three languages loads, checks, runs and renders; scope data must give them all."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ivr.audio.prompts import menu_prompts
from ivr.config import Settings
from ivr.hotline import engine_for
from ivr.loading.menu_loader import check_menu, load_menu
from ivr.simulator import SimulatedCall
from ivr.store.tickets import TicketStore
from ivr.testing.phone import FlaskTransport, PhoneCall
from tests.conftest import IN_HOURS, ROOT
from tests.webhooks import PUBLIC_URL, TOKEN, Clock, make_app
from tests.workspace import copy_workspace, run_ivr

THREE = ROOT / "tests" / "menus" / "languages" / "three.yaml"
JAPANESE_GREETING = "お電話ありがとうございます。アフターサポートです。"


def test_three_language_menu_checks_clean() -> None:
    """`ivr menu check` passes a menu whose languages are zh-CN, en-US and ja-JP."""
    assert check_menu(THREE) == []
    result = run_ivr("menu", "check", "--strict", str(THREE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_language_key_cycles_through_all_three(store: TicketStore) -> None:
    """The language node moves to the menu's next language each time, through all three and round again."""
    engine = engine_for(load_menu(THREE), store, Settings())
    call = SimulatedCall(engine, at=IN_HOURS)
    call.run(["9", "9", "9", "1"])
    langs = [line["lang"] for line in call.lines if line["type"] == "say" and line["node"] == "main"]
    assert langs == ["zh-CN", "en-US", "ja-JP", "zh-CN"]
    assert call.lines[-1] == {"type": "hangup", "node": "agent", "reason": "transferred"}


def test_call_can_start_in_the_third_language(store: TicketStore) -> None:
    """A call started in ja-JP hears the Japanese prompts."""
    engine = engine_for(load_menu(THREE), store, Settings())
    call = SimulatedCall(engine, at=IN_HOURS, lang="ja-JP")
    call.run(["1"])
    assert call.lines[0] == {"type": "say", "node": "welcome", "lang": "ja-JP", "text": JAPANESE_GREETING}


def test_console_call_in_the_third_language(tmp_path: Path) -> None:
    """`ivr call --lang ja-JP` on the three-language menu speaks Japanese and transfers."""
    result = run_ivr(
        "call",
        "--menu",
        str(THREE),
        "--db",
        str(tmp_path / "t.sqlite3"),
        "--lang",
        "ja-JP",
        "--at",
        "2026-11-30T10:00:00+08:00",
        "--keys",
        "1",
    )
    assert result.returncode == 0, result.stderr
    assert JAPANESE_GREETING in result.stdout and "transfer to queue 'general'" in result.stdout


def test_webhooks_speak_the_third_language_with_its_voice(tmp_path: Path) -> None:
    """Over Twilio, a Japanese prompt is a <Say> with the menu's ja-JP voice; the fallback apologises in all three."""
    app = make_app(f"sqlite:///{tmp_path / 'db.sqlite3'}", Clock(), IVR_MENU=str(THREE))
    call = PhoneCall(FlaskTransport(app), PUBLIC_URL, TOKEN)
    call.run(["9", "9", "1"])
    japanese = [line for line in call.lines if line["type"] == "say" and line["lang"] == "ja-JP"]
    assert japanese and {line["voice"] for line in japanese} == {"Polly.Mizuki"}
    fallback = PhoneCall(FlaskTransport(app), PUBLIC_URL, TOKEN).post("/voice/fallback", ErrorCode="11200")
    assert [say.get("language") for say in fallback.iter("Say")] == ["zh-CN", "en-US", "ja-JP"]


def test_every_language_is_in_the_audio_prompt_list() -> None:
    """`ivr audio build` renders each fixed prompt in each of the three languages."""
    specs = menu_prompts(load_menu(THREE))
    assert {spec.lang for spec in specs} == {"zh-CN", "en-US", "ja-JP"}
    assert any(spec.lang == "ja-JP" and spec.text == JAPANESE_GREETING for spec in specs)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (make test installs it)")
def test_third_language_is_rendered_with_its_own_voice(tmp_path: Path) -> None:
    """The renderer finds espeak-ng's Japanese voice for ja-JP from the tag alone."""
    from ivr.audio import Pyttsx3Renderer, duration

    renderer = Pyttsx3Renderer()
    assert renderer.voice_id("ja-JP").endswith("/ja")
    renderer.render(JAPANESE_GREETING, "ja-JP", tmp_path / "ja.wav")
    assert duration(tmp_path / "ja.wav") > 0.5


def test_scope_without_the_menus_language_is_a_located_error(tmp_path: Path) -> None:
    """A menu whose languages the scope files do not all give gets FILE:LINE:COLUMN errors from `ivr menu check`, not a traceback."""
    menu = copy_workspace(tmp_path)
    text = menu.read_text(encoding="utf-8").replace("languages: [zh-CN, en-US]", "languages: [zh-CN, en-US, ja-JP]", 1)
    menu.write_text(text, encoding="utf-8")
    result = run_ivr("menu", "check", str(menu))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "KeyError" not in result.stderr
    scope_errors = [line for line in result.stdout.splitlines() if "/scope/" in line and "has no 'ja-JP' text" in line]
    assert scope_errors, result.stdout
    assert all(line.split(":")[1].isdigit() and line.split(":")[2].isdigit() for line in scope_errors)
