"""The engine: (call snapshot, event, clock) → (new snapshot, actions, transitions). No I/O of its own."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from ivr.caller_number import can_text
from ivr.engine.actions import Action, Hangup, Record, Say, Ticket, Transfer
from ivr.engine.coverage import Edge
from ivr.engine.events import CallerHangup, Entry, Event, Speech
from ivr.engine.frozen import filled_directly
from ivr.engine.fsm import CallModel, compile_machine, edges_of
from ivr.engine.services import Action as NamedAction
from ivr.engine.services import ActionContext, ActionResult, TicketRequest, TicketSink
from ivr.engine.snapshot import CallSnapshot
from ivr.errors import CallError
from ivr.ir import Menu
from ivr.text import Text, spell_digits

__all__ = ["FALLBACK", "MAX_AUTO_STEPS", "Engine", "Step", "ticket_description"]

log = logging.getLogger(__name__)

MAX_AUTO_STEPS = 64  # nodes passed without waiting in one step; the loader forbids loops, this is a backstop
FALLBACK = "fallback"  # the node name on actions of the carrier's fallback path, which belongs to no node
FALLBACK_MESSAGE_SECONDS = 120

_A = TypeVar("_A")
_CALLER_EVENTS = (Entry, Speech)  # what the caller does (keys, speech), as opposed to what the network reports

QueueDirectory = Callable[[str], str]  # queue name -> the address to dial ('' when it cannot be dialled)


@filled_directly
@dataclass(frozen=True)
class Step:
    """The result of one engine step: the call's new state, what to do, and the transitions taken."""

    snapshot: CallSnapshot
    actions: tuple[Action, ...]
    transitions: tuple[Edge, ...] = ()


def ticket_description(recording: str, caller: str, where: str) -> str:
    """What a ticket says: the caller's message (text or recording URL), else who asked to be called back."""
    return recording or f"callback requested from {caller or 'an unknown number'} ({where})"


class Engine:
    """Runs calls on one menu version; safe to share between threads (it keeps no call state)."""

    def __init__(
        self,
        menu: Menu,
        *,
        tickets: TicketSink | None = None,  # None: an engine for inspection (diagrams, coverage) only
        actions: Mapping[str, NamedAction] | None = None,
        hours_override: str | None = None,
        queues: QueueDirectory | None = None,  # default: the addresses the menu gives its queues
        texts: bool = False,  # text messages to callers can be sent (IVR_SMS_FROM): tickets may be texted
    ) -> None:
        self.menu = menu
        self.tickets = tickets
        self.actions = dict(actions or {})
        self.hours_override = hours_override
        self.texts = texts
        self.queues = queues or (lambda name: menu.queues[name].address if name in menu.queues else "")
        self.machine = compile_machine(menu)
        self.edges = edges_of(self.machine)

    # ---- public API -------------------------------------------------------
    def start(self, call_id: str, caller: str, now: datetime, lang: str | None = None) -> Step:
        """Answer a new call: the greeting and whatever follows up to the first wait."""
        language = lang if lang in self.menu.languages else self.menu.default_language

        def answered() -> CallSnapshot:
            return CallSnapshot(call_id, caller, language, self.menu.start, self.menu.version)

        return self._run(CallModel(answered(), now, self), answered, self.enter, True)

    def handle(self, snapshot: CallSnapshot, event: Event, now: datetime) -> Step:
        """Take one event for a call in progress."""
        if snapshot.ended:
            return Step(snapshot, ())
        node = self.menu.nodes.get(snapshot.node)
        # Only the caller's own entries count towards the runaway guard, never network results.
        counted = isinstance(event, _CALLER_EVENTS) and node is not None and node.takes_entries

        def begun() -> CallSnapshot:  # the call as this step starts, the given snapshot left as it was
            snap = snapshot.copy()
            if snap.lang not in self.menu.languages:
                snap.lang = self.menu.default_language
            if counted:
                snap.steps += 1
            return snap

        model = CallModel(begun(), now, self)
        if isinstance(event, CallerHangup):
            # A caller who hangs up while recording has still left a message: wait for the recording.
            if node is not None and node.outlives_hangup:
                model.snap.values["caller_hung_up"] = "1"
            else:
                model.end()
            return Step(model.snap, ())
        if counted and model.snap.steps > self.menu.loop_limit.max_steps:
            return self._run(model, begun, self._fire, "loop_limit")
        return self._run(model, begun, self._dispatch, event)

    def fallback(self, lang: str | None = None) -> tuple[Action, ...]:
        """The carrier's fallback path: apologise in every language and offer to take a message."""
        out: list[Action] = self._in_every_language(self.menu.apology, lang, "apology")
        if self.menu.fallback_prompt is not None:
            out += self._in_every_language(self.menu.fallback_prompt, lang, "fallback")
        out.append(Record(FALLBACK, FALLBACK_MESSAGE_SECONDS, "#"))
        return tuple(out)

    def fallback_ticket(self, call_id: str, caller: str, recording_url: str, now: datetime) -> tuple[Action, ...]:
        """The fallback message becomes a ticket whose number is read back, then the call ends."""
        if self.tickets is None:
            raise CallError("this engine has no ticket store")
        request = TicketRequest(
            call_id=call_id,
            caller=caller,
            lang=self.menu.default_language,
            category="fallback",
            description=ticket_description(recording_url, caller, "fallback"),
            created_at=now,
            first_response_minutes=self.menu.ticket_first_response_minutes,
        )
        number = self.tickets.create_ticket(request)
        out: list[Action] = [Ticket(FALLBACK, number, "fallback")]
        template = self.menu.fallback_ticket
        for language in self.menu.languages_from():
            if template:
                out.append(Say.of(FALLBACK, language, template.get(language), {"ticket": number}, "fallback_ticket"))
            else:
                out.append(Say(FALLBACK, language, spell_digits(number), "fallback_ticket", pieces=((language, "digits", number),)))
        out.append(Hangup(FALLBACK, "error"))
        return tuple(out)

    def last_resort(self, lang: str | None = None, node: str = FALLBACK, every_language: bool = True) -> tuple[Action, ...]:
        """When nothing else works: apologise and hand the caller to the fallback queue (if it can be dialled), then end."""
        languages = self.menu.languages_from(lang) if every_language else self.menu.languages_from(lang)[:1]
        out: list[Action] = [Say.of(node, language, self.menu.apology.get(language), {}, "apology") for language in languages]
        queue = self.menu.fallback_queue
        address = self.address_of(queue)
        if address:
            out.append(Transfer(node, queue, address))
        out.append(Hangup(node, "error"))
        return tuple(out)

    # ---- what nodes ask of the engine (fsm.Runtime) ------------------------------
    def is_open(self, at: datetime) -> bool:
        """Whether the line is open at `at`."""
        return self.menu.schedule.is_open(at, self.hours_override)

    def address_of(self, queue: str) -> str:
        """Where a transfer to `queue` is dialled ('' when it cannot be)."""
        return self.queues(queue)

    def run_action(self, call: CallModel, name: str, digits: str) -> ActionResult:
        """Run the named action `name` on the caller's entry."""
        snap = call.snap
        return self.actions[name](ActionContext(snap.call_id, snap.caller, snap.lang, digits))

    def create_ticket(self, call: CallModel, category: str) -> str:
        """Create the call's ticket (idempotently per call) from its recording, or as a callback request."""
        if self.tickets is None:
            raise CallError("this engine has no ticket store")
        snap = call.snap
        recording = snap.values.get("recording", "") or snap.values.get("recording_url", "")
        request = TicketRequest(
            call_id=snap.call_id,
            caller=snap.caller,
            lang=snap.lang,
            category=category,
            description=ticket_description(recording, snap.caller, f"last menu: {snap.menu or '-'}"),
            created_at=call.now,
            first_response_minutes=self.menu.ticket_first_response_minutes,
            sms=self.texts_caller(call),
        )
        return self.tickets.create_ticket(request)

    def texts_caller(self, call: CallModel) -> bool:
        """Whether the caller gets the ticket number by text: texts can be sent, the menu writes one, and the number is a mobile."""
        sms = self.menu.ticket_sms
        return self.texts and sms is not None and can_text(call.snap.caller, sms.prefixes)

    def can_go_back(self, call: CallModel) -> bool:
        """Whether the back key leads anywhere: the menu above must be one a back edge goes to."""
        snap = call.snap
        event = self.machine.events.get("back")
        if event is None or not snap.stack:
            return False
        return any(t.dest == snap.stack[-1] for t in event.transitions.get(snap.node, []))

    def enter(self, call: CallModel, moved: bool) -> None:
        """A call enters its current node: counters start afresh on a new node, then the node acts."""
        call.arrive(self.menu.nodes[call.snap.node], moved)

    # ---- stepping ---------------------------------------------------------
    def _run(self, model: CallModel, begun: Callable[[], CallSnapshot], first: Callable[[CallModel, _A], None], arg: _A) -> Step:
        """Run a step, `first(model, arg)` and what follows; a failure takes the menu's error path, and that failing, an apology.

        `begun` gives the call as the step started again, so the state is copied only when a step fails.
        """
        try:
            first(model, arg)
            if model.pending is not None:
                self._drain(model)
        except Exception:
            log.exception("call %s failed at node %s; taking the error path", model.snap.call_id, model.snap.node)
            # Start the error path from the last good state, but keep what the caller gave us.
            before = begun()
            before.values.update(model.snap.values)
            model.snap, model.out, model.pending = before, [], None
            try:
                self._fire(model, "error")
                self._drain(model)
            except Exception:
                log.exception("call %s: the error path failed too; apologising and transferring", model.snap.call_id)
                model.snap, model.out = before, []
                model.out.extend(self.last_resort(model.snap.lang, model.snap.node, every_language=False))
                model.end()
        return Step(model.snap, tuple(model.out), tuple(model.taken))

    def _drain(self, model: CallModel) -> None:
        for _ in range(MAX_AUTO_STEPS):
            if model.pending is None:
                return
            trigger, model.pending = model.pending, None
            self._fire(model, trigger)
        raise CallError(f"more than {MAX_AUTO_STEPS} nodes passed without waiting for the caller")

    def _fire(self, model: CallModel, trigger: str) -> None:
        event = self.machine.events.get(trigger)
        taken = None if event is None else self.machine.run_event(event, model)
        if taken is None:
            raise CallError(f"no transition {trigger!r} from node {model.snap.node!r}")
        model.taken.append(self.edges[taken])

    def _dispatch(self, model: CallModel, event: Event) -> None:
        trigger = self.menu.nodes[model.snap.node].handle(model, event)
        if trigger is None:  # an event this node does not expect (a replayed or stray request): say where we are again
            self.enter(model, False)
        else:
            self._fire(model, trigger)

    def _in_every_language(self, text: Text, lang: str | None, prompt: str) -> list[Action]:
        return [Say.of(FALLBACK, language, text.get(language), {}, prompt) for language in self.menu.languages_from(lang)]
