"""Smelly menus load, but `ivr menu check` warns at the right line; warnings stay apart from errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ivr.loading.menu_loader import check_menu
from tests.conftest import SHIPPED_MENU
from tests.workspace import run_ivr

SMELLY = sorted((Path(__file__).parent / "menus" / "smelly").glob("*.yaml"))
EXPECT = re.compile(r"#\s*expect-warning:\s*(\d+):(\d+)\s+(.*\S)")


@pytest.mark.parametrize("path", SMELLY, ids=[p.stem for p in SMELLY])
def test_smelly_menu_warns_at_the_right_place(path: Path) -> None:
    """Each smelly menu has no error and every expected warning at its line and column."""
    problems = check_menu(path)
    assert not [p for p in problems if p.severity == "error"]
    wanted = [EXPECT.match(line) for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("# expect-warning")]
    assert wanted
    for match in wanted:
        assert match is not None
        line, column, text = int(match[1]), int(match[2]), match[3]
        assert any(p.severity == "warning" and (p.line, p.column) == (line, column) and text in p.message for p in problems), problems


def test_shipped_menu_has_no_warnings() -> None:
    """The shipped menu announces every key it maps and maps every key it announces."""
    assert check_menu(SHIPPED_MENU) == []


def test_warnings_do_not_fail_the_check_unless_strict() -> None:
    """`ivr menu check` prints warnings as file:line:col: warning and exits 0; --strict makes them fail."""
    path = next(p for p in SMELLY if p.stem == "prefix_keys")
    loose = run_ivr("menu", "check", str(path))
    assert loose.returncode == 0 and f"{path}:" in loose.stdout and ": warning: [main]" in loose.stdout
    strict = run_ivr("menu", "check", "--strict", str(path))
    assert strict.returncode == 1


def test_depth_limit_is_adjustable() -> None:
    """--max-depth raises or lowers the depth warning's limit."""
    path = next(p for p in SMELLY if p.stem == "too_deep")
    assert not [p for p in check_menu(path, max_depth=5) if "levels deep" in p.message]
    assert any("levels deep" in p.message for p in check_menu(SHIPPED_MENU, max_depth=3))


def test_readme_diagram_is_the_shipped_menu() -> None:
    """The README's Mermaid diagram is what `ivr menu graph` draws for the shipped menu now (make docs)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("readme_diagram", SHIPPED_MENU.parent.parent / "scripts" / "readme_diagram.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = (SHIPPED_MENU.parent.parent / "README.md").read_text(encoding="utf-8")
    assert module.updated(readme) == readme, "run `make docs`"


def test_mermaid_graph_has_every_node() -> None:
    """`ivr menu graph --format mermaid` prints a stateDiagram-v2 naming every node of the menu."""
    from ivr.loading.menu_loader import load_menu

    out = run_ivr("menu", "graph", str(SHIPPED_MENU), "--format", "mermaid", check=True)
    assert "stateDiagram-v2" in out.stdout
    for node in load_menu(SHIPPED_MENU).nodes:
        assert f'state "{node}" as ' in out.stdout, node
    assert "main --> business: key_1" in out.stdout
