"""`ivr menu graph --format dot`: Graphviz dot source, or a clear error when Graphviz is missing, never Mermaid."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.diagram import menu_diagram
from ivr.errors import IvrError
from ivr.ir import Menu
from tests.conftest import SHIPPED_MENU

HAS_GRAPHVIZ = importlib.util.find_spec("graphviz") is not None
MISSING = "the dot format needs Graphviz's Python package and the dot program"


BACKEND = "transitions.extensions.diagrams_graphviz"  # where transitions tries `import graphviz`, once


@pytest.fixture
def no_graphviz(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make `import graphviz` fail, as on a machine without the package, wherever it is installed."""
    monkeypatch.setitem(sys.modules, "graphviz", None)  # None in sys.modules makes the import raise ImportError
    monkeypatch.delitem(sys.modules, BACKEND, raising=False)  # so transitions tries the import again
    yield
    # Forget the backend imported without graphviz; monkeypatch then puts back any earlier one.
    sys.modules.pop(BACKEND, None)


@pytest.mark.usefixtures("no_graphviz")
def test_dot_without_graphviz_is_a_clear_error(menu: Menu) -> None:
    """Without Graphviz's Python package, the dot format raises the clear IvrError instead of drawing Mermaid."""
    with pytest.raises(IvrError, match=MISSING):
        menu_diagram(menu, "dot")


@pytest.mark.usefixtures("no_graphviz")
def test_cli_dot_without_graphviz_exits_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`ivr menu graph --format dot --out FILE` without Graphviz exits 2 with the message and writes no file."""
    out = tmp_path / "menu.dot"
    assert main(["menu", "graph", str(SHIPPED_MENU), "--format", "dot", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"ivr: {MISSING}")
    assert captured.out == ""
    assert not out.exists()


@pytest.mark.skipif(HAS_GRAPHVIZ, reason="Graphviz's Python package is installed here")
def test_dot_in_this_environment_without_graphviz(capsys: pytest.CaptureFixture[str]) -> None:
    """Here, without Graphviz's Python package, `ivr menu graph --format dot` exits 2 with the message and prints no Mermaid."""
    assert main(["menu", "graph", str(SHIPPED_MENU), "--format", "dot"]) == 2
    captured = capsys.readouterr()
    assert MISSING in captured.err
    assert "stateDiagram" not in captured.out


@pytest.mark.skipif(not HAS_GRAPHVIZ, reason="needs Graphviz's Python package")
def test_dot_with_graphviz_is_dot_source(menu: Menu) -> None:
    """With Graphviz's Python package, the dot format is Graphviz source naming every node."""
    text = menu_diagram(menu, "dot")
    assert text.lstrip().startswith("digraph")
    assert "stateDiagram" not in text
    for name in menu.nodes:
        assert name.replace(".", "__") in text


def test_mermaid_needs_no_graphviz(menu: Menu, no_graphviz: None) -> None:
    """The default Mermaid format draws without Graphviz."""
    assert "stateDiagram-v2" in menu_diagram(menu, "mermaid")


def test_unknown_format_is_an_error(menu: Menu) -> None:
    """A format other than mermaid or dot is an IvrError naming both."""
    with pytest.raises(IvrError, match="use mermaid or dot"):
        menu_diagram(menu, "png")
