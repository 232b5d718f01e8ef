"""The package keeps the layering DESIGN.md draws: no import cycles between its parts, an engine free of web,
YAML and database libraries, a web layer that reaches the domain only through the composition root, and a
README whose Layout section is the tree as it is."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "ivr"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(name: str, path: Path) -> set[str]:
    """Every module `name` imports, wherever the import statement is (functions included)."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], *([base] if base else [])])
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def _unit(module: str) -> str:
    """The part of the package a module belongs to: its sub-package, or the top-level module itself."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


MODULES = _modules()
UNITS = {_unit(m) for m in MODULES}


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in MODULES.items():
        for target in _imports(name, path):
            if target in MODULES and _unit(target) != _unit(name):
                graph[_unit(name)].add(_unit(target))
    return graph


def test_no_import_cycles_between_parts_of_the_package() -> None:
    """The sub-packages and top-level modules of ivr import each other without a cycle (ivr.qa and ivr.testing included)."""
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(unit: str, path: list[str]) -> None:
        state[unit] = 1
        for nxt in sorted(graph[unit]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[unit] = 2

    for unit in sorted(UNITS):
        if unit not in state:
            visit(unit, [unit])
    assert cycles == [], "\n".join(" -> ".join(c) for c in cycles)


def test_engine_imports_no_web_yaml_or_database_library() -> None:
    """ivr.engine imports neither Flask, twilio, YAML nor a database driver, nor the adapters or the loader."""
    banned = ("flask", "werkzeug", "twilio", "yaml", "sqlalchemy", "psycopg", "ivr.web", "ivr.store", "ivr.loading", "ivr.nodes")
    for name, path in MODULES.items():
        if name.startswith("ivr.engine"):
            bad = sorted(t for t in _imports(name, path) if t.startswith(banned))
            assert bad == [], f"{name} imports {bad}"


def test_web_layer_reaches_the_domain_only_through_the_composition_root() -> None:
    """ivr.web imports only the composition root (ivr.hotline), engine actions and events, and its own modules."""
    allowed = ("ivr.hotline", "ivr.engine.actions", "ivr.engine.events", "ivr.web")
    for name, path in MODULES.items():
        if name.startswith("ivr.web"):
            ours = {t for t in _imports(name, path) if t == "ivr" or t.startswith("ivr.")}
            bad = sorted(t for t in ours if not any(t == a or t.startswith(f"{a}.") for a in allowed))
            assert bad == [], f"{name} imports {bad}"


def test_readme_layout_matches_the_tree() -> None:
    """Every part of ivr/ named in the README's Layout section exists, and every part that exists is named."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"\bivr/([a-z_]+)(/|\.py)", section))
    named_parts = {f"{n}/" if kind == "/" else f"{n}.py" for n, kind in named}
    actual = {f"{p.name}/" for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    actual |= {p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    assert named_parts == actual, f"named but absent: {sorted(named_parts - actual)}; present but not named: {sorted(actual - named_parts)}"
    for folder in re.findall(r"^([a-z]+)/", section, re.M):
        assert (ROOT / folder).is_dir(), folder
