"""`type: input` — a multi-digit entry handed to a named action whose outcome picks the target."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from ivr.engine.actions import Gather
from ivr.engine.fsm import CallModel, MachineBuilder
from ivr.format import Build, Choice, Count, NodeType, Outcomes, Target, Word
from ivr.format.fields import LOWER_NAME
from ivr.ir import Node
from ivr.nodes.prompted import RETRY_COUNTS, RETRY_TEXTS, SAY, SHORT, PromptedNode


@dataclass(frozen=True)
class InputNode(PromptedNode):
    """Collects a multi-digit entry and hands it to a named action whose outcome picks the target."""

    action: str
    outcomes: Mapping[str, str]  # action outcome -> target; any other outcome is an invalid entry
    max_digits: int
    min_digits: int
    finish_on_key: str
    store_as: str  # name under which the digits are kept for prompts

    kind: ClassVar[str] = "input"

    def edges(self) -> dict[str, str]:
        """Each outcome, and where too many failures go."""
        return {**{f"outcome_{o}": t for o, t in self.outcomes.items()}, "max_failures": self.retry.on_max_failures}

    def moves(self) -> list[tuple[str, str]]:
        """An entry, for each outcome."""
        return [(f"<{self.store_as}>{self.finish_on_key}", target) for target in self.outcomes.values()]

    def actions(self) -> tuple[str, ...]:
        """The named action the entry goes to."""
        return (self.action,)

    def provides(self) -> frozenset[str]:
        """The entry, under its name."""
        return frozenset({self.store_as})

    def gather(self) -> Gather:
        """Up to max_digits and the finish key."""
        return Gather(self.id, self.max_digits + 1, self.finish_on_key, self.retry.timeout)

    def choose(self, call: CallModel, digits: str) -> str:
        """Run the action on an entry of the right length; its outcome is the trigger."""
        digits = digits.removesuffix(self.finish_on_key)
        if not digits.isdigit() or not self.min_digits <= len(digits) <= self.max_digits:
            return self.invalid(call)
        snap = call.snap
        snap.digits = digits
        snap.values[self.store_as] = digits
        result = call.run_action(self.action, digits)
        snap.values.update(result.values)
        return f"outcome_{result.outcome}" if result.outcome in self.outcomes else self.invalid(call)

    def compile(self, fsm: MachineBuilder) -> None:
        """Repeat, retries, one transition per outcome (at an entry '#' ends the number: no back key)."""
        fsm.reenter("repeat", self.id)
        self.compile_retries(fsm)
        for outcome, target in self.outcomes.items():
            fsm.go(f"outcome_{outcome}", self.id, target)

    def candidates(self, examples: Mapping[str, str]) -> list[str]:
        """An entry for each outcome the action gives examples of, repeat, silence and a short entry."""
        return [*(digits + self.finish_on_key for digits in examples.values()), "*", "", "1" + self.finish_on_key]


def build(b: Build) -> list[Node]:
    """An input node from its fields."""
    v = b.values
    if v["min_digits"] > v["max_digits"]:
        b.error("min_digits", f"min_digits ({v['min_digits']}) is more than max_digits ({v['max_digits']})")
    prompt = v.get("say") or b.blank()
    return [
        InputNode(
            b.node_id,
            b.location,
            prompt,
            v.get("short") or prompt,
            b.retry(),
            action=v.get("action", ""),
            outcomes=v.get("on", {}),
            max_digits=v["max_digits"],
            min_digits=v["min_digits"],
            finish_on_key=v["finish_on_key"],
            store_as=v["store_as"],
            where=b.where,
        )
    ]


TYPE = NodeType(
    "input",
    "Take a multi-digit entry and hand it to a named action; an outcome not listed under `on` counts as a wrong entry.",
    (
        SAY,
        SHORT,
        Word("action", "Named action the entry is handed to.", required=True, examples=("order_lookup",), ref="action"),
        Outcomes(
            "on",
            "Action outcome → target node; an outcome not listed counts as a wrong entry.",
            required=True,
            example=(("found", "order_status"),),
        ),
        Count("max_digits", "Most digits accepted.", low=1, high=32, default=12),
        Count("min_digits", "Fewest digits accepted (at most max_digits).", low=1, high=32, default=1),
        Choice("finish_on_key", "Key that ends the entry.", choices=("#", "*"), default="#"),
        Word("store_as", "Name the entry is kept under, for {name} in prompts.", pattern=LOWER_NAME, default="entry"),
        *RETRY_COUNTS,
        *RETRY_TEXTS,
        Target("on_max_failures", "Node after too many wrong entries or silences.", inherit="on_max_failures"),
    ),
    build,
)
