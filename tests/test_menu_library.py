"""The menu library: the versions a worker keeps loaded for new calls and for calls in progress."""

from __future__ import annotations

from pathlib import Path

from ivr.ir import Menu
from ivr.library import KEEP_VERSIONS, MenuLibrary
from tests.conftest import SHIPPED_MENU


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
