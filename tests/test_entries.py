"""Entries that help (a too-short or too-long number has its own complaint, the entry is read back before its result)
and short re-prompts checked against the menu's keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.config import Settings
from ivr.hotline import engine_for
from ivr.loading.menu_loader import check_menu, load_menu
from ivr.store.tickets import TicketStore
from tests.conftest import IN_HOURS, Call, Caller
from tests.menu_variants import settings, variant
from tests.webhooks import make_hotline, said
from tests.workspace import run_ivr

TOO_SHORT = "您输入的号码位数不足"
TOO_LONG = "您输入的号码位数过多"
NOT_FOUND = "没有找到该订单号"
READ_BACK = "您输入的订单号是 2 0 2 6 1 1 2 8 0 0 0 1。"
STATUS = "订单状态：已支付。"
ORDERS = "order_id,status_zh-CN,status_en-US\n202611280001,已支付,paid\n"

# An order entry of 6 to 12 digits with its own complaints for wrong lengths and a read-back of the entry.
MENU = (
    settings(
        "entries",
        "order_entry",
        on_max_failures="agent",
        on_transfer_failure="goodbye",
        queues='    general: {description: after-sales agents, address: "sip:general@pbx.example.test"}\n',
        data="  data:\n    orders: orders.csv\n",
    )
    + """nodes:
  order_entry:
    type: input
    say:
      zh-CN: 请输入您的订单号，以井号键结束。
      en-US: Please enter your order number, then press pound.
    action: order_lookup
    store_as: order_id
    min_digits: 6
    max_digits: 12
    read_back:
      zh-CN: 您输入的订单号是 {order_id|digits}。
      en-US: You entered {order_id|digits}.
    too_short:
      zh-CN: 您输入的号码位数不足，订单号至少有6位。
      en-US: That number is too short; order numbers have at least 6 digits.
    too_long:
      zh-CN: 您输入的号码位数过多，订单号最多有12位。
      en-US: That number is too long; order numbers have at most 12 digits.
    invalid:
      zh-CN: 抱歉，没有找到该订单号，请核对后重新输入。
      en-US: Sorry, we could not find that order number.
    on:
      found: order_status

  order_status:
    type: announce
    say:
      zh-CN: 订单状态：{order_status}。
      en-US: "Order status: {order_status}."
    next: goodbye

  agent:
    type: transfer
    queue: general
    say:
      zh-CN: 正在为您转接人工服务。
      en-US: Connecting you to an agent.

  goodbye:
    type: hangup
    say:
      zh-CN: 感谢您的来电，再见。
      en-US: Thank you for calling. Goodbye.
"""
)


def write_menu(folder: Path, *changes: tuple[str, str]) -> Path:
    """The entries menu and its orders file in `folder`, each (old, new) of `changes` replaced once."""
    text = MENU
    for old, new in changes:
        assert old in text
        text = text.replace(old, new, 1)
    (folder / "orders.csv").write_text(ORDERS, encoding="utf-8")
    path = folder / "menu.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(path: Path, text: str) -> int:
    """The 1-based line of the first line of `path` holding `text`."""
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if text in line)


def dial(path: Path, store: TicketStore, keys: str) -> Call:
    """A call on the menu at `path` making the space-separated entries."""
    return Caller(engine_for(load_menu(path), store, Settings())).dial(keys, at=IN_HOURS)


@pytest.fixture
def menu_path(tmp_path: Path) -> Path:
    """The entries menu, as written."""
    return write_menu(tmp_path)


class TestWrongLength:
    """An entry of the wrong length is told so, and counts as a wrong entry."""

    def test_a_short_entry_is_too_short_not_not_found(self, menu_path: Path, store: TicketStore) -> None:
        """`12#` at an entry of at least 6 digits hears "too short", never "not found", then the prompt again."""
        call = dial(menu_path, store, "12#")
        assert TOO_SHORT in call.said and NOT_FOUND not in call.said
        assert [line["text"] for line in call.of("say")][1:3] == [
            "您输入的号码位数不足，订单号至少有6位。",
            "请输入您的订单号，以井号键结束。",
        ]

    def test_a_long_entry_is_too_long(self, menu_path: Path, store: TicketStore) -> None:
        """13 digits at an entry of at most 12 (the gather takes one more to notice) hear "too long"."""
        call = dial(menu_path, store, "1234567890123")
        assert TOO_LONG in call.said and NOT_FOUND not in call.said and TOO_SHORT not in call.said

    def test_wrong_lengths_count_with_wrong_entries(self, menu_path: Path, store: TicketStore) -> None:
        """Short, not found and long are three wrong entries: the third goes to on_max_failures, after its own complaint."""
        call = dial(menu_path, store, "12# 999999# 1234567890123")
        assert call.transfer == "general"
        assert [call.said.count(text) for text in (TOO_SHORT, NOT_FOUND, TOO_LONG)] == [1, 1, 1]
        assert call.said.index(TOO_LONG) < call.said.index("正在为您转接人工服务")

    def test_without_the_texts_a_wrong_length_is_an_invalid_entry(self, tmp_path: Path, store: TicketStore) -> None:
        """An input without too_short/too_long says its `invalid` text for a wrong length, as before."""
        path = write_menu(tmp_path, (MENU[MENU.index("    too_short:") : MENU.index("    invalid:", MENU.index("    too_short:"))], ""))
        call = dial(path, store, "12# 1234567890123")
        assert call.said.count(NOT_FOUND) == 2 and TOO_SHORT not in call.said

    def test_the_console_and_the_phone_hear_too_short(self, menu_path: Path, tmp_path: Path) -> None:
        """`ivr call --keys 12#` and a Twilio call pressing 12# both hear "too short"."""
        result = run_ivr("call", "--menu", str(menu_path), "--db", str(tmp_path / "t.sqlite3"), "--keys", "12#")
        assert result.returncode == 0, result.stderr
        assert TOO_SHORT in result.stdout and NOT_FOUND not in result.stdout
        hotline = make_hotline(tmp_path, IVR_MENU=str(menu_path))
        phone = hotline.call("12#")
        assert TOO_SHORT in said(phone.lines) and NOT_FOUND not in said(phone.lines)


class TestReadBack:
    """The entry is read back after it is complete, before what its action found is said."""

    def test_the_read_back_is_heard_before_the_result(self, menu_path: Path, store: TicketStore) -> None:
        """A known order: its number digit by digit, then its status."""
        call = dial(menu_path, store, "202611280001#")
        assert READ_BACK in call.said and STATUS in call.said
        assert call.said.index(READ_BACK) < call.said.index(STATUS)

    def test_the_read_back_comes_before_not_found_too(self, menu_path: Path, store: TicketStore) -> None:
        """An unknown order is read back, then not found; a short one is never read back."""
        call = dial(menu_path, store, "999999# 12#")
        assert call.said.index("您输入的订单号是 9 9 9 9 9 9。") < call.said.index(NOT_FOUND)
        assert call.said.count("您输入的订单号是") == 1

    def test_the_console_reads_back_before_the_status(self, menu_path: Path, tmp_path: Path) -> None:
        """`ivr call` prints the read-back line before the status line."""
        result = run_ivr("call", "--menu", str(menu_path), "--db", str(tmp_path / "t.sqlite3"), "--keys", "202611280001#")
        assert result.returncode == 0, result.stderr
        assert 0 <= result.stdout.index(READ_BACK) < result.stdout.index(STATUS)

    def test_without_a_read_back_nothing_is_said_between(self, tmp_path: Path, store: TicketStore) -> None:
        """An input without read_back goes straight from the entry to the result."""
        path = write_menu(tmp_path, (MENU[MENU.index("    read_back:") : MENU.index("    too_short:")], ""))
        call = dial(path, store, "202611280001#")
        assert [line["text"] for line in call.of("say")][1] == STATUS

    def test_only_the_read_back_may_use_the_entry(self, tmp_path: Path) -> None:
        """{order_id} is known to the read-back (said once it is kept), not to the prompt or the too-short complaint."""
        assert [p for p in check_menu(write_menu(tmp_path)) if p.severity == "error"] == []
        for old, new in (("请输入您的订单号，", "请输入订单号 {order_id}，"), ("订单号至少有6位。", "{order_id} 不足6位。")):
            path = write_menu(tmp_path, (old, new))
            problems = [p for p in check_menu(path) if "unknown value 'order_id'" in p.message]
            assert [p.line for p in problems] == [line_of(path, "{order_id}")]

    def test_generated_flows_take_the_wrong_lengths(self, menu_path: Path, tmp_path: Path) -> None:
        """`ivr qa generate` tries a short and a long entry, so its flows cover the too_short and too_long edges."""
        out = tmp_path / "flows"
        assert run_ivr("qa", "generate", "--menu", str(menu_path), "--out", str(out)).returncode == 0
        text = "\n".join(f.read_text(encoding="utf-8") for f in sorted(out.glob("*.yaml")))
        assert "order_entry --too_short--> agent" in text and "order_entry --too_long--> (re-prompt)" in text
        run = run_ivr("qa", "run", str(out), "--coverage", "--fail-under", "100")
        assert run.returncode == 0, run.stdout[-2000:]


MAIN = """  main:
    type: menu
    say:
      zh-CN: 人工服务请按1；结束通话请按2。
      en-US: To speak to an agent, press 1. To end the call, press 2.
    keys:
      1: agent
      2: goodbye
"""


def short_menu(tmp_path: Path, keys: int, zh: str, en: str) -> Path:
    """The baseline menu whose main menu has keys 1..`keys`, a prompt that announces them all, and the given short prompt."""
    mapped = "".join(f"      {k}: {'agent' if k == 1 else 'goodbye'}\n" for k in range(1, keys + 1))
    block = (
        f"  main:\n    type: menu\n    say:\n      zh-CN: 请按1到{keys}选择服务。\n      en-US: Press 1 to {keys} to choose a service.\n"
        f"    short:\n      zh-CN: {zh}\n      en-US: {en}\n    keys:\n{mapped}"
    )
    return variant(tmp_path, MAIN, block)


def short_warnings(path: Path) -> list[tuple[int, str]]:
    """(line, message) of each warning about a short prompt."""
    return [(p.line, p.message) for p in check_menu(path) if p.severity == "warning" and "short prompt" in p.message]


class TestShortPromptLint:
    """Short re-prompts are checked against the menu's keys, as full prompts are."""

    @pytest.mark.parametrize(
        ("keys", "zh", "en", "expected"),
        [
            (5, "请按1到4选择服务。", "Press 1 to 5.", [("zh-CN", "key 5 is left out of the zh-CN short prompt")]),
            (3, "请按1到4选择服务。", "Press 1 to 3.", [("zh-CN", "the zh-CN short prompt says to press 4, but key 4 leads nowhere")]),
            (5, "请按1到5选择服务。", "Please press 1 to 4.", [("en-US", "key 5 is left out of the en-US short prompt")]),
            (3, "请按1至4。", "Press 1, 2 or 3.", [("zh-CN", "the zh-CN short prompt says to press 4, but key 4 leads nowhere")]),
            (2, "人工请按1，结束请按2。", "Press 1 for an agent, or 2 to end the call.", []),
            (3, "请选择服务。", "Please make your choice.", []),
        ],
        ids=["range-leaves-out-5", "range-names-4", "english-range", "zhi-range", "list", "nudge"],
    )
    def test_short_prompt_against_keys(self, tmp_path: Path, keys: int, zh: str, en: str, expected: list[tuple[str, str]]) -> None:
        """A short prompt naming keys must name them all and no others (warned at its line); one naming none is a nudge."""
        path = short_menu(tmp_path, keys, zh, en)
        got = short_warnings(path)
        assert len(got) == len(expected) and all(wanted in message for (_, message), (_, wanted) in zip(got, expected, strict=True))
        assert [line for line, _ in got] == [line_of(path, f"      {lang}: {zh if lang == 'zh-CN' else en}") for lang, _ in expected]

    def test_strict_check_fails_on_a_short_prompt_missing_a_key(self, tmp_path: Path) -> None:
        """`ivr menu check --strict` exits 1 when key 5 is added but the short prompt still says 1 to 4."""
        path = short_menu(tmp_path, 5, "请按1到4选择服务。", "Press 1 to 5.")
        result = run_ivr("menu", "check", "--strict", str(path))
        assert result.returncode == 1
        assert (
            f"{path}:{line_of(path, '请按1到4选择服务')}:14: warning: [main] key 5 is left out of the zh-CN short prompt" in result.stdout
        )
