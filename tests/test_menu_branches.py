"""Every branch of the shipped hotline menu, driven through the engine as a caller would."""

from __future__ import annotations

import pytest

from ivr.ir import Menu
from ivr.scope import Scope
from ivr.spoken_time import spoken_daily
from ivr.store.tickets import TicketStore
from tests.conftest import AFTER_HOURS, Caller

pytestmark = pytest.mark.usefixtures("store")


class TestInHours:
    """The main menu and its sub-menus while the phone line is open."""

    def test_business_cooperation_is_announced_then_transferred(self, caller: Caller) -> None:
        """Key 1 plays a short announcement and transfers to the business queue."""
        call = caller.dial("1")
        assert call.nodes == ["welcome", "main", "business"]
        assert "商务" in call.of("say")[-1]["text"]
        assert call.transfer == "business"
        assert call.end == {"type": "hangup", "node": "business", "reason": "transferred"}

    def test_agent_key_reaches_general_queue(self, caller: Caller) -> None:
        """Key 0 transfers to the general queue."""
        assert caller.dial("0").transfer == "general"

    def test_known_order_status_is_read_with_digits(self, caller: Caller) -> None:
        """An order number ending with # is looked up and its status read, the number digit by digit."""
        call = caller.dial("2 202611280001#")
        assert "2 0 2 6 1 1 2 8 0 0 0 1" in call.said
        assert "已支付，云服务器资源已开通" in call.said
        assert call.nodes[-1] == "order_status"

    def test_order_status_offers_agent_repeat_and_back(self, caller: Caller) -> None:
        """From the order status, * repeats it, 0 reaches the orders queue and # returns to the main menu."""
        call = caller.dial("2 202611250042# * 0")
        statuses = [line for line in call.of("say") if line["node"] == "order_status"]
        assert len(statuses) == 2 and statuses[0] == statuses[1]
        assert call.transfer == "orders"
        back = caller.dial("2 202611250042# #")
        assert back.nodes[-1] == "main"

    def test_unknown_order_is_said_and_reentered_then_transferred(self, caller: Caller) -> None:
        """An unknown order number is reported and re-entered; after the third try the call goes to orders."""
        call = caller.dial("2 11111111# 22222222#")
        assert call.said.count("没有找到该订单号") == 2
        assert call.of("gather")[-1]["node"] == "order_entry"
        assert call.end["reason"] == "caller"
        third = caller.dial("2 11111111# 22222222# 33333333#")
        assert third.transfer == "orders"

    def test_order_entry_short_entry_is_invalid_and_lone_pound_is_silence(self, caller: Caller) -> None:
        """Too few digits is a wrong entry with its own prompt; # alone ends an empty entry, which the phone reports as no input."""
        call = caller.dial("2 12# #")
        assert "订单号太短" in call.said and "没有找到该订单号" not in call.said
        assert "没有收到您的按键" in call.said
        assert call.of("input")[-1]["digits"] == ""
        assert call.of("gather")[-1]["node"] == "order_entry"

    def test_order_entry_gathers_up_to_its_maximum_with_pound_to_finish(self, caller: Caller) -> None:
        """The order entry asks for many digits ending with #, while menus take one key."""
        call = caller.dial("2")
        main_gather, entry_gather = call.of("gather")
        assert main_gather["max_digits"] == 1 and main_gather["finish_on_key"] == ""
        assert entry_gather["finish_on_key"] == "#" and entry_gather["max_digits"] > 12

    def test_forgot_password_gives_steps_then_agent(self, caller: Caller) -> None:
        """Account → 1 reads the self-service steps; 0 then reaches the account queue."""
        call = caller.dial("3 1 0")
        assert "忘记密码" in call.said
        assert call.nodes[-2:] == ["forgot_password", "account_agent"]
        assert call.transfer == "account"

    @pytest.mark.parametrize(("key", "node"), [("2", "account_locked"), ("3", "account_other")])
    def test_account_locked_and_other_go_to_account_queue(self, caller: Caller, key: str, node: str) -> None:
        """Account → 2 (locked or MFA) and → 3 (other) both transfer to the account queue."""
        call = caller.dial(f"3 {key}")
        assert call.nodes[-1] == node
        assert call.transfer == "account"

    def test_pound_goes_back_one_level_in_every_sub_menu(self, caller: Caller) -> None:
        """# climbs one menu at a time: forgot password → account → main."""
        call = caller.dial("3 1 # #")
        assert [g["node"] for g in call.of("gather")] == ["main", "account", "forgot_password", "account", "main"]

    def test_star_repeats_the_full_menu(self, caller: Caller) -> None:
        """* replays the current menu's full prompt, not the short one."""
        call = caller.dial("3 *")
        account = [line["text"] for line in call.of("say") if line["node"] == "account"]
        assert len(account) == 2 and account[0] == account[1]

    def test_language_key_switches_to_english_and_back(self, caller: Caller) -> None:
        """9 replays the main menu in English; 9 again returns to Chinese."""
        call = caller.dial("9 9")
        mains = [line for line in call.of("say") if line["node"] == "main"]
        assert [m["lang"] for m in mains] == ["zh-CN", "en-US", "zh-CN"]
        assert "press 1" in mains[1]["text"]

    def test_english_caller_hears_english_throughout(self, caller: Caller) -> None:
        """A call started in English speaks English in sub-menus and transfers."""
        call = caller.dial("3 2", lang="en-US")
        assert {line["lang"] for line in call.of("say")} == {"en-US"}
        assert "account team" in call.said

    def test_pound_on_main_menu_is_invalid(self, caller: Caller) -> None:
        """The top menu has nowhere to go back to, so # counts as an invalid key."""
        call = caller.dial("#")
        assert "输入有误" in call.said


class TestFailures:
    """Invalid keys and silence, counted apart, and where the last failure leads."""

    def test_three_invalid_keys_transfer_to_general(self, caller: Caller) -> None:
        """After three invalid keys in hours the caller reaches the general queue."""
        call = caller.dial("7 8 5")
        assert call.said.count("输入有误") == 3
        assert call.transfer == "general"

    def test_three_silences_transfer_to_general(self, caller: Caller) -> None:
        """After three no-inputs in hours the caller reaches the general queue."""
        call = caller.dial("- - -")
        assert call.said.count("没有收到您的按键") == 3
        assert call.transfer == "general"

    def test_invalid_and_silence_have_separate_counters(self, caller: Caller) -> None:
        """Two invalid keys and two silences do not add up to a failure exit."""
        call = caller.dial("7 - 8 -")
        assert call.transfer is None
        assert call.of("gather")[-1]["node"] == "main"

    def test_reprompt_is_short_after_a_failure(self, caller: Caller, menu: Menu) -> None:
        """After a failure the caller hears the problem, then the short prompt."""
        call = caller.dial("7")
        texts = [line["text"] for line in call.of("say") if line["node"] == "main"]
        assert texts[1] == menu.nodes["main"].retry.invalid_prompt.get("zh-CN")
        assert texts[2] == menu.nodes["main"].reprompt.get("zh-CN")
        assert len(texts[2]) < len(texts[0])

    def test_letters_are_invalid_and_extra_keys_are_not_heard(self, caller: Caller) -> None:
        """Entries no keypad can produce are invalid; keys past a one-key menu's first are not delivered."""
        call = caller.dial("abc 31")
        assert call.said.count("输入有误") == 1
        assert call.of("input")[-1]["digits"] == "3"
        assert call.of("gather")[-1]["node"] == "account"

    def test_overlong_order_number_is_invalid(self, caller: Caller) -> None:
        """An order number longer than the entry allows is an invalid entry, not an error."""
        call = caller.dial("2 " + "1" * 30)
        assert "没有找到该订单号" in call.said

    def test_counters_reset_in_a_new_menu(self, caller: Caller) -> None:
        """Two failures in the main menu do not count against the account menu."""
        call = caller.dial("7 7 3 7 7")
        assert call.transfer is None
        assert call.of("gather")[-1]["node"] == "account"

    def test_failed_transfer_falls_back_to_a_callback_ticket(self, caller: Caller, store: TicketStore) -> None:
        """When nobody answers a transfer, the caller is asked first; 1 then gives a callback ticket read back."""
        asked = caller.dial("1", transfer_result="no-answer")
        assert "回电请按1" in asked.said and asked.ticket is None
        call = caller.dial("1 1", transfer_result="no-answer")
        assert call.ticket is not None and call.ticket["category"] == "callback"
        assert " ".join(call.ticket["number"]) in call.said
        assert store.find(call.ticket["number"]) is not None
        assert call.end["reason"] == "completed"

    def test_runaway_call_ends_politely(self, caller: Caller, menu: Menu) -> None:
        """A caller who only repeats the menu is told goodbye after the loop bound (after hours; in hours, a person)."""
        call = caller.dial(" ".join(["*"] * 100), at=AFTER_HOURS)
        assert call.end == {"type": "hangup", "node": "runaway", "reason": "loop_limit"}
        assert len(call.of("input")) == menu.loop_limit.max_steps + 1
        in_hours = caller.dial(" ".join(["*"] * 100))
        assert in_hours.transfer == "general" and in_hours.end["reason"] == "transferred"
        assert len(in_hours.of("input")) == menu.loop_limit.max_steps + 1


class TestScope:
    """The service-scope menu, generated from scope/ data."""

    def test_covered_list_reads_every_in_scope_item(self, caller: Caller, scope: Scope) -> None:
        """4 → 4 reads every in-scope item, a page at a time (1 for the next), then returns to the scope menu."""
        call = caller.dial("4 4 1 1")
        for item in scope.lists["in_scope"]:
            assert item.text.get("zh-CN") in call.said
        assert call.of("gather")[-1]["node"] == "scope_menu"

    def test_not_covered_list_reads_every_out_of_scope_item(self, caller: Caller, scope: Scope) -> None:
        """4 → 5 reads every out-of-scope item in English for an English caller, page by page."""
        call = caller.dial("4 5 1 1", lang="en-US")
        for item in scope.lists["out_of_scope"]:
            assert item.text.get("en-US") in call.said

    def test_every_third_party_entry_is_reachable(self, caller: Caller, scope: Scope) -> None:
        """4 → category → software (three a page, 4 for more) reads that software's supported and unsupported examples."""
        for i, category in enumerate(scope.categories, start=1):
            for j, software in enumerate(category.software):
                page, key = divmod(j, 3)
                call = caller.dial(" ".join(["4", str(i), *["4"] * page, str(key + 1)]))
                for example in (*software.supported, *software.unsupported):
                    assert example.get("zh-CN") in call.said
                page_node = f"scope_menu.{category.id}" + (f".page{page + 1}" if page else "")
                assert call.of("gather")[-1]["node"] == page_node

    def test_channels_are_read_with_their_hours(self, caller: Caller, scope: Scope) -> None:
        """4 → 3 → a channel names it and says its hours as a caller hears them."""
        for key, channel_id in enumerate(("tickets", "enterprise_groups", "im", "notifications", "phone"), start=1):
            call = caller.dial(f"4 3 {key}")
            channel = scope.channels[channel_id]
            assert channel.name.get("zh-CN") in call.said
            if channel.daily_hours and channel.timezone:
                assert spoken_daily(channel.daily_hours, channel.timezone, "zh-CN") in call.said

    def test_scope_after_hours_comes_back_to_the_closed_menu(self, caller: Caller) -> None:
        """After hours, 2 → scope menu, and # returns to the closed menu."""
        call = caller.dial("2 #", at=AFTER_HOURS)
        assert [g["node"] for g in call.of("gather")] == ["closed", "scope_menu", "closed"]


class TestAfterHours:
    """The closed menu: hours announcement, messages and callback tickets."""

    def test_closed_menu_says_phone_hours_and_ticket_service(self, caller: Caller) -> None:
        """Closed: why, then the options, then the phone hours as the schedule says them (never typed, never '09:00-21:00')."""
        call = caller.dial("", at=AFTER_HOURS)
        closed = next(line["text"] for line in call.of("say") if line["node"] == "closed")
        assert closed.startswith("现在是非工作时间。") and "北京时间每天上午9点到晚上9点" in closed
        assert "09:00" not in closed and "7x" not in closed

    def test_message_becomes_a_ticket_read_back_digit_by_digit(self, caller: Caller, store: TicketStore) -> None:
        """1 records a message, creates a ticket with it, reads its number digit by digit and says goodbye."""
        call = caller.dial("1", at=AFTER_HOURS, voicemail="云服务器无法登录", caller="+8613911112222")
        kinds = [line["type"] for line in call.lines]
        assert kinds.index("record") < kinds.index("ticket") < len(kinds) - 1
        number = call.ticket["number"] if call.ticket else ""
        assert number.isdigit() and len(number) <= 12
        assert " ".join(number) in call.said
        assert call.end == {"type": "hangup", "node": "goodbye", "reason": "completed"}
        stored = store.find(number)
        assert stored is not None
        assert stored.description == "云服务器无法登录" and stored.caller == "+8613911112222"
        assert stored.category == "voicemail" and stored.call_id == call.sim.call_id

    @pytest.mark.parametrize("keys", ["7 7 7", "- - -", "7 - 7 - 7"])
    def test_failures_after_hours_still_create_a_callback_ticket(self, caller: Caller, store: TicketStore, keys: str) -> None:
        """After the last failure when closed, a callback ticket for the caller's number is created and read back."""
        call = caller.dial(keys, at=AFTER_HOURS, caller="+8613700001111")
        assert call.ticket is not None and call.ticket["category"] == "callback"
        stored = store.find(call.ticket["number"])
        assert stored is not None and stored.caller == "+8613700001111"
        assert " ".join(call.ticket["number"]) in call.said

    def test_hanging_up_at_the_closed_menu_creates_nothing(self, caller: Caller, store: TicketStore) -> None:
        """A caller who hangs up before choosing leaves no ticket behind."""
        caller.dial("", at=AFTER_HOURS)
        assert store.list_tickets() == []


def test_every_transcript_ends_with_a_hangup(caller: Caller) -> None:
    """Whatever the entries, the last line of a call is a hangup."""
    for keys in ["", "1", "2 202611280001# 0", "7 7 7", "4 3 2 1 # # #"]:
        assert caller.dial(keys).end["type"] == "hangup"
        assert caller.dial(keys, at=AFTER_HOURS).end["type"] == "hangup"
