"""The in-process QA runner: flow verdicts agree with what a live server would give."""

from __future__ import annotations

from pathlib import Path

from ivr.loading.menu_loader import load_menu
from ivr.qa.runner import RunOptions, run_flows
from tests.conftest import SHIPPED_MENU


def test_steps_after_the_call_ended_fail_in_process_too(tmp_path: Path) -> None:
    """A press written after the call has ended fails the flow in process, as it does against a server."""
    flow = tmp_path / "late.yaml"
    flow.write_text(
        f'menu: {SHIPPED_MENU}\nat: "2026-11-30T10:00:00+08:00"\nsteps:\n  - press: "0"\n  - expect_hangup\n  - press: "1"\n',
        encoding="utf-8",
    )
    [result] = run_flows([flow], RunOptions(SHIPPED_MENU))
    assert result.status == "failed" and "the call had already ended" in result.message


def test_unknown_flow_language_is_an_error(tmp_path: Path) -> None:
    """A flow asking for a language the menu does not have is reported, not silently run in another."""
    flow = tmp_path / "fr.yaml"
    flow.write_text(f"menu: {SHIPPED_MENU}\nlang: fr-FR\nsteps:\n  - hangup\n", encoding="utf-8")
    [result] = run_flows([flow], RunOptions(SHIPPED_MENU))
    assert result.status == "error" and "fr-FR" in result.message
    assert load_menu(SHIPPED_MENU).languages == ("zh-CN", "en-US")
