"""`type: transfer` — hand the caller to a queue of agents; `on_failure` takes over when nobody answers (`retry` there dials again)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from ivr.engine.actions import Hangup, Transfer
from ivr.engine.events import TransferResult
from ivr.engine.fsm import CallModel, MachineBuilder
from ivr.format import Build, Localised, NodeType, Target, Word
from ivr.ir import Node
from ivr.text import Text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TransferNode(Node):
    """Hands the caller to a queue of agents; `on_failure` takes over when nobody answers."""

    prompt: Text | None
    queue: str
    on_failure: str

    kind: ClassVar[str] = "transfer"
    waits: ClassVar[bool] = True  # for the network: the agent answers or not
    ends_call: ClassVar[bool] = True

    def edges(self) -> dict[str, str]:
        """Where a failed transfer goes."""
        return {"transfer_failed": self.on_failure}

    def unattended(self) -> list[str]:
        """A failed transfer moves on without the caller."""
        return [self.on_failure]

    def moves(self) -> list[tuple[str, str]]:
        """Nobody answers."""
        return [("(no answer)", self.on_failure)]

    def texts(self) -> list[tuple[str, Text]]:
        """What is said before the transfer."""
        return [(self.id, self.prompt)] if self.prompt is not None else []

    def heard(self) -> Text | None:
        """What is said before the transfer."""
        return self.prompt

    def destination(self) -> tuple[str, str]:
        """The queue."""
        return "transfer", f"transfer {self.queue}"

    def enter(self, call: CallModel) -> None:
        """Say the prompt and dial the queue; a queue that cannot be dialled is a failed transfer at once."""
        if self.prompt is not None:
            call.say(self.prompt)
        call.dialling()  # even a queue that cannot be dialled: a `retry` after its failure tries it again
        address = call.address_of(self.queue)
        if address:
            call.emit(Transfer(self.id, self.queue, address))
        else:
            log.warning("call %s: queue %r has no address to dial; taking the transfer-failure path", call.snap.call_id, self.queue)
            call.go("transfer_failed")

    def handle(self, call: CallModel, event: Any) -> str | None:
        """How the transfer ended."""
        if isinstance(event, TransferResult):
            return "answered" if event.connected else "transfer_failed"
        return None

    def compile(self, fsm: MachineBuilder) -> None:
        """An answered transfer ends the hotline's part; a failed one goes to on_failure."""
        fsm.stay("answered", self.id, after=self._connected)
        fsm.go("transfer_failed", self.id, self.on_failure)

    def _connected(self, call: CallModel) -> None:
        call.emit(Hangup(self.id, "transferred"))
        call.end()


def build(b: Build) -> list[Node]:
    """A transfer node from its fields."""
    v = b.values
    return [TransferNode(b.node_id, b.location, v.get("say"), v.get("queue", ""), v.get("on_failure", ""), where=b.where)]


TYPE = NodeType(
    "transfer",
    "Hand the caller to a queue; a queue that cannot be dialled, or a transfer nobody answers, goes to on_failure.",
    (
        Localised("say", "What the caller hears first (optional)."),
        Word("queue", "Queue to transfer to (one of menu.queues).", required=True, ref="queue"),
        Target("on_failure", "Node when the transfer fails.", inherit="on_transfer_failure"),
    ),
    build,
)
