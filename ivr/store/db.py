"""Opening the database: one SQLAlchemy engine per process, schema created on first use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from ivr.errors import ServiceError
from ivr.store.schema import metadata


def sqlite_url(path: str | Path) -> str:
    """A SQLAlchemy URL for a SQLite file, creating its folder."""
    file = Path(path).expanduser().resolve()
    file.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{file}"


def open_database(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL and a busy timeout so several processes can share the file."""
    try:
        return _open(url)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise ServiceError(f"cannot use the database URL {url!r}: {exc}") from exc


def _open(url: str) -> Engine:
    if url in ("sqlite://", "sqlite:///:memory:"):
        # One shared in-memory database for the process (QA runs and tools that keep nothing).
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False}, isolation_level="AUTOCOMMIT")
    else:
        # Every write the hotline makes is a single statement (insert a ticket, advance a call with a
        # compare-and-set on its step), so each runs in autocommit: one round trip instead of three.
        # No pre-ping on checkout either: a dropped connection fails one request (which takes the
        # fallback path) and the pool is refreshed.
        engine = create_engine(url, future=True, isolation_level="AUTOCOMMIT", pool_pre_ping=False)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.close()

    try:
        metadata.create_all(engine)
    except SQLAlchemyError as exc:
        raise ServiceError(f"cannot open the ticket store at {engine.url!r}: {exc}") from exc
    return engine
