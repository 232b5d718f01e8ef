"""Running a flow's steps against a call's transcript as the call happens.

A driver (the console simulator or the Twilio stand-in) asks `next_entry` whenever the caller must
press keys and `next_voicemail` when a message is recorded; checks between them are made against
what the call has said so far. `finish` makes the checks left after the call has ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ivr.console import format_line
from ivr.engine.events import Speech
from ivr.qa.flow import Flow, Step
from ivr.simulator import CallerEntry

Line = dict[str, Any]
CHECKS = ("expect", "expect_transfer", "expect_ticket", "expect_hangup")


@dataclass
class FlowFailure(Exception):
    """A step did not hold: what was expected, what was heard, and the transcript up to there."""

    step: Step
    expected: str
    heard: list[str]
    transcript: list[Line]

    def __str__(self) -> str:
        return self.report()

    def report(self) -> str:
        """A readable account of the mismatch."""
        where = f"{self.step.location.file}:{self.step.location.line}: step {self.step.number}"
        heard = "\n".join(f"      {h}" for h in self.heard) or "      (nothing)"
        transcript = "\n".join(f"    {format_line(_with_node(line))}" for line in self.transcript) or "    (empty)"
        return f"  {where}: {self.expected}\n    heard:\n{heard}\n  transcript up to the mismatch:\n{transcript}"


def _with_node(line: Line) -> Line:
    return {"node": "", **line} if line["type"] in ("say", "gather", "input", "hangup", "transfer", "record", "ticket") else line


class FlowRun:
    """The state of one flow while its call runs; `lines` is the call's live transcript."""

    def __init__(self, flow: Flow, lines: list[Line], *, nodes_known: bool = True) -> None:
        self.flow = flow
        self.lines = lines
        self.nodes_known = nodes_known  # a live server without a trace cannot say which node spoke
        self.index = 0
        self.cursor = 0  # say lines before this were matched by an earlier expect
        self.offset = 0  # ...and in the line at `cursor`, text before this offset
        self.voicemail: str | None = None

    def next_entry(self) -> CallerEntry | None:
        """The caller's next entry at a gather; None hangs up."""
        steps = self.flow.steps
        while self.index < len(steps):
            step = steps[self.index]
            self.index += 1
            if step.kind in CHECKS:
                self._check(step)
            elif step.kind == "voicemail":
                self.voicemail = step.text
            elif step.kind == "press":
                return step.text
            elif step.kind == "speak":
                return Speech(step.text, step.confidence)
            elif step.kind == "silence":
                return ""
            elif step.kind == "hangup":
                return None
        return None

    def next_voicemail(self) -> str:
        """What the caller says when recorded: a voicemail step (before or right after the prompt), else nothing."""
        text = self._voicemail()
        self.cursor, self.offset = len(self.lines), 0  # what is said next is heard after the message
        return text

    def _voicemail(self) -> str:
        if self.voicemail is not None:
            text, self.voicemail = self.voicemail, None
            return text
        steps = self.flow.steps
        while self.index < len(steps) and steps[self.index].kind in (*CHECKS, "voicemail"):
            step = steps[self.index]
            self.index += 1
            if step.kind == "voicemail":
                return step.text
            self._check(step)
        return ""

    def finish(self) -> None:
        """After the call: every remaining step must be a check that holds."""
        for step in self.flow.steps[self.index :]:
            self.index += 1
            if step.kind in CHECKS:
                self._check(step)
            elif step.kind != "hangup":
                raise FlowFailure(step, f"{step.describe()}: the call had already ended", self._recent(), list(self.lines))

    # ---- checks -------------------------------------------------------------------
    def _turn_start(self) -> int:
        """Index just after the caller's last action: an expect looks at what was heard since."""
        for i in range(len(self.lines) - 1, -1, -1):
            if self.lines[i]["type"] == "input":
                return i + 1
        return 0

    def _recent(self) -> list[str]:
        start = max(self.cursor, self._turn_start())
        return [_heard(line) for line in self.lines[start:] if line["type"] in ("say", "transfer", "ticket", "hangup")]

    def _check(self, step: Step) -> None:
        if step.kind == "expect":
            turn = self._turn_start()
            if turn > self.cursor:
                self.cursor, self.offset = turn, 0
            for i in range(self.cursor, len(self.lines)):
                line = self.lines[i]
                skip = self.offset if i == self.cursor else 0
                end = self._says(step, line, skip) if line["type"] == "say" else None
                if end is not None:
                    # Several expects may match one long prompt, in order.
                    self.cursor, self.offset = i, end
                    return
        else:
            for line in self.lines:
                if self._event(step, line):
                    return
        raise FlowFailure(step, f"expected {step.describe()}", self._recent(), list(self.lines))

    def _says(self, step: Step, line: Line, start: int) -> int | None:
        """Where the match ends in the line's text (searching from `start`), or None."""
        if step.node is not None and self.nodes_known and line.get("node") != step.node:
            return None
        text = line.get("text", "")
        if step.regex is not None:
            match = step.regex.search(text, start)
            return match.end() if match else None
        found = text.find(step.text, start)
        return found + len(step.text) if found >= 0 else None

    @staticmethod
    def _event(step: Step, line: Line) -> bool:
        if step.kind == "expect_transfer":
            return line["type"] == "transfer" and line.get("queue") == step.text
        if step.kind == "expect_ticket":
            return line["type"] == "ticket" and (not step.text or line.get("category") == step.text)
        return line["type"] == "hangup" and line.get("reason") != "caller"


def _heard(line: Line) -> str:
    if line["type"] == "say":
        return f"[{line.get('node', '?')}] {line['text']}"
    if line["type"] == "transfer":
        return f"→ transfer to {line.get('queue') or line.get('address')}"
    if line["type"] == "ticket":
        return f"✔ ticket {line.get('number')} ({line.get('category')})"
    return f"☎ hang up ({line.get('reason')})"
