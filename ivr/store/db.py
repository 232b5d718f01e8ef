"""Opening the database: one SQLAlchemy engine per process, its schema brought to this release's on first use."""

from __future__ import annotations

import logging
import re
import sqlite3
import time
import weakref
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

from ivr.errors import ServiceError
from ivr.store.migrate import DatabaseUnreachable, SchemaError, upgrade

# Caller-supplied text never carries control characters into the store (a NUL cannot even be stored on PostgreSQL).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """Text as it may be stored: control characters (newlines and tabs aside) removed."""
    return CONTROL.sub("", text)


def utc(value: datetime) -> datetime:
    """The same instant in UTC (SQLite hands back naive datetimes, which are stored as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sqlite_url(path: str | Path) -> str:
    """A SQLAlchemy URL for a SQLite file, creating its folder."""
    file = Path(path).expanduser().resolve()
    file.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{file}"


# Engines opened while their database was unreachable: their schema is checked (and upgraded) once it answers.
SCHEMA_PENDING: weakref.WeakSet[Engine] = weakref.WeakSet()


def open_database(url: str, tolerate_outage: bool = False) -> Engine:
    """An engine for `url`; SQLite gets WAL and a busy timeout so several processes can share the file."""
    try:
        return _open(url, tolerate_outage)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise ServiceError(f"cannot use the database URL {url!r}: {exc}") from exc


log = logging.getLogger(__name__)

# No wait on the database is unbounded: connecting, a checkout from a busy pool, a statement the server runs.
CONNECT_TIMEOUT = 2  # seconds (libpq counts whole seconds)
POOL_WAIT = 2.0  # seconds a request waits for a pooled connection before it gives up
STATEMENT_TIMEOUT_MS = 5000  # server side: the ceiling for any statement, CLI commands included
POSTGRES_CONNECT = {
    "connect_timeout": CONNECT_TIMEOUT,
    # A connection whose peer vanished is found dead within ~10 s even when idle, instead of hours.
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 2,
    "tcp_user_timeout": 5000,  # ms: unacknowledged data for this long ends the connection
}


# Every write the hotline makes is a single statement (insert a ticket, advance a call with a
# compare-and-set on its step) or one short transaction, so connections run in autocommit: one round
# trip instead of three. No pre-ping on checkout either: a dropped connection fails one request (which
# takes the fallback path) and the pool is refreshed.


def _postgres(url: str) -> Engine:
    """PostgreSQL with timeouts on connecting, idle sockets and statements (settings in the URL win)."""
    given = set(make_url(url).query)
    connect_args = {k: v for k, v in POSTGRES_CONNECT.items() if k not in given}
    engine = create_engine(
        url, future=True, isolation_level="AUTOCOMMIT", pool_pre_ping=False, pool_timeout=POOL_WAIT, connect_args=connect_args
    )

    @event.listens_for(engine, "connect")
    def _statement_timeout(dbapi_conn: Any, _record: Any) -> None:
        # Set per connection rather than in `options`, which the URL may already use (search_path).
        with dbapi_conn.cursor() as cur:
            cur.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")

    return engine


SQLITE_BUSY_MS = 5000


def _enable_wal(cur: Any) -> None:
    """Switch a SQLite file to WAL (kept in the file), waiting a bounded time for the lock the switch needs.

    The switch reads the file and then needs it alone; SQLite does not call the busy handler for that
    upgrade while another connection holds a write lock (it would deadlock), so a host opening a new
    database beside another one creating it is told "database is locked" at once. Once the file is in
    WAL the statement changes nothing and takes no lock.
    """
    deadline = time.monotonic() + SQLITE_BUSY_MS / 1000
    pause = 0.005
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.1)


def _open(url: str, tolerate_outage: bool = False) -> Engine:
    if url in ("sqlite://", "sqlite:///:memory:"):
        # One shared in-memory database for the process (QA runs and tools that keep nothing).
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False}, isolation_level="AUTOCOMMIT")
    elif make_url(url).get_backend_name() == "postgresql":
        engine = _postgres(url)
    else:
        engine = create_engine(url, future=True, isolation_level="AUTOCOMMIT", pool_pre_ping=False, pool_timeout=POOL_WAIT)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, record: Any) -> None:
            cur = dbapi_conn.cursor()
            # A wait for a lock (several processes writing at once); the watchdog cannot cut it.
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
            _enable_wal(cur)
            # Every commit is on disk unless its work asks otherwise (ivr.store.guard `lazy_sync`).
            cur.execute("PRAGMA synchronous=FULL")
            record.info["synchronous"] = "FULL"
            cur.close()

    try:
        upgrade(engine)  # a new database is created at head, an older one migrated (ivr/store/migrate.py)
    except DatabaseUnreachable as exc:
        if not tolerate_outage:
            engine.dispose()
            raise SchemaError(f"cannot open the ticket store: {exc}") from exc
        # A server (re)starting during an outage still answers calls: tickets go to the spool until the database is back.
        log.error("the database cannot be reached (%s); serving from the spool, the schema is checked once it answers", exc)
        SCHEMA_PENDING.add(engine)
    except SchemaError as exc:
        engine.dispose()
        raise SchemaError(f"cannot open the ticket store: {exc}") from exc
    return engine
