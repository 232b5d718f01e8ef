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
