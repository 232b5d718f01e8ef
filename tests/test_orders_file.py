"""The orders data file behind the order lookup: read as spreadsheets save it, refused without the columns it needs."""

from __future__ import annotations

from pathlib import Path

from ivr.config import Settings
from ivr.hotline import engine_for
from ivr.loading.menu_loader import load_menu
from ivr.store.tickets import TicketStore
from tests.conftest import Caller
from tests.menu_variants import messages
from tests.workspace import copy_workspace


def test_orders_file_with_byte_order_mark_works(tmp_path: Path, store: TicketStore) -> None:
    """An orders CSV saved with a BOM (as spreadsheets do) still finds orders."""
    copy_workspace(tmp_path)
    csv = tmp_path / "menus" / "orders.sample.csv"
    csv.write_bytes(b"\xef\xbb\xbf" + csv.read_bytes())
    menu = load_menu(tmp_path / "menus" / "volcengine.yaml")
    call = Caller(engine_for(menu, store, Settings())).dial("2 202611280001#")
    assert "已支付" in call.said


def test_orders_file_without_needed_columns_is_refused(tmp_path: Path) -> None:
    """A data file missing order_id or a language's status column is a menu error at the data line."""
    copy_workspace(tmp_path)
    (tmp_path / "menus" / "orders.sample.csv").write_text("id,status_zh-CN\n1,ok\n", encoding="utf-8")
    found = messages(tmp_path / "menus" / "volcengine.yaml")
    assert any("no 'order_id' column" in m for m in found)
    assert any("no 'status_en-US' column" in m for m in found)


def test_rows_a_caller_cannot_reach_or_would_hear_wrongly_are_errors(tmp_path: Path) -> None:
    """An id with letters, an id listed twice and an empty status are each reported with their line of the orders file."""
    from ivr.orders import check_orders_text

    text = (
        "order_id,status_zh-CN,status_en-US\n"
        "202611280001,已支付,Paid\n"
        "ABC123,已支付,Paid\n"
        "202611280001,已发货,Shipped\n"
        "202611280002,,Shipped\n"
    )
    assert check_orders_text(text, ("zh-CN", "en-US")) == [
        "the orders file, line 3: order id 'ABC123' cannot be typed on a keypad (digits only)",
        "the orders file, line 4: order 202611280001 is listed twice (also on line 2)",
        "the orders file, line 5: order 202611280002 has no status in zh-CN (a caller would hear nothing)",
    ]
