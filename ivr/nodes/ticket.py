"""`type: ticket` — create the call's ticket (once per call) from the recording or as a callback request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ivr.engine.actions import Ticket
from ivr.engine.fsm import CallModel, MachineBuilder
from ivr.format import Build, Localised, NodeType, Word
from ivr.format.fields import NODE_NAME
from ivr.ir import Node
from ivr.nodes.announce import NEXT
from ivr.text import Text


@dataclass(frozen=True)
class TicketNode(Node):
    """Creates the call's ticket (once per call) from the recording or as a callback request."""

    category: str
    next: str
    prompt: Text | None

    kind: ClassVar[str] = "ticket"

    def edges(self) -> dict[str, str]:
        """Where it goes on to."""
        return {"next": self.next}

    def texts(self) -> list[tuple[str, Text]]:
        """What is said before the ticket is made."""
        return [(self.id, self.prompt)] if self.prompt is not None else []

    def heard(self) -> Text | None:
        """What is said before the ticket is made."""
        return self.prompt

    def destination(self) -> tuple[str, str]:
        """A ticket of this category."""
        return "ticket", f"ticket {self.category}"

    def provides(self) -> frozenset[str]:
        """The ticket number."""
        return frozenset({"ticket"})

    def enter(self, call: CallModel) -> None:
        """Say the prompt, create the ticket (before its number can be heard), go on."""
        if self.prompt is not None:
            call.say(self.prompt)
        number = call.create_ticket(self.category)
        call.snap.values["ticket"] = number
        call.emit(Ticket(self.id, number, self.category))
        call.go("next")

    def compile(self, fsm: MachineBuilder) -> None:
        """One way on."""
        fsm.go("next", self.id, self.next)


def build(b: Build) -> list[Node]:
    """A ticket node from its fields."""
    v = b.values
    return [TicketNode(b.node_id, b.location, v.get("category", ""), v.get("next", ""), v.get("say"), where=b.where)]


TYPE = NodeType(
    "ticket",
    "Create the call's ticket (once per call).",
    (
        Localised("say", "What the caller hears first (optional)."),
        Word("category", "Ticket category, a lower-case name.", required=True, pattern=NODE_NAME),
        NEXT,
    ),
    build,
)
