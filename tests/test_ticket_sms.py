"""Which callers are texted their ticket number, what they hear about it, and how the menu says so."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ivr.caller_number import can_text
from ivr.config import Settings
from ivr.hotline import engine_for
from ivr.ir import Menu
from ivr.store.outbox import Outbox, StoredDelivery
from ivr.store.tickets import TicketStore
from tests.conftest import AFTER_HOURS, Caller
from tests.menu_variants import messages, variant

TEXTING = Settings(twilio_account_sid="AC" + "0" * 32, twilio_auth_token="token", sms_from="+15005550006")


@pytest.mark.parametrize(
    ("number", "prefixes", "texted"),
    [
        ("+8613800000000", (), True),  # China Mobile
        ("+8619912345678", (), True),
        ("+8617012345678", (), True),
        ("+8612012345678", (), False),  # 12x is not a mobile range
        ("+861088886666", (), False),  # a Beijing landline
        ("+862161234567", (), False),  # a Shanghai landline
        ("13800000000", (), False),  # national digits: not the form the carrier gives, not guessed at
        ("+86 138 0000 0000", (), False),
        ("+861380000000", (), False),  # a digit short
        ("anonymous", (), False),
        ("266696687", (), False),  # Twilio's keypad "anonymous"
        ("client:alice", (), False),
        ("+447700900123", (), False),  # a UK mobile, not allowed by the menu
        ("+447700900123", ("+447",), True),
        ("+442079460000", ("+447",), False),  # a London landline under another prefix
    ],
)
def test_who_can_be_texted(number: str, prefixes: tuple[str, ...], texted: bool) -> None:
    """China's mobiles always, other E.164 numbers only under the menu's prefixes; never withheld numbers or landlines."""
    assert can_text(number, prefixes) is texted


def test_a_mobile_caller_hears_the_text_is_coming_and_the_ticket_records_it(menu: Menu, store: TicketStore) -> None:
    """With texts configured a China mobile hears the line and its ticket is marked for a text; a landline neither."""
    mobile = Caller(engine_for(menu, store, TEXTING)).dial("1", at=AFTER_HOURS, caller="+8613912345678", voicemail="发票")
    landline = Caller(engine_for(menu, store, TEXTING)).dial("1", at=AFTER_HOURS, caller="+861088886666", voicemail="发票")
    assert menu.ticket_sms is not None and menu.ticket_sms.said is not None
    said_line = menu.ticket_sms.said.get("zh-CN")
    assert said_line in mobile.said and said_line not in landline.said
    assert mobile.said.index(said_line) < mobile.said.index("工单号是")  # heard before the number is read out
    assert mobile.ticket is not None and landline.ticket is not None
    assert [d.channel for d in _deliveries(store, mobile.ticket["number"])] == ["sms"]
    assert _deliveries(store, landline.ticket["number"]) == []


def test_without_texts_configured_nobody_hears_of_one(menu: Menu, store: TicketStore) -> None:
    """No IVR_SMS_FROM: a mobile caller hears nothing of a text, and none is recorded."""
    call = Caller(engine_for(menu, store, Settings())).dial("1", at=AFTER_HOURS, caller="+8613912345678", voicemail="发票")
    assert menu.ticket_sms is not None and menu.ticket_sms.said is not None
    assert menu.ticket_sms.said.get("zh-CN") not in call.said
    assert call.ticket is not None and _deliveries(store, call.ticket["number"]) == []


def test_the_menus_prefixes_let_other_mobiles_be_texted(menu: Menu, store: TicketStore) -> None:
    """`tickets.sms_prefixes` adds mobiles of other countries."""
    assert menu.ticket_sms is not None
    wider = replace(menu, ticket_sms=replace(menu.ticket_sms, prefixes=("+447",)))
    call = Caller(engine_for(wider, store, TEXTING)).dial("9 1", at=AFTER_HOURS, caller="+447700900123", voicemail="invoice")
    assert "text the ticket number" in call.said
    assert call.ticket is not None and [d.channel for d in _deliveries(store, call.ticket["number"])] == ["sms"]


def _deliveries(store: TicketStore, number: str) -> list[StoredDelivery]:
    ticket = store.find(number)
    assert ticket is not None
    return list(Outbox(store.db).of_call(ticket.call_id))


SMS = """  tickets:
    sms:
      zh-CN: 您的工单号 {ticket}。
      en-US: Your ticket {ticket}.
    sms_said:
      zh-CN: 工单号会以短信发送给您。
      en-US: We will text you the ticket number.
"""


def test_a_sound_sms_section_passes(tmp_path: Path) -> None:
    """The baseline with a text and what is said about it has no problems."""
    assert messages(variant(tmp_path, "  fallback_queue: general\n", "  fallback_queue: general\n" + SMS)) == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("您的工单号 {ticket}。", "您的工单号 {order_id}。", "order_id"),
        ("We will text you the ticket number.", "We will text {ticket}.", "ticket"),
        ("      en-US: Your ticket {ticket}.\n", "", "en-US"),
        ("    sms_prefixes: []\n", "    sms_prefixes: [447]\n", "sms_prefixes"),
    ],
)
def test_a_broken_sms_section_is_located(tmp_path: Path, old: str, new: str, expected: str) -> None:
    """A placeholder the text cannot fill, a missing language, a prefix that is not E.164: each pinned to its line."""
    section = SMS + "    sms_prefixes: []\n"
    path = variant(tmp_path, "  fallback_queue: general\n", "  fallback_queue: general\n" + section.replace(old, new))
    found = messages(path)
    assert found and any(expected in message for message in found), found
    assert all(int(message.split(":")[0]) > 30 for message in found), found  # on the section's lines, not the file's top


def test_said_without_a_text_is_an_error(tmp_path: Path) -> None:
    """Telling callers of a text that never goes is a promise not kept."""
    said_only = SMS.replace("    sms:\n      zh-CN: 您的工单号 {ticket}。\n      en-US: Your ticket {ticket}.\n", "")
    found = messages(variant(tmp_path, "  fallback_queue: general\n", "  fallback_queue: general\n" + said_only))
    assert any("sms_said" in message for message in found), found
