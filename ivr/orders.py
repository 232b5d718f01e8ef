"""The sample order source and the `order_lookup` action that reads it."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from ivr.engine.services import ActionContext, ActionResult


@dataclass(frozen=True)
class Order:
    """An order's id and its status in each language."""

    order_id: str
    status: dict[str, str]


def _rows(text: str) -> csv.DictReader[str]:
    # Spreadsheets often save CSV with a byte-order mark before the first header.
    return csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))


class CsvOrderSource:
    """Orders from the text of a CSV file with columns order_id, status_<lang>…; parsed once, on first use."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._orders: dict[str, Order] | None = None

    def _load(self) -> dict[str, Order]:
        orders = {}
        for row in _rows(self.text):
            status = {k.removeprefix("status_"): v for k, v in row.items() if k and k.startswith("status_")}
            orders[row["order_id"].strip()] = Order(row["order_id"].strip(), status)
        return orders

    def first_id(self) -> str | None:
        """Some order id in the file (for generated test flows)."""
        if self._orders is None:
            self._orders = self._load()
        return next(iter(self._orders), None)

    def statuses(self) -> dict[str, list[str]]:
        """Every status text in the file, per language."""
        if self._orders is None:
            self._orders = self._load()
        out: dict[str, list[str]] = {}
        for order in self._orders.values():
            for lang, text in order.status.items():
                if text and text not in out.setdefault(lang, []):
                    out[lang].append(text)
        return out

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
        # The status in every language, so a caller who switches language hears it in the new one.
        localised = {f"order_status@{lang}": text for lang, text in order.status.items() if text}
        return ActionResult("found", {"order_id": order.order_id, "order_status": status, **localised})


def check_orders_text(text: str, languages: tuple[str, ...]) -> list[str]:
    """Problems with an orders CSV: the columns, and rows a caller could not reach or would hear wrongly."""
    rows = _rows(text)
    header = list(rows.fieldnames or [])
    problems = [] if "order_id" in header else [f"the orders file has no 'order_id' column (columns: {', '.join(header) or 'none'})"]
    problems += [f"the orders file has no 'status_{lang}' column" for lang in languages if f"status_{lang}" not in header]
    if problems:
        return problems
    seen: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        order_id = (row.get("order_id") or "").strip()
        if not order_id.isascii() or not order_id.isdigit():
            problems.append(f"the orders file, line {line}: order id {order_id!r} cannot be typed on a keypad (digits only)")
        elif order_id in seen:
            problems.append(f"the orders file, line {line}: order {order_id} is listed twice (also on line {seen[order_id]})")
        else:
            seen[order_id] = line
        empty = [lang for lang in languages if not (row.get(f"status_{lang}") or "").strip()]
        if empty:
            problems.append(
                f"the orders file, line {line}: order {order_id} has no status in {', '.join(empty)} (a caller would hear nothing)"
            )
    return problems
