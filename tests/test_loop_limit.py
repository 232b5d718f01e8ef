"""The loop limit: only the caller's own entries count towards the runaway guard, and its exit must end the call."""

from __future__ import annotations

from pathlib import Path

from ivr.ir import Menu
from ivr.store.tickets import TicketStore
from tests.conftest import AFTER_HOURS, Caller
from tests.menu_variants import messages, variant


class TestLoopGuard:
    """Only the caller's own entries count towards the runaway guard."""

    def test_agent_answer_after_many_repeats_is_not_cut_off(self, caller: Caller, menu: Menu) -> None:
        """A caller at the last allowed entry who asks for an agent is transferred, not hung up on."""
        keys = " ".join(["*"] * (menu.loop_limit.max_steps - 1) + ["0"])
        call = caller.dial(keys)
        assert call.transfer == "general"
        assert call.end["reason"] == "transferred"

    def test_message_after_many_repeats_is_kept(self, caller: Caller, store: TicketStore, menu: Menu) -> None:
        """After hours, a message recorded at the last allowed entry still becomes a ticket."""
        keys = " ".join(["*"] * (menu.loop_limit.max_steps - 1) + ["1"])
        call = caller.dial(keys, at=AFTER_HOURS, voicemail="server down")
        assert call.ticket is not None
        stored = store.find(call.ticket["number"])
        assert stored is not None and stored.description == "server down"

    def test_loop_exit_must_end_the_call(self, tmp_path: Path) -> None:
        """loop_limit.goto pointing at a menu (which waits) is refused."""
        path = variant(tmp_path, "    goto: goodbye", "    goto: main")
        assert any("loop_limit.goto must lead straight to a hangup" in m for m in messages(path))
