"""`type: record` — take a message after a prompt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ivr.engine.actions import Record
from ivr.engine.events import RecordingDone
from ivr.engine.fsm import CallModel, MachineBuilder
from ivr.format import Build, Count, NodeType
from ivr.ir import Node
from ivr.nodes.announce import NEXT
from ivr.nodes.prompted import SAY
from ivr.text import Text


@dataclass(frozen=True)
class RecordNode(Node):
    """Records a message after a prompt."""

    prompt: Text
    next: str
    max_length: int  # seconds

    kind: ClassVar[str] = "record"
    finish_on_key: ClassVar[str] = "#"  # the caller ends a message with '#', as the prompts say
    waits: ClassVar[bool] = True
    outlives_hangup: ClassVar[bool] = True  # a caller who hangs up while recording has still left a message

    def edges(self) -> dict[str, str]:
        """Where it goes once the message is in."""
        return {"next": self.next}

    def moves(self) -> list[tuple[str, str]]:
        """The caller leaves a message."""
        return [("(message)", self.next)]

    def texts(self) -> list[tuple[str, Text]]:
        """The prompt before the tone."""
        return [(self.id, self.prompt)]

    def heard(self) -> Text:
        """The prompt before the tone."""
        return self.prompt

    def provides(self) -> frozenset[str]:
        """The message."""
        return frozenset({"recording", "recording_url", "recording_seconds"})

    def enter(self, call: CallModel) -> None:
        """Say the prompt and record."""
        call.say(self.prompt)
        call.emit(Record(self.id, self.max_length, self.finish_on_key))

    def handle(self, call: CallModel, event: Any) -> str | None:
        """The message arrived: keep its text (if any) and where the audio is."""
        if not isinstance(event, RecordingDone):
            return None
        call.snap.values["recording"] = event.text.strip()
        call.snap.values["recording_url"] = event.url
        if event.seconds is not None:
            call.snap.values["recording_seconds"] = str(event.seconds)
        if event.ended_by == "hangup":  # the caller left the message and hung up: nothing more will be heard
            call.snap.values["caller_hung_up"] = "1"
        return "recorded"

    def compile(self, fsm: MachineBuilder) -> None:
        """One way on, once recorded."""
        fsm.go("recorded", self.id, self.next)


def build(b: Build) -> list[Node]:
    """A record node from its fields."""
    v = b.values
    return [RecordNode(b.node_id, b.location, v.get("say") or b.blank(), v.get("next", ""), max_length=v["max_length"], where=b.where)]


TYPE = NodeType(
    "record", "Take a message.", (SAY, NEXT, Count("max_length", "Longest message in seconds.", low=5, high=3600, default=120)), build
)
