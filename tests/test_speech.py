"""Speech input: what a caller says is matched as a caller means it, in every adapter, and ops are told what is wrong."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import ClassVar

import pytest

from ivr.engine.engine import Engine
from ivr.engine.events import Entry, Speech
from ivr.engine.snapshot import CallSnapshot
from ivr.errors import DefinitionError
from ivr.loading.menu_loader import check_menu, load_menu
from ivr.qa.flow import load_flow
from ivr.qa.utterances import evaluate
from ivr.testing.phone import ACCOUNT_SID, recognised
from ivr.understanding import HINTS_MAX, PhraseIndex, normalise, spoken_digits
from tests.conftest import IN_HOURS, ROOT, SHIPPED_MENU
from tests.menu_variants import messages, variant
from tests.webhooks import Hotline, make_hotline, sid, signed_post
from tests.workspace import run_ivr

CORPUS = ROOT / "tests" / "speech"


class TestMatching:
    """The matcher, as a recogniser's text reaches it."""

    MAIN: ClassVar[dict[str, list[str]]] = {
        "2": ["订单", "查订单", "订单状态"],
        "3": ["账号", "登录", "密码", "账号锁定"],
        "4": ["支持范围"],
        "5": ["不支持"],
        "0": ["人工"],
    }

    def test_punctuation_width_case_and_fillers_are_taken_out(self) -> None:
        assert normalise("我想，查一下 ＮＧＩＮＸ 订单。", "zh-CN") == "查 nginx 订单"
        assert normalise("I want to check my ORDER.", "en-US") == "check order"

    def test_a_homophone_the_recogniser_chose_still_matches(self) -> None:
        index = PhraseIndex("zh-CN", self.MAIN)
        assert index.match("账号登陆不上了").options == ("3",)
        assert index.match("我的帐号").options == ("3",)

    def test_a_phrase_counts_only_on_a_word_boundary(self) -> None:
        assert PhraseIndex("zh-CN", self.MAIN).match("预订单价是多少").options == ()

    def test_the_longer_phrase_wins_and_the_one_said_first_wins_an_overlap(self) -> None:
        index = PhraseIndex("zh-CN", self.MAIN)
        assert index.match("账号锁定了").phrases == ("账号锁定",)
        assert index.match("不支持范围").options == ("5",)

    def test_two_options_named_at_once_are_both_returned(self) -> None:
        assert set(PhraseIndex("zh-CN", self.MAIN).match("查订单，还有人工").options) == {"2", "0"}

    @pytest.mark.parametrize(
        ("said", "lang", "digits"),
        [
            ("幺三八零零一三八零零零", "zh-CN", "13800138000"),
            ("我看一下啊，是四零幺七二八三九", "zh-CN", "40172839"),  # the 一 of 一下 is no digit
            ("订单号是１２３４５６７８。", "zh-CN", "12345678"),
            ("one two three four five six", "en-US", "123456"),
            ("double five six seven eight nine oh oh", "en-US", "55678900"),
            ("I want to talk to someone", "en-US", ""),
        ],
    )
    def test_spoken_digits(self, said: str, lang: str, digits: str) -> None:
        assert spoken_digits(said, lang) == digits


def at_node(engine: Engine, node: str, lang: str = "zh-CN") -> CallSnapshot:
    """A call waiting at `node` of the shipped menu."""
    return CallSnapshot(sid(node), "+8613800000000", lang, node, engine.menu.version, menu=node)


class TestEngine:
    """Speech through the engine: the counters and prompts of keys apply."""

    def test_speech_where_nobody_listens_is_silence(self, engine: Engine) -> None:
        step = engine.handle(at_node(engine, "order_status"), Speech("转人工"), IN_HOURS)
        assert [e.trigger for e in step.transitions] == ["no_input"] and step.snapshot.no_input == 1

    def test_an_unsure_result_is_a_wrong_entry_with_its_own_prompt(self, engine: Engine) -> None:
        step = engine.handle(at_node(engine, "main"), Speech("订单", confidence=0.2), IN_HOURS)
        assert [e.trigger for e in step.transitions] == ["not_understood"] and step.snapshot.invalid == 1
        assert "我没有听清" in step.actions[0].to_dict()["text"]

    def test_two_options_are_asked_about_and_the_answer_chooses(self, engine: Engine) -> None:
        step = engine.handle(at_node(engine, "main"), Speech("订单和账号"), IN_HOURS)
        question = step.actions[0].to_dict()["text"]
        assert [e.trigger for e in step.transitions] == ["unclear"] and "订单" in question and "账号" in question
        assert step.snapshot.invalid == 0
        answer = engine.handle(step.snapshot, Speech("账号吧"), IN_HOURS)
        assert answer.snapshot.node == "account" and answer.snapshot.choices == []

    def test_too_many_misunderstandings_take_the_failure_path(self, engine: Engine) -> None:
        snap = at_node(engine, "account")
        for _ in range(3):
            step = engine.handle(snap, Speech("今天天气怎么样"), IN_HOURS)
            snap = step.snapshot
        assert snap.node == "agent" and snap.invalid == 0  # the menu's failure path: a person, in hours

    def test_a_key_said_aloud_is_the_key(self, engine: Engine) -> None:
        assert engine.handle(at_node(engine, "main"), Speech("按三"), IN_HOURS).snapshot.node == "account"
        assert engine.handle(at_node(engine, "main", "en-US"), Speech("Press two."), IN_HOURS).snapshot.node == "order_entry"

    def test_a_software_named_at_the_catalogue_is_reached_directly(self, engine: Engine) -> None:
        step = engine.handle(at_node(engine, "scope_menu"), Speech("我的NGINX配置有问题"), IN_HOURS)
        assert step.transitions[0].dest == "scope_menu.system_tools.nginx"

    def test_keys_still_work_where_speech_is_on(self, engine: Engine) -> None:
        assert engine.handle(at_node(engine, "main"), Entry("2"), IN_HOURS).snapshot.node == "order_entry"


@pytest.mark.parametrize(
    ("lang", "keys"),
    [
        ("zh-CN", '"我想查一下订单" "幺二三四五六七八" 0'),
        ("en-US", '"I want to check my order." "one two three four five six seven eight" 0'),
    ],
)
def test_console_reaches_the_order_lookup_by_speech_and_an_agent(tmp_path: Path, lang: str, keys: str) -> None:
    """The issue's call: speech to the order lookup, the order read out, then 0 for the orders team."""
    out = run_ivr("call", "--at", "2026-11-30T10:00:00+08:00", "--lang", lang, "--keys", keys, "--json").stdout
    assert '"speech": "' in out
    assert '"node": "order_entry"' in out and "1 2 3 4 5 6 7 8" in out
    assert out.count('"type": "transfer"') == 1 and '"queue": "orders"' in out


class TestWebhooks:
    """Signed requests as Twilio sends them."""

    @pytest.fixture
    def hotline(self, tmp_path: Path) -> Hotline:
        return make_hotline(tmp_path)

    def start(self, hotline: Hotline, call: str, lang: str = "") -> ET.Element:
        form = {"CallSid": call, "AccountSid": ACCOUNT_SID, "From": "+8613800000000", "To": "+864008500030", "CallStatus": "ringing"}
        response = signed_post(hotline.apps[0], "/voice/incoming", form)
        assert response.status_code == 200
        root = ET.fromstring(response.get_data())
        if lang == "en-US":  # 9 switches language at the first menu
            return self.gather(hotline, call, root, Digits="9")
        return root

    def gather(self, hotline: Hotline, call: str, root: ET.Element, **fields: str) -> ET.Element:
        action = root.find("Gather")
        assert action is not None
        form = {"CallSid": call, "AccountSid": ACCOUNT_SID, "From": "+8613800000000", "To": "+864008500030", "CallStatus": "in-progress"}
        response = signed_post(hotline.apps[0], action.get("action", ""), {**form, **fields})
        assert response.status_code == 200, response.get_data(as_text=True)
        return ET.fromstring(response.get_data())

    @pytest.mark.parametrize(("lang", "recogniser", "phrase"), [("zh-CN", "cmn-Hans-CN", "订单"), ("en-US", "en-US", "order status")])
    def test_gather_listens_in_the_call_language_with_hints(self, hotline: Hotline, lang: str, recogniser: str, phrase: str) -> None:
        gather = self.start(hotline, sid(f"listen-{lang}"), lang).find("Gather")
        assert gather is not None
        assert gather.get("input") == "dtmf speech" and gather.get("language") == recogniser
        assert gather.get("speechTimeout") == "auto"
        hints = (gather.get("hints") or "").split(",")
        assert phrase in hints and len(hints) <= HINTS_MAX and all(0 < len(h) <= 100 for h in hints)

    def test_a_result_with_punctuation_and_no_confidence_routes(self, hotline: Hotline) -> None:
        call = sid("speech-zh")
        root = self.gather(hotline, call, self.start(hotline, call), SpeechResult="我想查一下订单。")
        assert "请输入您的订单号" in "".join(s.text or "" for s in root.iter("Say"))

    def test_english_result_routes(self, hotline: Hotline) -> None:
        call = sid("speech-en")
        root = self.gather(hotline, call, self.start(hotline, call, "en-US"), SpeechResult="I forgot my password.", Confidence="0.91")
        said = "".join(s.text or "" for s in root.iter("Say"))
        assert "forgot your password" in said

    def test_low_confidence_is_an_invalid_entry(self, hotline: Hotline) -> None:
        call = sid("speech-unsure")
        root = self.gather(hotline, call, self.start(hotline, call), SpeechResult="订单。", Confidence="0.12")
        said = "".join(s.text or "" for s in root.iter("Say"))
        assert "我没有听清" in said and root.find("Gather") is not None

    def test_stand_in_speaks_as_twilio_writes(self) -> None:
        assert recognised("我想查订单") == "我想查订单。" and recognised("my order") == "my order." and recognised("Yes?") == "Yes?"


class TestMenuCheck:
    """`ivr menu check` on menus with speech mistakes."""

    SPEECH = """    speech: on
    phrases:
      1: {zh-CN: [人工, 客服], en-US: [agent]}
      2: {zh-CN: [结束], en-US: [goodbye]}
"""

    def menu(self, tmp_path: Path, phrases: str) -> Path:
        with_texts = variant(
            tmp_path,
            "    on_max_failures: agent\n",
            '    on_max_failures: agent\n    not_understood: {zh-CN: 没听清。, en-US: "Sorry, I did not catch that."}\n'
            '    which: {zh-CN: "您是要{choices}？", en-US: "Did you mean {choices}?"}\n',
        )
        text = with_texts.read_text(encoding="utf-8").replace("      2: goodbye\n", "      2: goodbye\n" + phrases, 1)
        with_texts.write_text(text, encoding="utf-8")
        return with_texts

    def test_a_sound_speech_menu_passes(self, tmp_path: Path) -> None:
        assert [m for m in messages(self.menu(tmp_path, self.SPEECH)) if "error" in m or "phrase" in m] == []

    def test_a_phrase_two_options_share_is_an_error(self, tmp_path: Path) -> None:
        found = messages(self.menu(tmp_path, self.SPEECH.replace("[结束]", "[结束, 客服]")))
        assert any("'客服' of key '2' is also a phrase of key '1'" in m for m in found)

    def test_a_phrase_missing_in_a_language_is_an_error(self, tmp_path: Path) -> None:
        found = messages(self.menu(tmp_path, self.SPEECH.replace(", en-US: [goodbye]", "")))
        assert any("key '2' has no phrase in en-US" in m for m in found)

    def test_a_phrase_inside_another_options_phrase_is_a_warning(self, tmp_path: Path) -> None:
        path = self.menu(tmp_path, self.SPEECH.replace("[结束]", "[结束, 人工结束]"))
        problems = check_menu(path)
        assert [p.severity for p in problems if "lies inside" in p.message] == ["warning"]

    def test_hints_over_the_recognisers_limits_are_errors(self, tmp_path: Path) -> None:
        many = ", ".join(f"词{i}" for i in range(HINTS_MAX))
        found = messages(self.menu(tmp_path, self.SPEECH + f"    hints: {{zh-CN: '{many}', en-US: '{'x' * 101}'}}\n"))
        assert any("the recogniser takes at most 500" in m for m in found)
        assert any("longer than the recogniser's 100 characters" in m for m in found)

    def test_a_comma_in_a_phrase_is_located(self, tmp_path: Path) -> None:
        found = messages(self.menu(tmp_path, self.SPEECH.replace("[结束]", "['结束,再见']")))
        assert any(re.match(r"\d+:\d+ phrase '结束,再见' contains a comma", m) for m in found)


def test_matcher_meets_its_targets_on_the_labelled_utterances(engine: Engine) -> None:
    """At least 95 % of in-scope utterances reach the option meant; at most 2 % of the rest reach any option."""
    for path in sorted(CORPUS.glob("*.yaml")):
        figures = evaluate(engine, path)
        assert figures.in_scope >= 150 and figures.out_of_scope >= 40
        assert figures.accuracy >= 0.95, f"{path.name}: {figures.accuracy:.1%}\n" + "\n".join(figures.misses)
        assert figures.false_accept_rate <= 0.02, f"{path.name}: {figures.false_accept_rate:.1%}"


def test_generated_flows_say_every_phrase() -> None:
    """Every phrase of every speech menu is said in some generated flow (each is a transition of its own)."""
    shipped = load_menu(SHIPPED_MENU)
    spoken = set()
    for path in (ROOT / "tests" / "flows" / "generated").glob("*.yaml"):
        spoken |= {s.text.casefold() for s in load_flow(path).steps if s.kind == "speak"}
    for node in shipped.nodes.values():
        listening = getattr(node, "listening", None)
        if listening is None or not getattr(node, "options", None):
            continue
        for key, by_lang in listening.phrases.items():
            if node.options.get(key) in ("back", "retry"):  # type: ignore[attr-defined]
                continue  # said, these take the key's own transitions (where they lead depends on the call)
            for phrases in by_lang.values():
                assert {p.casefold() for p in phrases} <= spoken, (node.id, phrases)


def test_a_speak_step_with_a_bad_confidence_is_located(tmp_path: Path) -> None:
    flow = tmp_path / "flow.yaml"
    flow.write_text("steps:\n  - speak: {text: 订单, confidence: 7}\n", encoding="utf-8")
    with pytest.raises(DefinitionError, match="confidence is a number from 0 to 1"):
        load_flow(flow)


def test_menu_report_shows_the_speech_path_beside_the_keys() -> None:
    out = run_ivr("menu", "report", "menus/volcengine.yaml", check=True).stdout
    row = next(line for line in out.splitlines() if line.startswith("transfer orders (orders_agent)") and " open " in line)
    assert 'say "订单"' in row and "2 <order_id>#" in row
    english = run_ivr("menu", "report", "menus/volcengine.yaml", "--lang", "en-US", "--json", check=True).stdout
    assert any('say "forgot password"' in step for route in __import__("json").loads(english) for step in route["speech"])
