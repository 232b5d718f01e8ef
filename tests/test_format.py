"""The menu format is described once: the loader, the JSON Schema and the README tables all follow the description,
and a new node type needs only its own module (here: one defined in this test file)."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import ClassVar

import pytest

from ivr.audio.prompts import menu_prompts
from ivr.config import Settings
from ivr.diagram import menu_diagram
from ivr.effort import routes
from ivr.engine.fsm import CallModel, MachineBuilder
from ivr.format import Build, Count, Localised, NodeType, Target
from ivr.format.docs import format_tables
from ivr.hotline import engine_for
from ivr.ir import Node
from ivr.loading.menu_loader import check_menu, load_menu
from ivr.loading.schema import menu_schema
from ivr.nodes import NODE_TYPES
from ivr.simulator import SimulatedCall
from ivr.store.tickets import TicketStore
from ivr.text import Text
from tests.conftest import IN_HOURS, ROOT

README = ROOT / "README.md"
BASELINE = ROOT / "tests" / "menus" / "broken" / "_valid.yaml"


def _readme_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("readme_diagram", ROOT / "scripts" / "readme_diagram.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_format_tables_are_current() -> None:
    """The README's format tables are exactly what the description gives now (`make docs`)."""
    readme = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- menu-format:start[^\n]*-->\n(.*?)<!-- menu-format:end -->", readme, re.S)
    assert block is not None, "the README lost its menu-format markers"
    assert block.group(1) == format_tables(NODE_TYPES), "run `make docs`"
    assert _readme_script().updated(readme) == readme


def test_a_changed_range_reaches_loader_schema_and_readme(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Narrowing one field's range in the description changes what the loader accepts, the schema and the README alike."""
    record = NODE_TYPES["record"]
    fields = tuple(dataclasses.replace(f, high=60) if f.name == "max_length" else f for f in record.fields)
    monkeypatch.setitem(NODE_TYPES, "record", dataclasses.replace(record, fields=fields))
    assert menu_schema()["$defs"]["record_node"]["properties"]["max_length"]["maximum"] == 60
    assert "| `max_length` | whole number 5–60 |" in format_tables(NODE_TYPES)
    menu = tmp_path / "menu.yaml"
    text = BASELINE.read_text(encoding="utf-8").replace(
        "  goodbye:\n",
        "  message:\n    type: record\n    say: {zh-CN: 请留言。, en-US: Leave a message.}\n"
        "    max_length: 90\n    next: goodbye\n\n  goodbye:\n",
    )
    menu.write_text(text.replace("      2: goodbye", "      2: message"), encoding="utf-8")
    assert [p.message for p in check_menu(menu)] == ["'max_length' in record node 'message' must be between 5 and 60, not 90"]


# ---- a node type that exists only in this test ---------------------------------------------------------


@dataclass(frozen=True)
class ChimeNode(Node):
    """Says its text `times` times, then moves on (a test-only node type)."""

    prompt: Text
    times: int
    next: str

    kind: ClassVar[str] = "chime"

    def edges(self) -> dict[str, str]:
        """Where it goes on to."""
        return {"next": self.next}

    def texts(self) -> list[tuple[str, Text]]:
        """Its text."""
        return [(self.id, self.prompt)]

    def heard(self) -> Text:
        """Its text, as often as it is said."""
        return Text({lang: " ".join([text] * self.times) for lang, text in self.prompt.by_lang.items()})

    def destination(self) -> tuple[str, str]:
        """Hearing the chime is an outcome."""
        return "announcement", f"chime {self.id}"

    def enter(self, call: CallModel) -> None:
        """Say it, then go on."""
        for _ in range(self.times):
            call.say(self.prompt)
        call.go("next")

    def compile(self, fsm: MachineBuilder) -> None:
        """One way on."""
        fsm.go("next", self.id, self.next)


def _build_chime(b: Build) -> list[Node]:
    return [ChimeNode(b.node_id, b.location, b.values.get("say") or b.blank(), b.values["times"], b.values.get("next", ""))]


CHIME = NodeType(
    "chime",
    "Say a text several times, then go on.",
    (
        Localised("say", "What is said.", required=True),
        Count("times", "How often.", low=1, high=3, default=2),
        Target("next", "Node to go to next.", required=True),
    ),
    _build_chime,
)


def test_a_new_node_type_needs_only_its_own_module(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, store: TicketStore) -> None:
    """Registering one node type makes the loader, checks, schema, README, engine, effort report, audio list and diagram know it."""
    monkeypatch.setitem(NODE_TYPES, "chime", CHIME)
    menu_file = tmp_path / "menu.yaml"
    text = BASELINE.read_text(encoding="utf-8").replace(
        "    next: main\n",
        "    next: bell\n\n  bell:\n    type: chime\n    say: {zh-CN: 叮。, en-US: Ding.}\n    times: 3\n    next: main\n",
        1,
    )
    menu_file.write_text(text, encoding="utf-8")
    assert check_menu(menu_file) == []
    menu = load_menu(menu_file)
    assert isinstance(menu.nodes["bell"], ChimeNode)
    call = SimulatedCall(engine_for(menu, store, Settings()), at=IN_HOURS, lang="en-US")
    call.run(["2"])
    assert [line["text"] for line in call.lines if line.get("node") == "bell"] == ["Ding."] * 3
    assert "chime" in menu_schema()["$defs"]["node"]["properties"]["type"]["enum"]
    assert "| `chime` | Say a text several times, then go on. |" in format_tables(NODE_TYPES)
    assert any(r.node == "bell" and r.destination == "chime bell" for r in routes(menu))
    assert any(spec.id == "bell" for spec in menu_prompts(menu))
    assert "bell --> main: next" in menu_diagram(menu)
    broken = menu_file.read_text(encoding="utf-8").replace("    times: 3\n", "    times: 9\n    tims: 1\n")
    menu_file.write_text(broken, encoding="utf-8")
    messages = [p.message for p in check_menu(menu_file)]
    assert "'times' in chime node 'bell' must be between 1 and 3, not 9" in messages
    assert "unknown field 'tims' in chime node 'bell'; did you mean 'times'?" in messages
