"""`type: announce` — say something, then move on without waiting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ivr.engine.fsm import CallModel, MachineBuilder
from ivr.format import Build, NodeType, Target
from ivr.ir import Node
from ivr.nodes.prompted import SAY
from ivr.text import Text

NEXT = Target("next", "Node to go to next.", required=True)


@dataclass(frozen=True)
class AnnounceNode(Node):
    """Says something, then moves on without waiting."""

    prompt: Text
    next: str

    kind: ClassVar[str] = "announce"

    def edges(self) -> dict[str, str]:
        """Where it goes on to."""
        return {"next": self.next}

    def texts(self) -> list[tuple[str, Text]]:
        """The announcement."""
        return [(self.id, self.prompt)]

    def heard(self) -> Text:
        """The announcement."""
        return self.prompt

    def destination(self) -> tuple[str, str]:
        """Hearing it is what a caller came for."""
        return "announcement", f"hear {self.id}"

    def enter(self, call: CallModel) -> None:
        """Say it and go on."""
        call.say(self.prompt)
        call.go("next")

    def compile(self, fsm: MachineBuilder) -> None:
        """One way on."""
        fsm.go("next", self.id, self.next)


def build(b: Build) -> list[Node]:
    """An announce node from its fields."""
    return [AnnounceNode(b.node_id, b.location, b.values.get("say") or b.blank(), b.values.get("next", ""), where=b.where)]


TYPE = NodeType("announce", "Say, then go on.", (SAY, NEXT), build)
