"""Rendered prompts are checked as they will be heard: espeak-ng's phonemes for each part must stay in its language."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ivr.audio import duration
from ivr.audio.phonemes import check_prompts
from ivr.audio.prompts import menu_prompts, renderer_for
from ivr.audio.tts import Pyttsx3Renderer
from ivr.loading.menu_loader import load_menu
from tests.conftest import SHIPPED_MENU
from tests.workspace import copy_workspace, run_ivr

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (make test installs it)")


def test_latin_runs_of_a_chinese_prompt_go_to_the_english_voice() -> None:
    """Product names, the English offer and symbols in Chinese text are English parts; digits stay Chinese."""
    renderer = Pyttsx3Renderer()
    assert renderer.parts("商务合作请按1。For English, press 9. 重听请按星号键。", "zh-CN") == [
        ("zh-CN", "商务合作请按1。"),
        ("en-US", "For English, press 9."),
        ("zh-CN", " 重听请按星号键。"),
    ]
    assert renderer.parts("SSH 服务与 NGINX 配置", "zh-CN") == [
        ("en-US", "SSH"),
        ("zh-CN", " 服务与 "),
        ("en-US", "NGINX"),
        ("zh-CN", " 配置"),
    ]
    assert renderer.parts("Press 1 for SSH.", "en-US") == [("en-US", "Press 1 for SSH.")]


@needs_espeak
def test_shipped_menu_speaks_mandarin_as_mandarin() -> None:
    """With the shipped voices (cmn-latn-pinyin for zh-CN), no rendered part of any prompt switches language."""
    menu = load_menu(SHIPPED_MENU)
    assert check_prompts(menu_prompts(menu), renderer_for(menu)) == []


@needs_espeak
def test_check_catches_the_cmn_voice(tmp_path: Path) -> None:
    """Switched to espeak-ng's `cmn` voice (pinyin read in English), `ivr audio check` fails and names the prompts."""
    menu = copy_workspace(tmp_path)
    text = menu.read_text(encoding="utf-8")
    assert "render: cmn-latn-pinyin" in text
    menu.write_text(text.replace("render: cmn-latn-pinyin", "render: cmn"), encoding="utf-8")
    result = run_ivr("audio", "check", "--menu", str(menu), "--out", str(tmp_path / "none"), timeout=300)
    assert result.returncode == 1, result.stdout
    assert "welcome:piece0 [zh-CN, voice cmn]: read as 'en', not as zh-CN" in result.stdout
    assert "goodbye [zh-CN, voice cmn]" in result.stdout


@needs_espeak
def test_a_mixed_prompt_is_one_file_in_two_voices(tmp_path: Path) -> None:
    """A Chinese prompt with an English offer renders to one WAV holding both parts."""
    renderer = Pyttsx3Renderer()
    renderer.render("商务合作请按1。", "zh-CN", tmp_path / "zh.wav")
    renderer.render("For English, press 9.", "en-US", tmp_path / "en.wav")
    renderer.render("商务合作请按1。For English, press 9.", "zh-CN", tmp_path / "both.wav")
    both = duration(tmp_path / "both.wav")
    assert both > duration(tmp_path / "zh.wav") + duration(tmp_path / "en.wav")  # the parts and the gap between them
    assert sorted(p.name for p in tmp_path.iterdir()) == ["both.wav", "en.wav", "zh.wav"]  # no part files left behind
