"""Table definitions (SQLAlchemy Core), shared by SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text

metadata = MetaData()

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", String(12), nullable=False, unique=True),
    Column("call_id", String(64), nullable=False, unique=True),  # one ticket per call, whatever is retried
    Column("caller", String(64), nullable=False, default=""),
    Column("language", String(16), nullable=False),
    Column("category", String(32), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("first_response_due", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False, default="open"),
)
