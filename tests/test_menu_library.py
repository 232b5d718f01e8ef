"""The menu library: the versions a worker keeps loaded for new calls and for calls in progress."""

from __future__ import annotations

import os
from pathlib import Path

from ivr.config import Settings
from ivr.hotline import engine_for
from ivr.ir import Menu
from ivr.library import KEEP_VERSIONS, MenuLibrary
from ivr.store import Store, sqlite_url
from tests.conftest import SHIPPED_MENU
from tests.workspace import copy_workspace


def test_current_menu_version_is_never_evicted(tmp_path: Path, menu: Menu) -> None:
    """However many versions a worker loads, the one in service stays loaded."""

    class Built:
        def __init__(self, m: Menu) -> None:
            self.menu = m

    library = MenuLibrary(str(SHIPPED_MENU), Built, interval=0)  # type: ignore[arg-type]
    current = library.current_version
    for i in range(KEEP_VERSIONS + 5):
        fake = Menu(**{**menu.__dict__, "version": f"v{i:03d}"})
        library._add(Built(fake))  # type: ignore[arg-type]
    assert current in library.engines and library.current().menu.version == current
    assert len(library.engines) <= KEEP_VERSIONS


def _edit(path: Path, old: str, new: str, tick: int) -> None:
    """Change the menu file, with a modification time the library cannot mistake for the last one."""
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    os.utime(path, ns=(tick * 10**9, tick * 10**9))


def test_refused_edit_keeps_a_reverted_version_in_service(tmp_path: Path) -> None:
    """Edit, revert, then break the file: the worker keeps the reverted version, not the edit ops took back."""
    store = Store(sqlite_url(tmp_path / "versions.sqlite3"))
    menu_file = copy_workspace(tmp_path)
    library = MenuLibrary(str(menu_file), lambda m: engine_for(m, None, Settings()), interval=0, versions=store.menus)
    original = library.current_version
    greeting = "您好，欢迎致电火山引擎售后。"
    _edit(menu_file, greeting, "您好，版本Y欢迎您。", 1)
    assert library.refresh() and library.current_version != original
    _edit(menu_file, "您好，版本Y欢迎您。", greeting, 2)
    assert library.refresh() and library.current_version == original
    _edit(menu_file, "      2: order_entry", "      2: order_entyr", 3)
    assert not library.refresh()
    assert library.current_version == original and library.error is not None and "order_entyr" in library.error
    store.close()


def test_refused_edit_catches_up_with_a_version_another_worker_loaded(tmp_path: Path) -> None:
    """A worker that missed a good edit before the file broke serves the version the other worker loaded."""
    store = Store(sqlite_url(tmp_path / "versions.sqlite3"))
    menu_file = copy_workspace(tmp_path)
    build = lambda m: engine_for(m, None, Settings())  # noqa: E731
    slow = MenuLibrary(str(menu_file), build, interval=0, versions=store.menus)
    fast = MenuLibrary(str(menu_file), build, interval=0, versions=store.menus)
    _edit(menu_file, "您好，欢迎致电", "您好，版本Z，欢迎致电", 1)
    assert fast.refresh()
    _edit(menu_file, "      2: order_entry", "      2: order_entyr", 2)
    assert slow.refresh()  # refused, and caught up with what `fast` loaded
    assert slow.current_version == fast.current_version
    store.close()
