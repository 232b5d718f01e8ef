"""The menu file format as a JSON Schema (draft 2020-12), written from the format's one description (ivr/format).

Editors validate and complete with it while ops type. What needs the whole menu (a target that
exists, a prompt giving exactly the menu's languages, a known time zone) is still only checked by
`ivr menu check`.

The schema describes the file as an editor sees it: YAML 1.2, where `3` is a number, `09:00-21:00` and
`no` are text, and every mapping key (`1:` too) is a string. Only keywords that draft-07 validators also
know are used (`if`/`then`, `propertyNames`, `$ref` into `$defs`), since the VS Code YAML extension
validates with a draft-07 engine; a sibling of `$ref` only ever carries a title or description.

`menus/menu.schema.json` is `schema_text()` written out (`make docs`); tests fail when it goes stale.
"""

from __future__ import annotations

import json

from ivr.format import Field, MapOf, Nested, NodeType, Section, Word
from ivr.format.fields import LANGUAGE_TAG, NODE_NAME, TARGET, Schema, digits_pattern
from ivr.format.settings import OVERRIDE_HOURS, SETTINGS, WINDOWS
from ivr.nodes import NODE_TYPES

__all__ = ["LANGUAGE_TAG", "SCHEMA_ID", "digits_pattern", "menu_schema", "schema_text"]

SCHEMA_ID = "urn:ivr:menu-schema"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]"
WINDOW = rf"{_TIME}\s*-\s*({_TIME}|24:00)"  # the loader strips the spaces around '-'


def _obj(properties: dict[str, Schema], required: tuple[str, ...] = (), **extra: object) -> Schema:
    """A mapping with exactly these fields: any other name is a typo."""
    schema: Schema = {"type": "object", **extra, "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema


def _section(section: Section) -> Schema:
    return _obj({f.name: _field(f) for f in section.fields}, section.required, title=section.title, description=section.doc)


def _field(f: Field) -> Schema:
    """The schema of one field, whatever its kind."""
    if isinstance(f, Nested):
        assert f.section is not None
        return _section(f.section)
    if f is WINDOWS or f is OVERRIDE_HOURS:
        return {"$ref": "#/$defs/windows", "description": f.doc}
    if isinstance(f, MapOf):
        schema: Schema = {"description": f.doc, "type": "object"}
        if f.key_pattern:
            schema["propertyNames"] = {"pattern": f.key_pattern}
        if isinstance(f.value, Section):
            schema["additionalProperties"] = _section(f.value)
        elif f.value is WINDOWS:
            schema["additionalProperties"] = {"$ref": "#/$defs/windows", "description": f.value_doc}
            if f.or_section is not None:
                schema["additionalProperties"] = {
                    "description": f.value_doc,
                    "anyOf": [{"$ref": "#/$defs/windows"}, _section(f.or_section)],
                }
        elif isinstance(f.value, Word):
            schema["additionalProperties"] = {"type": "string", "minLength": 1}
        return schema
    return f.schema()


def _node(node_type: NodeType) -> Schema:
    properties: Schema = {"type": {"description": "The node type."}, **{f.name: _field(f) for f in node_type.fields}}
    return _obj(properties, node_type.required, title=f"{node_type.kind} node", description=node_type.doc)


def menu_schema() -> Schema:
    """The JSON Schema (draft 2020-12) of a menu file."""
    settings = SETTINGS
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Hotline IVR menu",
        "description": "A phone menu: settings under `menu:`, nodes under `nodes:`. Check with `ivr menu check FILE`.",
        "type": "object",
        "properties": {
            "menu": {"$ref": "#/$defs/settings", "description": f"Menu settings: {settings.doc[0].lower()}{settings.doc[1:]}"},
            "nodes": {
                "description": "Node name (lower-case letters, digits, '_'; not 'back' or 'retry') → node.",
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"pattern": NODE_NAME, "not": {"enum": ["back", "retry"]}},
                "additionalProperties": {"$ref": "#/$defs/node"},
            },
        },
        "required": ["menu", "nodes"],
        "additionalProperties": False,
        "$defs": {
            "settings": _section(settings),
            "text": {
                "title": "Localised text",
                "description": "One text per language of the menu, e.g. {zh-CN: …, en-US: …}. "
                "Placeholders: {name}, {name|digits}, {scope:path}.",
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"pattern": LANGUAGE_TAG},
                "additionalProperties": {"type": "string", "minLength": 1, "pattern": r"\S"},
            },
            "target": {
                "title": "Target node",
                "description": "A node name, 'back' for the menu the caller is in, or 'retry' (in a menu a failed "
                "transfer leads to) to dial that transfer again.",
                "type": "string",
                "pattern": TARGET,
            },
            "target_not_back": {
                "title": "Target node",
                "description": "A node name ('back' cannot be used here).",
                "type": "string",
                "pattern": TARGET,
                "not": {"const": "back"},
            },
            "windows": {
                "title": "Opening hours",
                "description": "'HH:MM-HH:MM' (24:00 allowed as the end; an end before the start runs past midnight), "
                "'closed', or a list of windows.",
                "type": ["string", "array"],
                "pattern": f"^(closed|{WINDOW})$",
                "items": {"type": "string", "pattern": f"^(closed|{WINDOW})$"},
                "examples": ["09:00-21:00", "closed", ["09:00-12:00", "13:00-18:00"]],
            },
            "node": {
                "title": "Node",
                "description": "One step of the call; `type` decides its other fields.",
                "type": "object",
                "required": ["type"],
                "properties": {"type": {"description": "What the node does.", "enum": list(NODE_TYPES)}},
                "allOf": [
                    {
                        "if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
                        "then": {"$ref": f"#/$defs/{kind}_node"},
                    }
                    for kind in NODE_TYPES
                ],
            },
            **{f"{kind}_node": _node(node_type) for kind, node_type in NODE_TYPES.items()},
        },
    }


def schema_text() -> str:
    """The schema as written to menus/menu.schema.json."""
    return json.dumps(menu_schema(), ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":  # python -m ivr.loading.schema > menus/menu.schema.json
    print(schema_text(), end="")
