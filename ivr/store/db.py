"""Opening the database: one SQLAlchemy engine per process, schema created on first use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, String, create_engine, event, inspect, text
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
        upgrade_schema(engine)
    except SQLAlchemyError as exc:
        raise ServiceError(f"cannot open the ticket store at {engine.url!r}: {exc}") from exc
    return engine


def upgrade_schema(engine: Engine) -> list[str]:
    """Bring tables made by an older version up to date: add missing columns, widen short text columns.

    Only additive changes happen here, so every version can run against a database another one
    upgraded; the statements run are returned (and are safe to repeat).
    """
    done: list[str] = []
    existing = inspect(engine)
    tables = set(existing.get_table_names())
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name not in tables:
                continue
            columns = {c["name"]: c for c in existing.get_columns(table.name)}
            for column in table.columns:
                found = columns.get(column.name)
                old_length = int(getattr(found["type"], "length", None) or 0) if found is not None else 0
                if found is None:
                    kind = column.type.compile(dialect=engine.dialect)
                    statement = f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"
                elif (
                    engine.dialect.name == "postgresql"
                    and isinstance(column.type, String)
                    and column.type.length
                    and 0 < old_length < column.type.length
                ):
                    statement = f"ALTER TABLE {table.name} ALTER COLUMN {column.name} TYPE VARCHAR({column.type.length})"
                else:
                    continue
                conn.execute(text(statement))
                done.append(statement)
    return done
