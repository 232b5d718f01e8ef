"""Re-create the README's embedded Mermaid diagram of the shipped menu (`make docs`)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.diagram import menu_diagram  # noqa: E402
from ivr.loading.menu_loader import load_menu  # noqa: E402

BLOCK = re.compile(r"(<!-- menu-diagram:start[^\n]*-->\n```mermaid\n).*?(```\n<!-- menu-diagram:end -->)", re.S)


def updated(readme: str) -> str:
    """The README text with the diagram block re-drawn from the shipped menu."""
    graph = menu_diagram(load_menu(ROOT / "menus" / "volcengine.yaml")).rstrip() + "\n"
    return BLOCK.sub(lambda m: m.group(1) + graph + m.group(2), readme)


if __name__ == "__main__":
    path = ROOT / "README.md"
    path.write_text(updated(path.read_text(encoding="utf-8")), encoding="utf-8")
