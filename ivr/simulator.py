"""Drive one call through the engine the way a phone network would, keeping a transcript.

The console (`ivr call`), the QA runner and the tests all use this, so they agree on what a call is.
Transfers are answered (or fail, as asked) and recordings carry the text the caller "says".
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ivr.effort import estimate_seconds
from ivr.engine.actions import Action, Gather, Record, Say, Transfer
from ivr.engine.coverage import Edge
from ivr.engine.engine import Engine, Step
from ivr.engine.events import CallerHangup, Entry, Event, RecordingDone, Speech, TransferResult
from ivr.engine.snapshot import CallSnapshot
from ivr.engine.story import entry_line, outcome_after, queue_at, step_lines

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
    # The call's story (ivr/engine/story.py), step by step with the time each began. The clock runs on from
    # `at` by the estimated seconds of every prompt and the timeout of every silence (the engine's stays at `at`).
    story: list[tuple[datetime, list[Line]]] = field(default_factory=list)
    outcome: str | None = None
    elapsed: float = 0.0
    on_end: Callable[[SimulatedCall], None] | None = None  # told once, when the call is over (the story is whole)
    _told: bool = field(default=False, repr=False)

    def start(self) -> list[Line]:
        """Answer the call and play everything up to the first time the caller must press keys."""
        return self._apply(self.engine.start(self.call_id, self.caller, self.at, self.lang), [])

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
        return [self._emit(entry_line(node, speech)), *self._send(speech)]

    def press(self, keys: str) -> list[Line]:
        """The caller's keys at the current gather ('' = silence until the timeout)."""
        node = self.snapshot.node if self.snapshot else ""
        digits = delivered_digits(keys, self.waiting) if isinstance(self.waiting, Gather) else keys
        if not digits and isinstance(self.waiting, Gather):
            self.elapsed += self.waiting.timeout  # silence lasts until the gather gives up
        new = [self._emit(entry_line(node, Entry(digits)))]
        return new + self._send(Entry(digits))

    def hangup(self) -> list[Line]:
        """The caller hangs up."""
        if self.ended:
            return []
        assert self.snapshot is not None
        line = self._emit(entry_line(self.snapshot.node, CallerHangup()))
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
        node = self.snapshot.node
        entry = entry_line(node, event, queue_at(self.engine.menu, node))
        return self._apply(self.engine.handle(self.snapshot, event, self.at), [entry], isinstance(event, TransferResult))

    def _apply(self, step: Step, story: list[Line], dial_result: bool = False) -> list[Line]:
        """Record a step's actions (only what the engine said: nothing is made up), then play the network's part."""
        self._tell(step, story, dial_result)
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

    def _tell(self, step: Step, story: list[Line], dial_result: bool) -> None:
        """Add a step to the story; once the call is over, hand the whole story on."""
        story += step_lines(step, self.engine.menu, dial_result)
        self.story.append((self.at + timedelta(seconds=round(self.elapsed, 1)), story))
        self.outcome = outcome_after(self.outcome, story)
        self.elapsed += sum(estimate_seconds(a.text, a.lang) for a in step.actions if isinstance(a, Say))
        if step.snapshot.ended and not self._told:
            self._told = True
            if self.on_end is not None:
                self.on_end(self)

    @property
    def ended_at(self) -> datetime:
        """When the call ended by its own clock."""
        return self.at + timedelta(seconds=round(self.elapsed, 1))

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
