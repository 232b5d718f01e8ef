"""The registry of named actions a menu may reference, and what data each needs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ivr.engine.services import Action
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


def build_actions(names: set[str], data: Mapping[str, str]) -> dict[str, Action]:
    """Instantiate the named actions a menu uses, with the menu's data files."""
    return {name: REGISTRY[name].build(data) for name in names}
