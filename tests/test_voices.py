"""What the caller hears over Twilio: one voice per language, and a part in another language in that language's voice."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import pytest

from ivr.loading.menu_loader import check_menu
from ivr.loading.scope_loader import read_scope
from ivr.testing.phone import FlaskTransport, PhoneCall
from ivr.testmode import CLOCK_FIELD, LANG_FIELD
from tests.conftest import AFTER_HOURS, ROOT, Caller
from tests.test_menu_coverage import TOUR, _catalog_tour
from tests.webhooks import PUBLIC_URL, TOKEN, Clock, make_app
from tests.workspace import copy_workspace, run_ivr

CJK = re.compile(r"[\u3400-\u9fff]")
SHIPPED_VOICES = {"zh-CN": {("Polly.Zhiyu", "cmn-CN")}, "en-US": {("Polly.Joanna", "en-US")}}
OFFERS = {"For English, press 9.", "中文服务请按9。"}


@pytest.mark.parametrize("lang", ["zh-CN", "en-US"])
def test_every_node_speaks_each_language_in_one_voice(tmp_path: Path, lang: str) -> None:
    """Walking every node of the shipped menu, each <Say> of Chinese is Zhiyu and of English Joanna; the offer is its own <Say>."""
    app = make_app(f"sqlite:///{tmp_path / 'db.sqlite3'}", Clock(), IVR_TEST_CLOCK="1")
    voices: dict[str, set[tuple[str | None, str | None]]] = defaultdict(set)
    offers: set[str] = set()
    nodes: set[str] = set()
    for at, keys, options in TOUR + _catalog_tour(read_scope(ROOT / "scope")):
        phone = PhoneCall(FlaskTransport(app), PUBLIC_URL, TOKEN, extra={CLOCK_FIELD: at.isoformat()}, first={LANG_FIELD: lang}, **options)
        phone.run(["" if k == "-" else k for k in keys.split()])
        nodes |= {line.get("node", "") for line in phone.lines}
        for body in phone.responses:
            for say in ET.fromstring(body).iter("Say"):
                text = (say.text or "").strip()
                spoken = "zh-CN" if CJK.search(text) else "en-US"
                voices[spoken].add((say.get("voice"), say.get("language")))
                if any(offer in text for offer in OFFERS):
                    assert text in OFFERS, f"the language offer shares a <Say> with other words: {text!r}"
                    offers.add(text)
    assert dict(voices) == SHIPPED_VOICES
    assert offers == {"zh-CN": {"For English, press 9."}, "en-US": {"中文服务请按9。"}}[lang]  # the other language's offer, alone
    assert {"main", "closed", "scope_menu", "scope_menu.system_tools", "ticket_number", "goodbye"} <= nodes


def test_after_hours_caller_switches_to_english_and_leaves_an_english_ticket(tmp_path: Path) -> None:
    """After hours, 9 switches a Chinese call to English and the message becomes an English ticket."""
    db = tmp_path / "t.sqlite3"
    at = "2026-11-30T22:30:00+08:00"
    call = run_ivr("call", "--at", at, "--keys", "9 1", "--voicemail", "cannot log in", "--lang", "zh-CN", "--db", str(db), "--json")
    assert call.returncode == 0, call.stderr
    assert "Our phone lines are closed now" in call.stdout and "Your ticket number is" in call.stdout
    tickets = run_ivr("tickets", "list", "--json", "--db", str(db))
    assert [(t["language"], t["category"], t["description"]) for t in __import__("json").loads(tickets.stdout)] == [
        ("en-US", "voicemail", "cannot log in")
    ]


def test_a_menu_that_maps_the_language_key_is_warned(tmp_path: Path) -> None:
    """A menu that gives key 9 its own meaning keeps it, and lint says that 9 switches language everywhere else."""
    menu = copy_workspace(tmp_path)
    text = menu.read_text(encoding="utf-8")
    menu.write_text(text.replace("      0: agent\n", "      0: agent\n      9: agent\n", 1), encoding="utf-8")
    warnings = [p.message for p in check_menu(menu) if p.severity == "warning"]
    assert "key 9 is the language key in every other menu; here it leads to 'agent'" in warnings


def test_the_language_key_can_be_changed_or_turned_off(tmp_path: Path) -> None:
    """`language_key: "8"` moves the switch to 8; an empty language key turns it off (9 is then a wrong key)."""
    menu = copy_workspace(tmp_path)
    text = menu.read_text(encoding="utf-8")
    menu.write_text(text.replace("  start: welcome\n", '  start: welcome\n  language_key: "8"\n', 1), encoding="utf-8")
    moved = run_ivr("call", "--menu", str(menu), "--db", str(tmp_path / "a.sqlite3"), "--at", "2026-11-30T10:00:00+08:00", "--keys", "8")
    assert "For business partnerships, press 1" in moved.stdout
    menu.write_text(text.replace("  start: welcome\n", '  start: welcome\n  language_key: ""\n', 1), encoding="utf-8")
    off = run_ivr("call", "--menu", str(menu), "--db", str(tmp_path / "b.sqlite3"), "--at", "2026-11-30T10:00:00+08:00", "--keys", "9")
    assert "抱歉，您的输入有误" in off.stdout and "For business partnerships" not in off.stdout


def test_a_segment_in_a_language_the_menu_lacks_is_a_located_error(tmp_path: Path) -> None:
    """`{fr-FR: …}` in a prompt of a zh-CN/en-US menu is an error at that text."""
    menu = copy_workspace(tmp_path)
    text = menu.read_text(encoding="utf-8")
    old = "{en-US: For English, press 9.}"
    assert old in text
    menu.write_text(text.replace(old, old + "{fr-FR: Pour le français, tapez 8.}", 1), encoding="utf-8")
    line = next(i for i, row in enumerate(menu.read_text(encoding="utf-8").splitlines(), start=1) if "fr-FR" in row)
    messages = [(p.line, p.message) for p in check_menu(menu)]
    assert (line, "a segment in 'fr-FR', which is not one of the menu's languages (zh-CN, en-US)") in messages


def test_order_status_follows_a_language_switch(caller: Caller) -> None:
    """A caller who presses 9 at the order status hears the status again in English, not the Chinese one."""
    call = caller.dial("2 202611280001# 9")
    statuses = [line for line in call.of("say") if line["node"] == "order_status"]
    assert [s["lang"] for s in statuses] == ["zh-CN", "en-US"]
    assert "已支付" in statuses[0]["text"] and not CJK.search(statuses[1]["text"])


def test_serve_says_where_each_language_is_heard_from(tmp_path: Path) -> None:
    """At start, `ivr serve` prints each language's source: the carrier's voice for the shipped menu."""
    from tests.server import running_server

    with running_server(tmp_path) as server:
        log = server.log.read_text(encoding="utf-8", errors="replace")
    assert "ivr serve: zh-CN: carrier voice (the menu asks for the carrier's voice Polly.Zhiyu)" in log
    assert "ivr serve: en-US: carrier voice (the menu asks for the carrier's voice Polly.Joanna)" in log


def test_a_language_played_from_audio_stays_spoken_until_every_piece_is_built(tmp_path: Path) -> None:
    """`source: audio` with audio/ missing pieces keeps the whole language on the carrier's voice, saying why."""
    from ivr.audio.index import AudioIndex
    from ivr.audio.plan import voice_sources
    from ivr.loading.menu_loader import load_menu

    menu = copy_workspace(tmp_path)
    text = menu.read_text(encoding="utf-8").replace("render: cmn-latn-pinyin}", "render: cmn-latn-pinyin, source: audio}")
    menu.write_text(text, encoding="utf-8")
    sources = voice_sources(load_menu(menu), AudioIndex(tmp_path / "audio"))
    assert sources["zh-CN"].source == "say" and "pieces not built" in sources["zh-CN"].reason
    assert sources["en-US"].source == "say" and "carrier's voice" in sources["en-US"].reason


def test_a_switch_of_language_starts_the_counts_afresh(caller: Caller) -> None:
    """After two silences in Chinese, 9 gives the caller all three tries again in English."""
    call = caller.dial("- - 9 - -", at=AFTER_HOURS)
    assert not call.ticket  # two English silences are still within the three allowed
    assert [line["lang"] for line in call.of("say") if line["node"] == "closed"][-1] == "en-US"


def test_an_empty_segment_is_an_error(tmp_path: Path) -> None:
    """`{en-US: }` would be heard as nothing: it is an error at its text."""
    menu = copy_workspace(tmp_path)
    text = menu.read_text(encoding="utf-8")
    menu.write_text(text.replace("{en-US: For English, press 9.}", "{en-US:  }", 1), encoding="utf-8")
    assert any("an empty {en-US: } segment" in p.message for p in check_menu(menu))


def test_a_played_language_with_a_missing_file_stays_spoken(tmp_path: Path) -> None:
    """If a catalogued file is gone, the language is not played: no caller is sent to a URL that answers 404."""
    import shutil as sh

    from ivr.audio.index import AudioIndex
    from ivr.audio.manifest import AudioManifest
    from ivr.audio.plan import voice_sources
    from ivr.loading.menu_loader import load_menu

    if sh.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (make test installs it)")
    menu = copy_workspace(tmp_path)
    text = menu.read_text(encoding="utf-8").replace("render: cmn-latn-pinyin}", "render: cmn-latn-pinyin, source: audio}")
    menu.write_text(text, encoding="utf-8")
    audio = tmp_path / "audio"
    assert run_ivr("audio", "build", "--menu", str(menu), "--out", str(audio), timeout=600).returncode == 0
    loaded = load_menu(menu)
    assert voice_sources(loaded, AudioIndex(audio))["zh-CN"].source == "audio"
    entry = next(e for e in AudioManifest.load(audio) if e.lang == "zh-CN" and e.prompt == "main")
    (audio / entry.telephone).unlink()
    assert voice_sources(loaded, AudioIndex(audio))["zh-CN"].source == "say"
    check = run_ivr("audio", "check", "--menu", str(menu), "--out", str(audio), timeout=300)
    assert check.returncode == 1 and "main [zh-CN]: not built" in check.stdout
    wrong = menu.read_text(encoding="utf-8").replace("render: cmn-latn-pinyin", "render: en-us")
    menu.write_text(wrong, encoding="utf-8")
    spoken_in_english = run_ivr("audio", "check", "--menu", str(menu), "--out", str(tmp_path / "none"), timeout=300)
    assert spoken_in_english.returncode == 1 and "voice 'en-us' does not speak zh-CN" in spoken_in_english.stdout


def test_healthz_shows_where_each_language_is_heard_from(tmp_path: Path) -> None:
    """/healthz says, per language, whether new calls hear the carrier's voice or audio."""
    app = make_app(f"sqlite:///{tmp_path / 'db.sqlite3'}", Clock())
    body = app.test_client().get("/healthz").get_json()
    assert body["voices"] == {"zh-CN": "say", "en-US": "say"}
