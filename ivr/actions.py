"""The registry of named actions a menu may reference, and what data each needs."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from ivr.engine.services import Action, ActionContext, ActionResult
from ivr.orders import CsvOrderSource, OrderLookup, check_orders_file


@dataclass(frozen=True)
class ActionSpec:
    """A named action: the data files it needs (by name in the menu's `data:`) and how to build it."""

    name: str
    needs_data: tuple[str, ...]
    build: Callable[[Mapping[str, str]], Action]
    check_data: Callable[[Mapping[str, str], tuple[str, ...]], list[tuple[str, str]]]  # (data name, problem)
    examples: Callable[[Mapping[str, str]], dict[str, str]]  # outcome -> digits that produce it (for generated flows)


def _check_orders(data: Mapping[str, str], languages: tuple[str, ...]) -> list[tuple[str, str]]:
    return [("orders", problem) for problem in check_orders_file(data["orders"], languages)] if "orders" in data else []


REGISTRY: dict[str, ActionSpec] = {
    "order_lookup": ActionSpec(
        "order_lookup",
        ("orders",),
        lambda data: OrderLookup(CsvOrderSource(data["orders"])),
        _check_orders,
        lambda data: {"found": CsvOrderSource(data["orders"]).first_id() or "1", "not_found": "0" * 12},
    ),
}


# Named actions may call slow back-ends; a step must still answer well inside Twilio's 15-second limit.
ACTION_TIMEOUT = 4.0
_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool() -> ThreadPoolExecutor:
    """This process's pool: a pool inherited through fork has no threads behind it."""
    pid = os.getpid()
    if pid not in _POOLS:
        _POOLS[pid] = ThreadPoolExecutor(max_workers=8, thread_name_prefix="ivr-action")
    return _POOLS[pid]


def with_deadline(action: Action, seconds: float = ACTION_TIMEOUT) -> Action:
    """Run `action` with a deadline; past it, TimeoutError sends the call down the menu's error path."""

    def run(ctx: ActionContext) -> ActionResult:
        future = _pool().submit(action, ctx)
        try:
            return future.result(timeout=seconds)
        except FutureTimeout:
            future.cancel()
            raise TimeoutError(f"named action took longer than {seconds:g} s") from None

    return run


def build_actions(names: set[str], data: Mapping[str, str], timeout: float = ACTION_TIMEOUT) -> dict[str, Action]:
    """Instantiate the named actions a menu uses, with the menu's data files and a deadline each."""
    return {name: with_deadline(REGISTRY[name].build(data), timeout) for name in names}
