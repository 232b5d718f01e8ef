"""A call's state between steps: small, plain and serialisable, so any worker can continue the call."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
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

    def to_dict(self) -> dict[str, Any]:
        """The snapshot as JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallSnapshot:
        """Rebuild a snapshot; unknown keys (from a newer version) are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def copy(self) -> CallSnapshot:
        """An independent copy, so a failed step never half-changes the caller's state."""
        return replace(self, stack=list(self.stack), values=dict(self.values), choices=list(self.choices))
