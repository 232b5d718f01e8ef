"""Opening a database made by an older version upgrades its tables in place."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import create_engine, inspect, text

from ivr.store import Store
from ivr.store.db import upgrade_schema


def test_old_tables_are_upgraded_at_start(database_url: str) -> None:
    """A `calls` table without later columns and with short text columns is brought up to date, and works."""
    old = create_engine(database_url)
    with old.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE calls (call_sid VARCHAR(64) PRIMARY KEY, caller VARCHAR(64) NOT NULL, "
                "menu_version VARCHAR(32) NOT NULL, snapshot TEXT NOT NULL, seq INTEGER NOT NULL, "
                "last_response TEXT NOT NULL, status VARCHAR(16) NOT NULL, started_at TIMESTAMP NOT NULL)"
            )
        )
    old.dispose()
    store = Store(database_url)
    try:
        columns = {c["name"]: c for c in inspect(store.engine).get_columns("calls")}
        assert {"called", "ended_at", "duration"} <= columns.keys()
        if store.engine.dialect.name == "postgresql":
            assert columns["caller"]["type"].length == 256
        assert upgrade_schema(store.engine) == []  # a second start has nothing left to do
        assert store.calls.close("CA-none", "completed", 3, datetime.now(UTC)) is False
    finally:
        store.close()
