"""The outbox: a ticket's deliveries, stored with the ticket and worked off by the sender.

A delivery is `pending` until a sender claims it (a lease, so two hosts never try it at once and a
sender that dies mid-try leaves it to the next after the lease), then `delivered`, or back to
`pending` with a later `next_at`, or `failed` (dead-lettered) after the last attempt or a refusal;
`cancelled` when the ticket was closed before it went.
`ivr tickets redeliver N` puts a ticket's deliveries back to pending.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from ivr.engine.services import CHANNELS
from ivr.store.db import clean, utc
from ivr.store.guard import Database
from ivr.store.schema import deliveries

__all__ = ["CHANNELS", "DELIVERY_STATES", "Claim", "Outbox", "StoredDelivery", "delivery_rows"]

DELIVERY_STATES = ("pending", "delivered", "failed", "cancelled")  # cancelled: the ticket was closed before it went
ERROR_CHARS = 1000  # a receiver's whole error page is not worth keeping


@dataclass(frozen=True)
class StoredDelivery:
    """One way one ticket is handed on, and how far it got."""

    id: int
    ticket: str
    call_id: str
    channel: str
    status: str
    attempts: int
    next_at: datetime
    claimed_until: datetime | None  # a sender's lease: it is being tried until then
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    target: str
    receipt: str
    last_error: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, times in ISO 8601 UTC."""
        data = dict(self.__dict__)
        for name in ("next_at", "claimed_until", "created_at", "updated_at", "delivered_at"):
            value = data[name]
            data[name] = value.isoformat() if value is not None else None
        return data


Claim = tuple[int, str]  # a delivery's id and the token of the attempt that holds it


def delivery_rows(ticket: str, call_id: str, channels: Iterable[str], now: datetime) -> list[dict[str, Any]]:
    """The outbox rows of a new ticket, due at once; inserted in the ticket's own transaction."""
    return [
        {
            "ticket": ticket,
            "call_id": call_id,
            "channel": channel,
            "status": "pending",
            "attempts": 0,
            "next_at": now,
            "claimed_until": None,
            "claim": None,
            "created_at": now,
            "updated_at": now,
            "delivered_at": None,
            "target": "",
            "receipt": "",
            "last_error": "",
        }
        for channel in dict.fromkeys(channels)
    ]


class Outbox:
    """Reads and moves the deliveries of every ticket."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def due(self, now: datetime, limit: int = 50) -> list[StoredDelivery]:
        """Pending deliveries whose time has come and that no sender holds, oldest first."""
        query = (
            select(deliveries)
            .where(
                deliveries.c.status == "pending",
                deliveries.c.next_at <= now,
                or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < now),
            )
            .order_by(deliveries.c.next_at, deliveries.c.id)
            .limit(limit)
        )
        with self.db.connect() as conn:
            return [_delivery(row) for row in conn.execute(query).mappings()]

    def claim(self, delivery: StoredDelivery, now: datetime, lease: float) -> str | None:
        """Take the delivery for one attempt: its claim token, or None if another sender has it or it changed meanwhile.

        The attempt is counted now, so a sender that dies mid-try has still used it; only the holder of the
        token may record how the attempt ended (a sender whose lease ran out records nothing).
        """
        token = secrets.token_hex(16)
        query = (
            update(deliveries)
            .where(
                deliveries.c.id == delivery.id,
                deliveries.c.status == "pending",
                deliveries.c.attempts == delivery.attempts,
                or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < now),
            )
            .values(claimed_until=now + timedelta(seconds=lease), claim=token, attempts=delivery.attempts + 1, updated_at=now)
        )
        with self.db.connect() as conn:
            return token if conn.execute(query).rowcount == 1 else None

    def delivered(self, claim: Claim, now: datetime, target: str, receipt: str) -> bool:
        """The receiver has it; False if the claim was lost meanwhile (nothing recorded)."""
        return self._finish(
            claim, now, status="delivered", delivered_at=now, target=clean(target), receipt=clean(receipt)[:256], last_error=""
        )

    def retry_at(self, claim: Claim, now: datetime, target: str, error: str, next_at: datetime) -> bool:
        """This attempt failed; the next is due at `next_at`. False if the claim was lost meanwhile."""
        return self._finish(claim, now, status="pending", next_at=next_at, target=clean(target), last_error=clean(error)[:ERROR_CHARS])

    def dead_letter(self, claim: Claim, now: datetime, target: str, error: str) -> bool:
        """No more attempts: a person looks at it (`ivr tickets deliveries --failed`, then `redeliver`). False if the claim was lost."""
        return self._finish(claim, now, status="failed", target=clean(target), last_error=clean(error)[:ERROR_CHARS])

    def _finish(self, claim: Claim, now: datetime, **values: Any) -> bool:
        delivery_id, token = claim
        query = (
            update(deliveries)
            .where(deliveries.c.id == delivery_id, deliveries.c.claim == token, deliveries.c.status == "pending")
            .values(claimed_until=None, claim=None, updated_at=now, **values)
        )
        with self.db.connect() as conn:
            return conn.execute(query).rowcount == 1

    def listing(self, status: str | None = None, limit: int | None = None) -> list[StoredDelivery]:
        """Deliveries, newest first (`status`: only those in it)."""
        query = select(deliveries).order_by(deliveries.c.created_at.desc(), deliveries.c.id.desc())
        if status:
            query = query.where(deliveries.c.status == status)
        if limit:
            query = query.limit(limit)
        with self.db.connect() as conn:
            return [_delivery(row) for row in conn.execute(query).mappings()]

    def of_call(self, call_id: str) -> list[StoredDelivery]:
        """A ticket's deliveries (found by its call: an alias number finds them too), by channel."""
        query = select(deliveries).where(deliveries.c.call_id == call_id).order_by(deliveries.c.id)
        with self.db.connect() as conn:
            return [_delivery(row) for row in conn.execute(query).mappings()]

    def redeliver(self, call_id: str, now: datetime, channels: Iterable[str] = ()) -> int:
        """Put the ticket's dead letters, and its pending deliveries no sender holds, back to pending with fresh attempts; how many.

        One a sender is trying right now is left to it (`channels`: only these).
        """
        wanted = list(channels)
        free = or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < now)
        conditions = [deliveries.c.call_id == call_id, or_(deliveries.c.status == "failed", and_(deliveries.c.status == "pending", free))]
        if wanted:
            conditions.append(deliveries.c.channel.in_(wanted))
        query = (
            update(deliveries)
            .where(and_(*conditions))
            .values(status="pending", attempts=0, next_at=now, claimed_until=None, claim=None, updated_at=now, last_error="")
        )
        with self.db.connect() as conn:
            return int(conn.execute(query).rowcount)

    def cancel(self, call_id: str, now: datetime) -> int:
        """Cancel the ticket's deliveries that have not gone and that no sender is trying (it was closed first); how many."""
        free = or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < now)
        query = (
            update(deliveries)
            .where(deliveries.c.call_id == call_id, deliveries.c.status.in_(("pending", "failed")), free)
            .values(status="cancelled", claimed_until=None, claim=None, updated_at=now, last_error="the ticket was closed first")
        )
        with self.db.connect() as conn:
            return int(conn.execute(query).rowcount)

    def oldest_pending(self) -> datetime | None:
        """When the oldest delivery still pending was recorded (None: none is)."""
        query = select(func.min(deliveries.c.created_at)).where(deliveries.c.status == "pending")
        with self.db.connect() as conn:
            found = conn.execute(query).scalar()
        return utc(found) if found is not None else None

    def pending_by_channel(self) -> dict[str, int]:
        """How many deliveries wait, by channel (only channels with some)."""
        query = select(deliveries.c.channel, func.count()).where(deliveries.c.status == "pending").group_by(deliveries.c.channel)
        with self.db.connect() as conn:
            return {channel: int(n) for channel, n in conn.execute(query).all()}

    def counts(self) -> dict[str, int]:
        """How many deliveries are in each state (every state listed, 0 included)."""
        query = select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
        with self.db.connect() as conn:
            found = {status: int(n) for status, n in conn.execute(query).all()}
        return {status: found.get(status, 0) for status in DELIVERY_STATES}


def _delivery(row: Any) -> StoredDelivery:
    return StoredDelivery(
        id=int(row["id"]),
        ticket=row["ticket"],
        call_id=row["call_id"],
        channel=row["channel"],
        status=row["status"],
        attempts=int(row["attempts"]),
        next_at=utc(row["next_at"]),
        claimed_until=utc(row["claimed_until"]) if row["claimed_until"] is not None else None,
        created_at=utc(row["created_at"]),
        updated_at=utc(row["updated_at"]),
        delivered_at=utc(row["delivered_at"]) if row["delivered_at"] is not None else None,
        target=row["target"],
        receipt=row["receipt"],
        last_error=row["last_error"],
    )
