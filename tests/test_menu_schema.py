"""The JSON Schema of the menu format: current on disk, valid, true to the loader, and precise about typos.

Menus are validated the way an editor sees them: YAML 1.2 core schema with mapping keys kept as
written (`CoreSchemaLoader`), which is what the VS Code YAML extension checks against the schema.
Plain `yaml.safe_load` (YAML 1.1) would not do: it loads the `on:` field of an input node as the key
True, a prompt `no` as False and the DTMF key `1:` as the integer 1, none of which a menu means.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from jsonschema import Draft202012Validator, ValidationError

from ivr.loading.menu_loader import ALL_BUILDERS, LANG, check_menu
from ivr.loading.schema import LANGUAGE_TAG, digits_pattern, menu_schema, schema_text

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "menus" / "menu.schema.json"
SHIPPED = ROOT / "menus" / "volcengine.yaml"
BASELINE = ROOT / "tests" / "menus" / "broken" / "_valid.yaml"
VALIDATOR = Draft202012Validator(menu_schema())
BOGUS = "zzzzzzzzzz"  # a field name close to no real one, so the loader lists every allowed field


class CoreSchemaLoader(yaml.SafeLoader):
    """YAML 1.2 core schema, mapping keys kept as the text written: the JSON view an editor validates."""

    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {}


for _tag, _regexp, _first in (
    ("null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ("bool", r"true|True|TRUE|false|False|FALSE", list("tTfF")),
    ("int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", list("-+0123456789")),
    ("float", r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)", list("-+.0123456789")),
):
    CoreSchemaLoader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(rf"^(?:{_regexp})$"), _first)


def _int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    text = str(node.value)
    return int(text[2:], 8) if text.startswith("0o") else int(text, 0 if text.startswith("0x") else 10)


def _mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    return {
        key.value if isinstance(key, yaml.ScalarNode) else loader.construct_object(key, deep=True): loader.construct_object(
            value, deep=True
        )
        for key, value in node.value
    }


CoreSchemaLoader.add_constructor("tag:yaml.org,2002:int", _int)
CoreSchemaLoader.add_constructor("tag:yaml.org,2002:map", _mapping)


def load(path: Path) -> dict[str, Any]:
    """A menu file as an editor's JSON view of it."""
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=CoreSchemaLoader)
    assert isinstance(document, dict)
    return document


def errors(document: Any) -> list[ValidationError]:
    """Every schema error in `document`."""
    return list(VALIDATOR.iter_errors(document))


def loader_errors(document: dict[str, Any], tmp_path: Path) -> list[str]:
    """What `ivr menu check` reports for `document`, written next to nothing (no scope, no data)."""
    path = tmp_path / "menu.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return [p.message for p in check_menu(path) if p.severity == "error"]


def at(document: dict[str, Any], *path: str) -> Any:
    """The value at `path` inside `document`."""
    for key in path:
        document = document[key]
    return document


def rename(mapping: dict[str, Any], old: str, new: str) -> None:
    """Rename a key in place, keeping the order of the others."""
    items = list(mapping.items())
    mapping.clear()
    mapping.update((new if key == old else key, value) for key, value in items)


def section(label: str) -> dict[str, Any]:
    """The schema's fields for what the loader calls `label` in its messages."""
    schema = menu_schema()
    settings = schema["$defs"]["settings"]["properties"]
    sections = {
        "the menu file": schema["properties"],
        "the menu settings": schema["$defs"]["settings"]["properties"],
        "'defaults'": settings["defaults"]["properties"],
        "'hours'": settings["hours"]["properties"],
        "'loop_limit'": settings["loop_limit"]["properties"],
        "'tickets'": settings["tickets"]["properties"],
        "queue 'general'": settings["queues"]["additionalProperties"]["properties"],
        "voice for 'zh-CN'": settings["voices"]["additionalProperties"]["properties"],
    }
    node = re.fullmatch(r"(\w+ )?node 'probe_(\w+)'", label)  # retry fields say "node 'x'", the rest "TYPE node 'x'"
    return schema["$defs"][f"{node.group(2)}_node"]["properties"] if node else sections[label]


def probe_label(label: str) -> str:
    """A loader label, with any probe node named alike however the message words it."""
    node = re.fullmatch(r"(\w+ )?node '(probe_\w+)'", label)
    return node.group(2) if node else label


def probe_nodes(fields: dict[str, Any] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """One node of every type, named probe_TYPE, with `fields` added."""
    for kind in ALL_BUILDERS:
        yield f"probe_{kind}", {"type": kind, **(fields or {})}


def test_schema_file_is_current() -> None:
    """menus/menu.schema.json is exactly menu_schema() written out, so it cannot go stale."""
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), "regenerate: .venv/bin/ivr menu schema > menus/menu.schema.json"
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == menu_schema()


def test_schema_is_valid_draft_2020_12() -> None:
    """The schema is itself a valid draft 2020-12 schema with the expected identity."""
    schema = menu_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] and schema["title"] == "Hotline IVR menu"


@pytest.mark.parametrize("path", [SHIPPED, ROOT / "tests" / "menus" / "yaml11.yaml", BASELINE], ids=lambda p: p.name)
def test_sound_menus_validate(path: Path) -> None:
    """The shipped menu and the test menus that the loader accepts are valid against the schema."""
    assert [f"{list(e.absolute_path)}: {e.message}" for e in errors(load(path))] == []


@pytest.mark.parametrize(
    ("where", "old", "new", "path", "needle"),
    [
        (("nodes", "main"), "keys", "kyes", ("nodes", "main"), "'kyes' was unexpected"),
        (("menu", "defaults"), "timeout", "timout", ("menu", "defaults"), "'timout' was unexpected"),
        (("nodes", "business"), "queue", "queu", ("nodes", "business"), "'queu' was unexpected"),
        (("menu", "hours"), "force", "forse", ("menu", "hours"), "'forse' was unexpected"),
        (("menu",), "loop_limit", "loop_limt", ("menu",), "'loop_limt' was unexpected"),
        (("menu", "queues", "general"), "description", "desc", ("menu", "queues", "general"), "'desc' was unexpected"),
    ],
    ids=["menu-node", "defaults", "transfer-node", "hours", "settings", "queue"],
)
def test_misspelt_field_fails_at_its_mapping(where: tuple[str, ...], old: str, new: str, path: tuple[str, ...], needle: str) -> None:
    """A misspelt field name fails, and every error points at the mapping that holds it."""
    menu = load(SHIPPED)
    rename(at(menu, *where), old, new)
    found = errors(menu)
    assert any(needle in e.message for e in found), [e.message for e in found]
    assert {tuple(e.absolute_path) for e in found} == {path}


def test_unknown_node_type_fails_at_type() -> None:
    """An unknown node type is one error at that node's `type`, not a flood about its fields."""
    menu = load(SHIPPED)
    menu["nodes"]["welcome"]["type"] = "announcement"
    [error] = errors(menu)
    assert tuple(error.absolute_path) == ("nodes", "welcome", "type")
    assert "'announcement' is not one of" in error.message


@pytest.mark.parametrize(
    ("place", "value", "path", "needle"),
    [
        (("menu", "hours", "weekly"), {"daily": "9:00-21:00"}, ("menu", "hours", "weekly", "daily"), "'9:00-21:00' does not match"),
        (("nodes", "main", "keys"), {"a": "business", "2": "order_entry"}, ("nodes", "main", "keys"), "'a' does not match"),
        (("menu", "hours", "overrides"), {"2027-1-1": "closed"}, ("menu", "hours", "overrides"), "'2027-1-1' does not match"),
        (("menu", "defaults", "max_invalid"), 11, ("menu", "defaults", "max_invalid"), "11 is greater than the maximum of 10"),
        (("menu", "defaults", "max_invalid"), "11", ("menu", "defaults", "max_invalid"), "'11' does not match"),
    ],
    ids=["window-hour-without-zero", "letter-key", "date-without-zeros", "number-out-of-range", "quoted-number-out-of-range"],
)
def test_bad_value_fails_at_it(place: tuple[str, ...], value: Any, path: tuple[str, ...], needle: str) -> None:
    """A bad window, DTMF key, date or number fails with an error at that very value."""
    menu = load(SHIPPED)
    *parent, key = place
    at(menu, *parent)[key] = value
    found = errors(menu)
    assert [tuple(e.absolute_path) for e in found] == [path]
    assert needle in found[0].message


# (case, path inside tests/menus/broken/_valid.yaml, new value): the schema and `ivr menu check` agree on each.
ACCEPTED = [
    ("quoted-number", ("menu", "defaults", "max_invalid"), "4"),
    ("number-with-leading-zero", ("menu", "defaults", "timeout"), "007"),
    ("overnight-window", ("menu", "hours", "weekly"), {"daily": "22:00-02:00"}),
    ("week-ranges", ("menu", "hours", "weekly"), {"mon-fri": "09:00-24:00", "sat": "closed", "sun": ["09:00-12:00", "13:00-17:00"]}),
    ("spaces-around-dash", ("menu", "hours", "weekly"), {"daily": "09:00 - 21:00"}),
    ("override", ("menu", "hours", "overrides"), {"2027-01-01": "closed", "2026-12-31": ["09:00-12:00"]}),
    ("force", ("menu", "hours", "force"), "closed"),
    ("star-in-longer-key", ("nodes", "main", "keys"), {"1": "agent", "2": "goodbye", "*9": "agent"}),
    ("back-after-failed-transfer", ("nodes", "agent", "on_failure"), "back"),
    ("queue-address", ("menu", "queues", "general"), {"address": "sip:agents@example.com", "description": "agents"}),
    ("node-retry-fields", ("nodes", "main", "max_no_input"), 2),
]
REJECTED = [
    ("hour-without-zero", ("menu", "hours", "weekly"), {"daily": "9:00-21:00"}),
    ("minute-60", ("menu", "hours", "weekly"), {"daily": "09:60-21:00"}),
    ("start-at-24", ("menu", "hours", "weekly"), {"daily": "24:00-02:00"}),
    ("unknown-day", ("menu", "hours", "weekly"), {"monday": "09:00-21:00"}),
    ("bad-date", ("menu", "hours", "overrides"), {"2027-1-1": "closed"}),
    ("force-typo", ("menu", "hours", "force"), "on"),
    ("letter-key", ("nodes", "main", "keys"), {"a": "agent", "2": "goodbye"}),
    ("star-key", ("nodes", "main", "keys"), {"*": "agent", "2": "goodbye"}),
    ("hash-key", ("nodes", "main", "keys"), {"#": "agent", "2": "goodbye"}),
    ("nine-digit-key", ("nodes", "main", "keys"), {"123456789": "agent", "2": "goodbye"}),
    ("no-keys", ("nodes", "main", "keys"), {}),
    ("menu-key-back", ("nodes", "main", "keys"), {"1": "back", "2": "goodbye"}),
    ("too-many-failures", ("menu", "defaults", "max_invalid"), 11),
    ("quoted-too-many", ("menu", "defaults", "max_invalid"), "11"),
    ("fraction", ("menu", "defaults", "max_invalid"), 3.5),
    ("timeout-zero", ("nodes", "main", "timeout"), 0),
    ("blank-prompt", ("nodes", "goodbye", "say", "en-US"), "   "),
    ("language-tag", ("menu", "languages"), ["zh-CN", "english"]),
    ("default-language-tag", ("menu", "default_language"), "EN"),
]


@pytest.mark.parametrize(
    ("case", "path", "value", "sound"),
    [(*c, True) for c in ACCEPTED] + [(*c, False) for c in REJECTED],
    ids=[c[0] for c in ACCEPTED + REJECTED],
)
def test_schema_agrees_with_loader(case: str, path: tuple[str, ...], value: Any, sound: bool, tmp_path: Path) -> None:
    """The schema and the loader give the same verdict on one change to a sound menu."""
    menu = load(BASELINE)
    *parent, key = path
    at(menu, *parent)[key] = value
    assert (loader_errors(menu, tmp_path) == []) is sound, case
    assert (errors(menu) == []) is sound, [e.message for e in errors(menu)]


# What the schema cannot (or deliberately does not) check; `ivr menu check` stays the final word on these.
KNOWN_GAPS = [
    ("empty-window", ("menu", "hours", "weekly"), {"daily": "09:00-09:00"}, False),
    ("prompt-missing-language", ("nodes", "goodbye", "say"), {"zh-CN": "再见。"}, False),
    ("unknown-target", ("nodes", "welcome", "next"), "mian", False),
    ("unknown-queue", ("nodes", "agent", "queue"), "genral", False),
    (
        "min-over-max-digits",
        ("nodes", "main"),
        {
            "type": "input",
            "say": {"zh-CN": "请输入。", "en-US": "Enter."},
            "action": "order_lookup",
            "on": {"found": "agent"},
            "min_digits": 9,
            "max_digits": 6,
        },
        False,
    ),
    ("start-back", ("menu", "start"), "back", True),  # a loader gap: graph checks are skipped when start is no node
    ("capitalised-day", ("menu", "hours", "weekly"), {"Mon-Sun": "09:00-21:00"}, True),
    ("compact-iso-date", ("menu", "hours", "overrides"), {"20270101": "closed"}, True),
    ("number-as-prompt", ("nodes", "goodbye", "say", "en-US"), 12345, True),
]


@pytest.mark.parametrize(("case", "path", "value", "loader_accepts"), KNOWN_GAPS, ids=[g[0] for g in KNOWN_GAPS])
def test_known_gaps_between_schema_and_loader(case: str, path: tuple[str, ...], value: Any, loader_accepts: bool, tmp_path: Path) -> None:
    """Where the schema and the loader knowingly differ, they still do (move a case once the schema learns it)."""
    menu = load(BASELINE)
    *parent, key = path
    at(menu, *parent)[key] = value
    assert (loader_errors(menu, tmp_path) == []) is loader_accepts
    assert (errors(menu) == []) is not loader_accepts


def test_fields_match_loader(tmp_path: Path) -> None:
    """Every mapping's fields in the schema are exactly those the loader accepts there."""
    menu = load(BASELINE)
    settings = menu["menu"]
    for mapping in (menu, settings, settings["defaults"], settings["hours"], settings["loop_limit"], settings["queues"]["general"]):
        mapping[BOGUS] = "x"
    settings["tickets"] = {BOGUS: "x"}
    menu["nodes"].update(probe_nodes({BOGUS: "x"}))
    voices = load(BASELINE)  # the loader reads voices only once the rest of the menu is sound
    voices["menu"]["voices"] = {"zh-CN": {"voice": "x", "language": "cmn-CN", BOGUS: "x"}}
    unknown = re.compile(rf"unknown field '{BOGUS}' in (.+); expected one of: (.+)")
    messages = loader_errors(menu, tmp_path) + loader_errors(voices, tmp_path)
    allowed = {m.group(1): set(m.group(2).split(", ")) for m in map(unknown.fullmatch, messages) if m}
    assert len(allowed) == 8 + len(ALL_BUILDERS)
    for label, fields in allowed.items():
        assert set(section(label)) == fields, label
    assert menu_schema()["$defs"]["node"]["properties"]["type"]["enum"] == list(ALL_BUILDERS)


def test_required_fields_match_loader(tmp_path: Path) -> None:
    """Every field the loader insists on is required by the schema, and no other."""
    bare = {"menu": {}, "nodes": dict(probe_nodes())}
    menu = load(BASELINE)
    menu["menu"].update(defaults={}, hours={}, loop_limit={})
    menu["nodes"].update(probe_nodes())
    late = load(BASELINE)  # the loader reads id and voices only once the rest of the menu is sound
    del late["menu"]["id"]
    late["menu"]["voices"] = {"zh-CN": {}}
    needed: dict[str, set[str]] = {}
    for message in loader_errors(bare, tmp_path) + loader_errors(menu, tmp_path) + loader_errors(late, tmp_path):
        if m := re.fullmatch(r"(.+) needs the field '(\w+)'", message):
            needed.setdefault(m.group(1), set()).add(m.group(2))
        elif m := re.fullmatch(r"'(\w+)' of (\w+ node '\w+') is missing", message):
            needed.setdefault(m.group(2), set()).add(m.group(1))
        elif m := re.fullmatch(r"'(\w+)' is missing", message):
            holder = "'hours'" if m.group(1) == "weekly" else "the menu settings"
            needed.setdefault(holder, set()).add(m.group(1))
    schema = menu_schema()
    settings = schema["$defs"]["settings"]
    required = {
        "the menu settings": settings["required"],
        "'defaults'": settings["properties"]["defaults"]["required"],
        "'hours'": settings["properties"]["hours"]["required"],
        "'loop_limit'": settings["properties"]["loop_limit"]["required"],
        "voice for 'zh-CN'": settings["properties"]["voices"]["additionalProperties"]["required"],
        **{f"{kind} node 'probe_{kind}'": schema["$defs"][f"{kind}_node"]["required"] for kind in ALL_BUILDERS},
    }
    assert set(needed) <= set(required)
    for label, fields in required.items():
        assert set(fields) == needed.get(label, set()) | ({"type"} if "node" in label else set()), label


def test_number_ranges_match_loader(tmp_path: Path) -> None:
    """Every whole-number field has the loader's range in the schema, and every ranged field is a number to the loader."""
    menu = load(BASELINE)
    settings = menu["menu"]
    labels = {"'defaults'": settings["defaults"], "'loop_limit'": settings["loop_limit"]}
    settings["tickets"] = labels["'tickets'"] = {}
    menu["nodes"].update(probe_nodes())
    labels.update({f"{node['type']} node '{name}'": node for name, node in menu["nodes"].items() if name.startswith("probe_")})
    for label, mapping in labels.items():
        mapping.update({field: "99999" for field in section(label) if field != "type"})
    ranged = re.compile(r"'(\w+)' in (.+) must be between (\d+) and (\d+), not 99999")
    found = {
        (probe_label(m.group(2)), m.group(1)): (int(m.group(3)), int(m.group(4)))
        for m in map(ranged.fullmatch, loader_errors(menu, tmp_path))
        if m
    }
    expected = {
        (probe_label(label), field): (s["minimum"], s["maximum"])
        for label in labels
        for field, s in section(label).items()
        if "minimum" in s
    }
    assert found == expected


@pytest.mark.parametrize(("low", "high"), [(1, 10), (1, 60), (5, 1000), (5, 3600), (1, 32), (1, 10080), (0, 7)])
def test_digits_pattern_matches_exactly_the_range(low: int, high: int) -> None:
    """The pattern for quoted numbers matches every number in the range, with or without leading zeros, and nothing else."""
    pattern = re.compile(digits_pattern(low, high))
    for n in range(high + 1000):
        for text in (str(n), f"00{n}"):
            assert bool(pattern.search(text)) == (low <= n <= high), text
    assert not pattern.search("") and not pattern.search("1.0") and not pattern.search(" 5")


def test_language_tag_is_the_loaders() -> None:
    """Language tags follow the loader's own pattern."""
    assert f"^{LANG.pattern}$" == LANGUAGE_TAG


def test_an_override_with_its_reason_is_valid_in_the_schema_and_the_loader(tmp_path: Path) -> None:
    """`"DATE": {hours: closed, reason: {…}}` is accepted by both; a reason that is not a text is refused by both."""
    text = SHIPPED.read_text(encoding="utf-8")
    reason = '"2027-02-17": {hours: closed, reason: {zh-CN: 春节期间人工电话服务暂停。, en-US: Closed for the Spring Festival.}}'
    good = tmp_path / "menus" / "good.yaml"
    good.parent.mkdir()
    for name in ("orders.sample.csv",):
        (good.parent / name).write_bytes((SHIPPED.parent / name).read_bytes())
    (tmp_path / "scope").symlink_to(ROOT / "scope")
    good.write_text(text.replace("    overrides: {}\n", f"    overrides:\n      {reason}\n", 1), encoding="utf-8")
    assert errors(load(good)) == []
    assert [p for p in check_menu(good) if p.severity == "error"] == []
    bad = good.with_name("bad.yaml")
    refused = '    overrides:\n      "2027-02-17": {hours: closed, reason: 7}\n'
    bad.write_text(text.replace("    overrides: {}\n", refused, 1), encoding="utf-8")
    assert errors(load(bad)) and [p for p in check_menu(bad) if p.severity == "error"]
