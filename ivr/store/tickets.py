"""The ticket store: idempotent per call, on any SQLAlchemy database (a SQLite file by default)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from ivr.engine.services import TicketRequest
from ivr.errors import ServiceError
from ivr.store.db import open_database, sqlite_url
from ivr.store.guard import Database
from ivr.store.numbers import NumberLeases, NumberReserve
from ivr.store.schema import ticket_aliases, tickets

__all__ = ["NumberTaken", "StoredTicket", "TicketStore", "clean", "sqlite_url", "utc"]

log = logging.getLogger(__name__)

NUMBER_DIGITS = 8  # short enough to read back digit by digit; numbers come from leased blocks (ivr/store/numbers.py)
# Caller-supplied text never carries control characters into the store (a NUL cannot even be stored on PostgreSQL).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class NumberTaken(ServiceError):
    """The database has this number on another call's ticket (a copied spool folder, a restored database)."""


def clean(text: str) -> str:
    """Text as it may be stored: control characters (newlines and tabs aside) removed."""
    return CONTROL.sub("", text)


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

    def __init__(self, database: str | Engine | Database) -> None:
        if isinstance(database, Database):
            self.db = database
        else:
            self.db = Database(open_database(database) if isinstance(database, str) else database)
        self.engine = self.db.engine
        self.numbers = NumberReserve(NumberLeases(self.db))  # for tickets stored without a spool (a number of this process)

    def create_ticket(self, request: TicketRequest, number: str | None = None) -> str:
        """Store a ticket for the call (once) and return the call's number; `number` is one already chosen (and maybe heard)."""
        existing = self.find_by_call(request.call_id)
        if existing is not None:
            return existing.number
        return self.insert(request, number or self.numbers.take())

    def insert(self, request: TicketRequest, number: str, *, alias: bool = False) -> str:
        """Store the call's ticket under `number`; if the call has one, its number (with `alias`, `number` then finds it too)."""
        row = _row(request, number)
        try:
            with self.db.connect() as conn:  # autocommit: the insert commits on its own
                conn.execute(insert(tickets).values(**row))
            return number
        except IntegrityError:
            pass  # this call's ticket is stored already (a retry, another worker or host), or the number is taken
        existing = self.find_by_call(row["call_id"])
        if existing is None:
            raise NumberTaken(f"ticket number {number} is taken by another call")
        if alias and existing.number != number:
            self.add_alias(number, row["call_id"])
        return existing.number

    def insert_many(self, items: list[tuple[TicketRequest, str]]) -> dict[str, str]:
        """Store many spooled tickets in one transaction; each call's stored number, by call id (absent: its number is taken).

        A call that has a ticket already keeps it, and the number it was spooled with becomes an alias.
        """
        rows = [_row(request, number) for request, number in items]
        ids = [row["call_id"] for row in rows]
        with self.db.connect(transaction=True) as conn:
            conn.execute(_insert_ignoring_conflicts(conn.dialect.name, tickets), rows)
            found = dict(conn.execute(select(tickets.c.call_id, tickets.c.number).where(tickets.c.call_id.in_(ids))).all())
            aliases = [
                {"number": row["number"], "call_id": row["call_id"], "created_at": datetime.now(UTC)}
                for row in rows
                if row["call_id"] in found and found[row["call_id"]] != row["number"]
            ]
            if aliases:
                conn.execute(_insert_ignoring_conflicts(conn.dialect.name, ticket_aliases), aliases)
        for alias in aliases:
            log.warning("call %s already had a ticket; the number %s it was also told now finds it", alias["call_id"], alias["number"])
        return found

    def add_alias(self, number: str, call_id: str) -> None:
        """Let a second number a caller heard for this call find its ticket."""
        try:
            with self.db.connect() as conn:
                conn.execute(insert(ticket_aliases).values(number=number, call_id=call_id, created_at=datetime.now(UTC)))
        except IntegrityError:
            pass  # recorded already
        log.warning("call %s already had a ticket; the number %s it was also told now finds it", call_id, number)

    def reachable(self) -> bool:
        """Whether the database answers right now."""
        return self.db.probe()

    def find_by_call(self, call_id: str) -> StoredTicket | None:
        """The ticket created for a call, if any."""
        with self.db.connect() as conn:
            row = conn.execute(select(tickets).where(tickets.c.call_id == clean(call_id))).mappings().first()
        return _ticket(row) if row else None

    def find(self, number: str) -> StoredTicket | None:
        """The ticket with this number (or alias), if any."""
        with self.db.connect() as conn:
            row = conn.execute(select(tickets).where(tickets.c.number == number)).mappings().first()
            if row is None:
                call = select(ticket_aliases.c.call_id).where(ticket_aliases.c.number == number).scalar_subquery()
                row = conn.execute(select(tickets).where(tickets.c.call_id == call)).mappings().first()
        return _ticket(row) if row else None

    def list_tickets(self, limit: int | None = None) -> list[StoredTicket]:
        """Tickets, newest first."""
        query = select(tickets).order_by(tickets.c.created_at.desc(), tickets.c.id.desc())
        if limit:
            query = query.limit(limit)
        with self.db.connect() as conn:
            return [_ticket(row) for row in conn.execute(query).mappings()]

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()


def _row(request: TicketRequest, number: str) -> dict[str, Any]:
    """A ticket's row, caller-supplied text cleaned."""
    created = utc(request.created_at)
    return {
        "number": number,
        "call_id": clean(request.call_id),
        "caller": clean(request.caller),
        "language": clean(request.lang),
        "category": clean(request.category),
        "description": clean(request.description),
        "created_at": created,
        "first_response_due": created + timedelta(minutes=request.first_response_minutes),
        "status": "open",
    }


def _insert_ignoring_conflicts(dialect: str, table: Table) -> Any:
    """INSERT … ON CONFLICT DO NOTHING, for the two databases the store runs on."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


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
