"""The sample order source and the `order_lookup` action that reads it."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from ivr.engine.services import ActionContext, ActionResult


@dataclass(frozen=True)
class Order:
    """An order's id and its status in each language."""

    order_id: str
    status: dict[str, str]


class CsvOrderSource:
    """Orders from a CSV file with columns order_id, status_<lang>…; read once, on first use."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._orders: dict[str, Order] | None = None

    def _load(self) -> dict[str, Order]:
        # utf-8-sig: spreadsheets often save CSV with a byte-order mark before the first header.
        with self.path.open(encoding="utf-8-sig", newline="") as fh:
            rows = csv.DictReader(fh)
            orders = {}
            for row in rows:
                status = {k.removeprefix("status_"): v for k, v in row.items() if k and k.startswith("status_")}
                orders[row["order_id"].strip()] = Order(row["order_id"].strip(), status)
        return orders

    def first_id(self) -> str | None:
        """Some order id in the file (for generated test flows)."""
        if self._orders is None:
            self._orders = self._load()
        return next(iter(self._orders), None)

    def find(self, order_id: str) -> Order | None:
        """The order with this id, or None."""
        if self._orders is None:
            self._orders = self._load()
        return self._orders.get(order_id)


class OrderLookup:
    """Named action: look up the entered order number; outcome `found` or `not_found`."""

    def __init__(self, source: CsvOrderSource) -> None:
        self.source = source

    def __call__(self, ctx: ActionContext) -> ActionResult:
        """Run the lookup for the digits the caller entered."""
        order = self.source.find(ctx.digits)
        if order is None:
            return ActionResult("not_found", {"order_id": ctx.digits})
        status = order.status.get(ctx.lang) or next(iter(order.status.values()), "")
        return ActionResult("found", {"order_id": order.order_id, "order_status": status})


def check_orders_file(path: str, languages: tuple[str, ...]) -> list[str]:
    """Problems with an orders CSV: readable, an order_id column and a status column per language."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError) as exc:
        return [f"cannot read the orders file: {exc}"]
    problems = [] if "order_id" in header else [f"the orders file has no 'order_id' column (columns: {', '.join(header) or 'none'})"]
    problems += [f"the orders file has no 'status_{lang}' column" for lang in languages if f"status_{lang}" not in header]
    return problems
