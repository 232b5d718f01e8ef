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
