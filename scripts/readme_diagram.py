"""Re-create the README's generated parts (`make docs`): the Mermaid diagram of the shipped menu and the format tables."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.diagram import menu_diagram  # noqa: E402
from ivr.format.docs import format_tables  # noqa: E402
from ivr.loading.menu_loader import load_menu  # noqa: E402
from ivr.nodes import NODE_TYPES  # noqa: E402

BLOCK = re.compile(r"(<!-- menu-diagram:start[^\n]*-->\n```mermaid\n).*?(```\n<!-- menu-diagram:end -->)", re.S)
FORMAT = re.compile(r"(<!-- menu-format:start[^\n]*-->\n).*?(<!-- menu-format:end -->)", re.S)


def updated(readme: str) -> str:
    """The README text with the diagram re-drawn from the shipped menu and the format tables re-written."""
    graph = menu_diagram(load_menu(ROOT / "menus" / "volcengine.yaml")).rstrip() + "\n"
    readme = BLOCK.sub(lambda m: m.group(1) + graph + m.group(2), readme)
    return FORMAT.sub(lambda m: m.group(1) + format_tables(NODE_TYPES) + m.group(2), readme)


if __name__ == "__main__":
    path = ROOT / "README.md"
    path.write_text(updated(path.read_text(encoding="utf-8")), encoding="utf-8")
