"""Drive one call through the engine the way a phone network would, keeping a transcript.

The console (`ivr call`), the QA runner and the tests all use this, so they agree on what a call is.
Transfers are answered (or fail, as asked) and recordings carry the text the caller "says".
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ivr.engine.actions import Action, Gather, Record, Transfer
from ivr.engine.coverage import Edge
from ivr.engine.engine import Engine, Step
from ivr.engine.events import CallerHangup, Entry, Event, RecordingDone, Speech, TransferResult
from ivr.engine.snapshot import CallSnapshot

Line = dict[str, Any]
CallerEntry = str | Speech  # keys pressed ('' = silence), or words said


@dataclass
class SimulatedCall:
    """One simulated call; `lines` is its transcript in the JSON-lines shape of `ivr call --json`."""

    engine: Engine
    at: datetime
    caller: str = "+8613800000000"
    lang: str | None = None
    voicemail: str = ""
    transfer_result: str = "answered"
    call_id: str = field(default_factory=lambda: f"SIM{uuid.uuid4().hex[:29]}")
    on_line: Callable[[Line], None] | None = None
    ask_voicemail: Callable[[], str] | None = None  # asked for the message when a recording starts
    lines: list[Line] = field(default_factory=list)
    transitions: list[Edge] = field(default_factory=list)  # every transition the engine took, in order
    actions: list[Action] = field(default_factory=list)  # every action the engine asked for, in order
    snapshot: CallSnapshot | None = None
    waiting: Action | None = None  # the Gather the caller is expected to answer
    consumed: int = 0  # scripted entries used before the call ended

    def start(self) -> list[Line]:
        """Answer the call and play everything up to the first time the caller must press keys."""
        return self._apply(self.engine.start(self.call_id, self.caller, self.at, self.lang))

    @property
    def ended(self) -> bool:
        """Whether the call is over."""
        return self.snapshot is None or self.snapshot.ended

    def enter(self, entry: CallerEntry) -> list[Line]:
        """The caller's next entry: keys, or speech."""
        return self.speak(entry) if isinstance(entry, Speech) else self.press(entry)

    def speak(self, speech: Speech) -> list[Line]:
        """The caller says something at the current gather (a recogniser's text, maybe with its confidence)."""
        node = self.snapshot.node if self.snapshot else ""
        line: Line = {"type": "input", "node": node, "digits": "", "speech": speech.text}
        if speech.confidence is not None:
            line["confidence"] = speech.confidence
        return [self._emit(line), *self._send(speech)]

    def press(self, keys: str) -> list[Line]:
        """The caller's keys at the current gather ('' = silence until the timeout)."""
        node = self.snapshot.node if self.snapshot else ""
        digits = delivered_digits(keys, self.waiting) if isinstance(self.waiting, Gather) else keys
        new = [self._emit({"type": "input", "node": node, "digits": digits})]
        return new + self._send(Entry(digits))

    def hangup(self) -> list[Line]:
        """The caller hangs up."""
        if self.ended:
            return []
        assert self.snapshot is not None
        line = self._emit({"type": "hangup", "node": self.snapshot.node, "reason": "caller"})
        self._send(CallerHangup())
        return [line]

    def run(self, entries: Iterable[CallerEntry]) -> list[Line]:
        """Start (if needed) and answer each gather with the next entry; hang up when they run out."""
        if self.snapshot is None:
            self.start()
        feed: Iterator[CallerEntry] = iter(entries)
        while not self.ended:
            entry = next(feed, None)
            if entry is None:
                self.hangup()
                break
            self.consumed += 1
            self.enter(entry)
        # Entries left over are not read: a flow judges its own remaining steps after the call.
        return self.lines

    def _send(self, event: Event) -> list[Line]:
        assert self.snapshot is not None
        return self._apply(self.engine.handle(self.snapshot, event, self.at))

    def _apply(self, step: Step) -> list[Line]:
        """Record a step's actions (only what the engine said: nothing is made up), then play the network's part."""
        self.snapshot = step.snapshot
        self.transitions.extend(step.transitions)
        self.actions.extend(step.actions)
        last = step.actions[-1] if step.actions else None
        self.waiting = last if isinstance(last, Gather) else None  # known before its line is shown (the console says it listens)
        new = [self._emit(action.to_dict()) for action in step.actions]
        if isinstance(last, Transfer) and not self.snapshot.ended:
            new += self._send(TransferResult(self.transfer_result))
        elif isinstance(last, Record):
            text = self.ask_voicemail() if self.ask_voicemail is not None else self.voicemail
            new += self._send(RecordingDone(text=text))
        return new

    def _emit(self, line: Line) -> Line:
        self.lines.append(line)
        if self.on_line is not None:
            self.on_line(line)
        return line


def delivered_digits(keys: str, gather: Gather) -> str:
    """What a phone network reports for keys pressed at a gather: input stops at the finish key
    (which is not reported, so a lone finish key is no input) or at the maximum number of digits."""
    if gather.finish_on_key and gather.finish_on_key in keys:
        keys = keys[: keys.index(gather.finish_on_key)]
    return keys[: gather.max_digits]
