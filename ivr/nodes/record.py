"""`type: record` — take a message after a prompt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ivr.engine.actions import Record
from ivr.engine.events import RecordingDone
from ivr.engine.fsm import CallModel, MachineBuilder
from ivr.format import Build, Count, NodeType, Target
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
    no_message: str = ""  # where a call goes when nothing was recorded ('' = on to `next` all the same)

    kind: ClassVar[str] = "record"
    finish_on_key: ClassVar[str] = "#"  # the caller ends a message with '#', as the prompts say
    waits: ClassVar[bool] = True
    outlives_hangup: ClassVar[bool] = True  # a caller who hangs up while recording has still left a message

    def edges(self) -> dict[str, str]:
        """Where it goes once the message is in, and where it goes when there is none."""
        return {"next": self.next, **({"empty": self.no_message} if self.no_message else {})}

    def moves(self) -> list[tuple[str, str]]:
        """The caller leaves a message, or says nothing."""
        return [("(message)", self.next), *([("(no message)", self.no_message)] if self.no_message else [])]

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
        # Twilio sends nothing for an empty recording (the adapters report it as a RecordingDone without audio).
        if self.no_message and not event.text.strip() and not event.url:
            return "empty"
        return "recorded"

    def compile(self, fsm: MachineBuilder) -> None:
        """One way on once recorded (and one for an empty message, with `no_message`)."""
        fsm.go("recorded", self.id, self.next)
        if self.no_message:
            fsm.go("empty", self.id, self.no_message)


def build(b: Build) -> list[Node]:
    """A record node from its fields."""
    v = b.values
    prompt = v.get("say") or b.blank()
    return [RecordNode(b.node_id, b.location, prompt, v.get("next", ""), v["max_length"], v.get("no_message", ""), where=b.where)]


TYPE = NodeType(
    "record",
    "Take a message.",
    (
        SAY,
        NEXT,
        Count("max_length", "Longest message in seconds.", low=5, high=3600, default=120),
        Target("no_message", "Node when the caller records nothing (silence, or # at once). Without it, the call goes on to next."),
    ),
    build,
)
