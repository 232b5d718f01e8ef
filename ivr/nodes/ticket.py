"""`type: ticket` — create the call's ticket (once per call) from the recording or as a callback request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ivr.caller_number import can_call_back
from ivr.engine.actions import Ticket
from ivr.engine.fsm import CallModel, MachineBuilder
from ivr.format import Build, Localised, NodeType, Target, Word
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
    no_number: str = ""  # where a bare callback request goes when the caller's number cannot be called ('' = make it anyway)

    kind: ClassVar[str] = "ticket"

    def edges(self) -> dict[str, str]:
        """Where it goes on to, and where a callback request with no number to call goes."""
        return {"next": self.next, **({"no_number": self.no_number} if self.no_number else {})}

    def moves(self) -> list[tuple[str, str]]:
        """On with the ticket, or on without one for a caller whose number cannot be called back."""
        return [("", self.next), *([("(no number)", self.no_number)] if self.no_number else [])]

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

    def provides_on(self, edge: str) -> frozenset[str]:
        """No ticket number on the way taken instead of a ticket."""
        return frozenset() if edge == "no_number" else self.provides()

    def enter(self, call: CallModel) -> None:
        """Say the prompt, create the ticket (before its number can be heard), go on; or, with nothing to call back, go elsewhere."""
        if self.no_number and not self._has_message(call) and not can_call_back(call.snap.caller):
            call.go("no_number")  # a callback request nobody can act on is a promise not kept: make none
            return
        if self.prompt is not None:
            call.say(self.prompt)
        number = call.create_ticket(self.category)
        call.snap.values["ticket"] = number
        sms = call.menu.ticket_sms
        if sms is not None and sms.said is not None and call.texts_caller():
            call.say(sms.said)  # the caller knows to look at their phone, and need not write the number down
        call.emit(Ticket(self.id, number, self.category))
        call.go("next")

    @staticmethod
    def _has_message(call: CallModel) -> bool:
        """A ticket with the caller's message is worth making without a number: the message can say how to reach them."""
        values = call.snap.values
        return bool(values.get("recording") or values.get("recording_url"))

    def compile(self, fsm: MachineBuilder) -> None:
        """One way on (two with `no_number`)."""
        fsm.go("next", self.id, self.next)
        if self.no_number:
            fsm.go("no_number", self.id, self.no_number)


def build(b: Build) -> list[Node]:
    """A ticket node from its fields."""
    v = b.values
    return [
        TicketNode(b.node_id, b.location, v.get("category", ""), v.get("next", ""), v.get("say"), v.get("no_number", ""), where=b.where)
    ]


TYPE = NodeType(
    "ticket",
    "Create the call's ticket (once per call).",
    (
        Localised("say", "What the caller hears first (optional)."),
        Word("category", "Ticket category, a lower-case name.", required=True, pattern=NODE_NAME),
        NEXT,
        Target(
            "no_number",
            "Node instead of a ticket that would only ask for a callback (the call left no message) when the caller's "
            "number cannot be called back (withheld, anonymous, not a phone number). Without it, such a ticket is made anyway.",
        ),
    ),
    build,
)
