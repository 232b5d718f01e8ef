"""The registry of named actions a menu may reference, and what data each needs."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast

from ivr.engine.services import Action, ActionContext, ActionResult
from ivr.orders import CsvOrderSource, OrderLookup, check_orders_text


@dataclass(frozen=True)
class ActionSpec:
    """A named action: the data files it needs (by name in the menu's `data:`), the values it gives prompts, how to build it.

    Data is handed over as text (data name -> file text), so a version rebuilt from the database needs no files.
    """

    name: str
    needs_data: tuple[str, ...]
    outputs: frozenset[str]  # values its result sets, for {name} placeholders in later prompts
    outcomes: frozenset[str]  # the outcomes it can give, for a menu's `on:`
    build: Callable[[Mapping[str, str]], Action]
    check_data: Callable[[Mapping[str, str], tuple[str, ...]], list[tuple[str, str]]]  # (data name, problem)
    examples: Callable[[Mapping[str, str]], dict[str, str]]  # outcome -> digits that produce it (for generated flows)
    # The values it can give that a caller hears, per language (rendered ahead where a language is played from audio).
    spoken: Callable[[Mapping[str, str]], dict[str, list[str]]] = lambda data: {}


def _check_orders(data: Mapping[str, str], languages: tuple[str, ...]) -> list[tuple[str, str]]:
    return [("orders", problem) for problem in check_orders_text(data["orders"], languages)] if "orders" in data else []


REGISTRY: dict[str, ActionSpec] = {
    "order_lookup": ActionSpec(
        "order_lookup",
        ("orders",),
        frozenset({"order_id", "order_status"}),
        frozenset({"found", "not_found"}),
        lambda data: OrderLookup(CsvOrderSource(data["orders"])),
        _check_orders,
        lambda data: {"found": CsvOrderSource(data["orders"]).first_id() or "1", "not_found": "0" * 12},
        lambda data: CsvOrderSource(data["orders"]).statuses(),
    ),
}


# Named actions may call slow back-ends; a step must still answer well inside Twilio's 15-second limit.
ACTION_TIMEOUT = 4.0
# A back-end that never answers leaves one thread behind per call that timed out; past this many still
# hung, calls fail at once instead of piling up threads (well above a worker's concurrent calls).
MAX_ABANDONED = 64


class _Abandoned:
    """How many threads of timed-out calls have not ended yet, in this process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0

    def forget(self) -> None:
        """Start again from none: a forked child has none of its parent's threads."""
        self.lock = threading.Lock()
        self.count = 0


_ABANDONED = _Abandoned()
os.register_at_fork(after_in_child=_ABANDONED.forget)


class _Run:
    """One call of an action in its own thread, and what became of it."""

    def __init__(self, action: Action, ctx: ActionContext) -> None:
        self.action = action
        self.ctx = ctx
        self.done = threading.Event()
        self.result: ActionResult | None = None
        self.error: BaseException | None = None
        self.abandoned = False  # the caller stopped waiting; guarded by _ABANDONED.lock

    def __call__(self) -> None:
        try:
            self.result = self.action(self.ctx)
        except BaseException as exc:  # handed to the caller, which raises it as a direct call would
            self.error = exc
        finally:
            with _ABANDONED.lock:
                self.done.set()
                if self.abandoned:
                    _ABANDONED.count -= 1


def with_deadline(action: Action, seconds: float = ACTION_TIMEOUT) -> Action:
    """Run `action` with a deadline; past it, TimeoutError sends the call down the menu's error path."""

    def run(ctx: ActionContext) -> ActionResult:
        hung = _ABANDONED.count  # read without the lock: the bound is a guard, not an exact limit
        if hung >= MAX_ABANDONED:
            raise TimeoutError(f"named action not started: {hung} earlier named-action calls are still hung")
        call = _Run(action, ctx)
        # A daemon thread per call: one that hangs holds up only its own call, and never the process's exit.
        threading.Thread(target=call, name="ivr-action", daemon=True).start()
        if not call.done.wait(seconds):
            with _ABANDONED.lock:
                if not call.done.is_set():
                    call.abandoned = True
                    _ABANDONED.count += 1
            if call.abandoned:
                raise TimeoutError(f"named action took longer than {seconds:g} s")
        if call.error is not None:
            raise call.error
        return cast(ActionResult, call.result)

    return run


def build_actions(names: set[str], data: Mapping[str, str], timeout: float = ACTION_TIMEOUT) -> dict[str, Action]:
    """Instantiate the named actions a menu uses, with the menu's data files and a deadline each."""
    return {name: with_deadline(REGISTRY[name].build(data), timeout) for name in names}
