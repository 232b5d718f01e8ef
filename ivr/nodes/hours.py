"""`type: hours` — branch on whether the phone line is open now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ivr.engine.fsm import CallModel, MachineBuilder
from ivr.format import Build, NodeType, Target
from ivr.ir import Node


@dataclass(frozen=True)
class HoursNode(Node):
    """Branches on whether the phone line is open now."""

    open: str
    closed: str

    kind: ClassVar[str] = "hours"

    def edges(self) -> dict[str, str]:
        """Open and closed."""
        return {"open": self.open, "closed": self.closed}

    def moves(self) -> list[tuple[str, str]]:
        """Which branch is taken depends on the time, not on the caller."""
        return [("(open)", self.open), ("(closed)", self.closed)]

    def enter(self, call: CallModel) -> None:
        """Go on at once; the transition's condition picks the branch."""
        call.go("next")

    def compile(self, fsm: MachineBuilder) -> None:
        """`next` goes to `open` while the line is open, else to `closed`."""
        fsm.go("next", self.id, self.open, when=CallModel.is_open)
        fsm.go("next", self.id, self.closed)


def build(b: Build) -> list[Node]:
    """An hours node from its fields."""
    return [HoursNode(b.node_id, b.location, b.values.get("open", ""), b.values.get("closed", ""), where=b.where)]


TYPE = NodeType(
    "hours",
    "Branch on business hours (menu.hours).",
    (Target("open", "Node while the line is open.", required=True), Target("closed", "Node while the line is closed.", required=True)),
    build,
)
