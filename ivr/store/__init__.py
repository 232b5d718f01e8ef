"""Persistence: tickets and call records on one SQLAlchemy database (SQLite file or PostgreSQL)."""

from __future__ import annotations

import weakref

from ivr.store.calls import CallRecord, CallStore
from ivr.store.db import open_database, sqlite_url
from ivr.store.guard import Database
from ivr.store.history import CallHistory, CallSummary, StoredLine
from ivr.store.menus import MenuVersionStore, StoredVersion
from ivr.store.outbox import Outbox, StoredDelivery
from ivr.store.tickets import StoredTicket, TicketStore


class Store:
    """Both stores over one connection pool."""

    def __init__(self, url: str, statement_timeout: float = 2.0, tolerate_outage: bool = False) -> None:
        self.engine = open_database(url, tolerate_outage)
        # One breaker for the process's database: an outage seen by one store spares the others the timeout.
        self.db = Database(self.engine, statement_timeout=statement_timeout)
        self.tickets = TicketStore(self.db)
        self.calls = CallStore(self.db)
        self.menus = MenuVersionStore(self.db)
        self.history = CallHistory(self.db)
        self.outbox = Outbox(self.db)
        # A store dropped without close() (an app that is thrown away) still hands its connections back cleanly.
        self._finalizer = weakref.finalize(self, self.engine.dispose)

    def close(self) -> None:
        """Release pooled connections."""
        self._finalizer()


__all__ = [
    "CallHistory",
    "CallRecord",
    "CallStore",
    "CallSummary",
    "Database",
    "MenuVersionStore",
    "Outbox",
    "Store",
    "StoredDelivery",
    "StoredLine",
    "StoredTicket",
    "StoredVersion",
    "TicketStore",
    "open_database",
    "sqlite_url",
]
