"""Databases as earlier releases left them: their own table definitions (frozen here) and rows written their way."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, String, Table, Text, create_engine, insert, text

from ivr.engine.snapshot import CallSnapshot


def _tables(text_width: int, loaded_at: bool) -> MetaData:
    """The three tables of the releases before migrations (`text_width`: call ids and phone numbers)."""
    meta = MetaData()
    Table(
        "tickets",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("number", String(12), nullable=False, unique=True),
        Column("call_id", String(text_width), nullable=False, unique=True),
        Column("caller", String(text_width), nullable=False, default=""),
        Column("language", String(16), nullable=False),
        Column("category", String(32), nullable=False),
        Column("description", Text, nullable=False, default=""),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("first_response_due", DateTime(timezone=True), nullable=False),
        Column("status", String(16), nullable=False, default="open"),
    )
    Table(
        "calls",
        meta,
        Column("call_sid", String(text_width), primary_key=True),
        Column("caller", String(text_width), nullable=False, default=""),
        Column("called", String(text_width), nullable=False, default=""),
        Column("menu_version", String(32), nullable=False),
        Column("snapshot", Text, nullable=False),
        Column("seq", Integer, nullable=False),
        Column("last_response", Text, nullable=False),
        Column("status", String(16), nullable=False, default="in-progress"),
        Column("started_at", DateTime(timezone=True), nullable=False),
        Column("ended_at", DateTime(timezone=True), nullable=True),
        Column("duration", Integer, nullable=True),
    )
    menu = [
        Column("version", String(32), primary_key=True),
        Column("menu_id", String(128), nullable=False),
        Column("entry", Text, nullable=False),
        Column("files", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True), nullable=True),
    ]
    if loaded_at:
        menu.append(Column("loaded_at", DateTime(timezone=True), nullable=True))
    Table("menu_versions", meta, *menu)
    return meta


# The release before migrations (ivr/store/schema.py as it was), and the one before it: narrow text columns, no loaded_at.
PREVIOUS = _tables(256, loaded_at=True)
OLDER = _tables(64, loaded_at=False)

STARTED = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


@dataclass(frozen=True)
class OldRows:
    """What the old release stored, to look for after an upgrade."""

    ticket_number: str = "48213907"
    call_id: str = "CA0f4e2b7c9d1a3e5f7b9c0d2e4f6a8b1c"
    caller: str = "+8613800000000"
    called: str = "+864000000000"
    menu_version: str = "9c1f0e2d7b3a"


def previous_release(url: str) -> OldRows:
    """A database made by the release before migrations: its tables, a ticket, a call and a menu version."""
    return _make(url, PREVIOUS, loaded_at=True)


def older_release(url: str) -> OldRows:
    """A database made by the release before that: VARCHAR(64) call ids and numbers, no menu_versions.loaded_at."""
    return _make(url, OLDER, loaded_at=False)


def upgraded_in_place(url: str) -> OldRows:
    """A `calls` table from before `called` existed, as the previous release's start-up upgrade left it.

    That upgrade added the column as plain `VARCHAR(256)` (nullable, no default), so the call stored before it holds NULL.
    """
    rows = OldRows()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE calls (call_sid VARCHAR(256) NOT NULL PRIMARY KEY, caller VARCHAR(256) NOT NULL, "
                "menu_version VARCHAR(32) NOT NULL, snapshot TEXT NOT NULL, seq INTEGER NOT NULL, last_response TEXT NOT NULL, "
                "status VARCHAR(16) NOT NULL, started_at TIMESTAMP WITH TIME ZONE NOT NULL)"
                if engine.dialect.name == "postgresql"
                else "CREATE TABLE calls (call_sid VARCHAR(256) NOT NULL, caller VARCHAR(256) NOT NULL, "
                "menu_version VARCHAR(32) NOT NULL, snapshot TEXT NOT NULL, seq INTEGER NOT NULL, last_response TEXT NOT NULL, "
                "status VARCHAR(16) NOT NULL, started_at DATETIME NOT NULL, PRIMARY KEY (call_sid))"
            )
        )
        conn.execute(
            text(
                "INSERT INTO calls (call_sid, caller, menu_version, snapshot, seq, last_response, status, started_at) "
                "VALUES (:sid, :caller, :version, :snapshot, 3, '<Response/>', 'in-progress', :started)"
            ),
            {"sid": rows.call_id, "caller": rows.caller, "version": rows.menu_version, "snapshot": _snapshot(rows), "started": STARTED},
        )
        for statement in (
            "ALTER TABLE calls ADD COLUMN called VARCHAR(256)",
            "ALTER TABLE calls ADD COLUMN ended_at TIMESTAMP WITH TIME ZONE"
            if engine.dialect.name == "postgresql"
            else "ALTER TABLE calls ADD COLUMN ended_at DATETIME",
            "ALTER TABLE calls ADD COLUMN duration INTEGER",
        ):
            conn.execute(text(statement))
    engine.dispose()
    return rows


def _make(url: str, tables: MetaData, loaded_at: bool) -> OldRows:
    rows = OldRows()
    engine = create_engine(url)
    tables.create_all(engine)
    _write(engine, tables, rows, loaded_at)
    engine.dispose()
    return rows


def _snapshot(rows: OldRows) -> str:
    snapshot = CallSnapshot(call_id=rows.call_id, caller=rows.caller, lang="zh", node="main", menu_version=rows.menu_version, steps=2)
    return json.dumps(snapshot.to_dict(), ensure_ascii=False)


def _write(engine: Engine, tables: MetaData, rows: OldRows, loaded_at: bool) -> None:
    """Rows as that release's stores inserted them (one Core insert each, UTC times)."""
    tickets, calls, menus = (tables.tables[name] for name in ("tickets", "calls", "menu_versions"))
    with engine.begin() as conn:
        conn.execute(
            insert(tickets).values(
                number=rows.ticket_number,
                call_id=rows.call_id,
                caller=rows.caller,
                language="zh",
                category="billing",
                description="发票抬头错了",
                created_at=STARTED + timedelta(minutes=2),
                first_response_due=STARTED + timedelta(hours=4),
                status="open",
            )
        )
        conn.execute(
            insert(calls).values(
                call_sid=rows.call_id,
                caller=rows.caller,
                called=rows.called,
                menu_version=rows.menu_version,
                snapshot=_snapshot(rows),
                seq=3,
                last_response="<Response><Hangup/></Response>",
                status="completed",
                started_at=STARTED,
                ended_at=STARTED + timedelta(minutes=3),
                duration=180,
            )
        )
        version = {
            "version": rows.menu_version,
            "menu_id": "volcengine",
            "entry": "volcengine.yaml",
            "files": json.dumps({"volcengine.yaml": "id: volcengine\n"}),
            "created_at": STARTED - timedelta(days=1),
            "published_at": STARTED - timedelta(days=1),
        }
        if loaded_at:
            version["loaded_at"] = STARTED
        conn.execute(insert(menus).values(**version))
