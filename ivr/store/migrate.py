"""Schema versions: bring a database to the schema this release uses (Alembic revisions in ivr/store/migrations), one host at a time."""

from __future__ import annotations

import sys
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Column, Connection, Engine, MetaData, PrimaryKeyConstraint, String, Table, create_engine, inspect, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from ivr.errors import ServiceError
from ivr.store.schema import metadata

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")

# The revisions in migrations/versions, oldest first (a test keeps this equal to Alembic's own walk). Knowing
# them here lets a database that is already current, or brand new, be opened without importing Alembic (~0.2 s).
REVISIONS = ("0001", "0002", "0003", "0004")
HEAD = REVISIONS[-1]

# Alembic's version table, as Alembic defines it: a new database is stamped through it directly.
_versions = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


class SchemaError(ServiceError):
    """The database's schema cannot be read or brought to this release's."""


class DatabaseUnreachable(SchemaError):
    """The database's schema version could not even be read (no server, or not a database)."""


@dataclass(frozen=True)
class Upgrade:
    """What one upgrade did."""

    url: str  # without its password
    before: str | None  # None: no version stamped (a new database, or one made before migrations)
    applied: list[str]
    created: bool  # the database had none of the tables: they were created at head

    def __str__(self) -> str:
        where = f"database at {self.url}"
        if not self.applied:
            return f"{where}: already current ({HEAD})"
        if self.created:
            return f"{where}: created at {HEAD}"
        return f"{where}: upgraded {self.before or 'unversioned'} -> {HEAD}"


def head() -> str:
    """The newest revision this release knows, as Alembic reads it from the migration scripts."""
    from alembic.script import ScriptDirectory

    found = ScriptDirectory.from_config(_config()).get_current_head()
    assert found is not None, "no migration scripts"
    return found


def current(engine: Engine) -> str | None:
    """The database's schema revision; None when none is stamped (a new database, or one made before migrations)."""
    try:
        with engine.connect() as conn:
            return _current(conn)
    except SQLAlchemyError as exc:
        raise DatabaseUnreachable(f"cannot read the schema version of the database at {safe_url(engine.url)}: {_reason(exc)}") from exc


def is_current(engine: Engine) -> bool:
    """Whether the database is at this release's head revision."""
    return current(engine) == HEAD


def upgrade(target: Engine | str) -> list[str]:
    """Bring the schema to head; return the revisions applied, oldest first ([] when it was current already)."""
    return upgrade_report(target).applied


def upgrade_report(target: Engine | str) -> Upgrade:
    """Bring the schema to head and tell what was done (`ivr db upgrade` prints it)."""
    engine = _engine(target) if isinstance(target, str) else target
    try:
        if current(engine) == HEAD:
            return Upgrade(safe_url(engine.url), HEAD, [], created=False)
        with _serialised(engine) as conn:
            return _upgrade(conn, safe_url(engine.url))
    except SQLAlchemyError as exc:
        raise SchemaError(f"cannot upgrade the schema of the database at {safe_url(engine.url)}: {_reason(exc)}") from exc
    finally:
        if isinstance(target, str):
            engine.dispose()


def upgrade_at_start(url: str) -> None:
    """For `ivr serve`, before its workers open the store: bring the schema to head and say so on stderr.

    An unreachable database is only reported: the hotline's own handling of an outage applies. A schema
    newer than this release stops the start (SchemaError).
    """
    if url in ("sqlite://", "sqlite:///:memory:"):
        return  # each process has its own, created when opened
    try:
        line = str(upgrade_report(url))
    except DatabaseUnreachable as exc:
        line = f"schema not checked: {exc}"
    print(f"ivr serve: {line}", file=sys.stderr)


# Query parameters a driver takes a secret from (libpq: password, sslpassword; others: pass, pwd, secret).
_SECRET_PARAMS = ("password", "sslpassword", "pass", "pwd", "secret")


def safe_url(url: URL | str) -> str:
    """The URL as it may be printed: its password hidden, in the user part and in the query."""
    parsed = make_url(url)
    hidden = {k: "***" for k in parsed.query if k.lower() in _SECRET_PARAMS}
    return parsed.update_query_dict(hidden).render_as_string(hide_password=True) if hidden else parsed.render_as_string(hide_password=True)


def _upgrade(conn: Connection, url: str) -> Upgrade:
    before = _current(conn)  # again: another host may have upgraded while this one waited for the lock
    if before == HEAD:
        return Upgrade(url, before, [], created=False)
    if before is not None and before not in REVISIONS:
        raise SchemaError(
            f"the database at {url} has schema revision {before!r}, which this release does not know "
            f"(it knows {', '.join(REVISIONS)}): a newer release upgraded it; run that release against it"
        )
    if before is None and not set(inspect(conn).get_table_names()) & set(metadata.tables):
        # A new database: the tables as declared, stamped at head, is what running every revision gives
        # (a test compares the two), in a fraction of the time.
        metadata.create_all(conn)
        _versions.create(conn, checkfirst=True)
        conn.execute(_versions.delete())
        conn.execute(_versions.insert().values(version_num=HEAD))
        return Upgrade(url, None, list(REVISIONS), created=True)
    from alembic import command

    config = _config()
    config.attributes["connection"] = conn
    command.upgrade(config, "head")
    applied = list(REVISIONS[REVISIONS.index(before) + 1 :] if before else REVISIONS)
    return Upgrade(url, before, applied, created=False)


def _current(conn: Connection) -> str | None:
    if not inspect(conn).has_table(_versions.name):
        return None
    found = list(conn.execute(select(_versions.c.version_num)).scalars())
    if len(found) > 1:
        raise SchemaError(f"the database's {_versions.name} table holds several revisions ({', '.join(found)}); expected one")
    return found[0] if found else None


@contextmanager
def _serialised(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that only one process at a time holds for this database."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            # SQLite: a write transaction from the first statement; a second process waits for the file's
            # lock (busy timeout), then finds the work done. The driver must not begin transactions itself.
            conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.connection.dbapi_connection is not None and conn.connection.dbapi_connection.in_transaction:
                    conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")
            return
        # PostgreSQL's DDL is transactional: the whole upgrade commits or none of it does.
        conn.execution_options(isolation_level="READ COMMITTED")
        with conn.begin():
            if engine.dialect.name == "postgresql":
                # Hosts starting together queue here; the lock goes with the transaction. Keyed by schema, so
                # databases in separate schemas of one server do not wait for each other.
                # The serving engine caps statements; rewriting a big table, or waiting for another host's
                # upgrade, may take longer, and only for this transaction.
                conn.execute(text("SET LOCAL statement_timeout = 0"))
                schema = conn.scalar(text("select current_schema()")) or ""
                conn.execute(text("select pg_advisory_xact_lock(:key)"), {"key": _lock_key(schema)})
            yield conn


def _lock_key(schema: str) -> int:
    return zlib.crc32(f"ivr schema upgrade:{schema}".encode())


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _engine(url: str) -> Engine:
    """A short-lived engine for a command that only upgrades (`ivr db upgrade`)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise SchemaError(f"cannot use the database URL: {exc}") from exc
    connect_args = {"connect_timeout": 10} if parsed.get_backend_name() == "postgresql" else {}
    try:
        return create_engine(parsed, poolclass=NullPool, connect_args=connect_args)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise SchemaError(f"cannot use the database URL {safe_url(parsed)}: {exc}") from exc


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's own words, without SQLAlchemy's statement dump and help link."""
    original = getattr(exc, "orig", None)
    words = str(original if original is not None else exc).strip()
    return words.splitlines()[0] if words else type(exc).__name__
