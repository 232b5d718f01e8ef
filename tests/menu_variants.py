"""Small variants of the baseline test menu (tests/menus/broken/_valid.yaml) and the problems `check_menu` finds in them."""

from __future__ import annotations

from pathlib import Path

from ivr.loading.menu_loader import check_menu

BASELINE = (Path(__file__).parent / "menus" / "broken" / "_valid.yaml").read_text(encoding="utf-8")


def variant(tmp_path: Path, old: str, new: str, name: str = "menu.yaml") -> Path:
    """The baseline menu with one text replaced, written to tmp_path."""
    assert old in BASELINE
    path = tmp_path / name
    path.write_text(BASELINE.replace(old, new, 1), encoding="utf-8")
    return path


def messages(path: Path) -> list[str]:
    """Every problem of a menu as `line:col message`."""
    return [f"{p.line}:{p.column} {p.message}" for p in check_menu(path)]


def settings(menu_id: str, start: str, *, on_max_failures: str, on_transfer_failure: str, queues: str, data: str = "") -> str:
    """The baseline menu's `menu:` section (up to `nodes:`) with its id, start, failure targets and queues replaced,
    and `data:` lines added: the settings of a small test menu, without copying the rest."""
    head = BASELINE[BASELINE.index("menu:\n") : BASELINE.index("\nnodes:\n") + 1]
    for old, new in (
        ("  id: broken-baseline\n", f"  id: {menu_id}\n"),
        ("  start: welcome\n", f"  start: {start}\n{data}"),
        ("    on_max_failures: agent\n", f"    on_max_failures: {on_max_failures}\n"),
        ("    on_transfer_failure: goodbye\n", f"    on_transfer_failure: {on_transfer_failure}\n"),
        ("  queues:\n    general: {description: after-sales agents}\n", f"  queues:\n{queues}"),
    ):
        assert old in head, old
        head = head.replace(old, new, 1)
    return head
