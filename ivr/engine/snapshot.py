"""A call's state between steps: small, plain and serialisable, so any worker can continue the call."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class CallSnapshot:
    """Everything the engine needs to take a call's next step."""

    call_id: str
    caller: str
    lang: str
    node: str
    menu_version: str
    invalid: int = 0  # wrong entries at the current node
    no_input: int = 0  # silences at the current node
    digits: str = ""  # the last entry collected at an input node
    steps: int = 0  # caller events so far, for the runaway guard
    menu: str = ""  # the menu the caller is in ('' before the first one)
    stack: list[str] = field(default_factory=list)  # the menus above it, for the back key
    values: dict[str, str] = field(default_factory=dict)  # order id, ticket number, recording...
    choices: list[str] = field(default_factory=list)  # the options a caller named at once and was asked between
    ended: bool = False

    # Both below copy `__dict__` (the fields, in their order) rather than call `dataclasses.asdict`/`replace`:
    # every step copies a snapshot and stores one, and the generic forms cost more than the rest of its bookkeeping.
    # The containers are copied one level deep, which is all their plain strings need; a new one must join them.
    def to_dict(self) -> dict[str, Any]:
        """The snapshot as JSON-ready data."""
        data = dict(self.__dict__)
        data["stack"], data["values"], data["choices"] = list(self.stack), dict(self.values), list(self.choices)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallSnapshot:
        """Rebuild a snapshot; unknown keys (from a newer version) are ignored."""
        return cls(**{k: v for k, v in data.items() if k in _FIELDS})

    def copy(self) -> CallSnapshot:
        """An independent copy, so a failed step never half-changes the caller's state."""
        data = self.__dict__.copy()  # a new dict given whole costs less than filling the clone's own one
        data["stack"], data["values"], data["choices"] = self.stack.copy(), self.values.copy(), self.choices.copy()
        clone = object.__new__(type(self))
        clone.__dict__ = data
        return clone


_FIELDS = frozenset(f.name for f in fields(CallSnapshot))
