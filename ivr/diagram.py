"""Pictures of a compiled menu, drawn by `transitions`' own diagram support (Mermaid or Graphviz dot)."""

from __future__ import annotations

import importlib
import re
from typing import Literal

from transitions.extensions import GraphMachine

from ivr.engine.coverage import ANYWHERE
from ivr.engine.engine import Engine
from ivr.errors import IvrError
from ivr.ir import Menu


class _Diagram:
    """The model the diagram machine draws for."""


def _safe(name: str) -> str:
    # Mermaid state ids cannot contain dots; generated scope nodes have them (third_party.system_tools).
    return name.replace(".", "__")


def menu_diagram(menu: Menu, fmt: str = "mermaid") -> str:
    """The menu's state machine as Mermaid `stateDiagram-v2` or Graphviz dot source."""
    machine = Engine(menu).machine
    edges = []
    anywhere: dict[str, str] = {}
    for trigger, event in machine.events.items():
        for source, transitions in event.transitions.items():
            for t in transitions:
                if trigger in ANYWHERE:
                    anywhere[trigger] = t.dest or ""
                    continue
                edges.append({"trigger": trigger, "source": _safe(source), "dest": _safe(t.dest) if t.dest else None})
    engine: Literal["mermaid", "graphviz"] | None = "mermaid" if fmt == "mermaid" else "graphviz" if fmt == "dot" else None
    if engine is None:
        raise IvrError(f"unknown diagram format {fmt!r}: use mermaid or dot")
    if engine == "graphviz":
        # transitions quietly falls back to Mermaid when the graphviz package is missing: ask first.
        try:
            importlib.import_module("graphviz")
        except ImportError as exc:
            raise IvrError(f"the {fmt} format needs Graphviz's Python package and the dot program: {exc}") from exc
    try:
        graph = GraphMachine(
            model=_Diagram(),
            states=[_safe(n) for n in menu.nodes],
            transitions=edges,
            initial=_safe(menu.start),
            auto_transitions=False,
            graph_engine=engine,
            title=menu.id,
        )
        drawing = graph.models[0].get_graph()
        if engine == "graphviz":
            # Should transitions still fall back (a broken graphviz install), never pass Mermaid off as dot.
            if not graph.graph_cls.__module__.endswith("diagrams_graphviz"):
                raise ImportError(f"transitions drew with {graph.graph_cls.__module__} instead")
            # graphviz.Digraph's dot source (transitions types it loosely); draw() would render an image with dot.
            text = str(drawing.source)  # type: ignore[attr-defined]
        else:
            text = str(drawing.draw(None))
    except ImportError as exc:
        raise IvrError(f"the {fmt} format needs Graphviz's Python package and the dot program: {exc}") from exc
    notes = [f"from every node, {trigger} --> {dest}" for trigger, dest in sorted(anywhere.items())]
    if fmt == "mermaid":
        # Show the real node names as labels, and drop transitions' highlight of a current state.
        for name in menu.nodes:
            if name != _safe(name):
                text = text.replace(f'state "{_safe(name)}" as {_safe(name)}', f'state "{name}" as {_safe(name)}')
        # Mermaid's front matter is YAML: the title needs its key.
        text = re.sub(r"\A---\n(.*)\n---\n", lambda m: f"---\ntitle: {m.group(1)}\n---\n", text)
        # transitions styles states for a live model; a menu picture needs none of it.
        text = re.sub(r"\n\s*(Class \S+ s_\w+|classDef \S+ [^\n]*)", "", text)
        text += "".join(f"\n  %% {note}" for note in notes) + "\n"
    else:
        text += "".join(f"// {note}\n" for note in notes)
    return text
