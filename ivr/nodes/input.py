"""`type: input` — a multi-digit entry handed to a named action whose outcome picks the target."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ivr.engine.actions import Gather
from ivr.engine.events import Speech
from ivr.engine.fsm import CallModel, MachineBuilder
from ivr.format import Build, Choice, Count, Localised, NodeType, Outcomes, Target, Word
from ivr.format.fields import LOWER_NAME
from ivr.ir import Node
from ivr.nodes.prompted import LISTEN_FIELDS, RETRY_COUNTS, RETRY_TEXTS, SAY, SHORT, PromptedNode
from ivr.text import Text
from ivr.understanding import family, spoken_digits

READ_OUT = {
    "zh": "零幺二三四五六七八九",
    "en": ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
}  # digits as callers say them


@dataclass(frozen=True)
class InputNode(PromptedNode):
    """Collects a multi-digit entry and hands it to a named action whose outcome picks the target."""

    action: str
    outcomes: Mapping[str, str]  # action outcome -> target; any other outcome is an invalid entry
    max_digits: int
    min_digits: int
    finish_on_key: str
    store_as: str  # name under which the digits are kept for prompts
    too_short: Text | None = None  # said after an entry below min_digits (None: the invalid text)
    too_long: Text | None = None  # said after an entry above max_digits (None: the invalid text)
    read_back: Text | None = None  # said after an entry of the right length, before its action's result
    on_zero: str = ""  # where a lone 0 goes (a person, as 0 is in every menu); '' = a lone 0 is an entry like any other

    kind: ClassVar[str] = "input"

    def edges(self) -> dict[str, str]:
        """Each outcome, a lone 0, and where too many failures go."""
        zero = {"zero": self.on_zero} if self.on_zero else {}
        return {**{f"outcome_{o}": t for o, t in self.outcomes.items()}, **zero, "max_failures": self.retry.on_max_failures}

    def texts(self) -> list[tuple[str, Text]]:
        """The prompts and complaints, the length complaints and the read-back."""
        extra = [(f"{self.id}:{part}", text) for part, text in self._own_texts().items() if text is not None]
        return [*super().texts(), *extra]

    def _own_texts(self) -> dict[str, Text | None]:
        return {"too_short": self.too_short, "too_long": self.too_long, "read_back": self.read_back}

    def _length_complaints(self) -> dict[str, Text]:
        """The wrong-length triggers this node has: too short only where a short entry is possible."""
        out: dict[str, Text] = {}
        if self.too_short is not None and self.min_digits > 1:
            out["too_short"] = self.too_short
        if self.too_long is not None:
            out["too_long"] = self.too_long
        return out

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
        if digits == "0" and self.on_zero and self.min_digits > 1:
            return "zero"
        if not digits.isdigit():
            return self.invalid(call)
        if not self.min_digits <= len(digits) <= self.max_digits:
            trigger = "too_short" if len(digits) < self.min_digits else "too_long"
            self.invalid(call)  # a wrong entry all the same: the same counter, the same limit
            return trigger if trigger in self._length_complaints() else "invalid"
        snap = call.snap
        snap.digits = digits
        snap.values[self.store_as] = digits
        if self.read_back is not None:
            call.say(self.read_back, "read_back")
        result = call.run_action(self.action, digits)
        snap.values.update(result.values)
        return f"outcome_{result.outcome}" if result.outcome in self.outcomes else self.invalid(call)

    def understand(self, call: CallModel, text: str) -> str:
        """Digits read out ("幺二三…", "one two three") are the entry; speech without digits is not understood."""
        digits = spoken_digits(text, call.snap.lang)
        return self.choose(call, digits) if digits else self.not_understood(call)

    def compile(self, fsm: MachineBuilder) -> None:
        """Repeat, retries, one transition per outcome (at an entry '#' ends the number: no back key)."""
        fsm.reenter("repeat", self.id)
        self.compile_retries(fsm)
        for trigger in self._length_complaints():  # counted as wrong entries, each with its own complaint
            fsm.stay(trigger, self.id, when=self._below_max_invalid, after=self._reprompter(trigger))
            fsm.go(trigger, self.id, self.retry.on_max_failures, before=self._complainer(trigger))
        for outcome, target in self.outcomes.items():
            fsm.go(f"outcome_{outcome}", self.id, target)
        if self.on_zero:
            fsm.go("zero", self.id, self.on_zero)

    def _below_max_invalid(self, call: CallModel) -> bool:
        return call.snap.invalid < self.retry.max_invalid

    def _complainer(self, trigger: str) -> Any:
        text = self._length_complaints().get(trigger)
        if text is None:
            return super()._complainer(trigger)

        def complain(call: CallModel) -> None:
            call.say(text, trigger)

        return complain

    def candidates(self, examples: Mapping[str, str]) -> list[str]:
        """An entry for each outcome the action gives examples of, repeat, silence, a short entry (and a long one), a lone 0."""
        long = ["1" * (self.max_digits + 1)] if "too_long" in self._length_complaints() else []
        zero = ["0"] if self.on_zero else []
        return [*(digits + self.finish_on_key for digits in examples.values()), "*", "", "1" + self.finish_on_key, *long, *zero]

    def spoken_candidates(self, examples: Mapping[str, str]) -> list[Speech]:
        """Where the node listens: each example read out in each language, and words without digits."""
        if self.listening is None:
            return []
        spoken: list[Speech] = []
        for lang in self.listening.hints:
            words = family(lang)
            spoken += [Speech(read_out(digits, words)) for digits in examples.values()]
            spoken.append(Speech("不知道" if words == "zh" else "I do not know"))
        return spoken


def read_out(digits: str, family: str) -> str:
    """Digits as a caller reads them out in a language family ("zh": 幺二三, "en": one two three)."""
    words = READ_OUT[family]
    return ("" if family == "zh" else " ").join(words[int(d)] for d in digits)


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
            too_short=v.get("too_short"),
            too_long=v.get("too_long"),
            read_back=v.get("read_back"),
            where=b.where,
            listening=b.listening({}, ()),
            on_zero=v.get("on_zero") or "",
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
        Localised(
            "read_back",
            "Said after an entry of the right length, before the action's result; may read the entry back, "
            "e.g. {order_id|digits} with store_as: order_id (optional).",
        ),
        *RETRY_COUNTS,
        *RETRY_TEXTS,
        Localised("too_short", "Said instead of `invalid` after an entry with fewer than min_digits digits; counts as a wrong entry."),
        Localised("too_long", "Said instead of `invalid` after an entry with more than max_digits digits; counts as a wrong entry."),
        Target("on_max_failures", "Node after too many wrong entries or silences.", inherit="on_max_failures"),
        Target("on_zero", "Node a lone 0 leads to (a person, as 0 is in every menu; needs min_digits above 1)."),
        *LISTEN_FIELDS,
    ),
    build,
)
