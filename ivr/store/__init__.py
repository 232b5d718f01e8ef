"""Persistence: tickets and call records on one SQLAlchemy database (SQLite file or PostgreSQL)."""

from __future__ import annotations

import weakref

from ivr.store.calls import CallRecord, CallStore
from ivr.store.db import open_database, sqlite_url
from ivr.store.menus import MenuVersionStore, StoredVersion
from ivr.store.tickets import StoredTicket, TicketStore


class Store:
    """Both stores over one connection pool."""

    def __init__(self, url: str) -> None:
        self.engine = open_database(url)
        self.tickets = TicketStore(self.engine)
        self.calls = CallStore(self.engine)
        self.menus = MenuVersionStore(self.engine)
        # A store dropped without close() (an app that is thrown away) still hands its connections back cleanly.
        self._finalizer = weakref.finalize(self, self.engine.dispose)

    def close(self) -> None:
        """Release pooled connections."""
        self._finalizer()


__all__ = [
    "CallRecord",
    "CallStore",
    "MenuVersionStore",
    "Store",
    "StoredTicket",
    "StoredVersion",
    "TicketStore",
    "open_database",
    "sqlite_url",
]
