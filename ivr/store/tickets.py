"""The ticket store: idempotent per call, on any SQLAlchemy database (a SQLite file by default)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ivr.engine.services import TicketRequest
from ivr.errors import ServiceError
from ivr.store.db import open_database, sqlite_url
from ivr.store.schema import tickets

__all__ = ["StoredTicket", "TicketStore", "sqlite_url", "utc"]

NUMBER_DIGITS = 8  # short enough to read back digit by digit, unique via the table's constraint
# Numbers the database hands out start with 1-8; 9 is kept for tickets spooled while it was down.
STORE_NUMBERS = 8 * 10 ** (NUMBER_DIGITS - 1)
MAX_NUMBER_TRIES = 20


@dataclass(frozen=True)
class StoredTicket:
    """A ticket as stored."""

    number: str
    call_id: str
    caller: str
    language: str
    category: str
    description: str
    created_at: datetime
    first_response_due: datetime
    status: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, times in ISO 8601 UTC."""
        data = dict(self.__dict__)
        data["created_at"] = self.created_at.isoformat()
        data["first_response_due"] = self.first_response_due.isoformat()
        return data


def utc(value: datetime) -> datetime:
    """The same instant in UTC (SQLite hands back naive datetimes, which are stored as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class TicketStore:
    """Creates and lists tickets; `create_ticket` returns the existing ticket for a call already seen."""

    def __init__(self, database: str | Engine) -> None:
        self.engine = open_database(database) if isinstance(database, str) else database

    def create_ticket(self, request: TicketRequest, number: str | None = None) -> str:
        """Store a ticket for the call (once) and return its number; `number` keeps one already read out."""
        try:
            existing = self.find_by_call(request.call_id)
            if existing is not None:
                return existing.number
            created = utc(request.created_at)
            row = {
                "call_id": request.call_id,
                "caller": request.caller,
                "language": request.lang,
                "category": request.category,
                "description": request.description,
                "created_at": created,
                "first_response_due": created + timedelta(minutes=request.first_response_minutes),
                "status": "open",
            }
            for _ in range(1 if number else MAX_NUMBER_TRIES):
                candidate = number or str(secrets.randbelow(STORE_NUMBERS) + 10 ** (NUMBER_DIGITS - 1))
                try:
                    with self.engine.connect() as conn:  # autocommit: the insert commits on its own
                        conn.execute(insert(tickets).values(number=candidate, **row))
                    return candidate
                except IntegrityError:
                    # Either another worker stored this call's ticket first, or the number was taken.
                    existing = self.find_by_call(request.call_id)
                    if existing is not None:
                        return existing.number
            raise ServiceError(f"ticket number {number} is taken by another call" if number else "could not find a free ticket number")
        except SQLAlchemyError as exc:
            raise ServiceError(f"ticket store unavailable: {exc}") from exc

    def reachable(self) -> bool:
        """Whether the database answers right now."""
        try:
            with self.engine.connect() as conn:
                conn.execute(select(1))
            return True
        except SQLAlchemyError:
            return False

    def find_by_call(self, call_id: str) -> StoredTicket | None:
        """The ticket created for a call, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(select(tickets).where(tickets.c.call_id == call_id)).mappings().first()
        return _ticket(row) if row else None

    def find(self, number: str) -> StoredTicket | None:
        """The ticket with this number, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(select(tickets).where(tickets.c.number == number)).mappings().first()
        return _ticket(row) if row else None

    def list_tickets(self, limit: int | None = None) -> list[StoredTicket]:
        """Tickets, newest first."""
        query = select(tickets).order_by(tickets.c.created_at.desc(), tickets.c.id.desc())
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_ticket(row) for row in conn.execute(query).mappings()]

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()


def _ticket(row: Any) -> StoredTicket:
    return StoredTicket(
        number=row["number"],
        call_id=row["call_id"],
        caller=row["caller"],
        language=row["language"],
        category=row["category"],
        description=row["description"],
        created_at=utc(row["created_at"]),
        first_response_due=utc(row["first_response_due"]),
        status=row["status"],
    )
