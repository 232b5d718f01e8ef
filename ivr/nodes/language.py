"""`type: language` — switch the call to the menu's next language, then move on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ivr.engine.fsm import CallModel, MachineBuilder
from ivr.format import Build, NodeType
from ivr.ir import Node
from ivr.nodes.announce import NEXT


@dataclass(frozen=True)
class LanguageNode(Node):
    """Switches the call to the menu's next language, then moves on."""

    next: str

    kind: ClassVar[str] = "language"

    def edges(self) -> dict[str, str]:
        """Where it goes on to."""
        return {"next": self.next}

    def enter(self, call: CallModel) -> None:
        """Every later prompt is in the next language of the menu."""
        call.snap.lang = call.menu.next_language(call.snap.lang)
        call.go("next")

    def compile(self, fsm: MachineBuilder) -> None:
        """One way on."""
        fsm.go("next", self.id, self.next)


def build(b: Build) -> list[Node]:
    """A language node from its fields."""
    return [LanguageNode(b.node_id, b.location, b.values.get("next", ""), where=b.where)]


TYPE = NodeType("language", "Switch to the menu's next language.", (NEXT,), build)
