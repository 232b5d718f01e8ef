"""A `transitions.Machine` that runs a trigger as plain calls: the same semantics, without its per-trigger overhead.

`transitions` resolves every callback by name, logs each phase of each trigger and wraps a trigger in a
partial for its event queue; a call step fires several triggers, so that was about half of a step's time. The
engine's machine needs none of it: its callbacks are callables given at compile time, events receive
`EventData` (`send_event`), nothing is queued, and no machine-wide callback runs but `finalize_event`.
These classes plug into `transitions`' own extension points (`event_cls`, `transition_cls`) and keep
its order: `prepare`, conditions, `before`, exit, state change, enter, `after`, then `finalize_event`.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

from transitions import Event, EventData, Machine, MachineError, Transition

__all__ = ["CallMachine"]

_NOT_RUN = ("prepare_event", "before_state_change", "after_state_change", "on_exception", "on_final")


class _Transition(Transition):
    """A transition whose conditions and callbacks are called directly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        hooks = [*self.prepare, *self.before, *self.after, *(condition.func for condition in self.conditions)]
        if not all(callable(hook) for hook in hooks):
            raise ValueError(f"a CallMachine transition takes callables, not names: {hooks}")

    def execute(self, event_data: EventData) -> bool:
        """Run the transition if every condition holds; whether it ran."""
        for callback in self.prepare:
            callback(event_data)  # type: ignore[operator]
        for condition in self.conditions:
            if condition.func(event_data) != condition.target:  # type: ignore[operator]  # callables only (CallMachine)
                return False
        for callback in self.before:
            callback(event_data)  # type: ignore[operator]
        if self.dest:  # None: an internal transition, no state change
            machine = event_data.machine
            for callback in machine.states[self.source].on_exit:
                callback(event_data)  # type: ignore[operator]
            setattr(machine._holder_of(event_data.model), machine._state_name, self.dest)  # where `state_at` says
            event_data.state = dest = machine.states[self.dest]
            for callback in dest.on_enter:
                callback(event_data)  # type: ignore[operator]
        for callback in self.after:
            callback(event_data)  # type: ignore[operator]
        return True


class _Event(Event):
    """An event fired at once for the model passed in: the first transition whose conditions hold runs."""

    def trigger(self, model: object, *args: Any, **kwargs: Any) -> bool:
        """Fire the event for `model`; whether a transition ran."""
        return self.machine.run_event(self, model, *args, **kwargs) is not None


class CallMachine(Machine):
    """A machine whose triggers run as plain calls; every callback must be a callable taking `EventData`."""

    transition_cls = _Transition
    event_cls = _Event

    def __init__(self, *, state_at: str = "", **kwargs: Any) -> None:
        """`state_at`: where a trigger reads and writes a model's state, a dotted path ('snap.node') past a property
        that would cost a call each time; by default the `model_attribute` `transitions` itself uses."""
        super().__init__(send_event=True, queued=False, **kwargs)
        holder, _, self._state_name = (state_at or self.model_attribute).rpartition(".")
        self.state_of: Callable[[Any], str] = attrgetter(state_at or self.model_attribute)
        self._holder_of: Callable[[Any], Any] = attrgetter(holder) if holder else _itself
        unsupported = [name for name in _NOT_RUN if getattr(self, name)]
        if unsupported:
            raise ValueError(f"a CallMachine does not run {', '.join(unsupported)}")

    def run_event(self, event: Event, model: object, *args: Any, **kwargs: Any) -> Transition | None:
        """Fire `event` for `model`; the transition that ran, None when none did."""
        name = self.state_of(model)
        state = self.states.get(name)
        if state is None:
            raise ValueError(f"State '{name}' is not a registered state.")
        event_data = EventData(state, event, self, model, args, kwargs)
        try:
            transitions = event.transitions.get(name)
            if transitions is None:  # as `transitions` does when invalid triggers are not ignored
                raise MachineError(f"{self.name}Can't trigger event {event.name} from state {name}!")
            for transition in transitions:
                event_data.transition = transition
                if transition.execute(event_data):
                    event_data.result = True
                    return transition
            return None
        finally:
            for callback in self._finalize_event:  # the list `finalize_event` returns, without its property call
                callback(event_data)  # type: ignore[operator]


def _itself(model: object) -> object:
    return model
