"""Promises the service keeps: no callback ticket without a number to call back, a failed transfer asks before any
ticket (and `retry` dials the same queue again), and a message with nothing in it is no ticket."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ivr.caller_number import can_call_back
from ivr.config import Settings
from ivr.diagram import menu_diagram
from ivr.engine.coverage import Edge, edges_of
from ivr.engine.engine import Engine
from ivr.engine.events import Entry, RecordingDone
from ivr.hotline import engine_for
from ivr.loading.menu_loader import check_menu, load_menu
from ivr.store.tickets import TicketStore, sqlite_url
from tests.conftest import AFTER_HOURS, IN_HOURS, Call, Caller
from tests.menu_variants import settings
from tests.webhooks import QUEUES, make_hotline, said
from tests.workspace import run_ivr

ANONYMOUS = "anonymous"
CALLBACK_PROMPT = "我们将为您的来电号码创建回电工单"
NO_NUMBER_OFFER = "我们无法获取您的来电号码"
FAILURE_MENU = "需要回电请按1"

# A small hotline wired the way the shipped menu will be: a failed transfer asks (1 callback, 2 message, 0 try
# again); a callback for a caller whose number cannot be called back becomes an offer to leave a message; an empty
# message goes on to the callback, and an empty message with no number ends the call.
MENU = (
    settings(
        "promises",
        "welcome",
        on_max_failures="callback_ticket",
        on_transfer_failure="agents_unavailable",
        queues='    general: {description: after-sales agents, address: "sip:general@pbx.example.test"}\n'
        '    orders: {description: order team, address: "sip:orders@pbx.example.test"}\n',
    )
    + """nodes:
  welcome:
    type: announce
    say:
      zh-CN: 您好，欢迎致电。
      en-US: Hello, and welcome.
    next: open_or_closed

  open_or_closed:
    type: hours
    open: main
    closed: closed

  main:
    type: menu
    say:
      zh-CN: 人工服务请按1；订单服务请按2。
      en-US: For an agent, press 1. For orders, press 2.
    keys:
      1: agent
      2: orders_agent

  agent:
    type: transfer
    queue: general
    say:
      zh-CN: 正在为您转接人工服务。
      en-US: Connecting you to an agent.

  orders_agent:
    type: transfer
    queue: orders
    say:
      zh-CN: 正在为您转接订单服务。
      en-US: Connecting you to the order team.

  agents_unavailable:
    type: announce
    say:
      zh-CN: 抱歉，坐席暂时无法接听。
      en-US: Sorry, no agent is available right now.
    next: after_failure

  after_failure:
    type: menu
    say:
      zh-CN: 需要回电请按1；留言请按2；重新转接请按0。
      en-US: For a callback, press 1. To leave a message, press 2. To try again, press 0.
    keys:
      1: callback_ticket
      2: leave_message
      0: retry

  closed:
    type: menu
    say:
      zh-CN: 现在是非工作时间。留言请按1。
      en-US: We are closed now. To leave a message, press 1.
    keys:
      1: leave_message

  callback_ticket:
    type: ticket
    category: callback
    say:
      zh-CN: 我们将为您的来电号码创建回电工单。
      en-US: We will open a callback ticket for the number you are calling from.
    no_number: voicemail_offer
    next: ticket_number

  voicemail_offer:
    type: record
    say:
      zh-CN: 我们无法获取您的来电号码。请在提示音后留言并留下联系方式。
      en-US: We cannot see your number. After the tone, please leave a message with how to reach you.
    next: message_ticket
    no_message: goodbye

  leave_message:
    type: record
    say:
      zh-CN: 请在提示音后留言，按井号键结束。
      en-US: After the tone, please leave a message, then press pound.
    next: message_ticket
    no_message: callback_ticket

  message_ticket:
    type: ticket
    category: voicemail
    next: ticket_number

  ticket_number:
    type: announce
    say:
      zh-CN: 您的工单号是 {ticket|digits}。
      en-US: Your ticket number is {ticket|digits}.
    next: goodbye

  goodbye:
    type: hangup
    say:
      zh-CN: 感谢您的来电，再见。
      en-US: Thank you for calling. Goodbye.
"""
)


def write_menu(folder: Path, *changes: tuple[str, str]) -> Path:
    """The promises menu in `folder`, each (old, new) of `changes` replaced once."""
    text = MENU
    for old, new in changes:
        assert old in text
        text = text.replace(old, new, 1)
    path = folder / "menu.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(path: Path, text: str) -> int:
    """The 1-based line of the first line of `path` holding `text`."""
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if text in line)


@pytest.fixture
def menu_path(tmp_path: Path) -> Path:
    """The promises menu, as written."""
    return write_menu(tmp_path)


@pytest.fixture
def engine(menu_path: Path, store: TicketStore) -> Engine:
    """An engine on the promises menu writing to the test store."""
    return engine_for(load_menu(menu_path), store, Settings())


@pytest.fixture
def caller(engine: Engine) -> Caller:
    """A caller on the promises menu."""
    return Caller(engine)


def console_call(menu: Path, db: Path, *args: str) -> list[dict[str, object]]:
    """`ivr call --json` on `menu` with tickets in `db`: the transcript lines."""
    result = run_ivr("call", "--menu", str(menu), "--db", str(db), "--json", *args)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def spoken(call: Call) -> list[str]:
    """What the caller heard, prompt by prompt, ticket numbers left out."""
    return [line["text"] for line in call.of("say") if "工单号是" not in line["text"]]


class TestCallerNumber:
    """One rule says whether a caller's number can be called back."""

    @pytest.mark.parametrize("number", ["+8613800000000", "13800000000", "+1 (415) 555-0100", "010-12345678", "+6834002"])
    def test_phone_numbers_can_be_called_back(self, number: str) -> None:
        """E.164 and national numbers of a plausible length, written with or without spacing, can be called back."""
        assert can_call_back(number)

    @pytest.mark.parametrize(
        "number",
        [
            "",
            "  ",
            "anonymous",
            "Anonymous",
            "restricted",
            "unknown",
            "private",
            "unavailable",
            "+266696687",
            "266696687",
            "+7378742833",
            "+86282452253",
            "+2562533",
            "+8656696",
            "client:alice",
            "sip:alice@pbx.example.test",
            "abc",
            "138oooo0000",
            "+86",
            "12345",
            "+1234567890123456",
            "0000000000",
        ],
    )
    def test_withheld_and_junk_numbers_cannot(self, number: str) -> None:
        """Withheld caller IDs (words and Twilio's keypad placeholders), client/SIP identities and junk cannot be called back."""
        assert not can_call_back(number)


class TestNoNumber:
    """A callback ticket needs a number to call back; without one the caller is offered a message instead."""

    def test_anonymous_silence_after_hours_ends_without_a_ticket(self, caller: Caller, store: TicketStore) -> None:
        """A withheld caller who stays silent after hours hears the offer to leave a message, not a callback promise."""
        call = caller.dial("- - -", at=AFTER_HOURS, caller=ANONYMOUS)
        assert call.ticket is None and store.list_tickets() == []
        assert NO_NUMBER_OFFER in call.said and CALLBACK_PROMPT not in call.said
        assert call.nodes[-2:] == ["voicemail_offer", "goodbye"] and call.end["reason"] == "completed"

    def test_a_number_to_call_back_still_gets_its_callback(self, caller: Caller, store: TicketStore) -> None:
        """The same silence from a number that can be called back still ends in a callback ticket for that number."""
        call = caller.dial("- - -", at=AFTER_HOURS, caller="+8613912345678")
        assert call.ticket is not None and call.ticket["category"] == "callback"
        assert [(t.category, t.caller) for t in store.list_tickets()] == [("callback", "+8613912345678")]

    def test_a_withheld_caller_who_leaves_a_message_gets_a_ticket(self, caller: Caller, store: TicketStore) -> None:
        """A message can say how to reach the caller: it becomes a ticket even without a number."""
        call = caller.dial("- - -", at=AFTER_HOURS, caller=ANONYMOUS, voicemail="请发邮件到 a@example.com")
        assert call.ticket is not None and call.ticket["category"] == "voicemail"
        assert [t.description for t in store.list_tickets()] == ["请发邮件到 a@example.com"]

    def test_without_the_target_the_ticket_is_made_as_before(self, tmp_path: Path, store: TicketStore) -> None:
        """A ticket node without `no_number` makes its callback ticket for any caller (menus written before it keep working)."""
        offer = ("      1: leave_message\n\n", "      1: leave_message\n      2: voicemail_offer\n\n")  # still reachable
        path = write_menu(tmp_path, ("    no_number: voicemail_offer\n", ""), offer)
        call = Caller(engine_for(load_menu(path), store, Settings())).dial("- - -", at=AFTER_HOURS, caller=ANONYMOUS)
        assert call.ticket is not None and call.ticket["category"] == "callback" and CALLBACK_PROMPT in call.said

    def test_console_call_from_anonymous(self, menu_path: Path, tmp_path: Path) -> None:
        """`ivr call --caller anonymous` after hours with silence: the offer is heard and no ticket row is written."""
        db = tmp_path / "tickets.sqlite3"
        lines = console_call(menu_path, db, "--caller", ANONYMOUS, "--at", "2026-11-30T22:30", "--keys", "- - -")
        assert not [line for line in lines if line["type"] == "ticket"]
        assert any(NO_NUMBER_OFFER in str(line.get("text", "")) for line in lines)
        tickets = TicketStore(sqlite_url(db))
        assert tickets.list_tickets() == []
        tickets.close()

    def test_webhooks_call_from_anonymous(self, menu_path: Path, tmp_path: Path) -> None:
        """Over Twilio (`From: anonymous`) the call is the same: the offer, a <Record> that hears nothing, goodbye, no ticket."""
        hotline = make_hotline(tmp_path, IVR_MENU=str(menu_path))
        hotline.clock.now = AFTER_HOURS
        phone = hotline.call("- - -", caller=ANONYMOUS)
        assert hotline.store.tickets.list_tickets() == []
        assert NO_NUMBER_OFFER in said(phone.lines) and CALLBACK_PROMPT not in said(phone.lines)
        assert [line["type"] for line in phone.lines].count("record") == 1
        assert phone.lines[-1]["type"] == "hangup"


class TestEmptyMessage:
    """A message with nothing in it goes where the record node's `no_message` says, on every adapter."""

    def test_an_empty_message_is_no_voicemail_ticket(self, engine: Engine, store: TicketStore) -> None:
        """Nothing recorded (Twilio sends no recording) goes to `no_message`: here the callback, for a number that has one."""
        step = engine.start("CA-empty", "+8613912345678", AFTER_HOURS)
        step = engine.handle(step.snapshot, Entry("1"), AFTER_HOURS)
        assert step.snapshot.node == "leave_message"
        step = engine.handle(step.snapshot, RecordingDone(), AFTER_HOURS)
        assert [e.trigger for e in step.transitions][:2] == ["empty", "next"]
        ticket = store.find_by_call("CA-empty")
        assert ticket is not None and ticket.category == "callback"

    def test_without_the_target_an_empty_message_goes_on(self, tmp_path: Path, store: TicketStore) -> None:
        """A record node without `no_message` goes on to `next` with an empty message, as before."""
        path = write_menu(tmp_path, ("    no_message: callback_ticket\n", ""))
        call = Caller(engine_for(load_menu(path), store, Settings())).dial("1", at=AFTER_HOURS)
        assert call.ticket is not None and call.ticket["category"] == "voicemail"

    def test_an_empty_message_that_leads_back_to_its_recording_is_refused(self, tmp_path: Path) -> None:
        """`no_message` to a callback whose `no_number` is the same recording would loop a silent withheld caller for ever."""
        offer = "    next: message_ticket\n    no_message: goodbye\n"
        path = write_menu(tmp_path, (offer, offer.replace("goodbye", "callback_ticket")))
        problems = [p for p in check_menu(path) if "goes round for ever" in p.message]
        assert [(p.severity, p.line) for p in problems] == [("error", line_of(path, "no_message: callback_ticket"))]
        assert problems[0].message.endswith("voicemail_offer -> callback_ticket -> voicemail_offer")

    @pytest.mark.parametrize(("number", "categories"), [("+8613912345678", [("callback", "+8613912345678")]), (ANONYMOUS, [])])
    def test_console_and_webhooks_agree_on_an_empty_message(
        self, tmp_path: Path, menu_path: Path, store: TicketStore, number: str, categories: list[tuple[str, str]]
    ) -> None:
        """The simulator and the Twilio stand-in hear the same and store the same tickets for a message left empty."""
        console = Caller(engine_for(load_menu(menu_path), store, Settings())).dial("1", at=AFTER_HOURS, caller=number)
        hotline = make_hotline(tmp_path, IVR_MENU=str(menu_path))
        hotline.clock.now = AFTER_HOURS
        phone = hotline.call("1", caller=number)
        heard = [line["text"] for line in phone.lines if line["type"] == "say" and "工单号是" not in line["text"]]
        assert heard == spoken(console)
        assert [(t.category, t.caller) for t in store.list_tickets()] == categories
        assert [(t.category, t.caller) for t in hotline.store.tickets.list_tickets()] == categories


class TestRetry:
    """After a failed transfer the caller is asked; `retry` dials the transfer that failed again."""

    def test_a_busy_transfer_asks_before_any_ticket(self, menu_path: Path, tmp_path: Path) -> None:
        """`ivr call --transfer-result busy`: the caller hears the choices, no ticket is written, and 0 dials the same queue."""
        db = tmp_path / "tickets.sqlite3"
        lines = console_call(menu_path, db, "--at", "2026-11-30T10:00", "--transfer-result", "busy", "--keys", "2 0")
        steps = [line.get("queue") or line["node"] for line in lines if line["type"] in ("transfer", "gather")]
        assert steps == ["main", "orders", "after_failure", "orders", "after_failure"]
        assert not [line for line in lines if line["type"] == "ticket"]
        tickets = TicketStore(sqlite_url(db))
        assert tickets.list_tickets() == []
        tickets.close()

    @pytest.mark.parametrize(("key", "queue"), [("1", "general"), ("2", "orders")])
    def test_retry_dials_the_transfer_that_failed(self, caller: Caller, key: str, queue: str) -> None:
        """From the one failure menu, 0 dials whichever queue failed last."""
        call = caller.dial(f"{key} 0 0", at=IN_HOURS, transfer_result="no-answer")
        assert [line["queue"] for line in call.of("transfer")] == [queue] * 3
        assert call.ticket is None

    def test_the_caller_can_still_ask_for_a_callback(self, caller: Caller, store: TicketStore) -> None:
        """1 at the failure menu is the callback ticket, made because the caller asked for it."""
        call = caller.dial("1 1", at=IN_HOURS, transfer_result="busy")
        assert FAILURE_MENU in call.said and call.ticket is not None and call.ticket["category"] == "callback"
        assert call.said.index(FAILURE_MENU) < call.said.index(CALLBACK_PROMPT)

    def test_over_the_webhooks_0_dials_the_same_queue_again(self, menu_path: Path, tmp_path: Path) -> None:
        """The Twilio stand-in's busy <Dial> leads to the question, and 0 to a second <Dial> of the same address."""
        hotline = make_hotline(tmp_path, IVR_MENU=str(menu_path))
        hotline.clock.now = IN_HOURS
        phone = hotline.call("2 0", transfer_result="busy")
        assert [line["address"] for line in phone.lines if line["type"] == "transfer"] == [QUEUES["IVR_QUEUE_ORDERS"]] * 2
        assert said(phone.lines).count(FAILURE_MENU) == 2
        assert hotline.store.tickets.list_tickets() == []

    def test_retry_edges_are_drawn_and_counted(self, menu_path: Path) -> None:
        """The diagram and the coverage universe have one edge from the failure menu to each transfer that leads there."""
        menu = load_menu(menu_path)
        picture = menu_diagram(menu)
        assert "after_failure --> agent: key_0" in picture and "after_failure --> orders_agent: key_0" in picture
        edges = edges_of(Engine(menu).machine)
        assert {e for e in edges if e.source == "after_failure" and e.trigger == "key_0"} == {
            Edge("after_failure", "key_0", "agent"),
            Edge("after_failure", "key_0", "orders_agent"),
        }

    def test_generated_flows_take_every_new_way(self, menu_path: Path, tmp_path: Path) -> None:
        """`ivr qa generate` finds flows for retry, a withheld number and an empty message: together they cover every edge."""
        out = tmp_path / "flows"
        assert run_ivr("qa", "generate", "--menu", str(menu_path), "--out", str(out)).returncode == 0
        text = "\n".join(f.read_text(encoding="utf-8") for f in sorted(out.glob("*.yaml")))
        assert "after_failure --key_0--> orders_agent" in text and "caller: anonymous" in text and "voicemail: ''" in text
        run = run_ivr("qa", "run", str(out), "--coverage", "--fail-under", "100")
        assert run.returncode == 0, run.stdout[-2000:]

    @pytest.mark.parametrize(
        ("old", "new", "at", "expected"),
        [
            ("      2: orders_agent", "      2: retry", "2: retry", "no transfer's on_failure leads here"),
            ("    next: after_failure", "    next: retry", "next: retry", "'retry' is the caller's choice"),
            ("  on_error: goodbye", "  on_error: retry", "on_error: retry", "'retry' cannot be used in the menu settings"),
            (
                "      1: leave_message\n\n",
                "      1: leave_message\n      2: after_failure\n\n",
                "0: retry",
                "without any transfer failing",
            ),
        ],
    )
    def test_retry_where_no_failed_transfer_leads_is_refused(self, tmp_path: Path, old: str, new: str, at: str, expected: str) -> None:
        """`retry` is a load error at the line that uses it where no failed transfer can be what it dials."""
        path = write_menu(tmp_path, (old, new))
        problems = [p for p in check_menu(path) if expected in p.message]
        assert [(p.severity, p.line) for p in problems] == [("error", line_of(path, at))]

    def test_a_node_cannot_be_called_retry(self, tmp_path: Path) -> None:
        """`retry` is reserved, like `back`."""
        path = write_menu(tmp_path, ("  goodbye:\n    type: hangup", "  retry:\n    type: hangup"))
        assert any("not 'back' or 'retry'" in p.message and p.line == line_of(path, "  retry:") for p in check_menu(path))

    def test_values_known_at_a_transfer_stay_known_on_retry(self, tmp_path: Path) -> None:
        """A transfer's prompt may use a value set on every first way there: coming back by `retry` does not lose it."""
        (tmp_path / "orders.csv").write_text("order_id,status_zh-CN,status_en-US\n202611280001,已支付,paid\n", encoding="utf-8")
        entry = (
            "      2: order_entry\n\n  order_entry:\n    type: input\n    say:\n      zh-CN: 请输入订单号。\n"
            "      en-US: Enter the order.\n    action: order_lookup\n    store_as: order_id\n    on:\n      found: orders_agent\n"
        )
        changes = [
            ("      2: orders_agent\n", entry),
            ("  fallback_queue: general\n", "  fallback_queue: general\n  data:\n    orders: orders.csv\n"),
            ("正在为您转接订单服务。", "正在为订单 {order_id|digits} 转接订单服务。"),
        ]
        assert [p for p in check_menu(write_menu(tmp_path, *changes)) if p.severity == "error"] == []
        unknown = write_menu(tmp_path, *changes, ("重新转接请按0。", "重新转接订单 {order_id} 请按0。"))
        assert any("unknown value 'order_id'" in p.message for p in check_menu(unknown))
