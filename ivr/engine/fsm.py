"""Compile a `Menu` into one `transitions.Machine`: nodes are states, caller events are triggers.

The machine is built once per menu version and shared by every call; a call is a `CallModel`
passed to each trigger, so no call's state ever lives in the machine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from transitions import EventData, Machine, State

from ivr.engine.actions import Action
from ivr.engine.snapshot import CallSnapshot
from ivr.ir import (
    BACK,
    AnnounceNode,
    HoursNode,
    InputNode,
    LanguageNode,
    Menu,
    MenuNode,
    RecordNode,
    TicketNode,
    TransferNode,
    current_menus,
)

MAX_STACK = 16


@dataclass
class CallModel:
    """A call while one step runs: its snapshot, the step's clock and the actions produced so far."""

    snap: CallSnapshot
    now: datetime
    out: list[Action] = field(default_factory=list)
    pending: str | None = None  # a trigger the engine fires next (nodes that do not wait)

    @property
    def state(self) -> str:
        """The current node, as `transitions` reads it."""
        return self.snap.node

    @state.setter
    def state(self, value: str) -> None:
        self.snap.node = value


class Behaviour(Protocol):
    """What the compiled machine calls back into (implemented by the engine)."""

    def enter(self, event: EventData) -> None: ...
    def reprompt(self, event: EventData) -> None: ...
    def complain(self, event: EventData) -> None: ...
    def go_back(self, event: EventData) -> None: ...
    def connected(self, event: EventData) -> None: ...
    def is_open(self, event: EventData) -> bool: ...
    def finished(self, event: EventData) -> None: ...


def call_of(event: EventData) -> CallModel:
    """The call a machine callback is running for."""
    model = event.model
    assert isinstance(model, CallModel)
    return model


def _below(limit: int, counter: str) -> Callable[[EventData], bool]:
    return lambda ed: int(getattr(call_of(ed).snap, counter)) < limit


def _stack_top_is(parent: str) -> Callable[[EventData], bool]:
    return lambda ed: call_of(ed).snap.stack[-1:] == [parent]


def _in_menu(parent: str) -> Callable[[EventData], bool]:
    return lambda ed: call_of(ed).snap.menu == parent


def _edge(trigger: str, source: str, dest: str | None, **kw: Any) -> dict[str, Any]:
    return {"trigger": trigger, "source": source, "dest": dest, **kw}


def compile_machine(menu: Menu, behaviour: Behaviour) -> Machine:
    """Build the shared state machine for one menu version."""
    where = current_menus(menu.nodes)
    edges: list[dict[str, Any]] = []

    def to(trigger: str, source: str, target: str, **kw: Any) -> None:
        if target == BACK:  # return to the menu the caller is in
            for parent in sorted(where[source]):
                edges.append(_edge(trigger, source, parent, conditions=[_in_menu(parent)], **kw))
        else:
            edges.append(_edge(trigger, source, target, **kw))

    for nid, node in menu.nodes.items():
        if isinstance(node, (MenuNode, InputNode)):
            retry = node.retry
            edges.append(_edge("repeat", nid, "="))
            # At an entry node '#' finishes the entry, so a lone '#' arrives as no input: no back edge there.
            if isinstance(node, MenuNode):
                for parent in sorted(p for p in where[nid] if p != nid):
                    edges.append(_edge("back", nid, parent, conditions=[_stack_top_is(parent)], before=[behaviour.go_back]))
            for counter, trigger, limit in (("invalid", "invalid", retry.max_invalid), ("no_input", "no_input", retry.max_no_input)):
                edges.append(_edge(trigger, nid, None, conditions=[_below(limit, counter)], after=[behaviour.reprompt]))
                to(trigger, nid, retry.on_max_failures, before=[behaviour.complain])
        if isinstance(node, MenuNode):
            for key, target in node.options.items():
                to(f"key_{key}", nid, target)
        elif isinstance(node, InputNode):
            for outcome, target in node.outcomes.items():
                to(f"outcome_{outcome}", nid, target)
        elif isinstance(node, (AnnounceNode, LanguageNode, RecordNode, TicketNode)):
            to("recorded" if isinstance(node, RecordNode) else "next", nid, node.next)
        elif isinstance(node, HoursNode):
            edges.append(_edge("next", nid, node.open, conditions=[behaviour.is_open]))
            to("next", nid, node.closed)
        elif isinstance(node, TransferNode):
            edges.append(_edge("answered", nid, None, after=[behaviour.connected]))
            to("transfer_failed", nid, node.on_failure)

    states = [State(nid, on_enter=[behaviour.enter]) for nid in menu.nodes]
    machine = Machine(
        model=None,
        states=states,
        initial=menu.start,
        transitions=edges,
        auto_transitions=False,
        send_event=True,
        finalize_event=[behaviour.finished],
        name=f"{menu.id}@{menu.version}",
    )
    for trigger, target in (("loop_limit", menu.loop_limit.target), ("error", menu.on_error)):
        machine.add_transition(trigger, "*", target)
    return machine


def triggers_from(machine: Machine, node: str) -> Mapping[str, int]:
    """The triggers defined at a node, with how many transitions each has."""
    return {name: len(event.transitions.get(node, [])) for name, event in machine.events.items() if event.transitions.get(node)}
