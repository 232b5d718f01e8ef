"""Statements run straight on the SQLite driver, for the few that every webhook step runs.

SQLAlchemy compiles each statement once (its SQL, the order of its parameters, how each value is
stored and read back); running it through a Connection still costs tens of microseconds of
bookkeeping per statement, more than SQLite takes to run it. On SQLite a step's write also holds the
file's write lock for as long as its statements take, and every other writer waits (sleeping) for
it, so the step's transaction runs here: begun IMMEDIATE (the lock taken at once, never upgraded),
its statements back to back, committed. Driver errors come out as SQLAlchemy's, so
`ivr.store.guard` tells a broken constraint from an unreachable database as for any other statement.

PostgreSQL keeps SQLAlchemy's execution: there a statement's bookkeeping is small beside its round
trip, and SQLAlchemy's handling of a dropped connection (the whole pool refreshed) is what the
breaker relies on.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["Compiled", "driver_cursor", "sqlite_transaction"]


class Compiled:
    """A Core statement compiled for a dialect: its SQL text, its arguments from named values, its rows as dicts."""

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        if not compiled.positional or compiled.positiontup is None:
            raise ValueError(f"{dialect.name}: only a positional (qmark) driver such as sqlite3 runs compiled statements")
        self.sql = compiled.string
        self.order = tuple(compiled.positiontup)
        # How each value is stored (a SQLite DATETIME is text): the converters SQLAlchemy itself applies.
        converters = {name: bind.type.dialect_impl(dialect).bind_processor(dialect) for name, bind in compiled.binds.items()}
        self._plan = [(name, converters.get(name)) for name in self.order]
        selected = getattr(statement, "selected_columns", None)
        self.columns = [column.name for column in selected] if selected is not None else []
        self.readers = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in selected or ()]

    def args(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """The statement's arguments, in order, each as the database stores it."""
        return tuple([values[name] if convert is None else convert(values[name]) for name, convert in self._plan])

    def run(self, cursor: Any, values: Mapping[str, Any]) -> int:
        """Run once; the number of rows it changed."""
        cursor.execute(self.sql, self.args(values))
        return int(cursor.rowcount)

    def run_many(self, cursor: Any, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run once per row, in one driver call."""
        if rows:
            cursor.executemany(self.sql, [self.args(row) for row in rows])

    def rows(self, cursor: Any, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The rows of a query, by column name, each value as SQLAlchemy would read it."""
        cursor.execute(self.sql, self.args(values))
        readers = self.readers
        return [
            {name: read(value) if read is not None else value for name, read, value in zip(self.columns, readers, row, strict=True)}
            for row in cursor.fetchall()
        ]


@contextlib.contextmanager
def driver_cursor(conn: Connection) -> Iterator[Any]:
    """A cursor of the driver connection under `conn`; driver errors raised as SQLAlchemy's."""
    dbapi = conn.dialect.loaded_dbapi
    raw: Any = conn.connection.dbapi_connection
    cursor = raw.cursor()
    try:
        yield cursor
    except dbapi.Error as exc:
        raise DBAPIError.instance("a webhook step's statement", None, exc, dbapi.Error) from exc
    finally:
        with contextlib.suppress(Exception):  # a connection that broke cannot close its cursor either
            cursor.close()


# One writer at a time per process: threads queue here and wake at once, where SQLite's busy handler
# would have them sleep for a millisecond and more. Other processes still wait on the file's lock.
_WRITER = threading.Lock()


@contextlib.contextmanager
def sqlite_transaction(conn: Connection, wait: float, busy_ms: int) -> Iterator[Any]:
    """A write transaction on the SQLite connection under `conn`: a driver cursor, committed when the block ends.

    `wait`: the longest this thread waits for its turn to write, for this process's other writers and
    then for other processes' (then: database is locked); `busy_ms`: the connection's usual busy timeout.
    """
    dbapi = conn.dialect.loaded_dbapi
    deadline = time.monotonic() + wait
    if not _WRITER.acquire(timeout=max(wait, 0.001)):
        locked = dbapi.OperationalError(f"database is locked (this process's other writers took over {wait:.1f} s)")
        raise DBAPIError.instance("BEGIN IMMEDIATE", None, locked, dbapi.Error)
    try:
        with driver_cursor(conn) as cursor:
            # SQLite's wait for another process's lock cannot be interrupted: it is bounded by the same `wait`.
            cursor.execute(f"PRAGMA busy_timeout={max(1, int((deadline - time.monotonic()) * 1000))}")
            try:
                cursor.execute("BEGIN IMMEDIATE")
                try:
                    yield cursor
                    cursor.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(Exception):  # the connection may be gone; the pool discards it then
                        cursor.connection.rollback()
                    raise
            finally:
                cursor.execute(f"PRAGMA busy_timeout={busy_ms}")  # the connection's own, for whoever uses it next
    finally:
        _WRITER.release()
