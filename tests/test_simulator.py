"""The console simulator reports what the engine did and nothing else."""

from __future__ import annotations

import pytest

from ivr.engine.engine import Engine
from ivr.engine.fsm import CallModel
from ivr.nodes import HangupNode
from ivr.simulator import SimulatedCall
from tests.conftest import AFTER_HOURS, IN_HOURS


def test_engine_hangup_is_the_transcripts_last_line(engine: Engine) -> None:
    """A call the menu ends says goodbye and its last line is the engine's own hangup, with the node that ended it."""
    call = SimulatedCall(engine, at=AFTER_HOURS, voicemail="服务器无法登录")
    call.run(["1"])
    assert call.lines[-1] == {"type": "hangup", "node": "goodbye", "reason": "completed"}


def test_no_hangup_line_is_made_up_when_the_engine_gives_none(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the engine ended a call without a Hangup action, the transcript would show it: the simulator adds no line of its own."""

    def end_silently(self: HangupNode, call: CallModel) -> None:
        if self.prompt is not None:
            call.say(self.prompt)
        call.end()

    monkeypatch.setattr(HangupNode, "enter", end_silently)
    call = SimulatedCall(engine, at=AFTER_HOURS, voicemail="服务器无法登录")
    call.run(["1"])
    assert call.ended
    assert [line for line in call.lines if line["type"] == "hangup"] == []


def test_transitions_of_every_step_are_kept_in_order(engine: Engine) -> None:
    """The simulator collects the transitions each engine step reports, in the order they were taken."""
    call = SimulatedCall(engine, at=IN_HOURS)
    call.run(["1"])
    assert [(e.source, e.trigger, e.dest) for e in call.transitions] == [
        ("welcome", "next", "open_now"),
        ("open_now", "next", "main"),
        ("main", "key_1", "business"),
        ("business", "answered", ""),
    ]
