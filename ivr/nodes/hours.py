"""`type: hours` — branch on whether the phone line is open now; the closed branch says why it is closed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ivr.engine.fsm import CallModel, MachineBuilder
from ivr.format import Build, NodeType, Target
from ivr.hours import CLOSED_REASON
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

    def provides(self) -> frozenset[str]:
        """{closed_reason}: why the line is closed."""
        return frozenset({CLOSED_REASON})

    def provides_on(self, edge: str) -> frozenset[str]:
        """The reason is set on the closed branch only."""
        return self.provides() if edge == "closed" else frozenset()

    def enter(self, call: CallModel) -> None:
        """Go on at once; the transition's condition picks the branch."""
        call.go("next")

    def compile(self, fsm: MachineBuilder) -> None:
        """`next` goes to `open` while the line is open, else to `closed`, noting why it is closed."""
        fsm.go("next", self.id, self.open, when=CallModel.is_open)
        fsm.go("next", self.id, self.closed, before=note_closed_reason)


def note_closed_reason(call: CallModel) -> None:
    """Keep why the line is closed in every language (the call's language is read when it is said, so a later
    language switch says it in the new one)."""
    menu = call.menu
    reason = menu.schedule.closed_reason(call.now, call.runtime.hours_override)
    values = call.snap.values
    for lang in menu.languages:
        values[f"{CLOSED_REASON}@{lang}"] = reason.by_lang.get(lang, "")
    values[CLOSED_REASON] = reason.by_lang.get(menu.default_language, "")


def build(b: Build) -> list[Node]:
    """An hours node from its fields."""
    return [HoursNode(b.node_id, b.location, b.values.get("open", ""), b.values.get("closed", ""), where=b.where)]


TYPE = NodeType(
    "hours",
    "Branch on business hours (menu.hours); the closed branch sets {closed_reason} (menu.hours.reasons).",
    (Target("open", "Node while the line is open.", required=True), Target("closed", "Node while the line is closed.", required=True)),
    build,
)
