"""Reading YAML into a located tree: what a menu file may not do to the loader."""

from __future__ import annotations

from pathlib import Path

from ivr.loading.menu_loader import check_menu
from tests.conftest import ROOT

BASELINE = ROOT / "tests" / "menus" / "broken" / "_valid.yaml"


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    """Nested aliases that would expand to hundreds of millions of values are one located error, not an exhausted worker."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\nmenu: {}\nnodes: {}\n", encoding="utf-8")
    [problem] = check_menu(path)
    assert "expands to more than 100,000 values" in problem.message and problem.line >= 1


def test_yaml_tags_are_refused(tmp_path: Path) -> None:
    """A tag such as !custom or !!python/object is an error at its value, never silently accepted."""
    path = tmp_path / "tagged.yaml"
    path.write_text(
        BASELINE.read_text(encoding="utf-8").replace("    next: main", "    next: !!python/object:os.system main"), encoding="utf-8"
    )
    messages = [p.message for p in check_menu(path)]
    assert any("YAML tags such as 'tag:yaml.org,2002:python/object:os.system' are not supported" in m for m in messages), messages
