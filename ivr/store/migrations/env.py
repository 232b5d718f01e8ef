"""How Alembic runs the migrations: on the connection ivr.store.migrate hands over, or on the configured database."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool

from ivr.store.db import sqlite_url
from ivr.store.schema import metadata  # only for `alembic revision --autogenerate`; revisions never import it


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite alters tables by copying them; autogenerate writes batch blocks for it
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _configured_url() -> str:
    """`-x url=...`, else IVR_DATABASE_URL, else the SQLite file at IVR_SQLITE_PATH."""
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("IVR_DATABASE_URL")
    if url:
        return url
    if os.environ.get("IVR_SQLITE_PATH"):
        return sqlite_url(os.environ["IVR_SQLITE_PATH"])
    raise SystemExit("which database? give -x url=URL, or set IVR_DATABASE_URL or IVR_SQLITE_PATH (e.g. var/ivr.sqlite3)")


if context.is_offline_mode():
    raise SystemExit("offline (--sql) mode is not supported: the baseline revision inspects the database it upgrades")

_given = context.config.attributes.get("connection")
if _given is not None:
    _run(_given)
else:
    _engine = create_engine(_configured_url(), poolclass=NullPool)
    with _engine.connect() as _connection:
        _run(_connection)
    _engine.dispose()
