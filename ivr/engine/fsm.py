"""Compile a `Menu` into one `transitions.Machine`: nodes are states, caller events are triggers.

The machine is built once per menu version and shared by every call; a call is a `CallModel`
passed to each trigger, so no call's state ever lives in the machine. Each node adds its own
transitions (`Node.compile`) through a `MachineBuilder`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from transitions import EventData, Machine, State, Transition

from ivr.engine.actions import Action, Say
from ivr.engine.coverage import Edge
from ivr.engine.machine import CallMachine
from ivr.engine.services import ActionResult
from ivr.engine.snapshot import CallSnapshot
from ivr.ir import BACK, RETRY, Menu, Node, current_menus, reachable
from ivr.text import Text

__all__ = [
    "LAST_TRANSFER",
    "MAX_STACK",
    "CallModel",
    "MachineBuilder",
    "Runtime",
    "call_of",
    "compile_machine",
    "dials",
    "edges_of",
    "failed_transfers",
    "triggers_from",
]

MAX_STACK = 16
LAST_TRANSFER = "last_transfer"  # call value: the transfer node that dialled last, where `retry` returns

CallHook = Callable[["CallModel"], Any]


class Runtime(Protocol):
    """What a call step needs from the engine running it (implemented by `Engine`)."""

    menu: Menu
    hours_override: str | None  # "open" / "closed" force the line (IVR_HOURS_OVERRIDE); None follows the menu

    def is_open(self, at: datetime) -> bool: ...
    def address_of(self, queue: str) -> str: ...
    def run_action(self, call: CallModel, name: str, digits: str) -> ActionResult: ...
    def create_ticket(self, call: CallModel, category: str) -> str: ...
    def texts_caller(self, call: CallModel) -> bool: ...
    def can_go_back(self, call: CallModel) -> bool: ...


@dataclass(slots=True)
class CallModel:
    """A call while one step runs: its snapshot, the step's clock, the actions and transitions so far."""

    snap: CallSnapshot
    now: datetime
    runtime: Runtime
    out: list[Action] = field(default_factory=list)
    pending: str | None = None  # a trigger the engine fires next (nodes that do not wait)
    taken: list[Edge] = field(default_factory=list)  # transitions of this step, in order

    @property
    def menu(self) -> Menu:
        """The menu version the call runs on."""
        return self.runtime.menu

    # ---- what a node can do to the call -----------------------------------------
    def say(self, text: Text, part: str = "") -> None:
        """Say `text` in the call's language, run-time values filled in."""
        snap = self.snap
        values = snap.values
        if values:
            suffix = f"@{snap.lang}"
            if any(name.endswith(suffix) for name in values):  # a value given per language: the call's language wins
                values = {**values, **{name.removesuffix(suffix): v for name, v in values.items() if name.endswith(suffix)}}
        self.out.append(Say.of(snap.node, snap.lang, text.by_lang[snap.lang], values, f"{snap.node}:{part}" if part else snap.node))

    def emit(self, action: Action) -> None:
        """Add an action for the adapter (gather, transfer, record, ticket, hangup)."""
        self.out.append(action)

    def go(self, trigger: str) -> None:
        """Fire `trigger` next, without waiting for the caller."""
        self.pending = trigger

    def end(self) -> None:
        """The call is over."""
        self.snap.ended = True

    def is_open(self) -> bool:
        """Whether the line is open at the call's clock."""
        return self.runtime.is_open(self.now)

    def address_of(self, queue: str) -> str:
        """Where a transfer to `queue` is dialled ('' when it cannot be)."""
        return self.runtime.address_of(queue)

    def run_action(self, name: str, digits: str) -> ActionResult:
        """Run a named action on the caller's entry."""
        return self.runtime.run_action(self, name, digits)

    def create_ticket(self, category: str) -> str:
        """Create the call's ticket (once per call) and return its number."""
        return self.runtime.create_ticket(self, category)

    def texts_caller(self) -> bool:
        """Whether the call's ticket number also goes to the caller by text message."""
        return self.runtime.texts_caller(self)

    def can_go_back(self) -> bool:
        """Whether the back key leads anywhere from here."""
        return self.runtime.can_go_back(self)

    def enter_menu(self, menu_id: str) -> None:
        """Keep the menu stack the back key walks: going down pushes, choosing an ancestor pops to it."""
        snap = self.snap
        if snap.menu == menu_id:
            return
        if menu_id in snap.stack:
            del snap.stack[snap.stack.index(menu_id) :]
        elif snap.menu:
            snap.stack.append(snap.menu)
            del snap.stack[:-MAX_STACK]
        snap.menu = menu_id

    def leave_menu(self) -> None:
        """The back key: leave the current menu for the one above it."""
        self.snap.menu = self.snap.stack.pop()

    def dialling(self) -> None:
        """The current node transfers the call: a `retry` after its failure comes back here."""
        self.snap.values[LAST_TRANSFER] = self.snap.node

    def arrive(self, node: Node, moved: bool) -> None:
        """The call enters `node`, its current node: counters start afresh on a new node, then the node acts."""
        if moved:
            snap = self.snap
            snap.invalid = snap.no_input = 0
            snap.choices = []
        node.enter(self)


def dials(node: Node) -> bool:
    """Whether the node transfers the call (and so is where `retry` can lead)."""
    destination = node.destination()
    return destination is not None and destination[0] == "transfer"


def failed_transfers(nodes: Mapping[str, Node]) -> dict[str, set[str]]:
    """For each node, the transfers whose failure can lead there before another transfer dials (where `retry` goes)."""
    # The back key needs no walk of its own: `retry` is refused where a call can arrive without a failed transfer,
    # so a menu the back key returns to leads to it only through a transfer, or lies on one of these paths already.
    result: dict[str, set[str]] = defaultdict(set)
    for tid, transfer in nodes.items():
        if dials(transfer):
            for nid in reachable(nodes, transfer.edges().values(), through=lambda node: not dials(node)):
                if not dials(nodes[nid]):
                    result[nid].add(tid)
    return result


def call_of(event: EventData) -> CallModel:
    """The call a machine callback is running for."""
    model = event.model
    assert isinstance(model, CallModel)
    return model


def _wrap(hook: CallHook | None) -> list[Callable[[EventData], Any]]:
    if hook is None:
        return []
    return [lambda ed: hook(ed.model)]  # the model is always the CallModel the engine passed to the trigger


class MachineBuilder:
    """Collects the transitions nodes add; `back` and `retry` become one conditioned edge per menu or transfer they can mean."""

    def __init__(self, menu: Menu) -> None:
        self.menu = menu
        self.where = current_menus(menu.nodes)
        self.retries = failed_transfers(menu.nodes)
        self.edges: list[dict[str, Any]] = []

    def menus_above(self, source: str) -> list[str]:
        """The menus a caller can be in at `source`, in a stable order."""
        return sorted(self.where[source])

    def go(self, trigger: str, source: str, target: str, *, when: CallHook | None = None, before: CallHook | None = None) -> None:
        """On `trigger` at `source`, move to `target` (entering it)."""
        if target == BACK:  # return to the menu the caller is in
            for parent in self.menus_above(source):
                conditions = [_in_menu(parent), *_wrap(when)]
                self.edges.append(_edge(trigger, source, parent, conditions=conditions, before=_wrap(before)))
        elif target == RETRY:  # dial again the transfer whose failure led here
            for transfer in sorted(self.retries.get(source, ())):
                conditions = [_dialled_last(transfer), *_wrap(when)]
                self.edges.append(_edge(trigger, source, transfer, conditions=conditions, before=_wrap(before)))
        else:
            self.edges.append(_edge(trigger, source, target, conditions=_wrap(when), before=_wrap(before)))

    def stay(self, trigger: str, source: str, *, when: CallHook | None = None, after: CallHook | None = None) -> None:
        """On `trigger` at `source`, stay without entering the node again."""
        self.edges.append(_edge(trigger, source, None, conditions=_wrap(when), after=_wrap(after)))

    def reenter(self, trigger: str, source: str, *, before: CallHook | None = None) -> None:
        """On `trigger`, enter `source` again (the repeat key, the language key)."""
        self.edges.append(_edge(trigger, source, "=", before=_wrap(before)))


def _in_menu(parent: str) -> Callable[[EventData], bool]:
    return lambda ed: call_of(ed).snap.menu == parent


def _dialled_last(transfer: str) -> Callable[[EventData], bool]:
    return lambda ed: call_of(ed).snap.values.get(LAST_TRANSFER) == transfer


def _edge(trigger: str, source: str, dest: str | None, **kw: Any) -> dict[str, Any]:
    return {"trigger": trigger, "source": source, "dest": dest, **{k: v for k, v in kw.items() if v}}


def compile_machine(menu: Menu) -> CallMachine:
    """Build the shared state machine for one menu version."""
    builder = MachineBuilder(menu)
    for node in menu.nodes.values():
        node.compile(builder)
    machine = CallMachine(
        model=None,
        states=[State(nid, on_enter=[_entering(node)]) for nid, node in menu.nodes.items()],
        initial=menu.start,
        transitions=builder.edges,
        auto_transitions=False,
        name=f"{menu.id}@{menu.version}",
        state_at="snap.node",  # the call's node is its state
    )
    for trigger, target in (("loop_limit", menu.loop_limit.target), ("error", menu.on_error)):
        machine.add_transition(trigger, "*", target)
    return machine


def edges_of(machine: Machine) -> dict[Transition, Edge]:
    """Each transition's edge, made once rather than at every step that takes it."""
    events = machine.events.items()
    return {t: Edge(source, name, t.dest or "") for name, event in events for source, ts in event.transitions.items() for t in ts}


def _entering(node: Node) -> Callable[[EventData], None]:
    def enter(event: EventData) -> None:
        t = event.transition
        call: Any = event.model
        call.arrive(node, t is not None and t.source != t.dest)

    return enter


def triggers_from(machine: Machine, node: str) -> dict[str, int]:
    """The triggers defined at a node, with how many transitions each has."""
    return {name: len(event.transitions.get(node, [])) for name, event in machine.events.items() if event.transitions.get(node)}
