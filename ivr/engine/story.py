"""A call's story: what happened at each step as plain lines, and how the call ended.

Every adapter (the console, QA in process, the webhooks) keeps the same story, so `ivr calls show`
and `ivr stats` read one shape whichever way a call came in. A line is a dict with `type` and `node`:

- what the caller or the network did: `input` (keys, or `speech` with its `confidence`),
  `transfer_result` (`status`, `queue`), `recording` (`seconds`, `ended_by`), `hangup` (reason `caller`);
- what the engine did: the actions' own JSON lines (`say`, `gather`, `transfer`, `record`, `ticket`, `hangup`);
- where the call went: `move` (`node` left on `trigger` for `to`; `to` '' is a re-prompt of the same node).

The heard lines are the transcript of `ivr call --json`, in the same shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ivr.engine.actions import Transfer
from ivr.engine.engine import Step
from ivr.engine.events import CallerHangup, Entry, Event, RecordingDone, Speech, TransferResult
from ivr.ir import Menu

__all__ = [
    "HEARD",
    "OUTCOMES",
    "TRANSFER_ENDS",
    "Line",
    "entry_line",
    "heard",
    "outcome_after",
    "queue_at",
    "step_lines",
]

Line = dict[str, Any]

# The lines a caller hears or makes, as `ivr call --json` prints them.
HEARD = frozenset({"say", "gather", "input", "transfer", "record", "ticket", "hangup"})

# How a call ended, strongest last: a ticket or an agent is what the call achieved, whatever came before.
OUTCOMES = ("self-service", "abandoned", "failed", "agent", "ticket")
_RANK = {"self-service": 1, "abandoned": 1, "failed": 1, "agent": 2, "ticket": 2}
# Hang-up reasons; any other is a hang-up node of the menu ending the call on purpose, after it said all.
_HANGUPS = {"caller": "abandoned", "transferred": "agent", "loop_limit": "failed", "error": "failed"}
# The triggers that end a transfer node's attempt: their move lines carry the queue.
TRANSFER_ENDS = ("answered", "transfer_failed")


def entry_line(node: str, event: Event, queue: str = "") -> Line:
    """The line for what came in at `node`: the caller's entry, a network result, or the caller hanging up."""
    if isinstance(event, Entry):
        return {"type": "input", "node": node, "digits": event.digits}
    if isinstance(event, Speech):
        line: Line = {"type": "input", "node": node, "digits": "", "speech": event.text}
        if event.confidence is not None:
            line["confidence"] = event.confidence
        return line
    if isinstance(event, TransferResult):
        return {"type": "transfer_result", "node": node, "queue": queue, "status": event.status}
    if isinstance(event, RecordingDone):
        return {"type": "recording", "node": node, "seconds": event.seconds, "ended_by": event.ended_by}
    if isinstance(event, CallerHangup):
        return {"type": "hangup", "node": node, "reason": "caller"}
    raise TypeError(f"not an event: {event!r}")


def queue_at(menu: Menu, node: str) -> str:
    """The queue a transfer node dials ('' for any other node)."""
    return str(getattr(menu.nodes.get(node), "queue", "") or "")


def step_lines(step: Step, menu: Menu | None = None, answer_to_dial: bool = False) -> list[Line]:
    """What one engine step did: where the call went, then what the caller was told and asked.

    A transfer's end (answered, or failed) names its queue; a failure with no dial before it, in a step
    that is not the answer to a dial (`answer_to_dial`), was a queue with no address.
    """
    moves: list[Line] = []
    dialled = {a.node for a in step.actions if isinstance(a, Transfer)}
    for e in step.transitions:
        move: Line = {"type": "move", "node": e.source, "trigger": e.trigger, "to": e.dest}
        if menu is not None and e.trigger in TRANSFER_ENDS:
            move["queue"] = queue_at(menu, e.source)
            if e.trigger == "transfer_failed" and not answer_to_dial and e.source not in dialled:
                move["reason"] = "no address"  # the engine failed it at once: there was nothing to dial
        moves.append(move)
    return moves + [action.to_dict() for action in step.actions]


def heard(lines: Iterable[Mapping[str, Any]]) -> list[Line]:
    """The transcript: the lines the caller heard or made, without the story's bookkeeping."""
    return [dict(line) for line in lines if line["type"] in HEARD]


def outcome_after(outcome: str | None, lines: Iterable[Mapping[str, Any]]) -> str | None:
    """The call's outcome once `lines` happened, given the outcome before (None: not decided yet).

    A ticket or an agent who answered decides it; otherwise the first hang-up does (the caller's:
    abandoned; the menu's after it said all: self-service; the runaway guard's or an error's: failed).
    """
    for line in lines:
        kind = line["type"]
        found: str | None = None
        if kind == "ticket":
            found = "ticket"
        elif kind == "transfer_result" and line.get("status") in ("answered", "completed", "in-progress"):
            found = "agent"
        elif kind == "hangup":
            found = _HANGUPS.get(str(line.get("reason")), "self-service")
        elif kind == "transfer" and outcome is None:
            continue  # decided by its result
        if found is not None and (outcome is None or _RANK[found] > _RANK[outcome]):
            outcome = found
    return outcome
