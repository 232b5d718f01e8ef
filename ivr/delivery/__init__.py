"""Ticket hand-off: what one delivery carries, how a transport reports back, and the channels there are.

A ticket's deliveries are recorded with the ticket (ivr/store/outbox.py); the sender
(ivr/delivery/sender.py) hands each one, as a `Parcel`, to the transport of its channel: the
support desk's webhook (`desk`), e-mail to the support address (`email`) or a text message to the
caller (`sms`). A transport returns a short receipt, or raises `TryLater` (the receiver may take it
later: a timeout, a 5xx, a dropped connection) or `Refused` (it never will as things stand: a 4xx,
a refused address). Delivery is at least once; the ticket number is the idempotency key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from ivr.engine.services import CHANNELS
from ivr.errors import IvrError

__all__ = ["CHANNELS", "Parcel", "Refused", "Transport", "TryLater"]


class TryLater(IvrError):
    """The delivery did not happen this time but may next time; `after` is the receiver's own wish (Retry-After), in seconds."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after = after


class Refused(IvrError):
    """The receiver refused the delivery and would refuse it again: it is dead-lettered at once for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Parcel:
    """One ticket and what the call left around it, as every transport receives it."""

    number: str  # the ticket number: also the idempotency key
    call_id: str
    caller: str  # the number the call came from, as the carrier gave it
    language: str  # the caller's language (zh-CN, en-US): subjects and texts are in it
    category: str
    description: str
    created_at: datetime  # aware, UTC
    first_response_due: datetime  # aware, UTC
    timezone: str  # the menu's zone (IANA name): times shown to people are in it
    recording_url: str = ""  # the caller's message, when one was left
    path: tuple[str, ...] = ()  # the nodes the call went through, in order
    transcript: tuple[dict[str, Any], ...] = ()  # the call's heard lines, as `ivr calls show --json` prints them
    sms_text: str = ""  # the caller's text message, ticket number filled in (channel sms)
    extra: dict[str, str] = field(default_factory=dict)  # room for receivers' fields a later release adds

    def to_json(self) -> dict[str, Any]:
        """The body the desk webhook posts (documented in the README, "Ticket hand-off")."""
        return {
            "ticket": {
                "number": self.number,
                "category": self.category,
                "description": self.description,
                "language": self.language,
                "created_at": self.created_at.isoformat(),
                "first_response_due": self.first_response_due.isoformat(),
                "timezone": self.timezone,
            },
            "call": {
                "sid": self.call_id,
                "caller": self.caller,
                "recording_url": self.recording_url,
                "path": list(self.path),
                "transcript": list(self.transcript),
            },
            "idempotency_key": self.number,
        }


class Transport(Protocol):
    """One way a ticket leaves the hotline."""

    channel: ClassVar[str]  # one of CHANNELS

    def target(self, parcel: Parcel) -> str:
        """Where this parcel goes, as an operator may see it (a URL's host, an address, a masked number)."""
        ...

    def send(self, parcel: Parcel, timeout: float) -> str:
        """Deliver within `timeout` seconds in all; a short receipt (status, message id), else TryLater or Refused."""
        ...
