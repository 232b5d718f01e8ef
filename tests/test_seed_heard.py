"""Every fact of the source document that concerns a caller is heard on the line, by keys.

The seed (scope/source/support-scope.zh.txt) is parsed here, as tests/test_scope_seed.py parses it;
the facts are taken from it, never typed in the test. What a caller can hear is found by calling the
real engine: every key at every menu, in hours and after hours, collecting what is said. A fact
counts as heard when its words (punctuation and spaces aside) are said in one prompt.
"""

from __future__ import annotations

import re
from collections import deque
from datetime import datetime
from functools import cache

import pytest

from ivr.actions import REGISTRY
from ivr.config import Settings
from ivr.engine.actions import Gather
from ivr.hotline import data_texts
from ivr.qa.generate import branch_times
from ivr.qa.runner import qa_hotline
from ivr.simulator import SimulatedCall
from ivr.spoken_time import spoken_daily
from tests.conftest import SHIPPED_MENU
from tests.test_scope_seed import seed

LANG = "zh-CN"
MAX_DEPTH = 9
PUNCTUATION = re.compile(r"[\s,，。;；:：、!！?？()（）“”\"'/\-—.@]")
DOCUMENT_POINTERS = re.compile(r"[(（]详见[^)）]*[)）]")


def words(text: str) -> str:
    """The words of a text, as they are heard: punctuation, spaces and the document's pointers to itself left out."""
    return PUNCTUATION.sub("", DOCUMENT_POINTERS.sub("", text)).lower()


@cache
def heard() -> tuple[str, ...]:
    """Every prompt a Mandarin caller can hear by pressing keys, in hours and after hours, as words."""
    hotline = qa_hotline(SHIPPED_MENU, Settings())
    engine, menu = hotline.engine, hotline.engine.menu
    data = data_texts(menu)
    examples = {
        n.id: {k: v for a in n.actions() if a in REGISTRY for k, v in REGISTRY[a].examples(data).items()} for n in menu.nodes.values()
    }
    said: set[str] = set()
    try:
        for _, at in branch_times(menu):
            _explore(engine, at, examples, said)
    finally:
        hotline.close()
    return tuple(sorted(said))


def _explore(engine: object, at: datetime, examples: dict[str, dict[str, str]], said: set[str]) -> None:
    seen: set[tuple[object, ...]] = set()
    todo: deque[tuple[str, ...]] = deque([()])
    while todo:
        entries = todo.popleft()
        call = SimulatedCall(engine, at=at, lang=LANG, transfer_result="no-answer", voicemail="a message")  # type: ignore[arg-type]
        call.start()
        for entry in entries:
            if call.ended:
                break
            call.press(entry)
        said.update(words(line["text"]) for line in call.lines if line["type"] == "say")
        snap = call.snapshot
        if call.ended or not isinstance(call.waiting, Gather) or snap is None or len(entries) >= MAX_DEPTH:
            continue
        state = (snap.node, snap.menu, tuple(snap.stack), snap.lang)
        if state in seen:
            continue
        seen.add(state)
        node = engine.menu.nodes[call.waiting.node]  # type: ignore[attr-defined]
        skip = {"", "#", engine.menu.language_key}  # type: ignore[attr-defined]  # forward keys only, in Mandarin
        todo.extend((*entries, key) for key in node.candidates(examples.get(node.id, {})) if key not in skip)


def assert_heard_together(*facts: str) -> None:
    """Some prompt says all of `facts`."""
    wanted = [words(f) for f in facts]
    if not any(all(w in prompt for w in wanted) for prompt in heard()):
        pytest.fail(f"no prompt a caller can reach says all of {facts}")


def _split_list(text: str) -> list[str]:
    """'A、B(C、D)、E' -> ['A', 'B(C、D)', 'E']: list items, commas inside brackets kept."""
    items, depth, current = [], 0, ""
    for ch in text:
        depth += ch in "(（"
        depth -= ch in ")）"
        if depth == 0 and ch == "、":
            items.append(current)
            current = ""
        else:
            current += ch
    return [*items, current]


def channel_paragraph(marker: str) -> str:
    """The seed's channel paragraph that mentions `marker`."""
    found = [p for p in seed().channel_paragraphs if marker in p]
    assert len(found) == 1, marker
    return found[0]


def test_the_engine_search_hears_the_menu() -> None:
    """The search reaches deep prompts (a third-party example), so a missing fact is a real miss."""
    assert len(heard()) > 40
    assert any("nginx" in prompt for prompt in heard())


@pytest.mark.parametrize("row", range(2))
def test_channel_table_rows_are_heard(row: int) -> None:
    """Each row of the channel table: every name in its cell, its hours and its response time, said together."""
    channel, hours, response = seed().channel_rows[row]
    around = re.fullmatch(r"7x(\d+) 小时", hours)
    minutes = re.fullmatch(r"(\d+)min", response)
    assert around and minutes, (hours, response)
    names = re.split(r"[-/]", channel)
    said_hours = spoken_daily("00:00-24:00", "Asia/Shanghai", LANG) if around.group(1) == "24" else around.group(1)
    assert_heard_together(*names, said_hours, f"{minutes.group(1)}分钟")


def test_contract_note_is_heard_with_the_response_times() -> None:
    """The note under the table is said where the 10-minute response is promised."""
    note = seed().between_tables[0]
    minutes = re.fullmatch(r"(\d+)min", seed().channel_rows[0][2])
    assert minutes
    assert_heard_together(note.split(":", 1)[-1], f"{minutes.group(1)}分钟")


def test_hotline_paragraph_is_heard() -> None:
    """The hotline: its hours, its number, that calls are answered quickly, and what it is best for."""
    paragraph = channel_paragraph("热线电话")
    hours = re.search(r"北京时间 (\d\d:\d\d-\d\d:\d\d)", paragraph)
    number = re.search(r"拨打 ([\d-]+) 转 (\d)", paragraph)
    quick = re.search(r"通常[^,，。]*", paragraph)
    best = re.search(r"如果您遇到的是(.+?)等相关问题", paragraph)
    assert hours and number and quick and best
    spoken_number = " ".join(number.group(1).replace("-", ""))
    assert_heard_together(spoken_daily(hours.group(1), "Asia/Shanghai", LANG), quick.group(0), *_split_list(best.group(1)))
    assert_heard_together(spoken_number, f"转 {number.group(2)}")


@pytest.mark.parametrize("marker", ["IM在线人工服务,", "工单服务,", "企业专属群支持服务,", "信息通知服务,"])
def test_other_channel_paragraphs_are_heard(marker: str) -> None:
    """Each other channel: what it is best for, how it is reached, and what it tells you about."""
    paragraph = channel_paragraph(marker)
    best = re.search(r"如果您遇到(?:的是)?(.+?)等(?:相关)?问题", paragraph)
    if best:
        assert_heard_together(*_split_list(best.group(1)))
    for quoted in re.findall(r"“([^”]+)”", paragraph):
        assert_heard_together(quoted)  # the website path, the button, the service accounts
    methods = re.search(r"通过(.+?)的方式", paragraph)
    if methods:
        assert_heard_together(*re.split(r"、|或者", methods.group(1)))
    topics = re.search(r"了解(.+?)等重要信息", paragraph)
    if topics:
        assert_heard_together(*_split_list(topics.group(1)))
    if "存档保留" in paragraph:
        assert_heard_together(re.search(r"[^,，。]*存档保留", paragraph).group(0))  # type: ignore[union-attr]


@pytest.mark.parametrize("part", ["in_scope", "out_of_scope"])
def test_scope_lists_are_heard(part: str) -> None:
    """Every bullet of what support covers and does not cover is heard."""
    for bullet in getattr(seed(), part):
        assert_heard_together(bullet)


def test_third_party_table_is_heard() -> None:
    """Every row: the software with its category, and every supported and unsupported example."""
    for category, software, supported, unsupported in seed().third_party_rows:
        assert_heard_together(software, category, supported, unsupported)


def test_third_party_caveats_are_heard() -> None:
    """The terms of third-party advice, clause by clause; the clauses that frame the note inside the document
    (which list it is about, "during support", said on a support line anyway) aside."""
    note = seed().between_tables[1]
    for clause in re.split(r"[,，。]", note):
        if clause and "如下" not in clause and not clause.endswith("过程中"):
            assert_heard_together(clause.replace("以下", ""))  # "the following …": the document's layout, not said


def test_every_clause_of_the_channel_paragraphs_is_heard() -> None:
    """Each clause of each channel paragraph is said; clauses checked item by item above (lists, times, the number)
    and the paragraphs' openers ("火山引擎提供…", which name the channel, heard with its facts) aside."""
    for paragraph in seed().channel_paragraphs:
        for clause in re.split(r"[,，。]", paragraph):
            if not clause or re.search(r"\d|、", clause) or clause.startswith(("火山引擎提供", "火山引擎为客户提供", "如果您遇到")):
                continue
            assert_heard_together(clause)
