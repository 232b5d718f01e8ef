"""The engine: (call snapshot, event, clock) → (new snapshot, actions). No I/O of its own."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from transitions import EventData

from ivr.engine.actions import Action, Gather, Hangup, Record, Say, Ticket, Transfer
from ivr.engine.coverage import Edge
from ivr.engine.events import CallerHangup, Entry, Event, RecordingDone, TransferResult
from ivr.engine.fsm import MAX_STACK, CallModel, call_of, compile_machine
from ivr.engine.services import Action as NamedAction
from ivr.engine.services import ActionContext, TicketRequest, TicketSink
from ivr.engine.snapshot import CallSnapshot
from ivr.errors import CallError
from ivr.ir import (
    AnnounceNode,
    HangupNode,
    HoursNode,
    InputNode,
    LanguageNode,
    Menu,
    MenuNode,
    RecordNode,
    TicketNode,
    TransferNode,
)
from ivr.text import Text, render

log = logging.getLogger(__name__)

MAX_AUTO_STEPS = 64  # nodes passed without waiting in one step; the loader forbids loops, this is a backstop
DTMF = re.compile(r"[0-9*#]*")


@dataclass(frozen=True)
class Step:
    """The result of one engine step."""

    snapshot: CallSnapshot
    actions: tuple[Action, ...]


class Engine:
    """Runs calls on one menu version; safe to share between threads (it keeps no call state)."""

    def __init__(
        self,
        menu: Menu,
        *,
        tickets: TicketSink | None = None,  # None: an engine for inspection (diagrams, coverage) only
        actions: Mapping[str, NamedAction] | None = None,
        hours_override: str | None = None,
        observer: Callable[[Edge], None] | None = None,
    ) -> None:
        self.menu = menu
        self.observer = observer  # told of every transition taken (QA coverage)
        self.tickets = tickets
        self.actions = dict(actions or {})
        self.hours_override = hours_override
        self.machine = compile_machine(menu, self)

    # ---- public API -------------------------------------------------------
    def start(self, call_id: str, caller: str, now: datetime, lang: str | None = None) -> Step:
        """Answer a new call: the greeting and whatever follows up to the first wait."""
        language = lang if lang in self.menu.languages else self.menu.default_language
        snap = CallSnapshot(call_id, caller, language, self.menu.start, self.menu.version)
        model = CallModel(snap, now)
        return self._run(model, lambda: self._enter_node(model))

    def handle(self, snapshot: CallSnapshot, event: Event, now: datetime) -> Step:
        """Take one event for a call in progress."""
        if snapshot.ended:
            return Step(snapshot, ())
        model = CallModel(snapshot.copy(), now)
        if model.snap.lang not in self.menu.languages:
            model.snap.lang = self.menu.default_language
        node = self.menu.nodes.get(model.snap.node)
        if isinstance(event, CallerHangup):
            # A caller who hangs up while recording has still left a message: wait for the recording.
            if isinstance(node, RecordNode):
                model.snap.values["caller_hung_up"] = "1"
            else:
                model.snap.ended = True
            return Step(model.snap, ())
        if isinstance(event, Entry) and isinstance(node, (MenuNode, InputNode)):
            # Only the caller's own entries count towards the runaway guard, never network results.
            model.snap.steps += 1
            if model.snap.steps > self.menu.loop_limit.max_steps:
                return self._run(model, lambda: self._fire(model, "loop_limit"))
        return self._run(model, lambda: self._dispatch(model, event))

    def is_open(self, event: EventData) -> bool:
        """Condition: whether the line is open at the call's clock."""
        return self.menu.schedule.is_open(call_of(event).now, self.hours_override)

    # ---- stepping ---------------------------------------------------------
    def _run(self, model: CallModel, first: Callable[[], None]) -> Step:
        """Run a step; any failure turns into the menu's error path, and that failing into an apology."""
        before = model.snap.copy()
        try:
            first()
            self._drain(model)
        except Exception:
            log.exception("call %s failed at node %s; taking the error path", model.snap.call_id, model.snap.node)
            # Start the error path from the last good state, but keep what the caller gave us.
            before.values.update(model.snap.values)
            model.snap, model.out, model.pending = before, [], None
            try:
                self._fire(model, "error")
                self._drain(model)
            except Exception:
                log.exception("call %s: the error path failed too; apologising and transferring", model.snap.call_id)
                model.snap, model.out = before, []
                self._last_resort(model)
        return Step(model.snap, tuple(model.out))

    def _drain(self, model: CallModel) -> None:
        for _ in range(MAX_AUTO_STEPS):
            if model.pending is None:
                return
            trigger, model.pending = model.pending, None
            self._fire(model, trigger)
        raise CallError(f"more than {MAX_AUTO_STEPS} nodes passed without waiting for the caller")

    def _fire(self, model: CallModel, trigger: str) -> None:
        event = self.machine.events.get(trigger)
        if event is None or not event.trigger(model):
            raise CallError(f"no transition {trigger!r} from node {model.snap.node!r}")

    def _last_resort(self, model: CallModel) -> None:
        """Apologise and hand the caller to the fallback queue; built only from validated settings."""
        lang = model.snap.lang if model.snap.lang in self.menu.languages else self.menu.default_language
        node = model.snap.node
        queue = self.menu.queues[self.menu.fallback_queue]
        model.out.append(Say(node, lang, self.menu.apology.get(lang), "apology"))
        model.out.append(Transfer(node, queue.name, queue.address))
        model.out.append(Hangup(node, "error"))
        model.snap.ended = True

    def _dispatch(self, model: CallModel, event: Event) -> None:
        node = self.menu.nodes[model.snap.node]
        if isinstance(event, Entry) and isinstance(node, (MenuNode, InputNode)):
            self._fire(model, self._classify(model, node, event.digits))
        elif isinstance(event, TransferResult) and isinstance(node, TransferNode):
            self._fire(model, "answered" if event.connected else "transfer_failed")
        elif isinstance(event, RecordingDone) and isinstance(node, RecordNode):
            model.snap.values["recording"] = event.text.strip()
            model.snap.values["recording_url"] = event.url
            self._fire(model, "recorded")
        else:  # an event this node does not expect (a replayed or stray request): say where we are again
            self._enter_node(model)

    def _classify(self, model: CallModel, node: MenuNode | InputNode, digits: str) -> str:
        snap = model.snap
        if digits == "":
            snap.no_input += 1
            return "no_input"
        if digits == "*":
            return "repeat"
        if digits == "#":
            return "back" if self._can_go_back(snap) else self._invalid(snap)
        if not DTMF.fullmatch(digits):
            return self._invalid(snap)
        if isinstance(node, MenuNode):
            if node.max_digits > 1:
                digits = digits.removesuffix("#")
            return f"key_{digits}" if digits in node.options else self._invalid(snap)
        digits = digits.removesuffix(node.finish_on_key)
        if not digits.isdigit() or not node.min_digits <= len(digits) <= node.max_digits:
            return self._invalid(snap)
        snap.digits = digits
        snap.values[node.store_as] = digits
        result = self.actions[node.action](ActionContext(snap.call_id, snap.caller, snap.lang, digits))
        snap.values.update(result.values)
        return f"outcome_{result.outcome}" if result.outcome in node.outcomes else self._invalid(snap)

    def _can_go_back(self, snap: CallSnapshot) -> bool:
        """Whether the back key leads anywhere from here: the menu above must be one a back edge goes to."""
        event = self.machine.events.get("back")
        if event is None or not snap.stack:
            return False
        return any(t.dest == snap.stack[-1] for t in event.transitions.get(snap.node, []))

    @staticmethod
    def _invalid(snap: CallSnapshot) -> str:
        snap.invalid += 1
        return "invalid"

    # ---- callbacks from the machine -----------------------------------------
    def enter(self, event: EventData) -> None:
        """on_enter of every state: reset counters on a new node, then act for the node."""
        model = call_of(event)
        if event.transition is not None and event.transition.source != event.transition.dest:
            model.snap.invalid = model.snap.no_input = 0
        self._enter_node(model)

    def complain(self, event: EventData) -> None:
        """Say what went wrong: the wrong-key or the silence prompt of the current node."""
        model = call_of(event)
        node = self.menu.nodes[model.snap.node]
        assert isinstance(node, (MenuNode, InputNode))
        silent = event.event.name == "no_input"
        problem = node.retry.no_input_prompt if silent else node.retry.invalid_prompt
        self._say(model, problem, "no_input" if silent else "invalid")

    def reprompt(self, event: EventData) -> None:
        """After a wrong entry or silence: say what went wrong, then the short prompt, and wait again."""
        self.complain(event)
        model = call_of(event)
        node = self.menu.nodes[model.snap.node]
        assert isinstance(node, (MenuNode, InputNode))
        self._say(model, node.reprompt, "short")
        model.out.append(self._gather(node))

    def finished(self, event: EventData) -> None:
        """After every trigger: tell the observer which transition was taken."""
        if self.observer is not None and event.result and event.transition is not None:
            t = event.transition
            self.observer(Edge(t.source, event.event.name, t.dest or ""))

    def go_back(self, event: EventData) -> None:
        """Before the back key's transition: leave the current menu for the one above it."""
        snap = call_of(event).snap
        snap.menu = snap.stack.pop()

    def connected(self, event: EventData) -> None:
        """After an agent took the call: the hotline's part is over."""
        model = call_of(event)
        model.out.append(Hangup(model.snap.node, "transferred"))
        model.snap.ended = True

    # ---- what each kind of node does on entry --------------------------------
    def _enter_node(self, model: CallModel) -> None:
        snap = model.snap
        node = self.menu.nodes[snap.node]
        if isinstance(node, MenuNode):
            self._track_menu(snap, node.id)
            self._say(model, node.prompt)
            model.out.append(self._gather(node))
        elif isinstance(node, InputNode):
            self._say(model, node.prompt)
            model.out.append(self._gather(node))
        elif isinstance(node, AnnounceNode):
            self._say(model, node.prompt)
            model.pending = "next"
        elif isinstance(node, (HoursNode, LanguageNode)):
            if isinstance(node, LanguageNode):
                snap.lang = self.menu.next_language(snap.lang)
            model.pending = "next"
        elif isinstance(node, TransferNode):
            if node.prompt is not None:
                self._say(model, node.prompt)
            queue = self.menu.queues[node.queue]
            model.out.append(Transfer(node.id, queue.name, queue.address))
        elif isinstance(node, RecordNode):
            self._say(model, node.prompt)
            model.out.append(Record(node.id, node.max_length, node.finish_on_key))
        elif isinstance(node, TicketNode):
            if node.prompt is not None:
                self._say(model, node.prompt)
            if self.tickets is None:
                raise CallError("this engine has no ticket store")
            number = self.tickets.create_ticket(self._ticket_request(model, node))
            snap.values["ticket"] = number
            model.out.append(Ticket(node.id, number, node.category))
            model.pending = "next"
        elif isinstance(node, HangupNode):
            if node.prompt is not None:
                self._say(model, node.prompt)
            model.out.append(Hangup(node.id, node.reason))
            snap.ended = True

    @staticmethod
    def _track_menu(snap: CallSnapshot, menu_id: str) -> None:
        """Keep the menu stack the back key walks: going down pushes, choosing an ancestor pops to it."""
        if snap.menu == menu_id:
            return
        if menu_id in snap.stack:
            del snap.stack[snap.stack.index(menu_id) :]
        elif snap.menu:
            snap.stack.append(snap.menu)
            del snap.stack[:-MAX_STACK]
        snap.menu = menu_id

    def _ticket_request(self, model: CallModel, node: TicketNode) -> TicketRequest:
        snap = model.snap
        recording = snap.values.get("recording", "") or snap.values.get("recording_url", "")
        description = recording or f"callback requested from {snap.caller or 'an unknown number'} (last menu: {snap.menu or '-'})"
        return TicketRequest(
            call_id=snap.call_id,
            caller=snap.caller,
            lang=snap.lang,
            category=node.category,
            description=description,
            created_at=model.now,
            first_response_minutes=self.menu.ticket_first_response_minutes,
        )

    def _say(self, model: CallModel, text: Text, part: str = "") -> None:
        snap = model.snap
        spoken = render(text.get(snap.lang), snap.values)
        model.out.append(Say(snap.node, snap.lang, spoken, f"{snap.node}:{part}" if part else snap.node))

    def _gather(self, node: MenuNode | InputNode) -> Gather:
        if isinstance(node, MenuNode):
            finish = "#" if node.max_digits > 1 else ""
            return Gather(node.id, node.max_digits, finish, node.retry.timeout)
        return Gather(node.id, node.max_digits + 1, node.finish_on_key, node.retry.timeout)
