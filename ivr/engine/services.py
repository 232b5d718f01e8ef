"""The ports the engine calls out through: named actions and the ticket sink."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class ActionContext:
    """What a named action knows about the call when it runs."""

    call_id: str
    caller: str
    lang: str
    digits: str


@dataclass(frozen=True)
class ActionResult:
    """An action's outcome (a name the menu maps to a node) and values prompts may use.

    A value may also be given per language as `name@LANG`: prompts in that language use it for `{name}`.
    """

    outcome: str
    values: Mapping[str, str] = field(default_factory=dict)


Action = Callable[[ActionContext], ActionResult]


# The ways a stored ticket is handed on (ivr/delivery), in the order they are listed: the support desk's webhook,
# e-mail to the support address, a text to the caller. Named here, with the ticket, so every layer can name them.
CHANNELS = ("desk", "email", "sms")


@dataclass(frozen=True)
class TicketRequest:
    """Everything needed to open a ticket for a call."""

    call_id: str
    caller: str
    lang: str
    category: str
    description: str
    created_at: datetime
    first_response_minutes: int
    sms: bool = False  # the caller was told the ticket number also comes by text message to the number they call from


class TicketSink(Protocol):
    """Where tickets go; creating twice for one call must return the first ticket's number."""

    def create_ticket(self, request: TicketRequest) -> str:
        """Store the ticket (idempotently per call) and return its number."""
        ...
