"""`type: hangup` — say goodbye and end the call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ivr.engine.actions import Hangup
from ivr.engine.fsm import CallModel
from ivr.format import Build, Localised, NodeType, Word
from ivr.ir import Node
from ivr.text import Text


@dataclass(frozen=True)
class HangupNode(Node):
    """Says goodbye and ends the call."""

    prompt: Text | None
    reason: str

    kind: ClassVar[str] = "hangup"
    ends_call: ClassVar[bool] = True
    final: ClassVar[bool] = True

    def texts(self) -> list[tuple[str, Text]]:
        """The goodbye."""
        return [(self.id, self.prompt)] if self.prompt is not None else []

    def heard(self) -> Text | None:
        """The goodbye."""
        return self.prompt

    def enter(self, call: CallModel) -> None:
        """Say goodbye and end the call."""
        if self.prompt is not None:
            call.say(self.prompt)
        call.emit(Hangup(self.id, self.reason))
        call.end()


def build(b: Build) -> list[Node]:
    """A hangup node from its fields."""
    return [HangupNode(b.node_id, b.location, b.values.get("say"), b.values["reason"], where=b.where)]


TYPE = NodeType(
    "hangup",
    "Say goodbye and end the call.",
    (
        Localised("say", "Said before hanging up (optional)."),
        Word("reason", "Why the call ended, for reports.", default="completed", examples=("completed", "loop_limit", "error")),
    ),
    build,
)
