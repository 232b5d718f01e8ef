"""Run-time placeholders in prompts are checked when the menu loads: filters that exist, values some node before sets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ivr.ir import Menu
from ivr.loading.menu_loader import _action_outputs
from ivr.loading.placeholders import available_values, placeholder_problems
from tests.workspace import copy_workspace, run_ivr

TICKET_PROMPT = "您的工单已创建，工单号是 {ticket|digits}。再说一遍"


@pytest.mark.parametrize(
    ("typo", "message"),
    [
        ("{ticket|dgits}", "unknown filter 'dgits' in {ticket|dgits}; did you mean 'digits'?"),
        ("{tikcet|digits}", "unknown value 'tikcet' in {tikcet|digits}: no node before this one sets it"),
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
    avail = available_values(menu.nodes, menu.start, _action_outputs(menu.nodes))
    assert {"order_id", "order_status"} <= avail["order_status"]
    assert "ticket" in avail["ticket_number"]
    assert avail["welcome"] == frozenset()
    assert "ticket" not in avail["main"]


def test_every_filter_and_known_value_passes() -> None:
    """A placeholder with the digits filter or none, naming an available value, has nothing wrong."""
    assert placeholder_problems("工单号 {ticket|digits}，订单 {order_id}", frozenset({"ticket", "order_id"})) == []
    assert placeholder_problems("{ticket|upper}", frozenset({"ticket"})) == ["unknown filter 'upper' in {ticket|upper} (filters: digits)"]
