"""Recording a message: what the caller said is kept even when the caller hangs up instead of pressing #."""

from __future__ import annotations

from ivr.engine.engine import Engine
from ivr.engine.events import CallerHangup, Entry, RecordingDone
from ivr.store.tickets import TicketStore
from tests.conftest import AFTER_HOURS


def test_hangup_during_recording_keeps_the_message(engine: Engine, store: TicketStore) -> None:
    """A caller who hangs up instead of pressing # has still left a message: it becomes a ticket."""
    step = engine.start("CA-hangup-rec", "+861", AFTER_HOURS)
    step = engine.handle(step.snapshot, Entry("1"), AFTER_HOURS)
    assert step.snapshot.node == "leave_message"
    step = engine.handle(step.snapshot, CallerHangup(), AFTER_HOURS)
    assert not step.snapshot.ended
    engine.handle(step.snapshot, RecordingDone(url="https://example.test/RE1"), AFTER_HOURS)
    ticket = store.find_by_call("CA-hangup-rec")
    assert ticket is not None and ticket.description == "https://example.test/RE1"
