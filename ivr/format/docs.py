"""The README's tables of the menu format, written from its one description (`make docs` puts them in README.md)."""

from __future__ import annotations

from ivr.format.fields import Field, MapOf, Nested, Section
from ivr.format.node_type import NodeType
from ivr.format.settings import SETTINGS

__all__ = ["format_tables"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row(name: str, f: Field) -> str:
    required = "yes" if f.required else ""
    default = f"`{f.default_text()}`" if f.default_text() else ""
    return f"| `{name}` | {_cell(f.kind)} | {required} | {default} | {_cell(f.doc)} |"


def _section_rows(section: Section, prefix: str = "") -> list[str]:
    rows = []
    for f in section.fields:
        name = f"{prefix}{f.name}"
        rows.append(_row(name, f))
        if isinstance(f, Nested) and f.section is not None:
            rows += _section_rows(f.section, f"{name}.")
        elif isinstance(f, MapOf) and isinstance(f.value, Section):
            rows += _section_rows(f.value, f"{name}.{f.key_doc}.")
    return rows


def format_tables(node_types: dict[str, NodeType]) -> str:
    """Markdown: the settings (every field of `menu:`), then each node type with its fields."""
    head = "| field | kind | required | default | meaning |\n|---|---|---|---|---|"
    out = ["**Settings** (`menu:`):", "", head, *_section_rows(SETTINGS), ""]
    out += ["**Node types** (`nodes:` → NAME → `type:`):", "", "| node `type` | what it does | fields (* required) |", "|---|---|---|"]
    for kind, node_type in node_types.items():
        fields = ", ".join(f"`{f.name}`{'*' if f.required else ''}" for f in node_type.fields)
        out.append(f"| `{kind}` | {_cell(node_type.doc)} | {fields} |")
    out.append("")
    for kind, node_type in node_types.items():
        out += [f"<details><summary><code>{kind}</code> fields</summary>", "", head]
        out += [_row(f.name, f) for f in node_type.fields]
        out += ["", "</details>", ""]
    return "\n".join(out).rstrip() + "\n"
