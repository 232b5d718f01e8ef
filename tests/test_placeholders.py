"""Run-time placeholders in prompts are checked when the menu loads: filters that exist, values every way in sets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ivr.config import Settings
from ivr.hotline import engine_for
from ivr.ir import Menu
from ivr.loading.menu_loader import _action_outputs, check_menu, load_menu
from ivr.loading.placeholders import available_values, placeholder_problems
from ivr.simulator import SimulatedCall
from ivr.store.tickets import TicketStore
from tests.conftest import IN_HOURS
from tests.workspace import copy_workspace, run_ivr

TICKET_PROMPT = "您的工单已创建，工单号是 {ticket|digits}。再说一遍"


@pytest.mark.parametrize(
    ("typo", "message"),
    [
        ("{ticket|dgits}", "unknown filter 'dgits' in {ticket|dgits}; did you mean 'digits'?"),
        ("{tikcet|digits}", "unknown value 'tikcet' in {tikcet|digits}: it is not set on every way to this prompt"),
    ],
    ids=["filter", "value"],
)
def test_typo_in_the_shipped_ticket_prompt_is_a_located_error(tmp_path: Path, typo: str, message: str) -> None:
    """A misspelt filter or value in the ticket-number prompt fails `ivr menu check` at its line and column."""
    menu = copy_workspace(tmp_path)
    text = menu.read_text(encoding="utf-8")
    assert TICKET_PROMPT in text
    menu.write_text(text.replace(TICKET_PROMPT, TICKET_PROMPT.replace("{ticket|digits}", typo), 1), encoding="utf-8")
    line = next(i for i, row in enumerate(menu.read_text(encoding="utf-8").splitlines(), start=1) if typo in row)
    result = run_ivr("menu", "check", str(menu))
    assert result.returncode == 1, result.stdout
    found = [row for row in result.stdout.splitlines() if message in row]
    assert found and re.match(rf"{re.escape(str(menu))}:{line}:\d+: error: \[ticket_number\] ", found[0]), result.stdout
    assert "did you mean 'ticket'" in found[0] or "dgits" in typo


def test_values_flow_from_the_nodes_that_set_them(menu: Menu) -> None:
    """The order status is available after the order entry, the ticket number after a ticket node, neither at the greeting."""
    avail = available_values(menu.nodes, [menu.start, menu.loop_limit.target, menu.on_error], _action_outputs(menu.nodes))
    assert {"order_id", "order_status"} <= avail["order_status"]
    assert "ticket" in avail["ticket_number"]
    assert avail["welcome"] == frozenset()
    assert "ticket" not in avail["main"]


def test_every_filter_and_known_value_passes() -> None:
    """A placeholder with the digits filter or none, naming an available value, has nothing wrong."""
    assert placeholder_problems("工单号 {ticket|digits}，订单 {order_id}", frozenset({"ticket", "order_id"})) == []
    assert placeholder_problems("{ticket|upper}", frozenset({"ticket"})) == ["unknown filter 'upper' in {ticket|upper} (filters: digits)"]


@pytest.mark.parametrize(
    ("node", "old", "new"),
    [
        ("runaway", "本次通话已进行较长时间，", "本次通话已进行较长时间，工单{ticket|digits}，"),
        ("ticket_number", "尽快回复您。", "尽快回复您。订单{order_id|digits}。"),
        ("goodbye", "      zh-CN: 感谢您的来电，再见。\n", "      zh-CN: 感谢您的来电，{order_status}，再见。\n"),
    ],
    ids=["runaway-before-any-ticket", "order-after-voicemail", "status-at-goodbye"],
)
def test_value_set_on_only_some_ways_in_is_an_error(tmp_path: Path, node: str, old: str, new: str) -> None:
    """A prompt may only use a value every way to it has set: reached without it, the caller would hear a gap."""
    menu = copy_workspace(tmp_path)
    text = menu.read_text(encoding="utf-8")
    assert old in text
    menu.write_text(text.replace(old, new, 1), encoding="utf-8")
    result = run_ivr("menu", "check", str(menu))
    assert result.returncode == 1 and f"error: [{node}] unknown value" in result.stdout, result.stdout


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("抱歉，您的输入有误。", "抱歉，您的输入有误{tikcet|digits}。"),
        ("抱歉，系统暂时出现问题。\n", "抱歉，系统暂时出现问题{ticket|dgits}。\n"),
    ],
    ids=["defaults-invalid", "apology"],
)
def test_placeholders_in_shared_texts_are_checked(tmp_path: Path, old: str, new: str) -> None:
    """The defaults' complaints and the apology are said where no call value is known: a placeholder there is an error."""
    menu = copy_workspace(tmp_path)
    text = menu.read_text(encoding="utf-8")
    assert old in text
    menu.write_text(text.replace(old, new, 1), encoding="utf-8")
    line = next(i for i, row in enumerate(menu.read_text(encoding="utf-8").splitlines(), start=1) if new.strip() in row)
    result = run_ivr("menu", "check", str(menu))
    assert result.returncode == 1 and f"{menu}:{line}:" in result.stdout, result.stdout


def test_braces_in_scope_data_are_spoken_as_they_are(tmp_path: Path, store: TicketStore) -> None:
    """Scope data is text, not a template: `{port}` in a third-party example passes the check and is heard as written."""
    menu = copy_workspace(tmp_path)
    scope = tmp_path / "scope" / "third_party.yaml"
    text = scope.read_text(encoding="utf-8")
    marker = 'en-US: "Help troubleshooting an SSH service that fails to start'
    assert marker in text
    scope.write_text(text.replace(marker, 'en-US: "Troubleshooting SSH {port} and {ticket|digits} startup failures', 1), encoding="utf-8")
    assert check_menu(menu) == []
    call = SimulatedCall(engine_for(load_menu(menu), store, Settings()), at=IN_HOURS, lang="en-US")
    call.run(["4", "1", "1"])
    assert "Troubleshooting SSH {port} and {ticket|digits} startup failures" in "\n".join(
        line["text"] for line in call.lines if line["type"] == "say"
    )


def test_a_lone_brace_in_a_prompt_is_a_located_error(tmp_path: Path) -> None:
    """A stray brace written in a prompt is reported (write {{ or }} for a brace the caller should hear)."""
    menu = copy_workspace(tmp_path)
    text = menu.read_text(encoding="utf-8")
    menu.write_text(text.replace("感谢您的来电，再见。\n", "感谢您的来电，再见。{x.\n", 1), encoding="utf-8")
    messages = [p.message for p in check_menu(menu)]
    assert any("malformed placeholder '{'" in m for m in messages), messages
