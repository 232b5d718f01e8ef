"""The back key (#) and the `back` target: invalid where there is no way back, refused where it cannot resolve."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.config import Settings
from ivr.hotline import engine_for
from ivr.loading.menu_loader import load_menu
from ivr.store.tickets import TicketStore
from tests.conftest import Caller
from tests.menu_variants import messages, variant
from tests.workspace import copy_workspace


class TestBackKey:
    """The back key and the `back` target."""

    def test_pound_on_a_top_menu_with_a_way_back_into_it_is_invalid(self, tmp_path: Path, store: TicketStore) -> None:
        """# at the top menu is an invalid key even when another menu can lead back to it."""
        path = copy_workspace(tmp_path)
        shipped = path.read_text(encoding="utf-8")
        path.write_text(shipped.replace("      3: account_other\n", "      3: account_other\n      9: main\n", 1), encoding="utf-8")
        call = Caller(engine_for(load_menu(path), store, Settings())).dial("#")
        assert "输入有误" in call.said
        assert "系统暂时出现问题" not in call.said

    @pytest.mark.parametrize(
        ("old", "new", "expected"),
        [
            ("      2: goodbye", "      2: back", "a menu cannot send a key or its failures 'back'"),
            ("  on_error: goodbye", "  on_error: back", "'back' cannot be used in the menu settings"),
            ("    next: main", "    next: back", "no menu leads here"),
        ],
    )
    def test_back_where_it_cannot_resolve_is_refused(self, tmp_path: Path, old: str, new: str, expected: str) -> None:
        """`back` is refused in menu keys, in the settings and on nodes no menu leads to."""
        assert any(expected in m for m in messages(variant(tmp_path, old, new)))
