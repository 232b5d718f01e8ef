"""What menu and input nodes share: a prompt, a short re-prompt, and counted retries for wrong keys and silence."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from ivr.engine.actions import Gather
from ivr.engine.events import Entry, Speech
from ivr.engine.fsm import CallModel, MachineBuilder
from ivr.format import Choice, Count, Localised
from ivr.ir import Listening, Node, Retry
from ivr.text import Text

DTMF = re.compile(r"[0-9*#]*")
_ONE_KEY = frozenset("0123456789")

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

LISTEN_FIELDS = (
    Choice(
        "speech", "Whether the caller may also say what they want (on) or press keys only (off).", choices=("on", "off"), inherit="speech"
    ),
    Count(
        "min_confidence",
        "Recogniser confidence, in percent, below which a result is not understood.",
        low=0,
        high=100,
        inherit="min_confidence",
    ),
    Localised("not_understood", "Said after speech that matched nothing; counts as a wrong entry.", inherit="not_understood"),
    Localised("hints", "More words for the recogniser to expect, comma-separated (the phrases are always given)."),
)


@dataclass(frozen=True)
class PromptedNode(Node):
    """A node that says a prompt and waits for the caller's keys, counting wrong entries and silences."""

    prompt: Text
    reprompt: Text  # short version after a failure
    retry: Retry
    listening: Listening | None = field(default=None, kw_only=True)  # None: keys only

    waits: ClassVar[bool] = True
    takes_entries: ClassVar[bool] = True

    def gather(self) -> Gather:
        """How keys are taken here."""
        raise NotImplementedError

    def choose(self, call: CallModel, digits: str) -> str:
        """The trigger for an entry of keys that is neither silence, `*` nor `#`."""
        raise NotImplementedError

    def listen(self, lang: str) -> Gather:
        """How keys are taken here, and speech in `lang` where the node listens."""
        # Built once per language: a Gather is frozen, and the node's fields it comes from never change.
        made = self.__dict__.get("_listens")
        if made is None:
            made = self.__dict__["_listens"] = {}
        gather = made.get(lang)
        if gather is None:
            gather = made[lang] = self._listen(lang)
        return gather

    def _listen(self, lang: str) -> Gather:
        gather = self.gather()
        if self.listening is None:
            return gather
        return replace(gather, speech=lang, hints=self.listening.hints.get(lang, ()))

    def understand(self, call: CallModel, text: str) -> str:
        """The trigger for what the caller said (sure enough to be taken at its word)."""
        raise NotImplementedError

    def texts(self) -> list[tuple[str, Text]]:
        """The prompt, the short prompt and the two complaints (three where the node listens)."""
        out = [
            (self.id, self.prompt),
            (f"{self.id}:short", self.reprompt),
            (f"{self.id}:invalid", self.retry.invalid_prompt),
            (f"{self.id}:no_input", self.retry.no_input_prompt),
        ]
        if self.listening is not None:
            out.append((f"{self.id}:not_understood", self.listening.not_understood))
        return out

    def heard(self) -> Text:
        """The prompt."""
        return self.prompt

    def enter(self, call: CallModel) -> None:
        """Say the prompt and wait for keys."""
        call.say(self.prompt)
        call.emit(self.listen(call.snap.lang))

    def handle(self, call: CallModel, event: Any) -> str | None:
        """Classify the caller's keys (silence, repeat, back, a choice, or a wrong entry) or what they said."""
        if isinstance(event, Speech):
            return self.heard_speech(call, event)
        if not isinstance(event, Entry):
            return None
        call.snap.choices = []  # keys answer any question asked between options
        digits = event.digits
        if digits == "":
            call.snap.no_input += 1
            return "no_input"
        if digits == "*":
            return "repeat"
        if digits == "#":
            return "back" if call.can_go_back() else self.invalid(call)
        if digits not in _ONE_KEY and not DTMF.fullmatch(digits):  # most entries are one key: no pattern to run
            return self.invalid(call)
        return self.choose(call, digits)

    def heard_speech(self, call: CallModel, event: Speech) -> str:
        """Speech: silence where nobody listened (the carrier hears no keys), not understood when too unsure, else understood."""
        if self.listening is None or not any(ch.isalnum() for ch in event.text):
            # Nobody listened, or nothing was said (no words, only noise): what the carrier posts is no input.
            call.snap.no_input += 1
            call.snap.choices = []
            return "no_input"
        if event.confidence is not None and event.confidence * 100 < self.listening.min_confidence:
            return self.not_understood(call)
        return self.understand(call, event.text)

    @staticmethod
    def invalid(call: CallModel) -> str:
        """Count a wrong entry."""
        call.snap.invalid += 1
        return "invalid"

    @staticmethod
    def not_understood(call: CallModel) -> str:
        """Count speech that chose nothing as a wrong entry (with its own complaint)."""
        call.snap.invalid += 1
        call.snap.choices = []
        return "not_understood"

    def compile_retries(self, fsm: MachineBuilder) -> None:
        """Below the limit a failure re-prompts here; at the limit it goes to on_max_failures, after saying why."""
        failures = [("invalid", "invalid", self.retry.max_invalid), ("no_input", "no_input", self.retry.max_no_input)]
        if self.listening is not None:  # speech that chose nothing is a wrong entry, with its own complaint
            failures.append(("not_understood", "invalid", self.retry.max_invalid))
        for trigger, counter, limit in failures:
            fsm.stay(trigger, self.id, when=_below(counter, limit), after=self._reprompter(trigger))
            fsm.go(trigger, self.id, self.retry.on_max_failures, before=self._complainer(trigger))

    def _complainer(self, trigger: str) -> Any:
        problem = self.retry.no_input_prompt if trigger == "no_input" else self.retry.invalid_prompt
        if trigger == "not_understood" and self.listening is not None:
            problem = self.listening.not_understood

        def complain(call: CallModel) -> None:
            call.say(problem, trigger)

        return complain

    def _reprompter(self, trigger: str) -> Any:
        complain = self._complainer(trigger)

        def reprompt(call: CallModel) -> None:
            complain(call)
            call.say(self.reprompt, "short")
            call.emit(self.listen(call.snap.lang))

        return reprompt


def _below(counter: str, limit: int) -> Any:
    def below(call: CallModel) -> bool:
        return int(getattr(call.snap, counter)) < limit

    return below
