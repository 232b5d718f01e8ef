"""What menu and input nodes share: a prompt, a short re-prompt, and counted retries for wrong keys and silence."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from ivr.engine.actions import Gather
from ivr.engine.events import Entry
from ivr.engine.fsm import CallModel, MachineBuilder
from ivr.format import Count, Localised
from ivr.ir import Node, Retry
from ivr.text import Text

DTMF = re.compile(r"[0-9*#]*")

SAY = Localised("say", "What the caller hears.", required=True)
SHORT = Localised("short", "Shorter prompt for repeats after a wrong entry or silence (default: say).")
RETRY_COUNTS = (
    Count("max_invalid", "Wrong entries before on_max_failures.", low=1, high=10, inherit="max_invalid"),
    Count("max_no_input", "Silences before on_max_failures.", low=1, high=10, inherit="max_no_input"),
    Count("timeout", "Seconds to wait for the caller.", low=1, high=60, inherit="timeout"),
)
RETRY_TEXTS = (
    Localised("invalid", "Said after a wrong entry, before the prompt again.", inherit="invalid"),
    Localised("no_input", "Said after a silence, before the prompt again.", inherit="no_input"),
)


@dataclass(frozen=True)
class PromptedNode(Node):
    """A node that says a prompt and waits for the caller's keys, counting wrong entries and silences."""

    prompt: Text
    reprompt: Text  # short version after a failure
    retry: Retry

    waits: ClassVar[bool] = True
    takes_entries: ClassVar[bool] = True

    def gather(self) -> Gather:
        """How keys are taken here."""
        raise NotImplementedError

    def choose(self, call: CallModel, digits: str) -> str:
        """The trigger for an entry of keys that is neither silence, `*` nor `#`."""
        raise NotImplementedError

    def texts(self) -> list[tuple[str, Text]]:
        """The prompt, the short prompt and the two complaints."""
        return [
            (self.id, self.prompt),
            (f"{self.id}:short", self.reprompt),
            (f"{self.id}:invalid", self.retry.invalid_prompt),
            (f"{self.id}:no_input", self.retry.no_input_prompt),
        ]

    def heard(self) -> Text:
        """The prompt."""
        return self.prompt

    def enter(self, call: CallModel) -> None:
        """Say the prompt and wait for keys."""
        call.say(self.prompt)
        call.emit(self.gather())

    def handle(self, call: CallModel, event: Any) -> str | None:
        """Classify the caller's keys: silence, repeat, back, a choice, or a wrong entry."""
        if not isinstance(event, Entry):
            return None
        digits = event.digits
        if digits == "":
            call.snap.no_input += 1
            return "no_input"
        if digits == "*":
            return "repeat"
        if digits == "#":
            return "back" if call.can_go_back() else self.invalid(call)
        if not DTMF.fullmatch(digits):
            return self.invalid(call)
        return self.choose(call, digits)

    @staticmethod
    def invalid(call: CallModel) -> str:
        """Count a wrong entry."""
        call.snap.invalid += 1
        return "invalid"

    def compile_retries(self, fsm: MachineBuilder) -> None:
        """Below the limit a failure re-prompts here; at the limit it goes to on_max_failures, after saying why."""
        for trigger, limit in (("invalid", self.retry.max_invalid), ("no_input", self.retry.max_no_input)):
            fsm.stay(trigger, self.id, when=_below(trigger, limit), after=self._reprompter(trigger))
            fsm.go(trigger, self.id, self.retry.on_max_failures, before=self._complainer(trigger))

    def _complainer(self, trigger: str) -> Any:
        problem = self.retry.no_input_prompt if trigger == "no_input" else self.retry.invalid_prompt

        def complain(call: CallModel) -> None:
            call.say(problem, trigger)

        return complain

    def _reprompter(self, trigger: str) -> Any:
        complain = self._complainer(trigger)

        def reprompt(call: CallModel) -> None:
            complain(call)
            call.say(self.reprompt, "short")
            call.emit(self.gather())

        return reprompt


def _below(counter: str, limit: int) -> Any:
    def below(call: CallModel) -> bool:
        return int(getattr(call.snap, counter)) < limit

    return below
