"""A node type as the menu format knows it: its `type:` name, its fields and how its nodes are built."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ivr.format.fields import Field
from ivr.ir import Listening, Location, Node, Retry
from ivr.scope import Scope
from ivr.text import Text

__all__ = ["Build", "NodeType"]


class Build(Protocol):
    """What a node type's builder is given: the node's fields, already read and checked by kind."""

    kind: str  # the node's `type:`
    node_id: str
    location: Location  # where the node's name is written
    values: Mapping[str, Any]  # field name -> value (defaults applied; a field with no value is absent)
    where: Mapping[str, Location]  # field -> where it is written; "FIELD KEY" for entries of mappings and texts
    languages: tuple[str, ...]
    language_key: str  # the key reserved in every menu for the next language ('' = none)
    scope: Scope | None
    scope_broken: bool  # `scope` is set but its files have errors (reported already)

    def error(self, field: str | None, message: str) -> None:
        """Report a problem at a field (or at the node's name)."""

    def retry(self) -> Retry:
        """The node's retry settings: its own fields, else the menu's defaults."""
        ...

    def blank(self) -> Text:
        """An empty text in every language (to go on after a reported problem)."""
        ...

    def listening(
        self, phrases: Mapping[str, Mapping[str, tuple[str, ...]]], options: Collection[str], field: str = "phrases"
    ) -> Listening | None:
        """How the node takes speech when `speech` is on for it (problems reported); None: keys only."""
        ...


@dataclass(frozen=True)
class NodeType:
    """One `type:` of node: its fields (besides `type`) and the builder that turns them into IR nodes."""

    kind: str
    doc: str  # what the node does, one line
    fields: tuple[Field, ...]
    build: Callable[[Build], list[Node]]

    @property
    def names(self) -> tuple[str, ...]:
        """Every field a node of this type may have, `type` first."""
        return ("type", *(f.name for f in self.fields))

    @property
    def required(self) -> tuple[str, ...]:
        """The fields it must have, `type` first."""
        return ("type", *(f.name for f in self.fields if f.required))
