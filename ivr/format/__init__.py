"""The menu file format, described once: the loader reads by it, the JSON Schema and README tables are written from it."""

from ivr.format.fields import Choice, Count, Field, Keys, Localised, MapOf, Nested, Outcomes, Phrases, Section, Target, Word, Words
from ivr.format.node_type import Build, NodeType

__all__ = [
    "Build",
    "Choice",
    "Count",
    "Field",
    "Keys",
    "Localised",
    "MapOf",
    "Nested",
    "NodeType",
    "Outcomes",
    "Phrases",
    "Section",
    "Target",
    "Word",
    "Words",
]
