"""The ticket store: idempotent per call, on any SQLAlchemy database (a SQLite file by default)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from ivr.engine.services import TicketRequest
from ivr.errors import ServiceError
from ivr.store.db import clean, open_database, sqlite_url, utc
from ivr.store.guard import Database
from ivr.store.numbers import NumberLeases, NumberReserve
from ivr.store.outbox import delivery_rows
from ivr.store.schema import deliveries, ticket_aliases, tickets

__all__ = ["NumberTaken", "StoredTicket", "TicketStore", "clean", "sqlite_url", "utc"]

log = logging.getLogger(__name__)

NUMBER_DIGITS = 8  # short enough to read back digit by digit; numbers come from leased blocks (ivr/store/numbers.py)


class NumberTaken(ServiceError):
    """The database has this number on another call's ticket (a copied spool folder, a restored database)."""


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
    closed_at: datetime | None = None
    close_note: str = ""

    def overdue(self, now: datetime) -> bool:
        """Open past its first-response time: the promise to the caller is being broken."""
        return self.status == "open" and now > self.first_response_due

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, times in ISO 8601 UTC."""
        data = dict(self.__dict__)
        data["created_at"] = self.created_at.isoformat()
        data["first_response_due"] = self.first_response_due.isoformat()
        data["closed_at"] = self.closed_at.isoformat() if self.closed_at else None
        return data


class TicketStore:
    """Creates and lists tickets; `create_ticket` returns the existing ticket for a call already seen."""

    def __init__(self, database: str | Engine | Database, channels: tuple[str, ...] = ()) -> None:
        if isinstance(database, Database):
            self.db = database
        else:
            self.db = Database(open_database(database) if isinstance(database, str) else database)
        self.engine = self.db.engine
        self.numbers = NumberReserve(NumberLeases(self.db))  # for tickets stored without a spool (a number of this process)
        self.channels = channels  # where every ticket is handed on (desk, email); the composition root sets them

    def channels_for(self, request: TicketRequest) -> tuple[str, ...]:
        """The deliveries a new ticket gets: every configured channel, and a text message when the caller is told of one."""
        return (*self.channels, *(["sms"] if request.sms else []))

    def create_ticket(self, request: TicketRequest, number: str | None = None) -> str:
        """Store a ticket for the call (once) and return the call's number; `number` is one already chosen (and maybe heard)."""
        existing = self.find_by_call(request.call_id)
        if existing is not None:
            return existing.number
        return self.insert(request, number or self.numbers.take())

    def insert(self, request: TicketRequest, number: str, *, alias: bool = False, channels: tuple[str, ...] | None = None) -> str:
        """Store the call's ticket under `number`; if the call has one, its number (with `alias`, `number` then finds it too).

        Its deliveries (`channels`, else `channels_for`) are recorded in the same transaction: a stored ticket is always handed on.
        """
        row = _row(request, number)
        outbox = delivery_rows(number, row["call_id"], self.channels_for(request) if channels is None else channels, datetime.now(UTC))
        try:
            with self.db.connect(transaction=True) as conn:
                conn.execute(insert(tickets).values(**row))
                if outbox:
                    conn.execute(insert(deliveries), outbox)
            return number
        except IntegrityError:
            pass  # this call's ticket is stored already (a retry, another worker or host), or the number is taken
        existing = self.find_by_call(row["call_id"])
        if existing is None:
            raise NumberTaken(f"ticket number {number} is taken by another call")
        if alias and existing.number != number:
            self.add_alias(number, row["call_id"])
        return existing.number

    def insert_many(self, items: list[tuple[TicketRequest, str, tuple[str, ...] | None]]) -> dict[str, str]:
        """Store many spooled tickets in one transaction; each call's stored number, by call id (absent: its number is taken).

        A call that has a ticket already keeps it, and the number it was spooled with becomes an alias. Each
        ticket's deliveries (as spooled, else `channels_for`) go in with it; ones recorded already stay as they are.
        """
        rows = [_row(request, number) for request, number, _ in items]
        ids = [row["call_id"] for row in rows]
        wanted = {clean(request.call_id): self.channels_for(request) if channels is None else channels for request, _, channels in items}
        with self.db.connect(transaction=True) as conn:
            conn.execute(_insert_ignoring_conflicts(conn.dialect.name, tickets), rows)
            found = dict(conn.execute(select(tickets.c.call_id, tickets.c.number).where(tickets.c.call_id.in_(ids))).all())
            now = datetime.now(UTC)
            outbox = [row for call_id, number in found.items() for row in delivery_rows(number, call_id, wanted.get(call_id, ()), now)]
            if outbox:
                conn.execute(_insert_ignoring_conflicts(conn.dialect.name, deliveries), outbox)
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

    def list_tickets(
        self,
        limit: int | None = None,
        *,
        status: str | None = None,
        category: str | None = None,
        since: datetime | None = None,
        caller: str | None = None,
        now: datetime | None = None,
    ) -> list[StoredTicket]:
        """Tickets, newest first; `status` open, closed or overdue (open past its first response, as of `now`)."""
        query = select(tickets).order_by(tickets.c.created_at.desc(), tickets.c.id.desc())
        if status == "overdue":
            query = query.where(tickets.c.status == "open", tickets.c.first_response_due < (now or datetime.now(UTC)))
        elif status:
            query = query.where(tickets.c.status == status)
        if category:
            query = query.where(tickets.c.category == category)
        if since is not None:
            query = query.where(tickets.c.created_at >= utc(since))
        if caller:
            query = query.where(tickets.c.caller.contains(caller, autoescape=True))
        if limit:
            query = query.limit(limit)
        with self.db.connect() as conn:
            return [_ticket(row) for row in conn.execute(query).mappings()]

    def close_ticket(self, number: str, note: str, now: datetime) -> tuple[StoredTicket | None, bool]:
        """Close the open ticket (or the one an alias finds) with the engineer's note.

        Returns the ticket as it is now and whether this call closed it (False: no such ticket, or it was closed
        already, perhaps by another engineer a moment ago, whose note is kept).
        """
        ticket = self.find(number)
        if ticket is None:
            return None, False
        query = (
            update(tickets)
            .where(tickets.c.call_id == ticket.call_id, tickets.c.status == "open")
            .values(status="closed", closed_at=utc(now), close_note=clean(note))
        )
        with self.db.connect() as conn:
            changed = conn.execute(query).rowcount == 1
        return self.find(ticket.number), changed

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
        closed_at=utc(row["closed_at"]) if row.get("closed_at") is not None else None,
        close_note=row.get("close_note") or "",
    )
